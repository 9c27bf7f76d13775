"""``run_simulation`` for DeRelayL's :class:`SimConfig` and the sweep adapter ``abm``."""

from __future__ import annotations

import time

import pandas as pd

from derelay.engine.run import RunResult, collect

from .config import SimConfig

__all__ = ["RunResult", "abm_run_kind", "run_simulation"]


def run_simulation(
    cfg: SimConfig | None = None,
    rounds: int = 100,
    seed: int = 0,
    progress: bool = False,
    backend=None,
) -> RunResult:
    """Run ``rounds`` relay rounds of ``cfg`` with ``seed`` (same inputs, same tables)."""
    from .protocol import DeRelayModel

    if cfg is None:
        cfg = SimConfig.from_preset("paper_text")
    rounds = int(rounds)
    if rounds < 1:
        raise ValueError(f"rounds = {rounds} is out of range: allowed rounds >= 1")
    t0 = time.perf_counter()
    model = DeRelayModel(cfg, seed=seed, backend=backend)
    t1 = time.perf_counter()
    model.run(rounds, progress=progress)
    t2 = time.perf_counter()
    timings = {"setup_s": t1 - t0, "rounds_s": t2 - t1, "per_round_ms": 1000 * (t2 - t1) / rounds}
    return collect(model, cfg.resolved(), rounds, seed, timings)


def abm_run_kind(config: dict, seed: int) -> dict[str, pd.DataFrame]:
    """Sweep adapter (experiments' ``RUN_KINDS`` signature): config dict, seed -> tables.

    ``config`` holds ``rounds`` (default 100), optionally ``preset`` (a shipped preset
    to start from) and any :class:`SimConfig` keys (``params`` as a sub-table).
    Returns ``rounds``, ``agents`` and ``utilities`` tables.
    """
    data = dict(config)
    rounds = int(data.pop("rounds", 100))
    preset = data.pop("preset", None)
    if preset is not None:
        cfg = SimConfig.from_preset(str(preset))
        cfg = cfg.with_updates(**data) if data else cfg
    else:
        cfg = SimConfig.from_mapping(data)
    res = run_simulation(cfg, rounds=rounds, seed=seed)
    return {"rounds": res.rounds, "agents": res.agents, "utilities": res.utilities}
