"""Cost of the ledger's overflow guard and exact sums (issue 21): the engine ledger now
vs. a plain int64 ledger (the guard switched off), on a DeRelayL-like round at 100,000
participants: a dense citation mint, 60,000 deposit locks and releases, a transfer and
the per-round conservation check.  Prints one ratio (one run; no timing assertions).

    PYTHONPATH=$PWD python benchmarks/bench_ledger_guard.py
"""

from __future__ import annotations

import time

import numpy as np

from derelay.engine import ledger as L


def _round(lg, rng, n, who):
    lg.mint_dense(rng.integers(10**6, 10**9, n, dtype=np.int64), "citation")
    lg.lock(who, 10**6, "deposit")
    lg.release(who, 10**6, "refund")
    lg.transfer(who[:1000], 0, 10, "fee")
    lg.check_conserved()


def _time(guard: bool, n=100_000, rounds=200) -> float:
    lg = L.Ledger(n, flows="aggregate")
    if not guard:  # a plain int64 ledger: no bound, numpy sums (the old behaviour)
        lg._room = lambda *a: None
        lg.total = lambda: int(lg.balances.sum())
    rng = np.random.default_rng(0)
    who = rng.choice(n, 60_000, replace=False)
    t = time.perf_counter()
    for r in range(rounds):
        lg.round = r
        _round(lg, rng, n, who)
    return time.perf_counter() - t


if __name__ == "__main__":
    _time(True, rounds=5)
    plain, guarded = _time(False), _time(True)
    print(f"plain {plain:.3f} s, guarded {guarded:.3f} s, ratio {guarded / plain:.3f}")
