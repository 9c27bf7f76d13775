"""Parallel sweeps: ``--workers 2`` against ``--workers 1``, interleaved (issue 20).

    python benchmarks/bench_parallel.py [--reps 3] [--model-runs 12] [--trivial-runs 200]

Each measurement is a whole ``derelay sweep`` in a fresh interpreter (start-up, worker
start-up and writing included, as a user sees it), alternating workers 1 and 2 (1 2 1 2 ...)
so the load of a shared machine hits both alike.  Throughput = runs / wall time; the ratio
is the median throughput with 2 workers over the median with 1 (> 1: parallel is faster).

* ``model``: ABM runs of about one second each (``abm`` kind, preset paper_text; the round
  count is calibrated once so that one run takes about ``--model-seconds``);
* ``trivial``: ``toy`` runs (a 10-step random walk: the run kind costs nothing, so this
  measures the engine's per-run overhead and worker start-up).

The goal (issue 20): model >= 1.7, trivial >= 1.0.  A 2-core machine that other processes
also use cannot give 2 cores to one sweep; read the ratio with the load in mind.  On Linux
with ``kernel.sched_autogroup_enabled = 1`` every process of one login session shares one
CPU share, so on a machine kept busy by other sessions a second worker process gains
nothing (the sweep's processes split the same share) and only its start-up shows; the
ratio is meaningful on a machine whose cores are free.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CALIBRATE = r"""
import sys, time
from experiments.kinds import abm
rounds = int(sys.argv[1])
abm({"preset": "paper_text", "rounds": rounds}, 0)   # warm
t = time.perf_counter()
abm({"preset": "paper_text", "rounds": rounds}, 1)
print(time.perf_counter() - t)
"""


def spec_text(kind: str, runs: int, rounds: int) -> str:
    base = (
        f'[base]\npreset = "paper_text"\nrounds = {rounds}\n' if kind == "abm"
        else f"[base]\nrounds = {rounds}\n"
    )
    return f'name = "bench_{kind}"\nkind = "{kind}"\nreplications = {runs}\nseed = 1\n{base}'


def sweep(spec: Path, out: Path, workers: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "derelay", "sweep", str(spec), "--out", str(out),
         "--workers", str(workers), "--no-progress", "--json"],
        env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--model-runs", type=int, default=12)
    ap.add_argument("--model-seconds", type=float, default=1.0)
    ap.add_argument("--trivial-runs", type=int, default=200)
    a = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    probe = 100
    dt = float(subprocess.run([sys.executable, "-c", CALIBRATE, str(probe)], env=env,
                              check=True, capture_output=True, text=True).stdout)
    rounds = max(10, int(probe * a.model_seconds / dt))
    print(f"model runs: paper_text x {rounds} rounds (~{dt * rounds / probe:.2f} s each)")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rows = []
        for kind, runs, r in (("model", a.model_runs, rounds), ("trivial", a.trivial_runs, 10)):
            spec = tmp / f"{kind}.toml"
            spec.write_text(spec_text("abm" if kind == "model" else "toy", runs, r))
            times: dict[int, list[float]] = {1: [], 2: []}
            for rep in range(a.reps):
                for w in (1, 2):
                    times[w].append(sweep(spec, tmp / f"{kind}_{w}_{rep}", w))
            tp = {w: runs / statistics.median(v) for w, v in times.items()}
            rows.append((kind, runs, tp[1], tp[2], tp[2] / tp[1]))
    print(f"{'sweep':8} {'runs':>5} {'runs/s w1':>10} {'runs/s w2':>10} {'w2 / w1':>8}")
    for kind, runs, t1, t2, ratio in rows:
        print(f"{kind:8} {runs:>5} {t1:>10.2f} {t2:>10.2f} {ratio:>8.2f}")


if __name__ == "__main__":
    main()
