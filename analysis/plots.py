"""Figures from sweep results: time series with bands, heatmaps, Gini, sensitivity bars.

Figures are built on :class:`matplotlib.figure.Figure` directly (no pyplot state, no
backend switch: PNG and PDF are rendered by Agg/PDF canvases), so the functions are
safe in scripts, notebooks and worker processes alike.  Every figure has labelled
axes (with units), a legend or colour bar, and :func:`save_figure` writes PNG and PDF.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure

from .stats import confidence_band, pivot_mean

#: Colour-blind safe palette (Okabe-Ito).
PALETTE = [
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#F0E442",
    "#000000",
]


def new_figure(
    width: float = 6.4, height: float = 4.0, ncols: int | None = None, nrows: int | None = None
):
    """A constrained-layout figure: one Axes, or (when ``ncols``/``nrows`` is given) a
    2-D array of Axes even for a single panel."""
    grid = ncols is not None or nrows is not None
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows or 1, ncols or 1, squeeze=False)
    for ax in axes.flat:
        ax.grid(True, alpha=0.3, linewidth=0.6)
    return fig, (axes if grid else axes[0, 0])


def save_figure(fig: Figure, stem: str | Path, dpi: int = 150) -> list[Path]:
    """Write ``stem.png`` and ``stem.pdf``; returns both paths (atomic per file)."""
    import os

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for ext in ("png", "pdf"):
        path = stem.with_suffix(f".{ext}")
        tmp = path.with_name(f".{path.name}.tmp")
        fig.savefig(tmp, dpi=dpi, format=ext, metadata=_metadata(ext))
        os.replace(tmp, path)
        out.append(path)
    return out


def _metadata(ext: str) -> dict[str, Any]:
    # fixed metadata: regenerated figures are byte-stable where the format allows
    if ext == "pdf":
        return {"Creator": "derelay", "Producer": "derelay", "CreationDate": None}
    return {"Software": "derelay"}


def plot_timeseries(
    df: pd.DataFrame,
    metric: str,
    hue: str | None = None,
    ax=None,
    level: float = 0.95,
    xlabel: str = "round",
    ylabel: str | None = None,
    title: str | None = None,
    label_fmt: str = "{hue} = {value:g}",
    method: str = "auto",
    clip: tuple[float, float] | None = None,
):
    """Mean of ``metric`` over replications per round, with a ``level`` band, one line
    per value of ``hue`` (e.g. a swept parameter).  ``method="auto"``: a Student-t band
    with 5 or more replications, otherwise the min-max range over them (a t band on 2
    runs is uninformative).  Returns the axes."""
    if ax is None:
        _, ax = new_figure()
    # metrics recorded every k-th round are NaN in between: drop those rows, or no line
    # segment joins two finite points
    df = df[np.isfinite(pd.to_numeric(df[metric], errors="coerce"))]
    groups = [(None, df)] if hue is None else list(df.groupby(hue, sort=True))
    n_rep = df.groupby("round")[metric].count().min() if len(df) else 0
    meth = ("t" if n_rep >= 5 else "range") if method == "auto" else method
    for i, (value, sub) in enumerate(groups):
        band = confidence_band(sub, metric, by=("round",), level=level, method=meth, clip=clip)
        color = PALETTE[i % len(PALETTE)]
        if hue is None:
            label = f"mean ({band['n'].max()} runs)"
        else:
            try:
                label = label_fmt.format(hue=hue, value=value)
            except (ValueError, TypeError):
                label = f"{hue} = {value}"
        ax.plot(band["round"], band["mean"], color=color, label=label, linewidth=1.6)
        ax.fill_between(band["round"], band["lo"], band["hi"], color=color, alpha=0.2, lw=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel or metric)
    if title:
        ax.set_title(title)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        what = {
            "t": f"{int(level * 100)}% CI of the mean",
            "percentile": f"central {int(level * 100)}% of runs",
            "range": "band: min-max over runs",
        }[meth]
        ax.legend(title=what, fontsize=8, title_fontsize=8)
    return ax


def plot_heatmap(
    df: pd.DataFrame,
    x: str,
    y: str,
    value: str,
    ax=None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    cbar_label: str | None = None,
    title: str | None = None,
    binary: bool = False,
    binary_labels: Sequence[str] = ("no", "yes"),
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "viridis",
    annotate: bool | None = None,
    norm=None,
    max_ticks: int = 7,
):
    """Mean ``value`` over replications on the x × y grid of a two-parameter sweep.

    ``binary=True`` draws a two-colour map (e.g. "Normal is an equilibrium: yes/no");
    ``norm`` (a matplotlib Normalize, e.g. LogNorm) replaces ``vmin``/``vmax``.  Missing
    cells (NaN) are left white.  At most ``max_ticks`` tick labels per axis, rounded to
    two significant digits, so they never run together.
    """
    tab = pivot_mean(df, x, y, value)
    if ax is None:
        _, ax = new_figure(6.0, 4.6)
    fig = ax.figure
    xs, ys = tab.columns.to_numpy(dtype=float), tab.index.to_numpy(dtype=float)
    data = tab.to_numpy(dtype=float)
    ext = [-0.5, len(xs) - 0.5, -0.5, len(ys) - 0.5]
    if binary:
        cm = ListedColormap(["#D55E00", "#009E73"])
        norm = BoundaryNorm([-0.5, 0.5, 1.5], cm.N)
        im = ax.imshow(np.rint(data), origin="lower", aspect="auto", cmap=cm, norm=norm, extent=ext)
        cb = fig.colorbar(im, ax=ax, ticks=[0, 1])
        cb.ax.set_yticklabels(list(binary_labels))
    else:
        import matplotlib

        cm = matplotlib.colormaps[cmap].with_extremes(bad="white")
        lim = {} if norm is not None else {"vmin": vmin, "vmax": vmax}
        im = ax.imshow(
            np.ma.masked_invalid(data), origin="lower", aspect="auto", cmap=cm, norm=norm,
            extent=ext, **lim,
        )  # fmt: skip
        cb = fig.colorbar(im, ax=ax)
    cb.set_label(cbar_label or value)
    step_x = max(1, -(-len(xs) // max_ticks))
    step_y = max(1, -(-len(ys) // max_ticks))
    ax.set_xticks(np.arange(len(xs))[::step_x], [_tick(v) for v in xs[::step_x]])
    ax.set_yticks(np.arange(len(ys))[::step_y], [_tick(v) for v in ys[::step_y]])
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or y)
    ax.grid(False)
    if annotate is None:
        annotate = data.size <= 36 and not binary
    if annotate:
        for (i, j), v in np.ndenumerate(data):
            if np.isfinite(v):
                r, g, b, _ = im.cmap(im.norm(v))
                ink = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
                ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=7, color=ink)
    if title:
        ax.set_title(title)
    return ax


def _tick(v: float) -> str:
    return f"{v:.2g}"


def plot_gini(gini_df: pd.DataFrame, value: str = "gini_coins", hue: str | None = None, ax=None):
    """Gini of coins over rounds (mean and band over replications)."""
    return plot_timeseries(
        gini_df,
        value,
        hue=hue,
        ax=ax,
        ylabel="Gini coefficient of coins (0 = equal, 1 = one holds all)",
        title="Coin inequality over rounds",
    )


def plot_sensitivity(result: dict[str, Any], output: str, ax=None):
    """Bar chart of Morris mu* (with sigma) or Sobol S1/ST (with confidence) for one output."""
    if ax is None:
        _, ax = new_figure(6.4, 0.5 + 0.35 * max(3, len(result["parameters"])))
    res = result["indices"][output]
    names = result["parameters"]
    y = np.arange(len(names))
    if result["method"] == "morris":
        ax.barh(y, res["mu_star"], xerr=res["mu_star_conf"], color=PALETTE[0], label="μ*")
        ax.scatter(res["sigma"], y, color=PALETTE[1], zorder=3, label="σ", marker="D")
        ax.set_xlabel(f"elementary effect on {output} (units of {output})")
    else:
        h = 0.38
        ax.barh(y - h / 2, res["S1"], h, xerr=res["S1_conf"], color=PALETTE[0], label="S1")
        ax.barh(y + h / 2, res["ST"], h, xerr=res["ST_conf"], color=PALETTE[1], label="ST")
        ax.set_xlabel(f"Sobol index of {output} (share of variance)")
    ax.set_yticks(y, names)
    ax.set_ylabel("parameter")
    ax.invert_yaxis()
    ax.legend(fontsize=8)
    ax.set_title(f"{result['method'].capitalize()} sensitivity of {output}")
    return ax


def empty_panels(fig: Figure) -> list[str]:
    """Panels of ``fig`` that draw no finite data (colour-bar axes excluded).

    A line counts if it draws something: two consecutive finite points (or one with a
    marker); a scatter or error bar if an offset is finite; an image if any pixel is
    finite; a bar if its height and width are finite.  Twin axes sharing a panel count
    for each other.  Returns a label per empty panel (its title, or its position).
    """
    import matplotlib.collections as mcoll
    import matplotlib.image as mimage
    import matplotlib.lines as mlines
    import matplotlib.patches as mpatches

    def has_data(ax) -> bool:
        for ln in ax.get_lines():
            if not isinstance(ln, mlines.Line2D) or not ln.get_visible():
                continue
            xy = np.asarray(ln.get_xydata(), dtype=float)
            if xy.size == 0:
                continue
            ok = np.isfinite(xy).all(axis=1)
            marker = ln.get_marker() not in (None, "None", "", " ")
            if (marker and ok.any()) or (ln.get_linestyle() not in ("None", "") and
                                         (ok[1:] & ok[:-1]).any()):  # fmt: skip
                return True
        for c in ax.collections:
            if isinstance(c, mcoll.PathCollection | mcoll.LineCollection):
                off = np.asarray(c.get_offsets(), dtype=float)
                if off.size and np.isfinite(off).all(axis=1).any():
                    return True
                if isinstance(c, mcoll.LineCollection) and any(
                    np.isfinite(np.asarray(s, dtype=float)).all(axis=1).sum() >= 2
                    for s in c.get_segments()
                ):
                    return True
            elif isinstance(c, mcoll.PolyCollection | mcoll.QuadMesh):
                arr = c.get_array()
                if arr is not None and np.isfinite(np.ma.filled(arr, np.nan)).any():
                    return True
                for p in c.get_paths():
                    if np.isfinite(p.vertices).all(axis=1).sum() >= 3:
                        return True
        for im in ax.images:
            if isinstance(im, mimage.AxesImage):
                a = np.ma.filled(np.ma.asarray(im.get_array(), dtype=float), np.nan)
                if np.isfinite(a).any():
                    return True
        for p in ax.patches:
            if (
                isinstance(p, mpatches.Rectangle)
                and np.isfinite([p.get_width(), p.get_height()]).all()
                and (p.get_width() != 0 or p.get_height() != 0)
            ):
                return True
        return False

    panels: dict[int, list] = {}
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        bbox = tuple(np.round(ax.get_position().bounds, 3))  # twin axes share a position
        panels.setdefault(bbox, []).append(ax)
    out = []
    for i, axs in enumerate(panels.values()):
        if not any(has_data(a) for a in axs):
            title = next((a.get_title() for a in axs if a.get_title()), "")
            out.append(title or f"panel {i + 1}")
    return out
