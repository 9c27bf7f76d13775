"""Sweep-engine throughput: runs per second serial vs parallel, and per-run overhead.

    python benchmarks/bench_experiments.py [--runs 64] [--workers 2]

Prints plain numbers (no assertions).  The engine's overhead per run is the time of a
``toy`` run (a 10-step random walk: the run kind costs nothing) minus nothing; the ABM
rows show real work.  Numbers on a shared 2-core machine are pessimistic.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from experiments.runner import load_results, run_sweep
from experiments.spec import spec_from_mapping


def bench(kind: str, base: dict, runs: int, workers: int, tmp: Path) -> tuple[float, float]:
    spec = spec_from_mapping(
        {
            "name": f"bench_{kind}",
            "kind": kind,
            "replications": runs,
            "seed": 1,
            "base": base,
        }
    )
    out = tmp / f"{kind}_{workers}"
    t0 = time.perf_counter()
    res = run_sweep(spec, out, workers=workers)
    dt = time.perf_counter() - t0
    assert res.done == runs
    t1 = time.perf_counter()
    load_results(out)
    return dt, time.perf_counter() - t1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print(f"{'kind':10} {'workers':>7} {'runs':>5} {'wall s':>8} {'runs/s':>8} {'load s':>7}")
        for kind, base, runs in (
            ("toy", {"rounds": 10}, a.runs),
            ("abm", {"preset": "paper_text", "rounds": 100}, max(4, a.runs // 8)),
        ):
            for w in (1, a.workers, None):
                dt, load = bench(kind, base, runs, w, tmp)
                print(
                    f"{kind:10} {str(w or 'auto'):>7} {runs:>5} {dt:>8.2f} {runs / dt:>8.1f} {load:>7.3f}"
                )
        # resume scan of a finished sweep: reruns nothing
        spec = spec_from_mapping(
            {"name": "bench_toy", "kind": "toy", "replications": a.runs, "seed": 1,
             "base": {"rounds": 10}}
        )  # fmt: skip
        t0 = time.perf_counter()
        res = run_sweep(spec, tmp / "toy_1", resume=True, workers=1)
        print(f"resume of {res.total} finished runs: {time.perf_counter() - t0:.3f} s "
              f"({res.skipped} skipped)")  # fmt: skip


if __name__ == "__main__":
    main()
