"""Event-driven proof-of-work race over a network topology, with forks.

Two ways to drive the same block store, rules, fork choice and metrics:

Staged (``mine_stage``, used by the agent-based model)
    DeRelayL's four blocks of a round are separated by off-chain work (training
    between DB and EB, encryption between EB and TB, testing between TB and SB), so a
    stage opens when the off-chain step is done and every node mines the stage's
    kind on the common tip.  Mining events are exponential with mean
    ``interval * difficulty`` and the miner is drawn proportionally to hash power.
    The first valid block reaches node ``j`` after its shortest-path delay; every
    node that finds a block before any valid block of the stage has reached it mines
    a *rival* (a natural fork).  A node that already holds a stage block does not
    mine again in this stage (its work belongs to the next stage; by memorylessness
    of the exponential clock nothing is lost by restarting it).  The stage closes
    when every node holds a valid stage block.  Nodes hold the rival they saw first;
    the fork is resolved the way the next block resolves it: the next honest block
    extends the rival its miner holds, so the winner is drawn with probability equal
    to the honest hash power holding each rival.  Holders of losing rivals reorganise
    (depth 1) and the losers are stale.  Deviating miners (``honest[m] = False``)
    build the dishonest payload; an invalid block (PI, NG, IT, IRa) is rejected by
    every honest node and orphaned (the paper's assumption, measured rather than
    imposed: ``dishonest_orphan_rate``), a legal NPA block competes normally.
    Deviators here are individual miners deviating for one block (Table II's
    strategies), so their invalid blocks sit on the common tip and never form a
    branch: a coordinated majority attack (takeover) is the continuous mode's subject.

Continuous (``run``, used by ``derelay chain``)
    A free-running chain in which block kinds follow height (DB, EB, TB, SB, DB, ...;
    round = (height - 1) // 4) and nodes mine without stage barriers.  Every node
    follows the longest valid chain it has received, keeping the first-seen block on
    ties; its head is the lexicographic maximum of (height, -arrival time) over valid
    blocks received, which is order independent.  Deliveries are processed lazily and
    vectorised over nodes: before each event, the pending blocks' arrival vectors
    ``t_pub + D[miner]`` are compared with the clock.  An adversary with share
    ``alpha`` of the hash power (on ``adversary_nodes`` nodes that share information
    instantly, like a pool) follows a policy:

    ``invalid``  mines invalid blocks (PI/NG/IT/IRa by height's kind) on its own
                 branch, forking from the public tip and abandoning the branch when
                 it falls more than ``give_up`` blocks behind (a rational attacker
                 does not extend a hopeless branch forever).
    ``withhold`` selfish mining with valid blocks (Eyal & Sirer 2014, Algorithm 1):
                 keep new blocks private; when the public chain catches up to a lead
                 of 1 publish everything (race, with gamma set by the topology),
                 at lead 2 publish all and win, at larger leads publish one block per
                 honest block; the adversary learns of honest blocks when the first
                 of its nodes receives them.

Metrics (``metrics()``) are computed on the *final chain* (see ``ChainConfig.final_rule``).
"""

from __future__ import annotations

import bisect
import gc
import heapq
import math
import time as _time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from derelay.mechanism.derelayl.chain_rewards import MinerRewards
from derelay.mechanism.derelayl.chain_rules import (
    SyntheticWorkload,
    contract_id,
    validate_payload,
)
from derelay.network import Network

from .blocks import KIND_ORDER, Block, BlockKind, BlockStore, make_block
from .config import ChainConfig
from .ledger import Ledger

PayloadFn = Callable[[int, bool], dict]

_GENESIS_FUNDS = 10**18


def pool_hash_power(
    participant_power: np.ndarray, participant_node: np.ndarray, n_nodes: int
) -> np.ndarray:
    """Hash power per network node when many participants mine through few pools.

    ``participant_node[i]`` is the node (pool) participant ``i`` mines through; the
    result sums their power per node (``np.bincount``), ready for ``hash_power=``.
    """
    node = np.asarray(participant_node, dtype=np.int64)
    power = np.asarray(participant_power, dtype=float)
    if node.shape != power.shape:
        raise ValueError("participant_power and participant_node must have the same shape")
    if node.size and (node.min() < 0 or node.max() >= n_nodes):
        raise ValueError(f"participant_node must be in [0, {n_nodes - 1}]")
    return np.bincount(node, weights=power, minlength=n_nodes)


def assign_pools(
    n_participants: int, n_nodes: int, rng: np.random.Generator, skew: float = 0.0
) -> np.ndarray:
    """Map participants to ``n_nodes`` pools: uniformly (``skew = 0``) or with
    Zipf-like pool sizes (pool ``j`` attracts weight ``(j + 1) ** -skew``)."""
    if n_nodes < 1 or n_participants < 0:
        raise ValueError("n_nodes must be >= 1 and n_participants >= 0")
    w = np.arange(1, n_nodes + 1, dtype=float) ** (-float(skew))
    return rng.choice(n_nodes, size=n_participants, p=w / w.sum())


