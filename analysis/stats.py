"""Statistics over sweep results: confidence bands, Gini, final values, closed-form grids.

All functions take the tidy long tables written by ``derelay sweep``
(``run_id, replication, seed, point, <parameters>, round, <metrics>``) or by
``derelay.model.RunResult`` and return pandas DataFrames.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd


def gini(x: Any, axis: int = -1) -> np.ndarray | float:
    """Gini coefficient of non-negative values along ``axis`` (0 = equal, ->1 = one has all).

    Uses the sorted-rank formula G = sum_i (2i - n - 1) x_(i) / (n sum x), vectorised
    over the other axes; an all-zero vector has Gini 0.  Negative values raise.
    """
    a = np.asarray(x, dtype=float)
    if a.size == 0:
        raise ValueError("gini of an empty array")
    if np.any(a < 0):
        raise ValueError("gini needs non-negative values (coins)")
    a = np.sort(np.moveaxis(a, axis, -1), axis=-1)
    n = a.shape[-1]
    i = np.arange(1, n + 1)
    total = a.sum(axis=-1)
    num = ((2 * i - n - 1) * a).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(total > 0, num / (n * np.where(total > 0, total, 1.0)), 0.0)
    return float(g) if np.ndim(g) == 0 else g


def gini_over_rounds(
    agents: pd.DataFrame,
    value: str = "coins",
    by: Sequence[str] = ("run_id", "round"),
) -> pd.DataFrame:
    """Gini of ``value`` across participants for every (run, round): one row per group."""
    by = [b for b in by if b in agents.columns]
    if value not in agents.columns:
        raise KeyError(f"agents table has no column {value!r}")
    out = agents.groupby(by, sort=True)[value].apply(lambda s: gini(s.to_numpy()))
    return out.rename(f"gini_{value}").reset_index()


def confidence_band(
    df: pd.DataFrame,
    metric: str,
    by: Sequence[str] = ("round",),
    level: float = 0.95,
    method: str = "t",
    clip: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Mean of ``metric`` over replications with a two-sided ``level`` band per group.

    ``method="t"``: Student-t interval of the mean (n-1 degrees of freedom);
    ``"percentile"``: the empirical (1-level)/2 and (1+level)/2 quantiles of the runs;
    ``"range"``: min and max over the runs (honest with very few replications).
    ``clip=(lo, hi)`` clips the band to the metric's natural range (e.g. shares).
    Columns: ``by..., mean, sd, n, lo, hi``.  With one replication lo = hi = mean.
    """
    from scipy import stats

    if not 0 < level < 1:
        raise ValueError(f"level = {level} must be in (0, 1)")
    by = list(by)
    g = df.groupby(by, sort=True)[metric]
    out = g.agg(["mean", "std", "count"]).rename(columns={"std": "sd", "count": "n"})
    out["sd"] = out["sd"].fillna(0.0)
    if method == "t":
        dof = np.maximum(out["n"].to_numpy() - 1, 1)
        q = stats.t.ppf(0.5 + level / 2, dof)
        half = np.where(out["n"] > 1, q * out["sd"] / np.sqrt(out["n"]), 0.0)
        out["lo"] = out["mean"] - half
        out["hi"] = out["mean"] + half
    elif method == "percentile":
        out["lo"] = g.quantile((1 - level) / 2)
        out["hi"] = g.quantile((1 + level) / 2)
    elif method == "range":
        out["lo"] = g.min()
        out["hi"] = g.max()
    else:
        raise ValueError(f"unknown band method {method!r}: use t, percentile or range")
    if clip is not None:
        out["lo"] = out["lo"].clip(lower=clip[0], upper=clip[1])
        out["hi"] = out["hi"].clip(lower=clip[0], upper=clip[1])
    return out.reset_index()


def final_values(
    df: pd.DataFrame, metrics: Iterable[str] | None = None, statistic: str = "final"
) -> pd.DataFrame:
    """One row per run: the last round's value (``final``) or the mean over rounds."""
    id_cols = [c for c in df.columns if c in ("run_id", "replication", "seed", "point")]
    metrics = list(metrics) if metrics is not None else None
    if statistic == "final":
        last = df.sort_values(["run_id", "round"]).groupby("run_id", sort=True).tail(1)
        out = last
    elif statistic == "mean":
        num = metrics or [c for c in df.select_dtypes("number").columns if c not in id_cols]
        first = df.groupby("run_id", sort=True).first()
        means = df.groupby("run_id", sort=True)[num].mean()
        first[num] = means
        out = first.reset_index()
    else:
        raise ValueError(f"unknown statistic {statistic!r}: use final or mean")
    return out.reset_index(drop=True)


def pivot_mean(df: pd.DataFrame, x: str, y: str, value: str) -> pd.DataFrame:
    """Mean of ``value`` for every (y, x) pair: rows y ascending, columns x ascending."""
    return (
        df.pivot_table(index=y, columns=x, values=value, aggfunc="mean")
        .sort_index(axis=0)
        .sort_index(axis=1)
    )


def closed_form_region(
    x: str,
    xs: Sequence[float],
    y: str,
    ys: Sequence[float],
    base=None,
    what: str = "normal_equilibrium",
    mechanism: str = "derelayl",
) -> pd.DataFrame:
    """Closed-form verdicts on the grid x × y (vectorised over the mechanism's formulas).

    ``what``: ``normal_equilibrium`` (Normal IR and IC for every role),
    ``ir_all``, ``ic_all``, a condition name (``T1``..``T8``), or
    ``margin:<role>:<deviation>`` (U_N - U_dev).  Returns a long table x, y, value.
    """
    from derelay.mechanism import get_mechanism
    from derelay.mechanism.ops import all_of
    from derelay.params import grid

    mech = get_mechanism(mechanism)
    p = grid(base, **{x: np.asarray(xs, float), y: np.asarray(ys, float)})
    ev = mech.evaluate(p)
    if what == "normal_equilibrium":
        val = all_of(*ev.ir.values(), *ev.ic.values())
    elif what == "ir_all":
        val = all_of(*ev.ir.values())
    elif what == "ic_all":
        val = all_of(*ev.ic.values())
    elif what in ev.conditions:
        val = ev.conditions[what]
    elif what.startswith("margin:"):
        _, role, dev = what.split(":")
        val = mech.ic_margin(role, dev, p)
    else:
        raise ValueError(f"unknown region {what!r}")
    val = np.broadcast_to(np.asarray(val), np.shape(getattr(p, x)))
    return pd.DataFrame({x: getattr(p, x), y: getattr(p, y), "value": val.astype(float)})
