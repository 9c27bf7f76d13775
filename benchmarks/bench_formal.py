"""Solver times of the formal layer (issue 3).  Plain script: prints numbers.

    python benchmarks/bench_formal.py [--repeat 3]

Targets: `derelay prove` (all claims, necessity, domain problems) under 2 s in total;
the 4-bidder auction search under 10 s.  Numbers taken on a shared, loaded machine
are pessimistic.
"""

from __future__ import annotations

import argparse
import statistics
import time


def _time(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    t0 = time.perf_counter()
    from derelay.formal.auction import auction_search
    from derelay.formal.deviations import coalition, lazy, unilateral
    from derelay.formal.feasible import feasible_region, feasible_rewards
    from derelay.formal.prove import prove_all

    print(f"import                          {time.perf_counter() - t0:8.3f} s")
    rows = [
        ("prove (all, target < 2 s)", prove_all),
        ("auction search, 4 bidders (< 10 s)", lambda: auction_search(bidders=4)),
        ("auction search, 6 bidders", lambda: auction_search(bidders=6)),
        ("feasible (exact LP + linprog)", feasible_rewards),
        ("feasible region 50x50 (numpy)", lambda: feasible_region(points=50)),
        ("unilateral break-evens (all)", unilateral),
        ("lazy (C4)", lazy),
        ("coalition (C8)", coalition),
    ]
    for name, fn in rows:
        best, med = _time(fn, args.repeat)
        print(f"{name:36s} min {best:8.3f} s   median {med:8.3f} s")


if __name__ == "__main__":
    main()
