"""Figures of any sweep or run directory, chosen by name (``derelay plot``).

:func:`load_dir` reads a directory into one tidy ``rounds`` table with a ``run_id``
column:

* a sweep output (``manifest.json``): :func:`experiments.runner.load_results`;
* a ``derelay run --replications N`` output (``replications.json``): every
  ``rep-NNN/rounds.parquet``, ``run_id`` = ``replication`` = k;
* a single run (``run.json`` + ``rounds.parquet``): one run.

:func:`timeseries_figure` draws the mean of each metric over runs per round with a 95%
Student-t confidence band of the mean (one panel per metric, one row per facet value, one
line per hue value); :func:`heatmap_figure` the mean over runs of a metric's final (or
mean-over-rounds) value on the grid of two columns.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


class ExploreError(ValueError):
    """A directory or a name that cannot be plotted; ``str(exc)`` is one line."""


def load_dir(path: str | Path) -> tuple[pd.DataFrame, str]:
    """``(rounds table, layout)`` with layout ``sweep``, ``replications`` or ``run``."""
    path = Path(path)
    if not path.is_dir():
        raise ExploreError(f"'{path}' is not a directory (give a sweep or run directory)")
    if (path / "manifest.json").is_file():
        from experiments.runner import load_results

        df = load_results(path, "rounds")
        if df.empty:
            raise ExploreError(f"sweep '{path}' has no finished runs with a rounds table")
        return df, "sweep"
    if (path / "replications.json").is_file():
        index = json.loads((path / "replications.json").read_text(encoding="utf-8"))
        frames = []
        for run in index.get("runs", []):
            f = path / str(run["dir"]) / "rounds.parquet"
            if f.is_file():
                frames.append(
                    pd.read_parquet(f).assign(
                        run_id=int(run["replication"]), replication=int(run["replication"])
                    )
                )
        if not frames:
            raise ExploreError(f"'{path}' lists replications but none has rounds.parquet")
        return pd.concat(frames, ignore_index=True), "replications"
    if (path / "rounds.parquet").is_file():
        return pd.read_parquet(path / "rounds.parquet").assign(run_id=0, replication=0), "run"
    raise ExploreError(
        f"'{path}' holds no sweep (manifest.json) or run (rounds.parquet, replications.json)"
    )


def check_names(df: pd.DataFrame, names: list[str], what: str) -> None:
    import difflib

    cols = [str(c) for c in df.columns]
    for n in names:
        if n not in cols:
            close = difflib.get_close_matches(n, cols, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            some = ", ".join(c for c in cols if c not in ("run_id", "point", "seed"))[:300]
            raise ExploreError(f"{what} '{n}' is not a column{hint}; available: {some}")
        if what == "metric" and not pd.api.types.is_numeric_dtype(df[n]):
            raise ExploreError(f"metric '{n}' is not numeric")


def timeseries_figure(
    df: pd.DataFrame, metrics: list[str], hue: str | None = None, facet: str | None = None
):
    from .plots import new_figure, plot_timeseries

    facets = [None] if facet is None else sorted(df[facet].dropna().unique().tolist())
    fig, axes = new_figure(
        4.6 * len(metrics), 3.4 * len(facets), ncols=len(metrics), nrows=len(facets)
    )
    for i, fv in enumerate(facets):
        sub = df if fv is None else df[df[facet] == fv]
        for j, m in enumerate(metrics):
            title = None if fv is None else f"{facet} = {fv}"
            plot_timeseries(sub, m, hue=hue, ax=axes[i, j], method="t", title=title)
    return fig


def heatmap_figure(df: pd.DataFrame, x: str, y: str, metric: str, statistic: str = "final"):
    from .plots import new_figure, plot_heatmap

    if statistic == "final":
        last = df.sort_values(["run_id", "round"]).groupby("run_id", sort=True).tail(1)
    else:
        keys = ["run_id", x, y]
        last = df.groupby(keys, sort=True)[metric].mean().reset_index()
    if last[[x, y]].drop_duplicates().shape[0] < 2:
        raise ExploreError(f"a heatmap needs at least two ({x}, {y}) cells; this data has one")
    for c in (x, y):
        if not pd.api.types.is_numeric_dtype(last[c]):
            raise ExploreError(f"heatmap axis '{c}' is not numeric")
    _, ax = new_figure(6.0, 4.6)
    plot_heatmap(last, x, y, metric, ax=ax, cbar_label=f"{metric} ({statistic}, mean over runs)")
    return ax.figure


def save(fig, path: str | Path, dpi: int = 150) -> None:
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    fig.savefig(path, dpi=dpi, format=fmt)


__all__ = ["ExploreError", "load_dir", "check_names", "timeseries_figure", "heatmap_figure", "save"]
