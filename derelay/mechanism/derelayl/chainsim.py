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
for large populations; the block's reward goes to the node's first miner).  The blocks
carry the round's real contents (:class:`RoundPayloads`, built with the chain's own
builders in :mod:`.chain_rules`): the DB the matched deposit contracts, the EB
the FHE key and the submitted models' hashes, the TB the test-case commitment and the
encrypted-model hashes, the SB the performances and the ranking.  A deviating miner's
payload is the honest one corrupted by :func:`derelay.chain.rules.corrupt` (PI, NG, IT,
IRa), so the chain's validity rules - not a flag - decide what honest nodes fork away,
and the round is settled from the blocks that ended on the main chain
(:class:`StageResult` ``payload``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

#: The simulated chain prunes block contents every this many rounds ...
PRUNE_EVERY = 32
#: ... of blocks of rounds older than this many rounds (and final, or off the main chain).
KEEP_ROUNDS = 8

#: ``build(participant, honest) -> payload`` of the block a miner would pack
PayloadBuilder = Callable[[int, bool], dict]


#: no invalid miners (shared, read-only)
_NO_MINERS = np.zeros(0, dtype=np.int64)
_NO_MINERS.setflags(write=False)


@dataclass
class StageResult:
    miner: int  # participant id of the main-chain block's miner (-1: stage failed)
    invalid_miners: np.ndarray = field(default_factory=_NO_MINERS.view)
    stale: int = 0
    reorg_depth: int = 0
    payload: dict | None = None  # contents of the main-chain block (simulated chain only)

    @property
    def forks(self) -> int:
        return int(len(self.invalid_miners)) + int(self.stale)


class DrawChain:
    """Independent uniform draws among the round's miners (the authors' chain)."""

    name = "draw"
    real_blocks = False  # no block contents: the round settles from its own arrays

    def __init__(self, rng: np.random.Generator, max_invalid: int = 10_000) -> None:
        self.rng = rng
        self.max_invalid = max_invalid

    def mine(
        self,
        kind: str,
        round_index: int,
        miners: np.ndarray,
        valid: np.ndarray,
        build: PayloadBuilder | None = None,
    ) -> StageResult:
        miners = np.asarray(miners, dtype=np.int64)
        valid = np.asarray(valid, dtype=bool)
        m = len(miners)
        if m == 0:
            return StageResult(-1)
        n_valid = int(np.count_nonzero(valid))
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

    def winners(self, miners: np.ndarray, k: int) -> np.ndarray:
        """The miners of ``k`` consecutive blocks when every miner is valid: what ``k``
        :meth:`mine` calls would return, in one draw.  ``Generator.integers(m, size=k)``
        gives the same values, and leaves the generator in the same state, as ``k``
        calls of ``integers(m)`` (tested)."""
        return miners[self.rng.integers(len(miners), size=k)]

    def metrics(self) -> dict:
        return {}


class SimulatedChain:
    """Adapter over :class:`derelay.chain.ChainSimulator` (issue 4)."""

    name = "simulated"
    real_blocks = True  # blocks carry the round's contents (RoundPayloads)

    def __init__(
        self,
        chain_config: dict,
        n_miners: int,
        rng: np.random.Generator,
        contents: str = "real",
        params=None,
        forfeit: str = "treasury",
    ) -> None:
        from derelay.chain import BlockKind, ChainConfig, ChainSimulator

        cfg = dict(chain_config)
        cfg.setdefault("n_nodes", int(max(2, min(n_miners, 128))))
        self.cfg = ChainConfig(**cfg)
        self.kinds = {k.value: k for k in BlockKind}
        sim_rng, payload_rng = rng.spawn(2)
        # params: the chain's own coinbases (its settled ledger) use the run's Table II;
        # forfeit: its forfeits go where the run's go (SimConfig.forfeit: burn/redistribute)
        self.sim = ChainSimulator(
            self.cfg, hash_power=None, rng=sim_rng, params=params, forfeit=forfeit
        )
        self.n_nodes = self.cfg.n_nodes
        self.payload_rng = payload_rng
        self.key_seed = int(payload_rng.integers(0, 2**62))
        # "synthetic": the chain part's own small workload races instead (the round is
        # then settled from its own arrays, as with the draw chain)
        self.real_blocks = contents == "real"
        self.prune = True

    def round_payloads(self, round_index: int) -> RoundPayloads:
        """A builder of round ``round_index``'s block contents (one per round).

        Every :data:`PRUNE_EVERY` rounds the blocks older than :data:`KEEP_ROUNDS` rounds
        that finality makes unnecessary are frozen to their headers
        (:meth:`derelay.chain.ChainSimulator.prune`): the contents go, about 200 bytes per
        block stay, the hash chain stays verifiable and results are unchanged.
        """
        if self.prune and round_index > 0 and round_index % PRUNE_EVERY == 0:
            self.sim.prune(round_index - KEEP_ROUNDS)
        return RoundPayloads(round_index, self.key_seed, self.payload_rng)

    def mine(
        self,
        kind: str,
        round_index: int,
        miners: np.ndarray,
        valid: np.ndarray,
        build: PayloadBuilder | None = None,
    ) -> StageResult:
        """Race for one block; ``build(participant, honest)`` gives the payload a miner
        packs (``None``: the chain part's synthetic workload, for standalone use)."""
        miners = np.asarray(miners, dtype=np.int64)
        valid = np.asarray(valid, dtype=bool)
        if len(miners) == 0:
            return StageResult(-1)
        node_miner = miners[np.arange(self.n_nodes) % len(miners)]
        honest = valid[np.arange(self.n_nodes) % len(miners)]
        if not honest.any():
            return StageResult(-1, node_miner[:1])
        payload = None
        if build is not None:

            def payload(node: int, h: bool) -> dict:
                return build(int(node_miner[node]), h)

        out = self.sim.mine_stage(self.kinds[kind], int(round_index), honest, payload)
        inv = [b.miner for b in out.invalid_attempts]
        return StageResult(
            int(node_miner[int(out.miner)]),
            node_miner[np.asarray(inv, dtype=np.int64)] if inv else np.zeros(0, dtype=np.int64),
            stale=len(out.stale),
            reorg_depth=int(out.reorg_depth),
            payload=out.block.payload,
        )

    def metrics(self) -> dict:
        return dict(self.sim.metrics())


class RoundPayloads:
    """The real contents of one round's four blocks, built with :mod:`derelay.chain.rules`.

    The round feeds what it knows when it knows it (``set_deposits`` before the DB,
    ``set_models`` before the EB, ...); the ``*_payload`` methods are what a miner packs
    (``build(participant, honest)`` of :meth:`SimulatedChain.mine`):

    * DB: the matched deposit contracts (owner, trainer, nano-coin amounts, from
      :func:`~derelay.chain.rules.deposit_contract`); an NPA miner packs only
      ``floor(pack_fraction * n)`` of them (the same per-round random subset for every
      NPA miner; legal, ``broadcast`` says how many were available).
    * EB: the miner's FHE public key (:func:`~derelay.chain.rules.fhe_keypair`, one per
      miner and round) and a record (owner, trainer, Hash(M_prev), Hash(M_new)) per
      submitted model.
    * TB: the test-case commitment bound to the main-chain EB's key and the encrypted
      hashes of its records.
    * SB: the performances of the models committed in the main-chain TB and their
      ranking (:func:`~derelay.chain.rules.settlement_payload`), with ``top_k``.

    A dishonest miner (``honest=False``) packs :func:`~derelay.chain.rules.corrupt` of
    the honest payload.  Payloads are built once per (kind, variant) and shared by the
    blocks that pack them (they are never mutated).
    """

    def __init__(self, round_index: int, key_seed: int, rng: np.random.Generator) -> None:
        from . import chain_rules as rules
        from .chain_blocks import BlockKind

        self.r = int(round_index)
        self.key_seed = int(key_seed)
        self.rng = rng
        self._rules = rules
        self._kind = BlockKind
        self._cache: dict[tuple, dict] = {}
        self.contracts: list[dict] = []
        self._perm: np.ndarray | None = None

    def _dishonest(self, kind, key: tuple, honest_payload: dict) -> dict:
        k = ("bad", kind, *key)
        p = self._cache.get(k)
        if p is None:
            p = self._cache[k] = self._rules.corrupt(self._kind(kind), honest_payload, self.rng)
        return p

    # --- DB (step 3) ----------------------------------------------------------------------
    def set_deposits(self, owners, trainers, owner_amounts, trainer_amounts) -> None:
        """The round's matched pairs and their escrowed deposits (nano-coins)."""
        dc, r = self._rules.deposit_contract, self.r
        self.contracts = [
            dc(r, o, t, a, b)
            for o, t, a, b in zip(
                np.asarray(owners).tolist(),
                np.asarray(trainers).tolist(),
                np.asarray(owner_amounts).tolist(),
                np.asarray(trainer_amounts).tolist(),
                strict=True,
            )
        ]
        self._pos = {c["id"]: i for i, c in enumerate(self.contracts)}

    def deposit_payload(self, pack_fraction: float, honest: bool) -> dict:
        n = len(self.contracts)
        k = n if pack_fraction >= 1.0 else int(math.floor(pack_fraction * n))
        key = ("DB", k)
        p = self._cache.get(key)
        if p is None:
            cs = self.contracts
            if k < n:  # NPA: a random subset, kept in broadcast order
                if self._perm is None:
                    self._perm = self.rng.permutation(n)
                cs = [cs[i] for i in np.sort(self._perm[:k]).tolist()]
            p = self._cache[key] = self._rules.deposit_payload(cs, broadcast=n)
        return p if honest else self._dishonest("DB", (k,), p)

    def packed(self, db_payload: dict) -> np.ndarray:
        """Which of the round's contracts (positions) the DB ``db_payload`` packs."""
        mask = np.zeros(len(self.contracts), dtype=bool)
        pos = [self._pos[c["id"]] for c in db_payload["contracts"]]
        mask[pos] = True
        return mask

    # --- EB (step 7) ----------------------------------------------------------------------
    def set_models(self, owners, trainers, prev_hashes, new_hashes) -> None:
        """Records (owner, trainer, Hash(M_prev), Hash(M_new)) of the submitted models."""
        mr = self._rules.model_record
        self.records = [
            mr(o, t, ph, nh)
            for o, t, ph, nh in zip(
                np.asarray(owners).tolist(),
                np.asarray(trainers).tolist(),
                prev_hashes,
                new_hashes,
                strict=True,
            )
        ]

    def encryption_payload(self, miner: int, honest: bool) -> dict:
        key = ("EB", miner)
        p = self._cache.get(key)
        if p is None:
            pk = self._rules.fhe_keypair(f"{self.key_seed}:{self.r}:{miner}")[1]
            p = self._cache[key] = self._rules.encryption_payload(pk, self.records)
        return p if honest else self._dishonest("EB", (), p)

    # --- TB (step 9) ----------------------------------------------------------------------
    def set_cases(self, cases_digest: str | None, n_cases: int) -> None:
        """The round's test cases (digest; ``None``: the abstract backend has no data, a
        digest of (key seed, round) stands for them)."""
        if cases_digest is None:
            cases_digest = hashlib.sha256(
                f"derelay-abstract-cases:{self.key_seed}:{self.r}".encode()
            ).hexdigest()
        self.cases_digest, self.n_cases = str(cases_digest), int(n_cases)

    def testing_payload(self, eb_payload: dict, honest: bool) -> dict:
        """TB on top of the main-chain EB ``eb_payload``."""
        p = self._cache.get(("TB",))
        if p is None:
            R, pk = self._rules, eb_payload["public_key"]
            enc = [
                {"trainer": rec["trainer"], "hash": R.encrypted_model_hash(pk, rec["new_hash"])}
                for rec in eb_payload["records"]
            ]
            p = self._cache[("TB",)] = R.testing_payload(pk, self.cases_digest, self.n_cases, enc)
        return p if honest else self._dishonest("TB", (), p)

    # --- SB (step 11) ---------------------------------------------------------------------
    def set_performances(self, trainers, performance, top_k: int) -> None:
        """Measured performances of the ranked models and how many are selected."""
        self.perf = dict(
            zip(np.asarray(trainers).tolist(), np.asarray(performance).tolist(), strict=True)
        )
        self.top_k = int(top_k)

    def settlement_payload(self, tb_payload: dict, honest: bool) -> dict:
        """SB on top of the main-chain TB ``tb_payload``: the committed models' scores."""
        p = self._cache.get(("SB",))
        if p is None:
            perf = self.perf
            rows = [
                {
                    "trainer": e["trainer"],
                    "encrypted_hash": e["hash"],
                    "performance": perf[e["trainer"]],
                }
                for e in tb_payload["encrypted"]
                if e["trainer"] in perf
            ]
            p = self._cache[("SB",)] = self._rules.settlement_payload(rows, self.top_k)
        return p if honest else self._dishonest("SB", (), p)

    def selection(self, sb_payload: dict, trainers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(selected, order)``: positions in ``trainers`` of the SB's top ``top_k`` and
        of its whole ranking (best first) - what the settlement uses."""
        idx = {t: i for i, t in enumerate(np.asarray(trainers).tolist())}
        order = np.array([idx[int(t)] for t in sb_payload["ranking"]], dtype=np.int64)
        return order[: int(sb_payload["top_k"])], order


def make_chain(cfg, rng: np.random.Generator):
    if cfg.chain == "draw":
        return DrawChain(rng)
    return SimulatedChain(
        cfg.chain_config,
        cfg.params.n_miners,
        rng,
        cfg.chain_contents,
        params=cfg.params,
        forfeit=cfg.forfeit,
    )
