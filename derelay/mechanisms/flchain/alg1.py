"""Alg. 1 (Federation Establishment) and the exact optimum it is claimed to reach.

As printed, Alg. 1 scans every (FLM_i, DP_j) pair once (lines 8-12) for the largest
profit PFT = RELY_j (EINC_ij - COST_ij), comparing with an undefined ``p_max`` (read:
``PFT_max``), and then loops ``while FLMs and DPs are non-empty`` (lines 13-18) without
ever recomputing the maximum - and without leaving the loop when PFT_max < 0, so it
never terminates unless every DP fits the first pair's FLM.

:func:`greedy` implements the evident intent: **greedy with a re-scan**.  Repeat: among
the FLMs with a free place and the DPs not yet allocated, take the pair of largest
profit (ties: the *last* pair in the paper's scan order, FLM-major, because line 10
compares with ``>=``); if that profit is >= 0 (PFT_max starts at 0, line 7) allocate the
DP (line 15), drop it (16) and drop the FLM once full (17-18); otherwise stop.  Each
pass allocates one DP or stops, so it ends after at most ``n_dps`` passes on any input
(non-finite profits are refused).

:func:`optimum` is the exact maximum of the total profit over all allocations (each DP
in at most one FLM, FLM i holding at most cap_i DPs, no DP forced in): the assignment
problem with each FLM expanded into cap_i slots plus one "stay out" slot per DP,
solved by :func:`scipy.optimize.linear_sum_assignment`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np


def profits(rely, einc, cost) -> list[list[Any]]:
    """PFT_ij = RELY_j (EINC_ij - COST_ij) (Alg. 1 line 10), exact if inputs are."""
    m = len(einc)
    n = len(rely)
    return [[rely[j] * (einc[i][j] - cost[i][j]) for j in range(n)] for i in range(m)]


def _check(pft, capacity) -> None:
    m = len(pft)
    if len(capacity) != m:
        raise ValueError(f"capacity has {len(capacity)} entries for {m} FLMs")
    for row in pft:
        for x in row:
            if not math.isfinite(float(x)):
                raise ValueError(f"profit {x!r} is not finite")
    for c in capacity:
        if int(c) != c or c < 0:
            raise ValueError(f"capacity {c!r} is not a non-negative integer")


def greedy(pft, capacity) -> list[tuple[int, int]]:
    """Alg. 1 with a re-scan: the allocated (FLM i, DP j) pairs, in allocation order."""
    _check(pft, capacity)
    m = len(pft)
    n = len(pft[0]) if m else 0
    free = [int(c) for c in capacity]
    flms = [i for i in range(m) if free[i] > 0]
    dps = list(range(n))
    out: list[tuple[int, int]] = []
    while flms and dps:
        best = None
        best_pair = None
        for i in flms:  # lines 8-12, repeated on what is left
            for j in dps:
                v = pft[i][j]
                if best is None or v >= best:
                    best, best_pair = v, (i, j)
        if best is None or best < 0:  # line 14 fails: nothing profitable is left
            break
        i, j = best_pair
        out.append((i, j))  # line 15
        dps.remove(j)  # line 16
        free[i] -= 1
        if free[i] == 0:  # lines 17-18
            flms.remove(i)
    return out


def total(pft, pairs) -> Any:
    s = 0
    for i, j in pairs:
        s = s + pft[i][j]
    return s


def optimum(pft, capacity) -> tuple[Any, list[tuple[int, int]]]:
    """(maximum total profit, one optimal allocation) by linear_sum_assignment."""
    from scipy.optimize import linear_sum_assignment

    _check(pft, capacity)
    m = len(pft)
    n = len(pft[0]) if m else 0
    if n == 0:
        return 0, []
    slots = [i for i in range(m) for _ in range(int(capacity[i]))]
    w = np.zeros((n, len(slots) + n))
    for s, i in enumerate(slots):
        for j in range(n):
            # a negative pair is never worth taking: the stay-out slot gives 0
            w[j, s] = max(float(pft[i][j]), 0.0)
    rows, cols = linear_sum_assignment(w, maximize=True)
    pairs = [
        (slots[c], int(r))
        for r, c in zip(rows, cols, strict=True)
        if c < len(slots) and pft[slots[c]][r] > 0
    ]
    pairs.sort()
    return total(pft, pairs), pairs


def instance(rng: np.random.Generator, m: int, n: int, cap_max: int, rely=None) -> dict:
    """A small random instance with integer EINC/COST and RELY in {1/2, 1, 3/2}."""
    einc = rng.integers(0, 10, size=(m, n)).tolist()
    cost = rng.integers(0, 6, size=(m, n)).tolist()
    if rely is None:
        rely = [Fraction(int(k), 2) for k in rng.integers(1, 4, size=n)]
    capacity = [int(c) for c in rng.integers(1, cap_max + 1, size=m)]
    return {"rely": list(rely), "einc": einc, "cost": cost, "capacity": capacity}


def compare(inst: dict) -> dict:
    """Greedy vs optimum on one instance (exact Fractions)."""
    pft = profits(inst["rely"], inst["einc"], inst["cost"])
    g = greedy(pft, inst["capacity"])
    best, opt = optimum(pft, inst["capacity"])
    gt = total(pft, g)
    return {
        "greedy_total": Fraction(gt),
        "optimum_total": Fraction(best),
        "greedy": g,
        "optimal": opt,
        "gap": Fraction(best) - Fraction(gt),
    }


#: A hand-worked instance (docs/flchain.md): 2 FLMs with one place each, 2 DPs.
#: Greedy takes (FLM 0, DP 0) = 3 first and then (FLM 1, DP 1) = 0: total 3; the
#: optimum is (FLM 0, DP 1) + (FLM 1, DP 0) = 2 + 2 = 4.
HAND_INSTANCE = {
    "rely": [1, 1],
    "einc": [[4, 3], [3, 1]],
    "cost": [[1, 1], [1, 1]],
    "capacity": [1, 1],
}


def search(
    seed: int = 0, trials: int = 300, m_max: int = 3, n_max: int = 5, cap_max: int = 3
) -> dict:
    """Greedy against the optimum on ``trials`` random small instances.

    Returns the number of instances where greedy is optimal, the largest relative gap
    and the smallest counterexample found (fewest DPs, then FLMs).
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    worst = Fraction(0)
    optimal = 0
    best_cx = None
    for _ in range(trials):
        m = int(rng.integers(1, m_max + 1))
        n = int(rng.integers(1, n_max + 1))
        inst = instance(rng, m, n, cap_max)
        r = compare(inst)
        if r["gap"] == 0:
            optimal += 1
            continue
        if r["optimum_total"] > 0:
            worst = max(worst, r["gap"] / r["optimum_total"])
        size = (n, m)
        if best_cx is None or size < best_cx[0]:
            best_cx = (size, inst, r)
    return {
        "trials": trials,
        "greedy_optimal": optimal,
        "worst_relative_gap": worst,
        "counterexample": None if best_cx is None else {**best_cx[1], **best_cx[2]},
    }


