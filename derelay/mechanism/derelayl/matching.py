"""Owner-trainer matching rules (Step 1; Sec. III-C1, Algorithm 1; Sec. IV-A(3)).

Every rule orders the owners and the trainers, then lets each owner in turn take the next
block of up to Q_Selected trainers from the trainers' order (owners greedily select;
trainers greedily accept the highest-ranked owner), fully vectorised:

* ``"algorithm1"`` (Sec. III-C1): owners in ranking order (performance of the model they
  offer, best first), trainers by deposit bid (highest first); each owner selects
  Q_Selected = min(limit, floor(B / b^MO)) trainers (line 3, capped by Table III's
  selection limit; b^MO = 0 gives the limit).
* ``"sec4_text"`` (Sec. IV-A(3) as written): owners rank trainers by their last-round
  performance and trainers rank owners by deposit, so owners go in order of b^MO
  (highest first) and take trainers in order of their last trained model's performance.
* ``"authors"`` (published code): owners by performance of their last model, trainers
  by bid, each owner takes the next ``limit`` bidders.

Deposits: ``"second"`` price is Algorithm 1 lines 5-10 exactly as printed: within an
owner's selection sorted by bid, the i-th trainer deposits the (i+1)-th bid and the last
selected deposits its own bid; ``"first"`` price: each deposits its own bid.  Ties are
broken at random (as the authors' ``sort_bid_T`` shuffles equal bids).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from derelay import _fastnp as fnp


@dataclass
class Matching:
    owner_pos: np.ndarray  # index into the owners array, per pair
    trainer: np.ndarray  # participant id, per pair
    t_deposit: np.ndarray  # trainer deposit (nano), per pair
    _q_selected: np.ndarray | Callable[[], np.ndarray]

    @property
    def q_selected(self) -> np.ndarray:
        """Trainers taken by each owner (aligned with owners; computed on first use)."""
        if callable(self._q_selected):
            self._q_selected = self._q_selected()
        return self._q_selected


def _desc_order(keys: np.ndarray, rng: np.random.Generator, top: int | None = None) -> np.ndarray:
    """Indices sorting ``keys`` descending, ties in random order (the first ``top`` only).

    A random permutation followed by a stable sort: equal keys keep the (uniformly
    random) order of the permutation, i.e. the key is (value, position in the
    permutation).  With ``top`` < n only the first ``top`` of that same order are
    computed: one ``partition`` finds the top-th value, and only the entries above it
    (and the first ties at it, by permutation position) are sorted - the same indices in
    the same order as the full sort, at O(n + top log top).
    """
    n = len(keys)
    perm = rng.permutation(n)
    k = np.asarray(keys)[perm]
    neg = -k if k.dtype.kind == "f" else -(k.astype(np.int64))
    if top is None or top >= n or n <= 512:
        order = neg.argsort(kind="stable")
        return perm[order] if top is None else perm[order[:top]]
    if top <= 0:
        return perm[:0]
    v = np.partition(neg, top - 1)[top - 1]
    if v != v:  # NaN at the cut: keep the full sort's NaN placement
        return perm[np.argsort(neg, kind="stable")[:top]]
    less = (neg < v).nonzero()[0]
    ties = (neg == v).nonzero()[0][: top - len(less)]
    cand = fnp.concatenate((less, ties))
    cand.sort()  # by permutation position, so that the stable sort below breaks ties alike
    return perm[cand[np.argsort(neg[cand], kind="stable")]]


def match(
    rule: str,
    price: str,
    owner_perf: np.ndarray,
    owner_deposit: np.ndarray,
    budget: int,
    limit: int,
    trainers: np.ndarray,
    bids: np.ndarray,
    trainer_perf: np.ndarray,
    rng: np.random.Generator,
) -> Matching:
    n_o = len(owner_perf)
    trainers = np.asarray(trainers, dtype=np.int64)
    bids = np.asarray(bids, dtype=np.int64)
    if n_o == 0 or len(trainers) == 0:
        z = np.zeros(0, dtype=np.int64)
        return Matching(z, z, z, np.zeros(n_o, dtype=np.int64))
    if rule == "algorithm1":
        dep = np.asarray(owner_deposit, dtype=np.int64)
        with np.errstate(divide="ignore"):
            q = fnp.where(dep > 0, budget // np.maximum(dep, 1), limit)
        q = np.minimum(q, limit).astype(np.int64)
        o_order = _desc_order(owner_perf, rng)
        # only the first sum(q) trainers of the order are ever taken
        t_order = _desc_order(bids, rng, top=int(q.sum()))
    elif rule == "authors":
        # every owner takes ``limit`` trainers: only the first ceil(#trainers / limit)
        # owners of the order take any (the others' blocks are empty), so only those are
        # ranked (one partial sort; the same permutation, the same head in the same order)
        need = -(-len(trainers) // int(limit)) if limit > 0 else n_o
        o_order = _desc_order(owner_perf, rng, top=min(n_o, need))
        t_order = _desc_order(bids, rng, top=int(limit) * n_o)
    elif rule == "sec4_text":
        o_order = _desc_order(owner_deposit, rng)
        tp = fnp.where(np.isfinite(trainer_perf), trainer_perf, -np.inf)
        tie = rng.random(len(trainers))
        t_order = np.lexsort((tie, -np.asarray(bids, np.float64), -tp))
    else:
        raise ValueError(f"unknown matching rule {rule!r}")
    if rule == "algorithm1":
        ends = np.minimum(np.cumsum(q[o_order]), len(trainers))
        taken = np.diff(ends, prepend=0)
        n_pairs = int(ends[-1]) if n_o else 0
        owner_pos = np.repeat(o_order, taken)
    else:  # every owner takes ``limit``: blocks of ``limit``, the last one cut short
        n_pairs = min(len(o_order) * int(limit), len(trainers))
        owner_pos = o_order.repeat(limit)[:n_pairs]
        taken = None  # min(limit, what is left) per block in order, when needed

    def taken_per_block() -> np.ndarray:
        if taken is not None:
            return taken
        return np.clip(n_pairs - np.arange(len(o_order)) * int(limit), 0, int(limit))

    t_idx = t_order[:n_pairs]
    pair_bids = bids[t_idx]
    if price == "first":
        dep_t = pair_bids.copy()
    elif rule in ("algorithm1", "authors"):
        # trainers are in descending bid order already, so each owner's block is too:
        # the i-th deposits the (i+1)-th bid, the last of the block its own
        dep_t = pair_bids.copy()
        if n_pairs > 1:
            dep_t[:-1] = pair_bids[1:]
            # the last pair of each non-empty block: its end - 1 (ends = cumsum(taken))
            if taken is not None:
                last = ends[taken > 0] - 1
            else:  # limit - 1, 2 limit - 1, ... and the last pair
                last = np.arange(int(limit) - 1, n_pairs, int(limit))
                if not len(last) or last[-1] != n_pairs - 1:
                    last = np.append(last, n_pairs - 1)
            dep_t[last] = pair_bids[last]
    else:
        # within each owner's block, sort by bid (descending) and shift by one
        block = np.repeat(np.arange(n_o), taken_per_block())
        tie = rng.random(n_pairs)
        o = np.lexsort((tie, -pair_bids.astype(np.float64), block))
        sorted_bids = pair_bids[o]
        sorted_block = block[o]
        nxt = np.empty_like(sorted_bids)
        if n_pairs:
            nxt[:-1] = sorted_bids[1:]
            nxt[-1] = sorted_bids[-1]
            last = np.ones(n_pairs, dtype=bool)
            last[:-1] = sorted_block[1:] != sorted_block[:-1]
            nxt[last] = sorted_bids[last]
        dep_t = np.empty_like(pair_bids)
        dep_t[o] = nxt
    def q_selected() -> np.ndarray:
        q_sel = np.zeros(n_o, dtype=np.int64)
        q_sel[o_order] = taken_per_block()
        return q_sel

    return Matching(
        owner_pos.astype(np.int64, copy=False),
        trainers[t_idx],
        dep_t.astype(np.int64, copy=False),
        q_selected,
    )
