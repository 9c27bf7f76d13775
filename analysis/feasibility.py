"""Data (and a plot) of where a feasible reward design exists.

The region is computed by :func:`derelay.formal.feasible.feasible_region` from the
core's condition functions (exact coefficient extraction, vectorised evaluation):
one tidy row per grid point with ``feasible``, ``min_issuance``, the minimal reward of
each kind and the reason when infeasible.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from derelay.formal.feasible import feasible_region, region_summary
from derelay.params import Params

__all__ = ["plot_region", "region_frame", "region_summary"]


def region_frame(
    params: Params | None = None,
    axes: tuple[str, str] | None = None,
    points: int = 50,
    max_issuance: float | None = None,
    max_rewards: Mapping[str, float] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> pd.DataFrame:
    """Tidy DataFrame of the feasible region over two parameters (see module doc);
    ``axes`` default to DeRelayL's own choice in :func:`feasible_region`."""
    chosen = {} if axes is None else {"axes": tuple(axes)}
    return feasible_region(
        params,
        points=points,
        ranges=ranges,
        max_issuance=max_issuance,
        max_rewards=max_rewards,
        **chosen,
    )


def plot_region(df: pd.DataFrame, column: str = "min_issuance", title: str | None = None) -> Figure:
    """Heat map of ``column`` over the two axes; infeasible points hatched grey, with
    the feasibility boundary drawn as a contour."""
    ax_names = df.attrs.get("axes") or list(df.columns[:2])
    x_name, y_name = ax_names
    xs = np.unique(df[x_name].to_numpy())
    ys = np.unique(df[y_name].to_numpy())
    piv = df.pivot_table(index=y_name, columns=x_name, values=column, aggfunc="first")
    feas = df.pivot_table(index=y_name, columns=x_name, values="feasible", aggfunc="first")
    fig = Figure(figsize=(6.4, 4.8), layout="constrained")
    ax = fig.subplots()
    z = np.ma.masked_invalid(piv.reindex(index=ys, columns=xs).to_numpy(dtype=float))
    mesh = ax.pcolormesh(xs, ys, z, shading="nearest", cmap="viridis")
    cb = fig.colorbar(mesh, ax=ax)
    cb.set_label(f"{column} (coin per round)" if "issuance" in column else column)
    f = feas.reindex(index=ys, columns=xs).to_numpy(dtype=float)
    if np.any(f == 0):
        ax.contourf(xs, ys, f, levels=[-0.5, 0.5], colors=["0.85"], hatches=["//"])
    if 0 < np.nanmean(f) < 1:
        ax.contour(xs, ys, f, levels=[0.5], colors="k", linewidths=1.0)
    ax.set_xlabel(x_name)
    ax.set_ylabel(y_name)
    caps: dict[str, Any] = {
        k: v for k, v in (("max_issuance", df.attrs.get("max_issuance")),) if v is not None
    }
    caps.update({f"max_{k}": v for k, v in (df.attrs.get("max_rewards") or {}).items()})
    cap_txt = ", ".join(f"{k}={v:g}" for k, v in caps.items())
    ax.set_title(
        title
        or f"Feasible rewards over ({x_name}, {y_name})" + (f" [{cap_txt}]" if cap_txt else "")
    )
    return fig