def greedy_np(pft: np.ndarray, capacity) -> list[tuple[int, int]]:
    """:func:`greedy` vectorised with numpy (same allocations, same tie rule).

    Each pass takes the arg-max over the still-open (FLM, DP) pairs; ties go to the last
    pair in FLM-major scan order, as in :func:`greedy`.  Used by the ABM, where the
    population makes the pure-Python scan too slow.
    """
    pft = np.asarray(pft, dtype=np.float64)
    if pft.ndim != 2:
        raise ValueError("profits must be a 2-D array (FLMs x DPs)")
    if not np.all(np.isfinite(pft)):
        raise ValueError("profits must be finite")
    m, n = pft.shape
    free = np.asarray(capacity, dtype=np.int64).copy()
    if free.shape != (m,) or (free < 0).any():
        raise ValueError("capacity must be one non-negative integer per FLM")
    work = pft.copy()
    work[free == 0, :] = -np.inf
    out: list[tuple[int, int]] = []
    flat = work.reshape(-1)
    for _ in range(min(n, int(free.sum()))):
        k = flat.size - 1 - int(np.argmax(flat[::-1]))  # the last maximum
        best = flat[k]
        if not best >= 0:
            break
        i, j = divmod(k, n)
        out.append((int(i), int(j)))
        work[:, j] = -np.inf
        free[i] -= 1
        if free[i] == 0:
            work[i, :] = -np.inf
    return out
