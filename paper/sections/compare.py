"""Five mechanisms compared (issue 16): a ``--quick`` comparison, rendered from its data.

Runs :func:`experiments.compare.run_compare` with :func:`experiments.compare.quick_config`
(abstract learning, 3 seeds, 20 rounds, every mechanism that loads) into ``data/compare``,
and turns its summary into tables, findings and figures.  The full comparison (torch
learning, more seeds and rounds) is the documented command
``derelay compare --config experiments/compare.toml --learning torch --out runs/compare``.
"""

from __future__ import annotations

import math

from ..core import Q, Section, Table

KEY = "compare"
TITLE = "Five mechanisms compared: the same deviants, data and currency"
ORDER = 300


def _cell(c) -> str:
    if c is None:
        return "–"
    if "gain" not in c:
        return c.get("status", "")
    lo, hi = c["ci"]

    def f(x):
        return "n/a" if x is None or not math.isfinite(x) else f"{x:.3g}"

    cf = "" if c["cf_ic"] is None else (" ✓" if c["cf_ic"] else " ✗")
    flag = " ⚑" if c["disagrees"] else ""
    return f"{f(c['gain'])} [{f(lo)}, {f(hi)}] {c['verdict']}{cf}{flag}"


def run(ctx) -> Section:
    from experiments.compare import figures, quick_config, run_compare

    cfg = quick_config()
    out = ctx.datadir / "compare"
    if out.exists():
        import shutil

        shutil.rmtree(out)
    ctx.step(0, 2, "comparison runs")
    summary = run_compare(cfg, out, workers=ctx.workers, figures=False)
    ctx.step(1, 2, "figures")
    import pandas as pd

    df = pd.read_parquet(out / "compare.parquet")
    sec = Section(KEY, TITLE)
    sec.values = {
        "seeds": Q(cfg.seeds, "seeds", "quick comparison", "d"),
        "rounds": Q(cfg.rounds, "rounds", "quick comparison", "d"),
        "agents": Q(cfg.n_participants, "agents", "quick comparison", "d"),
        "share": Q(cfg.share * 100, "% of agents", "group deviation", ".3g"),
        "jobs": Q(cfg.trainers_per_round, "training jobs per round", "compute cap", "d"),
        "rows": Q(summary["rows"], "rows", "compare.parquet", "d"),
        "findings": Q(len(summary["findings"]), "disagreements", "main tables", "d"),
        "ci": Q(95, "%", "t-interval over seeds", "d"),
    }
    sec.intro = (
        "Every mechanism runs on one population whose deviant agents are the same for a seed "
        "({seeds} seeds x {rounds} rounds, {agents} agents, {share}% of them deviant per "
        "family, at most {jobs} training jobs per round, abstract learning). A cell is the "
        "deviants' gain per round against their own utility in the all-honest twin run, "
        "with its {ci}% interval and the rule's verdict; beside it the closed form's IC "
        "verdict (✓/✗); ⚑ marks a disagreement between simulation and closed form "
        "({findings} of them); – means the mechanism has no strategy of that family. "
        "compare.parquet holds {rows} rows. The full comparison: "
        "`derelay compare --config experiments/compare.toml --learning torch --out runs/compare`."
    )
    fams = list(cfg.families)
    for design, rows in summary["tables"].items():
        table = []
        for r in rows:
            row = {"mechanism": r["mechanism"]}
            if not r["available"]:
                row.update({f: "n/a" for f in fams})
                row["note"] = "design unavailable"
            else:
                row.update({f: _cell(r["cells"].get(f)) for f in fams})
                for k in (
                    "minted_per_round",
                    "outlay_per_round",
                    "accuracy_honest",
                    "accuracy_mixed",
                    "accuracy_lost",
                    "outlay_per_point",
                ):
                    row[k] = r[k]
                row["wasted_pct"] = (
                    r["wasted_share"] * 100 if math.isfinite(r["wasted_share"]) else math.nan
                )
            table.append(row)
        sec.tables.append(
            Table(
                f"Deviation gain per round (coins) by family, design {design}",
                table,
                ".3g",
                note=summary["rule"],
            )
        )
    if summary["findings"]:
        sec.tables.append(
            Table(
                "Findings: the simulated sign and the closed-form sign disagree",
                [
                    {
                        "mechanism": f["mechanism"],
                        "design": f["design"],
                        "family": f["family"],
                        "gain": f["gain"],
                        "ci_low": f["ci"][0],
                        "ci_high": f["ci"][1],
                        "simulated": f["verdict"],
                        "closed_form_ic": f["cf_ic"],
                        "cf_margin": f["cf_margin"],
                    }
                    for f in summary["findings"]
                ],
                ".3g",
            )
        )
    if summary["unilateral"]:
        sec.tables.append(
            Table(
                "Unilateral deviation (one deviant agent)",
                [
                    {
                        "mechanism": u["mechanism"],
                        "family": u["family"],
                        "gain": u["gain"],
                        "ci_low": u["ci"][0],
                        "ci_high": u["ci"][1],
                        "verdict": u["verdict"],
                        "seeds": u["seeds"],
                    }
                    for u in summary["unilateral"]
                ],
                ".3g",
            )
        )
    for name, fig in figures(df, out, cfg, summary["mechanisms"]):
        sec.figures += ctx.fig(fig, f"compare_{name}")
    if summary.get("missing_mechanisms"):
        sec.status = "degraded"
        sec.note = "not available: " + ", ".join(summary["missing_mechanisms"])
    ctx.step(2, 2, "done")
    return sec
