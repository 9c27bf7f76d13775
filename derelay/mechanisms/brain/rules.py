"""BRAIN's contract rules, written once and used by the ABM, the claims and the tests.

* :func:`median`: the consensus score, the mean of the two middle values for an even count
  (exact on Fractions).
* :func:`accept`: the acceptance rule of ``score_mode`` (relative or fixed).
* :class:`WMA`: Alg. 1 exactly as printed - a_0 = 1, M̄_0 = M_0, r counts *accepted*
  updates, and alpha = a_r / (a_{r-n+1} + ... + a_r) once r >= n - 1, else
  a_r / (a_0 + ... + a_r).
* :class:`Request`: one request's COMMIT / REVEAL book (Alg. 2 and 3): commitments
  H(value || addr || nonce), the commit quorum Q_C and timeout T_C (a-fallback), the reveal
  quorum Q_R and timeout T_R (b-fallback), rejected reveals that do not open their
  commitment, and the executor (the Q_R-th valid reveal).
* :func:`vrf_u`: the sortition draw of a node for (request, seed, epoch) as a uniform number
  from a keyed hash (elected iff ``u < p_elect``, i.e. y <= d with d = p_elect 2^256).
"""

from __future__ import annotations

import hashlib
import struct
from collections import deque
from collections.abc import Sequence
from typing import Any


