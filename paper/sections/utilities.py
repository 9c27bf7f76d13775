"""Simulated versus closed-form utilities per (role, strategy) (C15).

:func:`analysis.utilities.compare_utilities` evaluates Table II at the *realised*
averages of each play (deposits, gaps, counts).  For the miners and several other rows
the realised utility is exactly that formula of the realised quantities, so the two
agree to machine precision by construction: those rows are the closed form checked
against itself and are labelled so.  The rows where the simulation adds something the
formula does not (random training success, who is matched, what is returned) are the
independent evidence.
"""

from __future__ import annotations

import numpy as np

from ..core import SELF, Check, Claim, Q, Section, Table, need

KEY = "utilities"
TITLE = "Simulated versus closed-form utilities"
ORDER = 110

#: each deviation's share in the fixed strategy mix; Normal plays the rest of each role
DEVIATION_SHARE = 0.1


def _mix(mech) -> dict[str, dict[str, float]]:
    """Every role of ``mech`` with each deviation at DEVIATION_SHARE, Normal the rest."""
    return {
        r.abbr: {r.normal.abbr: 1 - DEVIATION_SHARE * len(r.deviations)}
        | {s.abbr: DEVIATION_SHARE for s in r.deviations}
        for r in mech.roles
    }


def run(ctx) -> Section:
    mod = need("analysis.utilities", "the ABM's utilities analysis, issue 5")
    model = need("derelay.model", "the ABM, issue 5")
    from analysis.plots import PALETTE, new_figure
    from derelay.mechanism import get_mechanism

    sec = Section(KEY, TITLE)
    mech = get_mechanism()
    normal_share = {r.abbr: 1 - DEVIATION_SHARE * len(r.deviations) for r in mech.roles}
    cfg = model.SimConfig.from_preset("paper_text").with_updates(strategies=_mix(mech))
    rounds = 80 if ctx.quick else 300
    burn = 10
    res = model.run_simulation(cfg, rounds=rounds, seed=ctx.seed)
    table = mod.compare_utilities(res, burn_in=burn).copy()
    scale = np.maximum(1.0, np.abs(table["closed_form"].to_numpy()))
    diff = (table["simulated"] - table["closed_form"]).to_numpy()
    table["identical by construction"] = np.abs(diff) <= 1e-9 * scale
    denom = np.abs(table["closed_form"].to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        table["difference (%)"] = np.where(denom > 0, 100 * diff / denom, np.nan)
    table = table.sort_values(["identical by construction", "role", "strategy"])

    # dot plot: relative difference with ±2 SE, one row per (role, strategy)
    fig, ax = new_figure(6.8, 0.9 + 0.32 * len(table))
    y = np.arange(len(table))
    roles = list(dict.fromkeys(table["role"]))
    for i, (_, row) in enumerate(table.iterrows()):
        d = row["difference (%)"]
        se = 200 * row["se"] / abs(row["closed_form"]) if row["closed_form"] else np.nan
        same = bool(row["identical by construction"])
        color = "0.6" if same else PALETTE[roles.index(row["role"]) % 8]
        ax.errorbar([d], [i], xerr=[[se], [se]] if np.isfinite(se) else None,
                    fmt="s" if same else "o", color=color, capsize=3,
                    ecolor=color, elinewidth=1.4)  # fmt: skip
    ax.axvline(0, color="k", linewidth=0.8)
    ax.set_yticks(y, [f"{r} {s}" for r, s in zip(table["role"], table["strategy"], strict=True)])
    ax.invert_yaxis()
    ax.set_xlabel("simulated − closed form (% of the closed form; bars ±2 SE)")
    ax.set_ylabel("role, strategy")
    ax.set_title("ABM versus Table II (grey squares: equal by construction)")
    sec.figures += ctx.fig(fig, "utilities_sim_vs_closed_form")

    cols = ["role", "strategy", "plays", "simulated", "se", "closed_form", "difference (%)",
            "z", "identical by construction", "note"]  # fmt: skip
    rows = [{c: r[c] for c in cols if c in table.columns} for _, r in table.iterrows()]
    sec.intro = (
        "ABM `paper_text` with a fixed strategy mix ({dev_lo}-{dev_hi}% deviators per role), {rounds} "
        "rounds after a burn-in of {burn}; the closed form is the mechanism core's Table II "
        "formula at the realised averages (analysis.utilities.compare_utilities; future "
        "citations excluded)."
    )
    sec.values = {
        "rounds": Q(rounds, "rounds", "one run, seed 0", "d"),
        "burn": Q(burn, "rounds", "burn-in", "d"),
        "dev_lo": Q(min(100 * (1 - v) for v in normal_share.values()), "%", "mix", ".2g"),
        "dev_hi": Q(max(100 * (1 - v) for v in normal_share.values()), "%", "mix", ".2g"),
    }
    sec.tables.append(Table("", rows, ".4g"))
    ind = table[~table["identical by construction"]]
    same = table[table["identical by construction"]]
    z_tol, rel_tol = 2.0, 5.0
    z_ok = int((ind["z"].abs() <= z_tol).sum())
    rel_ok = int((ind["difference (%)"].abs() <= rel_tol).sum())
    worst = ind.loc[ind["difference (%)"].abs().idxmax()] if len(ind) else None
    smp = f"one ABM run of {rounds} rounds (seed {ctx.seed}), plays after round {burn}"
    sec.claims.append(Claim(
        "C15", "Table II, Appendix A",
        "the utilities of Table II describe what each role earns",
        "{n_same} of {n_rows} (role, strategy) means equal the closed form to machine "
        "precision by construction (the formula evaluated at the realised quantities); of "
        "the {n_ind} independent rows {z_ok} agree within {z_tol} SE and {rel_ok} within "
        "{rel_tol}%; the largest difference is {worst_pct}% ("
        + (f"{worst['role']} {worst['strategy']}" if worst is not None else "none")
        + "; the note column gives the reason)",
        {"n_same": Q(len(same), "rows", smp, "d"), "n_rows": Q(len(table), "rows", smp, "d"),
         "n_ind": Q(len(ind), "rows", smp, "d"), "z_ok": Q(z_ok, "rows", smp, "d"),
         "rel_ok": Q(rel_ok, "rows", smp, "d"),
         "worst_pct": Q(float(worst["difference (%)"]) if worst is not None else float("nan"),
                        "% of the closed form", smp, ".2g")},
        [Check("independent rows agree within {z_tol} SE", len(ind) > 0 and z_ok == len(ind)),
         Check("independent rows agree within {rel_tol}% (magnitude)",
               len(ind) > 0 and rel_ok == len(ind)),
         Check("rows equal by construction agree", len(same) > 0, SELF)],
        f"derelay paper{' --quick' if ctx.quick else ''} --only utilities",
        reference={"z_tol": Q(z_tol, "SE", "criterion", ".2g"),
                   "rel_tol": Q(rel_tol, "%", "criterion", ".2g")},
    ))  # fmt: skip
    return sec
