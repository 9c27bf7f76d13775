"""Feasible rewards and the minimal issuance (C11)."""

from __future__ import annotations

from ..core import Check, Claim, Q, Section, Table, need

KEY = "feasible"
TITLE = "Feasible rewards and the minimal issuance"
ORDER = 60


def run(ctx) -> Section:
    feas = need("derelay.formal.feasible", "formal layer, issue 3")
    from matplotlib.colors import LogNorm

    from analysis.plots import plot_heatmap
    from derelay.mechanism import get_mechanism
    from derelay.mechanism.derelayl.report import citation_capped_region
    from derelay.params import PARAM_INFO, Params, as_values

    sec = Section(KEY, TITLE)
    point = feas.feasible_rewards()
    n = 25 if ctx.quick else 60
    cap = 1.0
    region = citation_capped_region(n, cap)
    x, y = region.columns[:2]  # feasible_region: "the two axes" come first
    reg = region.assign(min_issuance=region["min_issuance"].where(region["feasible"]))
    finite = reg["min_issuance"].dropna()
    ax = plot_heatmap(
        reg, x, y, "min_issuance",
        cbar_label="minimal issuance per round (©, log scale; white = infeasible)",
        title=f"Minimal issuance meeting T1-T8 with R_Cited <= {cap:g} ©",
        xlabel="discount rate β", ylabel="selection rate s",
        norm=LogNorm(vmin=float(finite.min()), vmax=float(finite.max())) if len(finite) else None,
    )  # fmt: skip
    sec.figures += ctx.fig(ax.figure, "feasible_region_beta_s")
    summ = feas.region_summary(region)
    mech = get_mechanism()
    at_table3 = float(mech.issuance(as_values(Params())))
    t3_holds = all(bool(c.holds(as_values(Params()))) for c in mech.conditions)
    sec.intro = (
        "At the defaults the cheapest design issues {issuance} © per round (binding: "
        + ", ".join(point["binding"])
        + "), against {at_table3} © with the simulation's rewards. Over β × s with R_Cited "
        "capped at {cap} ©: {share}% of the {cells} grid cells are feasible."
    )
    grid = f"{n} x {n} grid over β x s (exact LP per cell)"
    sec.values = {
        "issuance": Q(point["issuance"], "coins per round", "exact LP at the defaults", ".4g"),
        "at_table3": Q(at_table3, "coins per round", "Table III rewards", ".4g"),
        "cap": Q(cap, "coins", "criterion", ".2g"),
        "share": Q(100 * summ["feasible_share"], "%", grid, ".3g"),
        "cells": Q(summ["points"], "cells", grid, "d"),
    }
    sec.tables.append(Table(
        "Cheapest rewards at the defaults",
        [{"reward": k, "symbol": PARAM_INFO[k].symbol if k in PARAM_INFO else "",
          "minimal value (exact)": v,
          "Table III": getattr(Params(), k) if hasattr(Params(), k) else ""}
         for k, v in point["rewards_exact"].items()],
    ))  # fmt: skip
    reasons = [{"reason": k, "cells": v} for k, v in summ["reasons"].items()]
    if reasons:
        sec.tables.append(Table("Why cells are infeasible", reasons))
    sec.claims.append(Claim(
        "C11", "Sec. III-C2, Table III",
        "the Table III rewards (R_Cited = 1 ©, 0.001 © per miner item) satisfy T1-T8",
        "T1-T8 hold at the Table III rewards; the minimal issuance meeting them is {issuance} © per "
        "round against {at_table3} © issued, {ratio} times the minimum (exact LP, z3, "
        "cross-checked with scipy)",
        {"issuance": sec.values["issuance"], "at_table3": sec.values["at_table3"],
         "ratio": Q(at_table3 / point["issuance"], "", "Table III / minimum", ".3g")},
        [Check("T1-T8 hold at the Table III rewards", t3_holds, "proof")],
        "derelay feasible",
    ))  # fmt: skip
    return sec
