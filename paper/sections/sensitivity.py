"""Morris sensitivity of the minimal issuance, coin inequality and honesty (no claims)."""

from __future__ import annotations

import shutil

from ..core import Section, Table, available

KEY = "sensitivity"
TITLE = "Sensitivity: minimal feasible issuance, coin inequality, honesty (Morris)"
ORDER = 120


def _jobs() -> list[tuple[str, dict, list[str]]]:
    """(spec, quick overrides, outputs plotted); the trainers' Normal share is named from
    DeRelayL's declaration (the recorder's ``share_<role>_<strategy>`` columns)."""
    from derelay.mechanism.derelayl.core import T

    return [
        ("sensitivity_feasible", {"sensitivity.samples": 6}, ["min_issuance"]),
        ("sensitivity_abm", {"sensitivity.samples": 4, "replications": 1, "base.rounds": 60},
         ["gini_coins", f"share_{T.abbr}_{T.normal.abbr}", "n_trainers"]),
    ]  # fmt: skip


def run(ctx) -> Section:
    from analysis.plots import plot_sensitivity
    from experiments.sensitivity import run_sensitivity

    sec = Section(KEY, TITLE)
    notes = []
    jobs = _jobs()
    for j, (name, quick, outputs) in enumerate(jobs):
        if name == "sensitivity_abm" and not available("derelay.model"):
            notes.append("ABM sensitivity skipped: derelay.model (issue 5) is not available")
            continue
        spec, spec_path = ctx.spec(name, quick)
        out = ctx.datadir / name
        if out.exists():
            shutil.rmtree(out)
        ctx.step(j, len(jobs), name)
        _, result = run_sensitivity(spec, out, workers=ctx.workers, figures=False)
        ctx.log(f"  {name}: {result['design_points']} design points")
        for o in outputs:
            idx = result["indices"].get(o, {})
            if "mu_star" not in idx:
                continue
            ax = plot_sensitivity(result, o)
            sec.figures += ctx.fig(ax.figure, f"sensitivity_{o}")
            rows = sorted(
                ({"parameter": p, "mu*": float(m), "sigma": float(s)}
                 for p, m, s in zip(result["parameters"], idx["mu_star"], idx["sigma"],
                                    strict=True)),
                key=lambda r: -r["mu*"],
            )  # fmt: skip
            sec.tables.append(Table(
                f"{o} ({spec.kind}, Morris, {result['design_points']} design points, "
                f"{spec.replications} replication(s) each; `derelay sensitivity {spec_path}`)",
                rows,
            ))  # fmt: skip
        ctx.step(j + 1, len(jobs), name)
    sec.note = "; ".join(notes)
    return sec