@dataclass
class _RunState:
    """Continuous-mode state that must survive between ``run`` calls."""

    next_mine: float
    adv_tip: int = 0  # invalid policy: tip of own branch; withhold: private tip
    unpublished: list[int] = field(default_factory=list)  # withheld blocks, oldest first
    pub_h_seen: int = 0  # height of the best public block the adversary has seen
    race: bool = False  # Eyal-Sirer state 0': a published tie is being raced
    race_block: int = -1  # the adversary's block in the current race
    race_counted: bool = True  # the race's first honest block has been classified
    gamma_hits: int = 0  # races whose first honest block extended the adversary's block
    gamma_races: int = 0  # races decided by an honest block
    events: list[tuple[float, int, int]] = field(default_factory=list)  # adversary sees block
    seq: int = 0


@dataclass
class StageOutcome:
    """Result of one stage (one block kind of one round) of the staged race."""

    block: Block | None  # block on the main (longest valid) chain for this stage
    miner: int  # its miner's node id (-1 if no valid block)
    orphaned: list[Block] = field(default_factory=list)  # mined this stage, off the main chain
    invalid_attempts: list[Block] = field(default_factory=list)  # invalid blocks mined
    stale: list[Block] = field(default_factory=list)  # valid blocks orphaned by natural forks
    reorg_depth: int = 0  # deepest reorganisation seen during the stage
    elapsed: float = 0.0  # simulated seconds
    kind: BlockKind | None = None
    round: int = -1
    reorged_nodes: int = 0  # nodes that switched branch when the fork was resolved
    mined: list[Block] = field(default_factory=list)  # every block mined in the stage


