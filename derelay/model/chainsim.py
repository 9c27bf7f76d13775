"""The chain component of the ABM: who mines each block, and what gets forked away.

``chain = "draw"`` (authors' code, Sec. IV-A(4)-(5)): each block's miner is drawn
uniformly and independently from the round's miners, as a stand-in for the PoW winner.
A dishonest block (DBM ``PI``, EBM ``NG``, TBM ``IT``, SBM ``IRa``) is rejected by the
honest nodes, i.e. forked away, and mining goes on until an honest miner wins: the
number of invalid blocks before the first valid one is geometric, and each invalid
block's miner is a uniform dishonest miner (exactly the distribution of repeated
uniform draws).  If no honest miner exists the stage fails (``miner = -1``).

``chain = "simulated"``: the real PoW chain with propagation, natural forks and stale
blocks (:class:`derelay.chain.ChainSimulator`).  The round's miners are mapped onto the
simulator's ``n_nodes`` network nodes cyclically (a node is a miner, or a pool of miners
for large populations; the block's reward goes to the node's first miner).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class StageResult:
    miner: int  # participant id of the main-chain block's miner (-1: stage failed)
    invalid_miners: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    stale: int = 0
    reorg_depth: int = 0

    @property
    def forks(self) -> int:
        return int(len(self.invalid_miners)) + int(self.stale)


class DrawChain:
    """Independent uniform draws among the round's miners (the authors' chain)."""

    name = "draw"

    def __init__(self, rng: np.random.Generator, max_invalid: int = 10_000) -> None:
        self.rng = rng
        self.max_invalid = max_invalid

    def mine(
        self, kind: str, round_index: int, miners: np.ndarray, valid: np.ndarray
    ) -> StageResult:
        miners = np.asarray(miners, dtype=np.int64)
        valid = np.asarray(valid, dtype=bool)
        m = len(miners)
        if m == 0:
            return StageResult(-1)
        n_valid = int(valid.sum())
        if n_valid == m:
            return StageResult(int(miners[self.rng.integers(m)]))
        bad = miners[~valid]
        if n_valid == 0:
            return StageResult(-1, bad[self.rng.integers(len(bad), size=1)])
        # invalid blocks before the first valid one ~ Geometric(n_valid / m) - 1
        k = int(min(self.rng.geometric(n_valid / m) - 1, self.max_invalid))
        inv = bad[self.rng.integers(len(bad), size=k)] if k else np.zeros(0, dtype=np.int64)
        good = miners[valid]
        return StageResult(int(good[self.rng.integers(n_valid)]), inv)

    def metrics(self) -> dict:
        return {}


class SimulatedChain:
    """Adapter over :class:`derelay.chain.ChainSimulator` (issue 4)."""

    name = "simulated"

    def __init__(self, chain_config: dict, n_miners: int, rng: np.random.Generator) -> None:
        try:
            from derelay.chain import BlockKind, ChainConfig, ChainSimulator
        except ImportError as exc:
            raise RuntimeError(
                "chain = 'simulated' needs derelay.chain.ChainSimulator (issue 4), which is "
                f"not available yet ({exc}); use chain = 'draw'"
            ) from None
        cfg = dict(chain_config)
        cfg.setdefault("n_nodes", int(max(2, min(n_miners, 128))))
        self.cfg = ChainConfig(**cfg)
        self.kinds = {k.value: k for k in BlockKind}
        self.sim = ChainSimulator(self.cfg, hash_power=None, rng=rng)
        self.n_nodes = self.cfg.n_nodes

    def mine(
        self, kind: str, round_index: int, miners: np.ndarray, valid: np.ndarray
    ) -> StageResult:
        miners = np.asarray(miners, dtype=np.int64)
        valid = np.asarray(valid, dtype=bool)
        if len(miners) == 0:
            return StageResult(-1)
        node_miner = miners[np.arange(self.n_nodes) % len(miners)]
        honest = valid[np.arange(self.n_nodes) % len(miners)]
        if not honest.any():
            return StageResult(-1, node_miner[:1])
        # payload=None: the chain part's synthetic workload builds a valid block for an
        # honest node and a rule-breaking one (PI/NG/IT/IRa) for a dishonest node
        out = self.sim.mine_stage(self.kinds[kind], int(round_index), honest, None)
        inv = [b.miner for b in getattr(out, "invalid_attempts", [])]
        stale = len(getattr(out, "stale", []) or [])
        return StageResult(
            int(node_miner[int(out.miner)]),
            node_miner[np.asarray(inv, dtype=np.int64)] if inv else np.zeros(0, dtype=np.int64),
            stale=stale,
            reorg_depth=int(getattr(out, "reorg_depth", 0) or 0),
        )

    def metrics(self) -> dict:
        try:
            return dict(self.sim.metrics())
        except Exception:  # pragma: no cover - depends on the chain part
            return {}


def make_chain(cfg, rng: np.random.Generator):
    if cfg.chain == "draw":
        return DrawChain(rng)
    return SimulatedChain(cfg.chain_config, cfg.params.n_miners, rng)
