"""Helpers shared by the section modules (not a section: the name starts with ``_``)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def band(df: pd.DataFrame, metric: str, clip=None, by=("round",)) -> pd.DataFrame:
    """t band with >= 5 replications, min-max range with fewer (see plot_timeseries)."""
    from analysis.stats import confidence_band

    n = int(df.groupby(list(by))[metric].count().min()) if len(df) else 0
    return confidence_band(df, metric, by=by, method="t" if n >= 5 else "range", clip=clip)


def loglog_slope(rounds: np.ndarray, values: np.ndarray) -> float:
    ok = (rounds > 0) & (values > 0)
    if ok.sum() < 3:
        return float("nan")
    return float(np.polyfit(np.log(rounds[ok]), np.log(values[ok]), 1)[0])


def records(df: pd.DataFrame) -> list[dict]:
    """DataFrame rows as plain dicts (numpy scalars as Python numbers)."""
    out = []
    for row in df.to_dict(orient="records"):
        out.append({k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()})
    return out


def sample(runs: int, rounds: int | None = None, seeds: str = "", what: str = "") -> str:
    """A sample description: '5 runs x 500 rounds (seeds from spec seed 3), paper_text'."""
    txt = f"{runs} run{'s' if runs != 1 else ''}"
    if rounds is not None:
        txt += f" x {rounds} rounds"
    if seeds:
        txt += f" ({seeds})"
    if what:
        txt += f", {what}"
    return txt


def seeds_of(out) -> str:
    """'seeds from spec seed N' of a sweep (its manifest)."""
    import json
    from pathlib import Path

    man = json.loads((Path(out) / "manifest.json").read_text())
    seed = man.get("root_seed")
    return f"run seeds spawned from spec seed {seed}" if seed is not None else ""


def spec_value(out, dotted: str, default=None):
    """A value of the spec a sweep ran (from its manifest), e.g. ``"base.blocks"``."""
    import json
    from pathlib import Path

    node = json.loads((Path(out) / "sweep.json").read_text()).get("spec", {})
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node