def median(values: Sequence[Any]) -> Any:
    """The median; for an even count the mean of the two middle values (exact types kept)."""
    xs = sorted(values)
    m = len(xs)
    if m == 0:
        raise ValueError("median of no values")
    if m % 2:
        return xs[m // 2]
    return (xs[m // 2 - 1] + xs[m // 2]) / 2


def accept(sugg_scores: Sequence[Any], cur_scores: Sequence[Any] | None, p: Any) -> bool:
    """Acceptance of a suggestion from its revealed scores (and the current model's)."""
    med = median(sugg_scores)
    if p.score_mode == "fixed":
        return bool(med >= p.score_th)
    if not cur_scores:
        raise ValueError("relative score mode needs the current model's scores")
    return bool(med >= median(cur_scores) - p.epsilon)


def scored(values: Sequence[tuple[Any, Any]], relative: bool) -> tuple[list, list]:
    """The revealed (suggestion, current) scores the median is taken over: a member without
    local validation data (the torch backend's score is NaN there) has no score to order,
    so it abstains (derelay's reading; the paper assumes every member can evaluate).  In
    relative mode a member counts only when both of its scores are numbers."""

    def num(x: Any) -> bool:
        return x == x  # False only for NaN (floats, numpy floats; Fractions are numbers)

    keep = [v for v in values if num(v[0]) and (not relative or num(v[1]))]
    return [v[0] for v in keep], [v[1] for v in keep]


class WMA:
    """Alg. 1 (aggregator-free federated learning): the weight of each accepted update.

    ``alpha(a)`` is the weight the next accepted pair (M_r, a_r = a) gets in
    ``M̄_r = (1 - alpha) M̄_{r-1} + alpha M_r``; ``push(a)`` records it and returns alpha.
    Works on floats and Fractions (exact for hand-computed tests).
    """

    def __init__(self, n: int, a0: Any = 1) -> None:
        if int(n) < 2:
            raise ValueError(f"window n = {n} is invalid: Alg. 1 requires n >= 2")
        self.n = int(n)
        self.r = 0
        self._a: deque = deque([a0], maxlen=self.n - 1)  # a_{r-n+2} .. a_r (or a_0 .. a_r)

    def alpha(self, a: Any) -> Any:
        # For the next index r = self.r + 1: when r >= n - 1 the window a_{r-n+1} .. a_r is
        # the n - 1 stored weights plus a_r; otherwise a_0 .. a_r is all r stored plus a_r.
        total = sum(self._a) + a
        return a / total if total else 0 * a  # derelay's guard: an all-zero window adds nothing

    def push(self, a: Any) -> Any:
        al = self.alpha(a)
        self._a.append(a)
        self.r += 1
        return al

    def state(self) -> tuple:
        return (self.r, tuple(self._a))


def wma_sequence(m0: Any, pairs: Sequence[tuple[Any, Any]], n: int) -> list:
    """M̄_0, M̄_1, ... for scalar models: Alg. 1 applied to accepted (M_r, a_r) pairs."""
    w = WMA(n)
    out = [m0]
    bar = m0
    for m, a in pairs:
        al = w.push(a)
        bar = (1 - al) * bar + al * m
        out.append(bar)
    return out


# -- commitments -----------------------------------------------------------------------


def encode(value: Any) -> bytes:
    """Canonical bytes of a revealed value (a score or a tuple of scores)."""
    vals = value if isinstance(value, tuple | list) else (value,)
    return b"".join(struct.pack(">d", float(v)) for v in vals)


def commitment(value: Any, addr: int, nonce: bytes) -> bytes:
    """H(value || addr || nonce) (Sec. IV-C): hiding through the nonce, bound to addr."""
    return hashlib.sha256(encode(value) + struct.pack(">q", int(addr)) + nonce).digest()


def vrf_u(sk: int, request: int, seed: int, epoch: int) -> float:
    """A node's sortition draw in [0, 1) for msg = (request || seed_{r-f} || epoch)."""
    msg = struct.pack(">QqQq", sk & (2**64 - 1), int(request), seed & (2**64 - 1), int(epoch))
    y = int.from_bytes(hashlib.blake2b(msg, digest_size=8).digest(), "big")
    return y / 2**64


def next_seed(seed: int, r: int) -> int:
    """seed_r = H(seed_{r-1} || r)."""
    msg = struct.pack(">Qq", seed & (2**64 - 1), int(r))
    return int.from_bytes(hashlib.blake2b(msg, digest_size=8).digest(), "big")


class Request:
    """One request's commit-and-reveal book (Alg. 2 and 3), block by block.

    ``commit`` and ``reveal`` return whether the contract accepts the transaction.
    """

    def __init__(
        self,
        proposer: int,
        h_start: int,
        q_commit: int,
        q_reveal: int,
        t_commit: int,
        t_reveal: int,
    ) -> None:
        self.proposer = int(proposer)
        self.h_start = int(h_start)
        self.q_commit, self.q_reveal = int(q_commit), int(q_reveal)
        self.t_commit, self.t_reveal = int(t_commit), int(t_reveal)
        self.phase = "commit"  # commit -> reveal -> done | cancelled | timeout
        self.commits: dict[int, bytes] = {}
        self.order: list[int] = []
        self.revealed: dict[int, Any] = {}
        self.rejected: list[int] = []  # reveals that did not open their commitment
        self.h_c: int | None = None
        self.executor: int | None = None

    def commit(self, addr: int, h: bytes, block: int, elected: bool) -> bool:
        addr = int(addr)
        if self.phase != "commit" or not elected or addr == self.proposer:
            return False
        if addr in self.commits or block - self.h_start > self.t_commit:
            return False
        self.commits[addr] = h
        self.order.append(addr)
        if len(self.commits) >= self.q_commit:
            self.phase, self.h_c = "reveal", int(block)
        return True

    def expire_commit(self, block: int) -> bool:
        """a-fallback: cancel when T_C blocks passed without the commit quorum."""
        if self.phase == "commit" and block - self.h_start > self.t_commit:
            self.phase = "cancelled"
            return True
        return False

    def reveal(self, addr: int, value: Any, nonce: bytes, block: int) -> bool:
        addr = int(addr)
        if self.phase not in ("reveal", "done") or addr not in self.commits:
            return False
        if addr in self.revealed or block <= self.h_c or block - self.h_c > self.t_reveal:
            return False
        if commitment(value, addr, nonce) != self.commits[addr]:
            self.rejected.append(addr)
            return False
        self.revealed[addr] = value
        if self.phase == "reveal" and len(self.revealed) >= self.q_reveal:
            self.phase, self.executor = "done", addr
        return True

    def expire_reveal(self, block: int) -> bool:
        """b-fallback point: T_R blocks passed after the end of 2-a without Q_R reveals."""
        if self.phase == "reveal" and block - self.h_c > self.t_reveal:
            self.phase = "timeout"
            return True
        return False

    @property
    def withheld(self) -> list[int]:
        return [a for a in self.order if a not in self.revealed and a not in self.rejected]
