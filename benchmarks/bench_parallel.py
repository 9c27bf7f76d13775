"""Parallel sweeps: ``--workers 2`` against ``--workers 1``, interleaved (issue 20).

    python benchmarks/bench_parallel.py [--reps 3] [--model-runs 32] [--trivial-runs 200]
    python benchmarks/bench_parallel.py --components      # where the time goes, no ratio

**Ratio.** Each measurement is a whole ``derelay sweep`` in a fresh interpreter (start-up,
worker start-up and writing included, as a user sees it), alternating workers 1 and 2
(1 2 1 2 ...) so the load of a shared machine hits both alike.  Throughput = runs / wall
time; the ratio is the median throughput with 2 workers over the median with 1 (> 1:
parallel is faster).  Beside it, the same ratio from the sweep's own ``elapsed_s`` (the
JSON summary: from the start of the sweep, so without the interpreter's start-up, which no
number of workers can shorten).

* ``model``: ABM runs of about one second each (``abm`` kind, preset paper_text; the round
  count is calibrated once so that one run takes about ``--model-seconds``);
* ``trivial``: ``toy`` runs (a 10-step random walk: the run kind costs nothing, so this
  measures the engine's per-run overhead and worker start-up);
* ``smoke``: ``experiments/smoke_sweep.toml`` (8 short ABM runs), the issue's first finding.

The goal (issue 20): model >= 1.7, trivial >= 1.0; the last lines say PASS or FAIL for
each, with the load averages before and after.  A 2-core machine that other processes
also use cannot give 2 cores to one sweep; read the ratio with the load in mind.  On Linux
with ``kernel.sched_autogroup_enabled = 1`` every process of one login session shares one
CPU share, so on a machine kept busy by other sessions a second worker process gains
nothing (the sweep's processes split the same share) and only its start-up shows; the
ratio is meaningful on a machine whose cores are free.

**Components** (``--components``; CPU times are nearly independent of the load):

* worker start-up: wall time from creating the sweep's warm pool to its worker's first
  reply, in a fresh interpreter, forked (after this process imported the ``abm`` kind's
  modules) and from a forkserver (preloading them), and the CPU time of one interpreter
  importing what a warm worker imports;
* per run: wall and CPU time of one trivial run in this process (compute + write);
* the parent's CPU per run the pool ran (dispatch, IPC, collecting, progress), from a
  ``--workers 2`` sweep of runs that sleep (so the pool takes most of them);
* IPC bytes per run: the pickled chunk sent to a worker and the records sent back;
* what a worker looks like to its runs: BLAS/torch threads, environment, warm modules.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

CALIBRATE = r"""
import sys, time
from experiments.kinds import abm
rounds = int(sys.argv[1])
abm({"preset": "paper_text", "rounds": rounds}, 0)   # warm
t = time.perf_counter()
abm({"preset": "paper_text", "rounds": rounds}, 1)
print(time.perf_counter() - t)
"""

STARTUP = r"""
import multiprocessing as mp, sys, time
from experiments import runner
from experiments.registry import preload_modules
mods = preload_modules("abm")
t0 = time.perf_counter()
if sys.argv[1] == "fork":   # as run_sweep does: import first, then fork the warm process
    runner._import_quietly(mods)
    ctx = mp.get_context("fork")
else:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["experiments._sweep_worker", *mods])
t1 = time.perf_counter()
pool = runner._WarmPool(1, None, mods, ctx)
while not pool.ready and pool.alive():
    time.sleep(0.001)
print(t1 - t0, time.perf_counter() - t1)
pool.stop()
"""


IMPORTS = r"""
import resource, sys
sys.argv = ["x"]
import experiments._sweep_worker
from experiments.registry import preload_modules
from experiments.runner import _import_quietly
_import_quietly(preload_modules("abm"))
r = resource.getrusage(resource.RUSAGE_SELF)
print(r.ru_utime + r.ru_stime)
"""


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def spec_text(kind: str, runs: int, rounds: int, extra: str = "") -> str:
    base = (
        f'[base]\npreset = "paper_text"\nrounds = {rounds}\n' if kind == "abm"
        else f"[base]\nrounds = {rounds}\n{extra}"
    )
    return f'name = "bench_{kind}"\nkind = "{kind}"\nreplications = {runs}\nseed = 1\n{base}'


def sweep(spec: Path, out: Path, workers: int) -> tuple[float, float]:
    """(wall time of the whole command, the sweep's own elapsed_s)."""
    t = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-m", "derelay", "sweep", str(spec), "--out", str(out),
         "--workers", str(workers), "--no-progress", "--json"],
        env=ENV, check=True, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - t
    return wall, float(json.loads(res.stdout)["elapsed_s"])


