"""The chain as a sweep *run kind*: ``chain_run(config, seed) -> {name: DataFrame}``.

Fits ``experiments.runner.RUN_KINDS`` (issue 7): ``config`` holds any
:class:`~derelay.chain.ChainConfig` field plus ``blocks`` (default 10,000),
``mode`` (``"continuous"`` or ``"staged"``) and ``keep_blocks`` (add the per-block
table); ``seed`` seeds a ``numpy.random.Generator`` (pass
``SeedSequence(root).spawn(n)`` entropy for independent replicates).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .blocks import KIND_ORDER
from .config import ChainConfig
from .simulator import ChainSimulator


def simulate(config: dict[str, Any], seed: int | np.random.SeedSequence) -> ChainSimulator:
    cfg = dict(config)
    blocks = int(cfg.pop("blocks", 10_000))
    mode = cfg.pop("mode", "continuous")
    cfg.pop("keep_blocks", None)
    if mode not in ("continuous", "staged"):
        raise ValueError(f"mode must be 'continuous' or 'staged'; got {mode!r}")
    if blocks < 1:
        raise ValueError(f"blocks must be >= 1; got {blocks}")
    sim = ChainSimulator(ChainConfig(**cfg), rng=np.random.default_rng(seed))
    if mode == "continuous":
        sim.run(blocks)
    else:
        s = 0
        while sim.n_mined < blocks:
            sim.mine_stage(KIND_ORDER[s % 4], s // 4)
            s += 1
    return sim


def chain_run(config: dict[str, Any], seed: int) -> dict[str, pd.DataFrame]:
    """One chain simulation; ``{"metrics": one row[, "blocks": one row per block]}``."""
    sim = simulate(config, seed)
    m = sim.metrics()
    net = m.pop("network")
    row = {**m, **{f"network_{k}": v for k, v in net.items()}, "seed": seed}
    out = {"metrics": pd.DataFrame([row])}
    if config.get("keep_blocks"):
        out["blocks"] = sim.blocks_frame()
    return out
