"""Data (and plots) of deviation gains found by :mod:`derelay.formal.deviations`.

Tidy DataFrames:

* :func:`deviation_gains` -- one row per profitable deviation found (kind, roles,
  exact-arithmetic gain and its floating-point replay);
* :func:`break_even_frame` -- one row per (role, deviation, parameter, direction):
  how far the parameter can move alone before the deviation pays;
* :func:`lazy_curve` -- the lazy-but-lucky trainer's gain over Normal as a function of
  its luck ``p`` (both citation readings), evaluated vectorised through the same
  formula used by the solver;
* :func:`coalition_curve` -- the C8 coalition's expected gain against the fork
  probability ``q``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from derelay.formal.deviations import (
    LAZY_READINGS,
    coalition_gain,
    lazy_gain,
    search,
    unilateral,
)
from derelay.params import Params, as_values

__all__ = [
    "break_even_frame",
    "coalition_curve",
    "deviation_gains",
    "lazy_curve",
    "plot_coalition",
    "plot_lazy",
]


def deviation_gains(
    params: Params | None = None, scope: str = "all", result: dict[str, Any] | None = None, **kw
) -> pd.DataFrame:
    """Profitable deviations as a tidy DataFrame (runs the search unless ``result``)."""
    result = result if result is not None else search(params, scope, **kw)
    rows = []
    for d in result["deviations"]:
        w = d["witness"]
        rows.append(
            {
                "kind": d["kind"],
                "roles": "+".join(d["roles"]),
                "deviation": w.get("deviation") or w.get("search") or d["kind"],
                "parameter": w.get("parameter"),
                "gain": d["gain"],
                "replayed_gain": d["replayed_gain"],
            }
        )
    return pd.DataFrame(
        rows, columns=["kind", "roles", "deviation", "parameter", "gain", "replayed_gain"]
    )


def break_even_frame(params: Params | None = None, timeout: float = 5.0) -> pd.DataFrame:
    """Break-even value of every parameter for every Table II deviation (tidy)."""
    _, table = unilateral(params, timeout)
    rows = []
    for t in table:
        for direction in ("up", "down"):
            e = t.get(direction) or {}
            rows.append(
                {
                    "role": t["role"],
                    "deviation": t["deviation"],
                    "parameter": t["parameter"],
                    "value": t["value"],
                    "direction": direction,
                    "ties_at": e.get("ties_at"),
                    "relative_distance": e.get("relative_distance"),
                    "pays_beyond": bool(e.get("pays_beyond", False)),
                    "proof": e.get("proof"),
                }
            )
    return pd.DataFrame(rows)


def lazy_curve(params: Params | None = None, ps: Any = None) -> pd.DataFrame:
    """Gain of a lazy trainer over Normal for luck ``p`` in ``ps`` (both readings)."""
    ps = np.linspace(0.0, 1.0, 101) if ps is None else np.asarray(ps, dtype=float)
    p = as_values(params or Params())
    frames = [
        pd.DataFrame(
            {"p": ps, "citations": r, "gain": np.asarray(lazy_gain(p, ps, r), dtype=float)}
        )
        for r in LAZY_READINGS
    ]
    return pd.concat(frames, ignore_index=True)


def coalition_curve(
    params: Params | None = None, qs: Any = None, lazy_p: float = 0.0
) -> pd.DataFrame:
    """Expected C8 coalition gain over Normal against the fork probability ``q``."""
    qs = np.linspace(0.0, 1.0, 101) if qs is None else np.asarray(qs, dtype=float)
    p = as_values(params or Params())
    g = np.asarray(coalition_gain(p, qs, lazy_p), dtype=float)
    return pd.DataFrame({"q": qs, "lazy_p": lazy_p, "gain": g})


def _line_plot(df: pd.DataFrame, x: str, hue: str | None, xlabel: str, title: str) -> Figure:
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.subplots()
    ax.grid(True, alpha=0.3, linewidth=0.6)
    groups = df.groupby(hue) if hue else [("", df)]
    for name, g in groups:
        ax.plot(g[x], g["gain"], label=str(name) if hue else None)
    ax.axhline(0.0, color="k", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("gain over Normal (coin)")
    ax.set_title(title)
    if hue:
        ax.legend(title=hue)
    return fig


def plot_lazy(df: pd.DataFrame) -> Figure:
    return _line_plot(
        df,
        "p",
        "citations",
        "p: probability the lazy model ranks in the top share",
        "Lazy-but-lucky trainer (C4)",
    )


def plot_coalition(df: pd.DataFrame) -> Figure:
    return _line_plot(
        df,
        "q",
        None,
        "q: probability honest miners fork the collusion away",
        "TBM + SBM + trainer collusion (C8)",
    )
