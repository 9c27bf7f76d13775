"""Global sensitivity analysis (Morris screening, Sobol indices) with SALib.

The ``[sensitivity]`` section of a spec names parameter ranges and outputs; SALib
draws the design (Morris trajectories or Saltelli/Sobol samples), the design becomes a
``points`` sweep run by the ordinary sweep engine (parallel, Dask, resumable, seeded
per run), and SALib analyses the per-point output (mean over replications of the final
round's value, or of the mean over rounds).

Output (in the sweep directory): ``sensitivity.json`` (indices per output with
confidence intervals), ``sensitivity.csv`` (tidy), and one figure per output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from derelay.params import PARAM_INFO

from .runner import SweepResult, atomic_write_json, atomic_write_text, load_results, run_sweep
from .spec import Spec, SpecError, config_path


def problem_of(spec: Spec) -> dict[str, Any]:
    sec = spec.sensitivity
    if sec is None or not sec.ranges:
        raise SpecError("the spec has no [sensitivity.ranges]: name parameters and [lo, hi] ranges")
    if not sec.outputs:
        raise SpecError("the spec has no sensitivity 'outputs': name the metrics to analyse")
    names = list(sec.ranges)
    return {
        "num_vars": len(names),
        "names": names,
        "bounds": [list(map(float, sec.ranges[n])) for n in names],
    }


def design(spec: Spec) -> np.ndarray:
    """The SALib sample matrix (rows = points), integers rounded for integer parameters."""
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    sec = spec.sensitivity
    prob = problem_of(spec)
    if sec.method == "morris":
        x = morris_sample.sample(prob, sec.samples, num_levels=sec.num_levels, seed=spec.seed)
    else:
        x = sobol_sample.sample(
            prob, sec.samples, calc_second_order=sec.second_order, seed=spec.seed
        )
    for j, name in enumerate(prob["names"]):
        path = config_path(name)
        if path[0] == "params" and PARAM_INFO[path[-1]].domain.integer:
            x[:, j] = np.rint(x[:, j])
    return x


def design_spec(spec: Spec, force: bool = False) -> Spec:
    """The spec whose ``points`` sweep evaluates the design (same kind, base, seeds)."""
    x = design(spec)
    names = problem_of(spec)["names"]
    points = []
    for row in x:
        pt = {}
        for n, v in zip(names, row, strict=True):
            path = config_path(n)
            integer = path[0] == "params" and PARAM_INFO[path[-1]].domain.integer
            pt[n] = int(v) if integer else float(v)
        points.append(pt)
    data = spec.model_dump(mode="json")
    data["sweep"] = {"mode": "points", "axes": {}, "points": points}
    data["sensitivity"] = spec.sensitivity.model_dump(mode="json")
    from .spec import spec_from_mapping

    # force: lift the sweep's planned-run limit (experiments.spec MAX_RUNS)
    return spec_from_mapping(data, source=f"sensitivity design of {spec.name}", force=force)


def analyse(spec: Spec, out: str | Path) -> dict[str, Any]:
    """Run SALib's analysis on a finished design sweep in ``out``."""
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    from analysis.stats import final_values

    sec = spec.sensitivity
    prob = problem_of(spec)
    x = design(spec)
    df = load_results(out)
    if df.empty:
        raise RuntimeError("no finished runs to analyse")
    fin = final_values(df, sec.outputs, sec.statistic)
    missing = [o for o in sec.outputs if o not in fin.columns]
    if missing:
        raise SpecError(
            f"sensitivity outputs {missing} are not metrics of kind '{spec.kind}'; "
            f"available: {sorted(c for c in fin.columns if c not in prob['names'])}"
        )
    per_point = fin.groupby("point", sort=True)[sec.outputs].mean()
    n_points = x.shape[0]
    if len(per_point) != n_points:
        raise RuntimeError(
            f"{n_points - len(per_point)} design points have no finished run (failed runs?); "
            "rerun with --resume --retry-failed"
        )
    result: dict[str, Any] = {
        "method": sec.method,
        "parameters": prob["names"],
        "bounds": prob["bounds"],
        "samples": sec.samples,
        "design_points": int(n_points),
        "replications": spec.replications,
        "statistic": sec.statistic,
        "indices": {},
    }
    for o in sec.outputs:
        y = per_point[o].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)):
            result["indices"][o] = {"note": "output is not finite at some design points"}
            continue
        if sec.method == "morris":
            r = morris_analyze.analyze(
                prob, x, y, num_levels=sec.num_levels, seed=spec.seed, num_resamples=200
            )
            keys = ("mu", "mu_star", "sigma", "mu_star_conf")
        else:
            r = sobol_analyze.analyze(
                prob, y, calc_second_order=sec.second_order, seed=spec.seed, num_resamples=200
            )
            keys = ("S1", "S1_conf", "ST", "ST_conf")
        result["indices"][o] = {
            k: [float(v) for v in np.nan_to_num(np.asarray(r[k], dtype=float))] for k in keys
        }
        result["indices"][o]["variance"] = float(np.var(y))
    return result


def tidy(result: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for o, idx in result["indices"].items():
        if "note" in idx:
            continue
        for i, p in enumerate(result["parameters"]):
            row = {"output": o, "parameter": p}
            for k, v in idx.items():
                if isinstance(v, list):
                    row[k] = v[i]
            rows.append(row)
    return pd.DataFrame(rows)


def run_sensitivity(
    spec: Spec,
    out: str | Path,
    workers: int | None = None,
    resume: bool = False,
    scheduler: str | None = None,
    progress: bool = False,
    figures: bool = True,
    force: bool = False,
) -> tuple[SweepResult, dict[str, Any]]:
    """Sample, run (via the sweep engine) and analyse; write JSON, CSV and figures."""
    out = Path(out)
    dspec = design_spec(spec, force=force)
    res = run_sweep(
        dspec, out, workers=workers, resume=resume, scheduler=scheduler, progress=progress
    )
    result = analyse(dspec, out)
    atomic_write_json(out / "sensitivity.json", result)
    atomic_write_text(out / "sensitivity.csv", tidy(result).to_csv(index=False))
    if figures:
        from analysis.plots import plot_sensitivity, save_figure

        for o, idx in result["indices"].items():
            if "note" in idx:
                continue
            ax = plot_sensitivity(result, o)
            save_figure(ax.figure, out / f"sensitivity_{o}")
    return res, result


def load_sensitivity(out: str | Path) -> dict[str, Any]:
    return json.loads((Path(out) / "sensitivity.json").read_text(encoding="utf-8"))
