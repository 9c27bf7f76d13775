"""Pytest helper that pins a population dynamic: a run of a sweep kind converges to Normal.

The closed-form helpers (IR/IC, conditions, deviation thresholds) are in
:mod:`derelay.testing`; this one runs the sweep layer's run kinds
(:data:`experiments.registry.RUN_KINDS`), so it lives here and derelay's core never
imports ``experiments``::

    from experiments.testing import assert_converges_to_normal

    def test_population_converges_to_normal():
        assert_converges_to_normal({"params": {}}, rounds=40, share=0.9)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .registry import builtin_kinds

__all__ = ["assert_converges_to_normal"]


def assert_converges_to_normal(
    config: Mapping[str, Any],
    rounds: int,
    share: float = 0.95,
    seeds: Iterable[int] = (0, 1, 2),
    kind: str = "dynamics",
    metric: str | None = None,
    stay: bool = True,
) -> dict[int, int]:
    """Under ``config`` the population reaches a Normal share >= ``share`` within
    ``rounds`` rounds for every seed (and, with ``stay``, never drops below it after).

    ``kind`` is a run kind of :data:`experiments.registry.RUN_KINDS` (``"dynamics"``:
    logit dynamics on the closed-form utilities; ``"abm"``: the agent-based model);
    ``metric`` defaults to ``share_N_min`` (the smallest Normal share over roles) for
    ``dynamics`` and ``share_normal`` for ``abm``.  Returns, per seed, the first round
    at which the share was reached.
    """
    kinds = builtin_kinds()
    if kind not in kinds:
        raise ValueError(f"unknown run kind {kind!r}; available {sorted(kinds)}")
    metric = metric or ("share_N_min" if kind == "dynamics" else "share_normal")
    cfg = dict(config)
    cfg.setdefault("rounds", int(rounds))
    reached: dict[int, int] = {}
    for seed in seeds:
        df = kinds[kind](cfg, int(seed))["rounds"]
        if metric not in df.columns:
            raise ValueError(f"run kind {kind!r} has no metric {metric!r}")
        df = df[df["round"] <= rounds]
        ok = df[metric].to_numpy() >= share
        if not ok.any():
            raise AssertionError(
                f"seed {seed}: {metric} never reached {share} within {rounds} rounds "
                f"(max {df[metric].max():.4g}, final {df[metric].iloc[-1]:.4g})"
            )
        first = int(np.argmax(ok))
        if stay and not ok[first:].all():
            after = df[metric].to_numpy()[first:]
            raise AssertionError(
                f"seed {seed}: {metric} reached {share} at round "
                f"{int(df['round'].iloc[first])} but fell to {after.min():.4g} later"
            )
        reached[int(seed)] = int(df["round"].iloc[first])
    return reached