def ratios(a) -> None:
    probe = 100
    dt = float(subprocess.run([sys.executable, "-c", CALIBRATE, str(probe)], env=ENV,
                              check=True, capture_output=True, text=True).stdout)
    rounds = max(10, int(probe * a.model_seconds / dt))
    print(f"model runs: paper_text x {rounds} rounds (~{dt * rounds / probe:.2f} s each)")
    print(f"before: {load()}")
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for kind, runs, r in (("model", a.model_runs, rounds), ("trivial", a.trivial_runs, 10)):
            spec = tmp / f"{kind}.toml"
            spec.write_text(spec_text("abm" if kind == "model" else "toy", runs, r))
            times: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
            for rep in range(a.reps):
                for w in (1, 2):
                    times[w].append(sweep(spec, tmp / f"{kind}_{w}_{rep}", w))
            wall = {w: runs / statistics.median(t for t, _ in v) for w, v in times.items()}
            own = {w: runs / statistics.median(e for _, e in v) for w, v in times.items()}
            rows.append((kind, runs, wall, own))
        # The original finding: the 8-run smoke sweep (60-round ABM runs) took 11.2 s with
        # 2 workers and 2.3 s with 1, about 8 s of it at "0/8 runs" while workers started.
        smoke = ROOT / "experiments" / "smoke_sweep.toml"
        times = {1: [], 2: []}
        for rep in range(a.reps):
            for w in (1, 2):
                times[w].append(sweep(smoke, tmp / f"smoke_{w}_{rep}", w))
        smoke_s = {w: statistics.median(e for _, e in v) for w, v in times.items()}
        smoke_wall = {w: statistics.median(t for t, _ in v) for w, v in times.items()}
    after = load()
    print(f"{'sweep':8} {'runs':>5} {'runs/s w1':>10} {'runs/s w2':>10} {'w2 / w1':>8}"
          f" {'w2 / w1 (sweep elapsed_s)':>27}")
    for kind, runs, wall, own in rows:
        print(f"{kind:8} {runs:>5} {wall[1]:>10.2f} {wall[2]:>10.2f} {wall[2] / wall[1]:>8.2f}"
              f" {own[2] / own[1]:>27.2f}")
    print(f"smoke sweep (8 runs): sweep elapsed_s {smoke_s[1]:.2f} s with 1 worker, "
          f"{smoke_s[2]:.2f} s with 2 (whole command {smoke_wall[1]:.2f} s / "
          f"{smoke_wall[2]:.2f} s; originally 2.3 s / 11.2 s)")
    print(f"after: {after}  (cores: {os.cpu_count()})")
    goals = {"model": 1.7, "trivial": 1.0}
    for kind, _, wall, _own in rows:
        r = wall[2] / wall[1]
        print(f"GOAL {kind}: --workers 2 / --workers 1 throughput = {r:.2f} "
              f"(goal >= {goals[kind]:.1f}): {'PASS' if r >= goals[kind] else 'FAIL'}")


