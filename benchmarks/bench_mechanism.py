"""Benchmark: all Table II utilities and T1-T8 over 1,000,000 parameter points.

Target (issue 2): under 1 second on one core.  Run: ``python benchmarks/bench_mechanism.py``.
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from derelay.mechanism import get_mechanism  # noqa: E402
from derelay.params import random_grid  # noqa: E402


def main(n: int = 1_000_000, repeats: int = 5) -> None:
    mech = get_mechanism("derelayl")
    grid = random_grid(n, seed=0)  # every mechanism parameter varies point by point
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        ev = mech.evaluate(grid)
        best = min(best, time.perf_counter() - t0)
    n_util = sum(len(v) for v in ev.utilities.values())
    share = {k: float(v.mean()) for k, v in ev.conditions.items()}
    print(f"points: {n:,}; utilities: {n_util}; conditions: {len(ev.conditions)}; IR/IC per role")
    print(f"best of {repeats}: {best:.3f} s  ({best / n * 1e9:.0f} ns per point)")
    print("share of points meeting each condition:", {k: round(v, 3) for k, v in share.items()})


if __name__ == "__main__":
    main()