class ChainSimulator:
    """A forkable four-stage DeRelayL blockchain over a networkx topology.

    >>> import numpy as np
    >>> from derelay.chain import BlockKind, ChainConfig, ChainSimulator
    >>> sim = ChainSimulator(ChainConfig(n_nodes=16, latency=0.1, interval=10.0),
    ...                      rng=np.random.default_rng(1))
    >>> honest = np.ones(16, dtype=bool)
    >>> outs = [sim.mine_stage(k, 0, honest, None) for k in BlockKind]   # synthetic payloads
    >>> [o.block.kind.value for o in outs], all(o.block.valid for o in outs)
    (['DB', 'EB', 'TB', 'SB'], True)
    >>> honest[3] = False                     # node 3 deviates (PI) if it wins a DB race
    >>> out = sim.mine_stage(BlockKind.DB, 1, honest, None)
    >>> out.block.valid and all(not b.valid for b in out.invalid_attempts)
    True

    With ``payload=None`` a :class:`~derelay.chain.rules.SyntheticWorkload` builds
    consistent payloads; the ABM passes ``payload(miner, honest) -> dict`` built
    with :mod:`derelay.chain.rules` (``deposit_payload``, ``encryption_payload``, ...).
    """

    def __init__(
        self,
        config: ChainConfig | None = None,
        hash_power: np.ndarray | None = None,
        rng: np.random.Generator | None = None,
        network: Network | None = None,
        workload: SyntheticWorkload | None = None,
        params: Any = None,
        forfeit: str = "treasury",
    ) -> None:
        self.config = cfg = config or ChainConfig()
        #: destination of the settled ledger's forfeits (:data:`derelay.chain.ledger.
        #: FORFEIT_RULES`: "treasury", "burn" or "redistribute"; the ABM passes its own)
        self.forfeit = forfeit
        rng = rng if rng is not None else np.random.default_rng(0)
        net_rng, self._rng, adv_rng, work_rng = rng.spawn(4)
        if network is None:
            network = Network.build(
                cfg.topology,
                cfg.n_nodes,
                cfg.latency,
                net_rng,
                degree=cfg.degree,
                rewire=cfg.rewire,
                jitter=cfg.latency_jitter,
                path=cfg.graph_path,
            )
        self.network = network
        self.delays = network.delays
        self.n_nodes = n = network.n_nodes
        self.interval = cfg.effective_interval
        self.workload = workload or SyntheticWorkload(seed=int(work_rng.integers(0, 2**31)))
        self.rewards = MinerRewards(params) if cfg.rewards == "mechanism" else None

        # hash power and adversary
        if hash_power is not None:
            power = hash_power
        elif cfg.hash_skew > 0:  # Zipf-like concentration, ranks shuffled over nodes
            power = np.arange(1, n + 1, dtype=float) ** (-cfg.hash_skew)
            power = power[adv_rng.permutation(n)]
        else:
            power = np.ones(n)
        self.adversary_mask = np.zeros(n, dtype=bool)
        if cfg.adversary > 0:
            idx = adv_rng.choice(n, size=cfg.adversary_nodes, replace=False)
            self.adversary_mask[idx] = True
        self.set_hash_power(power)
        adv_idx = np.flatnonzero(self.adversary_mask)
        self._adv_idx = adv_idx
        self._adv_seen = self.delays[:, adv_idx].min(axis=1) if adv_idx.size else None

        # block store (numpy columns for the vectorised metrics)
        self.blocks = BlockStore()  # old blocks are frozen to header columns (prune)
        self._n_npa = 0
        self._double_spends_pruned = 0
        cap = 1024
        self._height = np.zeros(cap, dtype=np.int64)
        self._parent = np.full(cap, -1, dtype=np.int64)
        self._miner = np.full(cap, -1, dtype=np.int64)
        self._t = np.zeros(cap)
        self._pub = np.full(cap, np.inf)
        self._valid = np.zeros(cap, dtype=bool)
        self._adv = np.zeros(cap, dtype=bool)
        genesis = make_block(None, -1, 0, None, -1, {"genesis": True}, 0.0, 0)
        self._append(genesis, pub=0.0)

        # per-node fork-choice state (continuous mode) and the common tip (staged mode)
        self.head = np.zeros(n, dtype=np.int64)
        self.head_h = np.zeros(n, dtype=np.int64)
        self.head_arr = np.zeros(n)
        self.time = 0.0
        self._tip = 0
        self._pending: list[list[Any]] = []  # [block, t_pub, delivered, order, arrivals]
        self._dsort: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._reorgs: Counter[int] = Counter()  # depth -> honest node reorganisation events
        self._contract_seen: dict[str, int] = {}
        self.double_spends: list[tuple[str, int, int]] = []
        self.wall_seconds = 0.0
        self.stages = 0
        self._settled: Ledger | None = None
        self._continuous = False
        self._state: _RunState | None = None
        self.max_adversary_lead = 0  # most blocks the adversary's branch led honest nodes by

    # ------------------------------------------------------------------ store
    def _grow(self) -> None:
        cap = self._height.size * 2
        for name, fill in (
            ("_height", 0),
            ("_parent", -1),
            ("_miner", -1),
            ("_t", 0.0),
            ("_pub", np.inf),
            ("_valid", False),
            ("_adv", False),
        ):
            old = getattr(self, name)
            new = np.full(cap, fill, dtype=old.dtype)
            new[: old.size] = old
            setattr(self, name, new)

    def _append(self, b: Block, pub: float = np.inf) -> int:
        i = len(self.blocks)
        if i >= self._height.size:
            self._grow()
        b.id = i
        self.blocks.append(b)
        self._height[i] = b.height
        self._parent[i] = b.parent_id
        self._miner[i] = b.miner
        self._t[i] = b.timestamp
        self._pub[i] = pub
        self._valid[i] = b.valid
        self._adv[i] = not b.honest_miner and not (b.valid and b.npa and not b.violations)
        self._n_npa += b.npa
        if b.kind is BlockKind.DB and b.valid:
            for c in b.payload.get("contracts", ()):
                other = self._contract_seen.setdefault(c["id"], i)
                if other != i:
                    self.double_spends.append((c["id"], other, i))
        return i

    def _context(self, parent_id: int, round_index: int) -> dict:
        """Payloads of this round's ancestors (``DB/EB/TB``) and the previous EB."""
        ctx: dict[str, Any] = {}
        j = parent_id
        for _ in range(8):
            if j <= 0:
                break
            b = self.blocks[j]
            if b.round == round_index and b.kind is not None:
                ctx.setdefault(b.kind.value, b.payload)
            elif b.round == round_index - 1 and b.kind is BlockKind.EB:
                ctx["prev_EB"] = b.payload
                break
            elif b.round < round_index - 1:
                break
            j = b.parent_id
        return ctx

    def _new_block(
        self,
        kind: BlockKind,
        round_index: int,
        parent_id: int,
        miner: int,
        honest: bool,
        payload: dict,
        t: float,
        ctx: dict,
    ) -> Block:
        parent = self.blocks[parent_id]
        b = make_block(
            kind,
            round_index,
            parent.height + 1,
            parent,
            miner,
            payload,
            t,
            int(self._rng.integers(0, 2**32)),
        )
        violations, npa = validate_payload(kind, round_index, payload, ctx)
        if not parent.valid:
            violations = (*violations, "parent")
        b.violations = violations
        b.npa = npa
        b.valid = not violations
        b.honest_miner = honest
        if self.rewards is not None:
            b.reward = self.rewards.nano(kind, payload, ctx) if b.valid else 0
        own = [v for v in violations if v != "parent"]  # a payload bug, not the parent's
        if honest and own and self.config.strict_honest_payloads:
            raise ValueError(
                f"payload(miner={miner}, honest=True) built an invalid {kind.value} block "
                f"for round {round_index}: violates {', '.join(violations)} "
                "(see derelay.chain.rules for the validity rules)"
            )
        return b

    def _draw_miner(self) -> int:
        return int(np.searchsorted(self._cum, self._rng.random(), side="right"))

    def set_hash_power(self, hash_power: np.ndarray) -> None:
        """Replace the nodes' hash power (e.g. when participants join, leave or move
        between pools); the adversary's nodes keep share ``alpha`` if one is set."""
        power = np.asarray(hash_power, dtype=float).reshape(-1)
        n = self.n_nodes
        if power.shape != (n,):
            raise ValueError(f"hash_power must have shape ({n},); got {power.shape}")
        if not np.all(np.isfinite(power)) or (power < 0).any() or power.sum() <= 0:
            raise ValueError("hash_power must be finite, >= 0 and not all zero")
        power = power / power.sum()
        if self.config.adversary > 0:
            a = self.adversary_mask
            adv, hon = power[a], power[~a]
            power = power.copy()
            power[a] = self.config.adversary * (
                adv / adv.sum() if adv.sum() > 0 else np.full(adv.size, 1 / adv.size)
            )
            power[~a] = (1 - self.config.adversary) * (
                hon / hon.sum() if hon.sum() > 0 else np.full(hon.size, 1 / hon.size)
            )
        self.hash_power = power
        self._cum = np.cumsum(power)
        self._cum[-1] = 1.0

    @property
    def n_double_spends(self) -> int:
        """Deposit contracts detected on two branches (pruned rounds included)."""
        return self._double_spends_pruned + len(self.double_spends)

    @property
    def n_mined(self) -> int:
        """Blocks mined so far (genesis excluded, invalid and withheld included)."""
        return len(self.blocks) - 1

    # ------------------------------------------------------------------ staged API
    @property
    def tip(self) -> Block:
        """The tip of the honest main chain (staged mode)."""
        return self.blocks[self._tip]

    def mine_stage(
        self,
        kind: BlockKind | str,
        round_index: int,
        honest: np.ndarray | None = None,
        payload: PayloadFn | None = None,
        wait: float = 0.0,
    ) -> StageOutcome:
        """Race for one block of ``kind`` in round ``round_index`` (see module docstring).

        ``wait`` (seconds, >= 0) is off-chain time before the stage opens (training,
        encryption, testing); it advances the clock but is not part of ``elapsed``.

        ``honest[m]`` says whether node ``m`` follows Normal for this kind (default:
        every node outside the adversary); ``payload(m, honest)`` builds the payload
        node ``m`` would pack (``None``: the synthetic workload).  A payload built with
        ``honest=True`` that breaks a rule raises ``ValueError`` (it is a caller bug)
        unless ``strict_honest_payloads`` is off.
        """
        t0 = _time.perf_counter()
        if self._continuous:
            raise RuntimeError("mine_stage after run(): use one simulator per mode")
        kind = BlockKind(kind)
        n = self.n_nodes
        if honest is None:
            hon = ~self.adversary_mask
        else:
            hon = np.asarray(honest, dtype=bool)
            if hon.shape != (n,):
                raise ValueError(f"honest must be a bool array of shape ({n},); got {hon.shape}")
        if not (math.isfinite(wait) and wait >= 0):
            raise ValueError(f"wait must be >= 0 seconds; got {wait}")
        self.time += wait
        parent_id = self._tip
        ctx = self._context(parent_id, round_index)
        if payload is None:
            wl = self.workload

            def payload(m: int, h: bool) -> dict:
                return wl.payload(kind, round_index, m, h, ctx)

        start = self.time
        t = start
        first_seen = np.full(n, np.inf)
        first_block = np.full(n, -1, dtype=np.int64)
        t_end = np.inf
        mined: list[Block] = []
        invalid: list[Block] = []
        valid_ids: list[int] = []
        delays = self.delays
        interval = self.interval
        rnd = self._rng.random
        cap = 1_000_000 if float(self.hash_power[hon].sum()) > 0 else 10_000
        for _ in range(cap):
            t -= interval * math.log1p(-rnd())
            if t >= t_end:
                break
            m = self._draw_miner()
            if first_seen[m] <= t:
                continue  # m already holds a stage block; its work is for the next stage
            h = bool(hon[m])
            b = self._new_block(kind, round_index, parent_id, m, h, payload(m, h), t, ctx)
            mined.append(b)
            if not b.valid:
                self._append(b, pub=t)
                invalid.append(b)
                continue
            i = self._append(b, pub=t)
            valid_ids.append(i)
            arr = t + delays[m]
            better = arr < first_seen
            first_seen[better] = arr[better]
            first_block[better] = i
            t_end = first_seen.max()
        else:
            raise RuntimeError(
                f"no valid {kind.value} block after {cap:,} attempts: every miner with "
                "hash power deviates with an invalid payload"
            )
        # resolve the fork as the next honest block would
        reorg_nodes = 0
        if len(valid_ids) == 1:
            winner = valid_ids[0]
        else:
            w = np.bincount(
                np.searchsorted(valid_ids, first_block),
                weights=self.hash_power * hon,
                minlength=len(valid_ids),
            )
            if w.sum() <= 0:
                w = np.bincount(
                    np.searchsorted(valid_ids, first_block),
                    weights=self.hash_power,
                    minlength=len(valid_ids),
                )
            winner = valid_ids[int(np.searchsorted(np.cumsum(w) / w.sum(), rnd(), side="right"))]
            reorg_nodes = int(((first_block != winner) & hon).sum())
            if reorg_nodes:
                self._reorgs[1] += reorg_nodes
        self._tip = winner
        self.head[:] = winner
        self.head_h[:] = self._height[winner]
        self.time = t_end
        wb = self.blocks[winner]
        stale = [self.blocks[i] for i in valid_ids if i != winner]
        self.stages += 1
        self.wall_seconds += _time.perf_counter() - t0
        return StageOutcome(
            block=wb,
            miner=wb.miner,
            orphaned=stale + invalid,
            invalid_attempts=invalid,
            stale=stale,
            reorg_depth=1 if reorg_nodes else 0,
            elapsed=t_end - start,
            kind=kind,
            round=round_index,
            reorged_nodes=reorg_nodes,
            mined=mined,
        )

    def mine_round(
        self,
        round_index: int,
        honest: dict | np.ndarray | None = None,
        payloads: dict | None = None,
    ) -> list[StageOutcome]:
        """Convenience: the four stages of a round (``honest``/``payloads`` per kind)."""
        out = []
        for k in KIND_ORDER:
            hk = honest.get(k, honest.get(k.value)) if isinstance(honest, dict) else honest
            pk = None if payloads is None else payloads.get(k, payloads.get(k.value))
            out.append(self.mine_stage(k, round_index, hk, pk))
        return out

    # ------------------------------------------------------------------ continuous mode
    def _sorted_delays(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        """Nodes ordered by delay from ``m`` and those delays (cached per miner)."""
        hit = self._dsort.get(m)
        if hit is None:
            row = self.delays[m]
            order = np.argsort(row, kind="stable")
            hit = self._dsort[m] = (order, row[order])
        return hit

    def _publish(self, i: int, t: float) -> None:
        self._pub[i] = t
        m = self.blocks[i].miner
        order, dsorted = self._sorted_delays(m)
        # absolute arrival times, computed exactly as event times are (t + delay), so a
        # node is never missed by a rounding difference between (t + d) - t and d
        entry = [i, t, 0, order, t + dsorted]  # block, publication, delivered, nodes, arrivals
        self._pending.append(entry)
        self._deliver_entry(entry, t)

    def _deliver_entry(self, entry: list, t: float) -> None:
        """Deliver block ``entry[0]`` to the nodes it reaches by time ``t``.

        Nodes are visited in arrival order, so the work is proportional to the nodes
        newly reached, not to the network size.
        """
        i, _t_pub, pos, order, arrivals = entry
        if not self._valid[i]:
            entry[2] = order.size
            return
        k = int(np.searchsorted(arrivals, t, side="right"))
        if k <= pos:
            return
        entry[2] = k
        nodes = order[pos:k]
        arr = arrivals[pos:k]
        h = self._height[i]
        hh = self.head_h[nodes]
        better = (h > hh) | ((h == hh) & (arr < self.head_arr[nodes]))
        if not better.all():
            nodes, arr = nodes[better], arr[better]
            if not nodes.size:
                return
        old = self.head[nodes]
        self.head[nodes] = i
        self.head_h[nodes] = h
        self.head_arr[nodes] = arr
        # reorganisation: the new head does not extend the old one (honest nodes only)
        p = self._parent[i]
        if (old == p).all():
            return
        old = old[(old != p) & ~self.adversary_mask[nodes]]
        if not old.size:
            return
        for o, cnt in zip(*np.unique(old, return_counts=True), strict=True):
            depth = self._reorg_depth(int(o), i)
            if depth:
                self._reorgs[depth] += int(cnt)

    def _reorg_depth(self, old: int, new: int) -> int:
        """Blocks of ``old``'s chain abandoned when switching to ``new``."""
        a, b = old, new
        ha, hb = self._height[a], self._height[b]
        par = self._parent
        while hb > ha:
            b = par[b]
            hb -= 1
        while ha > hb:
            a = par[a]
            ha -= 1
        while a != b:
            a, b = par[a], par[b]
        return int(self._height[old] - self._height[a])

    def _deliver(self, t: float) -> None:
        if not self._pending:
            return
        keep = []
        n = self.n_nodes
        for entry in self._pending:
            self._deliver_entry(entry, t)
            if entry[2] < n:
                keep.append(entry)
        self._pending = keep

    def _public_best_for_adversary(self) -> int:
        idx = self._adv_idx
        hs = self.head_h[idx]
        best = idx[hs == hs.max()]
        return int(self.head[best[np.argmin(self.head_arr[best])]])

    def run(self, blocks: int, progress: Callable[[int], None] | None = None) -> dict:
        """Mine ``blocks`` more blocks in continuous mode; returns :meth:`metrics`."""
        if blocks < 0:
            raise ValueError(f"blocks must be >= 0; got {blocks}")
        if self.stages:
            raise RuntimeError("run() after mine_stage: use one simulator per mode")
        self._continuous = True
        # Blocks form no reference cycles; the cyclic collector would rescan the
        # whole growing block store again and again (cost growing with chain length).
        gc_enabled = gc.isenabled()
        gc.disable()
        try:
            self._run(blocks, progress)
        finally:
            if gc_enabled:
                gc.enable()
        return self.metrics()

    def _run(self, blocks: int, progress: Callable[[int], None] | None) -> None:
        t0 = _time.perf_counter()
        cfg = self.config
        policy = cfg.policy if cfg.adversary > 0 else None
        adv = self.adversary_mask
        wl = self.workload
        rnd = self._rng.random
        interval = self.interval
        st = self._state
        if st is None:  # adversary state, observation events and clock persist across calls
            st = self._state = _RunState(next_mine=self.time - interval * math.log1p(-rnd()))
        events = st.events
        target = len(self.blocks) - 1 + blocks
        report = max(1, blocks // 100)

        def react(now: float) -> None:
            """The adversary (withhold) learns of a public block: Eyal-Sirer's rules."""
            self._deliver(now)
            pub = self._public_best_for_adversary()
            ph = int(self._height[pub])
            if not st.unpublished:
                if ph > self._height[st.adv_tip] or self._height[st.adv_tip] == 0:
                    st.adv_tip, st.race = pub, False
                st.pub_h_seen = max(st.pub_h_seen, ph)
                return
            if ph <= st.pub_h_seen:
                return
            st.pub_h_seen = ph
            lead = int(self._height[st.adv_tip]) - ph
            if lead < 0:  # the honest chain overtook: abandon the private branch
                st.unpublished, st.adv_tip, st.race = [], pub, False
            elif lead <= 1:  # 1 -> 0: publish and race; 2 -> 1: publish all and win
                for j in st.unpublished:
                    self._publish(j, now)
                st.unpublished = []
                st.race = lead == 0
                if st.race:
                    st.race_block, st.race_counted = st.adv_tip, False
            else:  # lead >= 2: publish the blocks the honest chain has matched
                for j in st.unpublished:
                    if self._height[j] <= ph:
                        self._publish(j, now)
                st.unpublished = [j for j in st.unpublished if self._height[j] > ph]

        while len(self.blocks) - 1 < target:
            if events and events[0][0] <= st.next_mine:
                now, _, _ = heapq.heappop(events)
                react(now)
                continue
            t = st.next_mine
            st.next_mine = t - interval * math.log1p(-rnd())
            self.time = t
            self._deliver(t)
            m = self._draw_miner()
            if adv[m] and policy == "invalid":
                pub = self._public_best_for_adversary()
                if (
                    st.adv_tip == 0
                    or self._height[st.adv_tip] < self._height[pub] - cfg.abandon_depth
                ):
                    st.adv_tip = pub
                parent = st.adv_tip
                honest = False
                lead = int(self._height[parent]) + 1 - int(self.head_h[~adv].max())
                self.max_adversary_lead = max(self.max_adversary_lead, lead)
            elif adv[m] and policy == "withhold":
                if not st.unpublished:
                    pub = self._public_best_for_adversary()
                    if self._height[pub] > self._height[st.adv_tip]:
                        st.adv_tip = pub
                parent = st.adv_tip
                honest = True  # valid blocks: selfish mining breaks no rule
            else:
                parent = int(self.head[m])
                honest = True
                if st.race and not st.race_counted:  # gamma: which side of the tie?
                    st.race_counted = True
                    st.gamma_races += 1
                    st.gamma_hits += parent == st.race_block
            h = int(self._height[parent]) + 1
            kind = KIND_ORDER[(h - 1) % 4]
            r = (h - 1) // 4
            ctx = self._context(parent, r)
            b = self._new_block(
                kind, r, parent, m, honest, wl.payload(kind, r, m, honest, ctx), t, ctx
            )
            if adv[m]:
                b.honest_miner = False
            i = self._append(b)
            self._adv[i] = bool(adv[m])
            if adv[m] and policy == "withhold":
                st.adv_tip = i
                st.unpublished.append(i)
                lead = int(self._height[i]) - int(self.head_h[~adv].max())
                self.max_adversary_lead = max(self.max_adversary_lead, lead)
                if st.race:  # state 0': publish at once and win the race
                    for j in st.unpublished:
                        self._publish(j, t)
                    st.unpublished, st.race = [], False
            elif adv[m]:
                st.adv_tip = i
                self._pub[i] = t  # published (and rejected by every honest node)
            else:
                self._publish(i, t)
                if policy == "withhold":
                    st.seq += 1
                    heapq.heappush(events, (t + float(self._adv_seen[m]), st.seq, i))
            if progress is not None and (len(self.blocks) - 1) % report == 0:
                progress(len(self.blocks) - 1)
        self.wall_seconds += _time.perf_counter() - t0

    # ------------------------------------------------------------------ measurements
    def final_tip(self) -> int:
        """Tip of the final chain under ``final_rule`` (ties: valid first, then first published)."""
        n = len(self.blocks)
        pub = np.isfinite(self._pub[:n])
        cand = pub & (self._valid[:n] if self.config.final_rule == "honest" else True)
        if self.stages and self.config.final_rule == "honest":
            return self._tip
        h = np.where(cand, self._height[:n], -1)
        top = np.flatnonzero(h == h.max())
        order = np.lexsort((self._pub[top], ~self._valid[top]))
        return int(top[order[0]])

    def main_chain(self, tip: int | None = None) -> np.ndarray:
        """Block ids of the final chain from genesis to ``tip`` (default: final tip)."""
        j = self.final_tip() if tip is None else tip
        out = np.empty(self._height[j] + 1, dtype=np.int64)
        par = self._parent
        k = out.size - 1
        while j >= 0:
            out[k] = j
            j = par[j]
            k -= 1
        return out

    def prune(self, before_round: int) -> int:
        """Freeze the blocks of rounds before ``before_round`` that finality makes
        unnecessary; returns how many were frozen.

        Frozen (:meth:`BlockStore.freeze`): blocks already applied to the settled ledger
        (on the final chain, ``confirmation_depth`` deep; the ledger compacts them to their
        hashes) and blocks off the main chain. A frozen block keeps only its header
        (kind, round, height, parent, miner, nonce, timestamp, payload digest), its hash
        and what the metrics read, as numpy columns; its object and payload go. So
        :meth:`Block.compute_hash` and the parent links still verify the whole chain
        (:meth:`BlockStore.verify`). Also dropped: the double-spend index of those rounds
        (the detected conflicts are kept as a count) and the contract-id cache. A later
        reorganisation onto a frozen block raises (its payload reads raise). Per block
        about 200 bytes stay (header columns, simulator columns, the ledger's hash), so
        memory grows by a few hundred kB per 1,000 rounds, not with the contents (issue 20).
        """
        led = self.settled_ledger()  # apply what is final before its contents go
        n = len(self.blocks)
        blocks = self.blocks
        chain = self.main_chain()
        final_ids = chain[1 : max(1, chain.size - self.config.confirmation_depth)]
        final = np.zeros(n, dtype=bool)
        final[final_ids] = True
        old = bisect.bisect_left(final_ids, before_round, key=blocks.round_of)
        led.compact(keep=len(final_ids) - old)  # undo records of the pruned final blocks
        on = np.zeros(n, dtype=bool)
        on[chain] = True
        start = getattr(self, "_pruned_upto", 1)
        done = 0
        i = start
        while i < n:
            if blocks.round_of(i) >= before_round:
                break
            if final[i] or not on[i]:
                blocks.freeze(i)
                done += 1
            elif on[i]:  # on the main chain but not final yet: stop here, retry later
                break
            i += 1
        self._pruned_upto = i
        # a valid DB holds only contracts of its own round (rules._contract_ok: the round is
        # part of the id), so contracts of pruned rounds can never be double-spent again
        rnd = blocks.round_of
        self._contract_seen = {
            cid: j for cid, j in self._contract_seen.items() if rnd(j) >= before_round
        }
        # detected double spends of pruned rounds are kept as a count (the metric's)
        keep = [d for d in self.double_spends if rnd(d[2]) >= before_round]
        self._double_spends_pruned += len(self.double_spends) - len(keep)
        self.double_spends = keep
        contract_id.cache_clear()  # ids of pruned rounds are never validated again
        return done

    def settled_ledger(self) -> Ledger:
        """Ledger of the final chain's blocks that are ``confirmation_depth`` deep.

        Kept incrementally: later calls undo/apply only the blocks that changed
        (:meth:`Ledger.follow`).  Participants' balances are relative to their
        off-chain holdings (overdraft allowed), so the ledger tracks flows exactly.
        """
        chain = self.main_chain()
        final = chain[1 : max(1, chain.size - self.config.confirmation_depth)]
        led = self._settled
        if led is None:
            led = self._settled = Ledger(
                block_reward=self.config.block_reward, allow_overdraft=True, forfeit=self.forfeit
            )
        # ledger entries form no reference cycles; with a large block store the cyclic
        # collector would rescan it again and again during the replay (2x slower)
        gc_enabled = gc.isenabled()
        gc.disable()
        try:
            start = led.n_final  # compacted (final, frozen) blocks are never revisited
            led.follow([self.blocks[i] for i in final[start:]], offset=start)
        finally:
            if gc_enabled:
                gc.enable()
        return led

    def blocks_frame(self):
        """Every block as a pandas DataFrame row (genesis included), with its fate."""
        import pandas as pd

        n = len(self.blocks)
        chain = self.main_chain()
        on = np.zeros(n, dtype=bool)
        on[chain] = True
        tip_h = chain.size - 1
        bl = self.blocks
        return pd.DataFrame(
            {
                "id": np.arange(n),
                "hash": [b.hash for b in bl],
                "parent_id": self._parent[:n],
                "kind": pd.Categorical(
                    ["GEN" if b.kind is None else b.kind.value for b in bl],
                    categories=["GEN", *(k.value for k in KIND_ORDER)],
                ),
                "round": np.array([b.round for b in bl], dtype=np.int64),
                "height": self._height[:n],
                "miner": self._miner[:n],
                "timestamp": self._t[:n],
                "published": self._pub[:n],
                "valid": self._valid[:n],
                "violations": [",".join(b.violations) for b in bl],
                "npa": np.array([b.npa for b in bl], dtype=bool),
                "dishonest": self._adv[:n],
                "on_main_chain": on,
                "final": on & (self._height[:n] <= tip_h - self.config.confirmation_depth),
            }
        )

    def metrics(self) -> dict:
        """Measurements on the final chain (JSON-friendly; NaN where undefined).

        ``stale_rate``            valid blocks off the final chain / valid blocks mined
        ``orphan_rate``           all blocks off the final chain / blocks mined
        ``mean_reorg_depth``,     over reorganisation events at honest nodes (a node
        ``max_reorg_depth``       switches to a head that does not extend its old head;
                                  depth = blocks of its old chain abandoned); 0 if none
        ``reorg_events``, ``deep_reorg_events`` (depth >= k)
        ``invalid_final_blocks``  invalid blocks on the final chain at depth >= k
        ``invalid_main_chain_blocks`` invalid blocks on the final chain at any depth
        ``dishonest_orphan_rate`` dishonest blocks (invalid, or withheld by the
                                  adversary) off the final chain / dishonest blocks
                                  mined - the probability the utility model takes as 1
        ``adversary_main_share``  final-chain blocks mined by the adversary / its length
        ``max_adversary_lead``    most blocks the adversary's branch ever led the best
                                  honest head by (continuous mode)
        ``selfish_gamma``         withhold: share of races (a published tie) whose first
                                  honest block extended the adversary's block - the
                                  gamma of Eyal & Sirer, produced by the topology
        ``mean_time_to_finality`` mean over final blocks of (time the block k above it
                                  on the final chain has reached every node) - (mined)
        ``double_spend_conflicts`` deposit contracts packed on two branches (detected):
                                  a deposit-block contract seen in a second valid deposit
                                  block on another branch.  Forks alone make it positive on
                                  an honest run (the same pending contract is packed again
                                  by the competing branch's miner); the settled ledger
                                  counts it once.  Also as the clearer name
                                  ``deposit_contracts_packed_on_two_branches``.
        ``settled_minted_nano``, ``settled_refunded_nano``, ``settled_forfeited_nano``,
        ``open_escrow_nano``, ``block_reward_nano`` integer nano-coins (the settled ledger's
                                  totals and the flat coinbase); the keys without ``_nano``
                                  are the same integers, kept for compatibility
        ``ledger_conserved``      the settled ledger (final blocks) conserves coins
        ``blocks``                blocks mined (invalid and withheld included)
        ``seconds``               wall-clock seconds spent simulating
        """
        cfg = self.config
        n = len(self.blocks)
        k = cfg.confirmation_depth
        chain = self.main_chain()
        tip_h = int(chain.size - 1)
        on = np.zeros(n, dtype=bool)
        on[chain] = True
        sl = slice(1, n)
        valid, adv, onm = self._valid[sl], self._adv[sl], on[sl]
        heights = self._height[sl]
        mined = n - 1
        n_valid = int(valid.sum())
        n_adv = int(adv.sum())
        final_mask = onm & (heights <= tip_h - k)
        rd = np.array(sorted(self._reorgs), dtype=np.int64)
        rc = np.array([self._reorgs[d] for d in rd], dtype=np.int64)
        n_reorg = int(rc.sum())
        # time to finality: block at height h is final once the chain block at h + k
        # has reached every node
        fin = np.nan
        if chain.size > k + 1:
            ids = chain[1 : chain.size - k]
            finalizer = chain[1 + k :]
            pub = self._pub[finalizer]
            reach = pub + self.network.eccentricity[self._miner[finalizer]]
            fin = float(np.mean(reach - self._t[ids]))
        elapsed = float(self._t[chain[-1]]) if tip_h else 0.0
        led = self.settled_ledger()
        snap = led.snapshot()

        def rate(num: int, den: int) -> float:
            return num / den if den else float("nan")

        return {
            "stale_rate": rate(int((valid & ~onm).sum()), n_valid),
            "orphan_rate": rate(int((~onm).sum()), mined),
            "mean_reorg_depth": float((rd * rc).sum() / n_reorg) if n_reorg else 0.0,
            "max_reorg_depth": int(rd.max()) if n_reorg else 0,
            "invalid_final_blocks": int((final_mask & ~valid).sum()),
            "dishonest_orphan_rate": rate(int((adv & ~onm).sum()), n_adv),
            "blocks": int(mined),
            "seconds": round(self.wall_seconds, 6),
            "reorg_events": n_reorg,
            "deep_reorg_events": int(rc[rd >= k].sum()) if n_reorg else 0,
            "invalid_main_chain_blocks": int((onm & ~valid).sum()),
            "invalid_blocks": int((~valid).sum()),
            "dishonest_blocks": n_adv,
            "adversary_main_share": rate(int((onm & adv).sum()), tip_h),
            "max_adversary_lead": int(self.max_adversary_lead),
            "selfish_gamma": (
                rate(self._state.gamma_hits, self._state.gamma_races)
                if self._state is not None
                else float("nan")
            ),
            "selfish_races": 0 if self._state is None else self._state.gamma_races,
            "adversary_share": float(self.hash_power[self.adversary_mask].sum()),
            "main_chain_length": tip_h,
            "final_blocks": int(final_mask.sum()),
            "mean_time_to_finality": fin,
            "simulated_time": elapsed,
            "mean_block_interval": elapsed / tip_h if tip_h else float("nan"),
            "double_spend_conflicts": self.n_double_spends,
            "deposit_contracts_packed_on_two_branches": self.n_double_spends,
            "ledger_conserved": bool(snap["conserved"]),
            "settled_minted": int(snap["minted"]),
            "adversary_revenue_share": rate(
                sum(led.balance(f"miner:{j}") for j in self._adv_idx), int(snap["minted"])
            ),
            "settled_refunded": int(snap["refunded"]),
            "settled_forfeited": int(snap["forfeited"]),
            "open_escrow": int(snap["escrow"]),
            "settled_minted_nano": int(snap["minted"]),
            "settled_refunded_nano": int(snap["refunded"]),
            "settled_forfeited_nano": int(snap["forfeited"]),
            "open_escrow_nano": int(snap["escrow"]),
            "block_reward_nano": int(cfg.block_reward),
            "npa_blocks": int(self._n_npa),
            "confirmation_depth": k,
            "final_rule": cfg.final_rule,
            "policy": cfg.policy,
            "network": self.network.summary(),
        }