def components() -> None:
    import pickle
    import resource

    from experiments import runner
    from experiments.registry import preload_modules
    from experiments.spec import spec_from_mapping

    print(f"before: {load()}")
    def startup(method: str) -> tuple[float, float]:
        runs = [subprocess.run([sys.executable, "-c", STARTUP, method], env=ENV, check=True,
                               capture_output=True, text=True).stdout.split() for _ in range(3)]
        return tuple(statistics.median(float(r[i]) for r in runs) for i in (0, 1))

    imp, up = startup("fork")
    print(f"worker start-up, fork (Linux default): this process imports the abm kind's "
          f"modules ({imp:.2f} s, needed anyway), then its warm copy replies after "
          f"{up * 1e3:.0f} ms")
    _, up = startup("forkserver")
    cpus = [float(subprocess.run([sys.executable, "-c", IMPORTS], env=ENV, check=True,
                                 capture_output=True, text=True).stdout) for _ in range(3)]
    print(f"worker start-up, forkserver (torch kinds, other threads running): first reply "
          f"after {up:.2f} s wall (overlapping this process's work); a warm worker's imports "
          f"cost {statistics.median(cpus):.2f} s CPU")

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        toy = spec_from_mapping({"name": "t", "kind": "toy", "replications": 100, "seed": 1,
                                 "base": {"rounds": 10}})
        runner.run_sweep(toy, tmp / "warm", workers=1)
        t, c = time.perf_counter(), time.process_time()
        runner.run_sweep(toy, tmp / "serial", workers=1)
        wall, cpu = (time.perf_counter() - t) / 100, (time.process_time() - c) / 100
        print(f"trivial run in this process (compute + write): {wall * 1e3:.1f} ms wall, "
              f"{cpu * 1e3:.1f} ms CPU per run")

        # The parent's own CPU per run the pool ran: runs that sleep 0.05 s, so the pool
        # (warm, started at once) takes most of them; this process's own runs are subtracted.
        own = {"n": 0, "cpu": 0.0}
        orig = runner.execute_run

        def counted(*args, **kw):
            c0 = time.process_time()
            try:
                return orig(*args, **kw)
            finally:
                own["n"] += 1
                own["cpu"] += time.process_time() - c0

        runner.execute_run = counted
        n = 120
        sleepy = spec_from_mapping({"name": "s", "kind": "toy", "replications": n, "seed": 1,
                                    "base": {"rounds": 10, "sleep": 0.05}})
        c = time.process_time()
        t = time.perf_counter()
        runner.run_sweep(sleepy, tmp / "pool", workers=2)
        wall = time.perf_counter() - t
        total = time.process_time() - c
        runner.execute_run = orig
        pool_runs = n - own["n"]
        over = (total - own["cpu"]) / max(pool_runs, 1)
        print(f"--workers 2, {n} runs of 0.05 s: {wall:.2f} s wall ({n * 0.05:.1f} s of sleep "
              f"in all); pool ran {pool_runs}, this process {own['n']}; this process's CPU "
              f"besides its own runs: {over * 1e3:.2f} ms per pool run (sweep set-up included)")

        spec = spec_from_mapping({"name": "b", "kind": "toy", "replications": 8, "seed": 1,
                                  "base": {"rounds": 10}})
        recs = [r.as_record() for r in spec.runs()]
        sent = len(pickle.dumps((runner._execute_chunk, "toy", recs, str(tmp), [], [], 1)))
        back = [runner.execute_run("toy", r, str(tmp / "ipc"), [], [], 1) for r in recs]
        print(f"IPC per run: {sent / len(recs):.0f} bytes out (config, seed), "
              f"{len(pickle.dumps(back)) / len(back):.0f} bytes back (status record; the "
              f"tables are written by the worker)")

    from concurrent.futures import ProcessPoolExecutor

    mods = preload_modules("abm")
    with ProcessPoolExecutor(1, mp_context=runner._pool_context(mods),
                             initializer=runner._worker_init, initargs=(None, mods)) as ex:
        probe = ex.submit(runner._worker_probe, mods).result()
    print(f"a pool worker ({runner._pool_context(mods).get_start_method()}): BLAS threads "
          f"{probe['blas_threads']}, torch threads {probe['torch_threads']}, "
          f"warm: {all(probe['imported'].values())} ({', '.join(mods)})")
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"after: {load()}  (children CPU {ch.ru_utime + ch.ru_stime:.1f} s)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--model-runs", type=int, default=32)
    ap.add_argument("--model-seconds", type=float, default=1.0)
    ap.add_argument("--trivial-runs", type=int, default=200)
    ap.add_argument("--components", action="store_true",
                    help="measure where the time goes (start-up, per run, IPC), no ratio")
    a = ap.parse_args()
    if a.components:
        components()
    else:
        ratios(a)


if __name__ == "__main__":
    main()
