"""Start-up and short runs, side by side in one script (issue 20).

    python benchmarks/bench_startup.py [--reps N] [--base COMMIT] [--rounds R] [--no-peer]

Every measurement is a fresh interpreter, wall time of the whole process; the variants are
interleaved (A B C ..., A B C ...) so the load of a shared machine hits all alike, and the
median over the repetitions is reported, with ratios.

* ``python -c pass`` (the floor every command pays);
* ``derelay --help`` and ``derelay check --json``, for this tree and for ``--base`` (default
  7e4cc42, the last commit before the lazy command line), exported with ``git archive``;
* ``derelay run --preset authors_code --rounds R`` (default 100) against the authors' own
  script (``Tengfei-Ma13206/DeRelayL_Simulation``, ``simulation/simulation_coin.py``) run with
  ``num_simulated_round = R`` from a temporary copy (``--peer PATH`` names the file; by
  default the benchmark looks in the search tool's mirror).  The peer is never copied into
  this repository: its text is read, the round count substituted, and it runs from a
  temporary directory with matplotlib's Agg backend (it draws its figure at the end, as the
  authors wrote it).  ``--no-peer`` skips it.

* ``derelay prove --json`` (z3 is imported there, nothing else heavy), now and base;
* the ``run`` row for ``--base`` too.

Each row gives the median wall time and the median CPU time (user + system of the child
process, from ``getrusage``).  On a loaded shared machine the wall time grows with the
load while the CPU time stays close to what an idle machine's wall time would be; the
load averages at start and end are printed.  The issue's absolute goals (``check
--json`` < 0.25 s, ``--help`` < 0.15 s) are checked on both.

Ratios > 1 mean "slower than the reference named in the row".
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path("/work/.mirror/Tengfei-Ma13206+DeRelayL_Simulation/repo")


def export(commit: str, dest: Path) -> Path:
    tar = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True
    ).stdout
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=tar, check=True)
    return dest


def peer_source(path: str | None) -> str | None:
    if path:
        return Path(path).read_text()
    if (MIRROR / "HEAD").exists():
        out = subprocess.run(
            ["git", "--git-dir", str(MIRROR), "show", "HEAD:simulation/simulation_coin.py"],
            capture_output=True, text=True,
        )
        if out.returncode == 0:
            return out.stdout
    return None


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list[str], env: dict, cwd: Path | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of one fresh process running ``cmd``."""
    if "--out" in cmd:  # a fresh output directory every time (run refuses a used one)
        i = cmd.index("--out") + 1
        cmd = [*cmd[:i], f"{cmd[i]}_{time.monotonic_ns()}", *cmd[i + 1:]]
    c = _child_cpu()
    t = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t, _child_cpu() - c


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--base", default="7e4cc42")
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--peer", default=None)
    ap.add_argument("--no-peer", action="store_true")
    args = ap.parse_args()

    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = export(args.base, tmp / "base")
        env_new = {**os.environ, "PYTHONPATH": str(ROOT)}
        env_old = {**os.environ, "PYTHONPATH": str(base)}
        runs = tmp / "runs"
        runs.mkdir()
        # each tree's commands run from its own root: ``python -m`` puts the working
        # directory first on sys.path, so from elsewhere it would import that directory's
        # derelay whatever PYTHONPATH says
        variants: dict[str, tuple[list[str], dict, Path | None]] = {
            "python -c pass": ([py, "-c", "pass"], env_new, None),
            "--help (base)": ([py, "-m", "derelay", "--help"], env_old, base),
            "--help (now)": ([py, "-m", "derelay", "--help"], env_new, ROOT),
            "check --json (base)": ([py, "-m", "derelay", "check", "--json"], env_old, base),
            "check --json (now)": ([py, "-m", "derelay", "check", "--json"], env_new, ROOT),
            "prove --json (base)": ([py, "-m", "derelay", "prove", "--json"], env_old, base),
            "prove --json (now)": ([py, "-m", "derelay", "prove", "--json"], env_new, ROOT),
            "run authors_code (base)": (
                [py, "-m", "derelay", "run", "--preset", "authors_code", "--rounds",
                 str(args.rounds), "--no-progress", "--out", str(runs / "base")], env_old, base),
            "run authors_code (now)": (
                [py, "-m", "derelay", "run", "--preset", "authors_code", "--rounds",
                 str(args.rounds), "--no-progress", "--out", str(runs / "now")], env_new, ROOT),
        }
        src = None if args.no_peer else peer_source(args.peer)
        if src is not None:
            marker = "num_simulated_round = 5000"
            if marker not in src:
                raise SystemExit("the peer script changed: no 'num_simulated_round = 5000'")
            peer_dir = tmp / "peer"
            peer_dir.mkdir()
            (peer_dir / "simulation_coin.py").write_text(
                src.replace(marker, f"num_simulated_round = {args.rounds}"))
            env_peer = {**os.environ, "MPLBACKEND": "Agg"}
            variants["authors' simulation_coin.py"] = (
                [py, "simulation_coin.py"], env_peer, peer_dir)
        elif not args.no_peer:
            print("peer script not available: the run row has no peer", file=sys.stderr)

        load0 = os.getloadavg()
        times: dict[str, list[float]] = {k: [] for k in variants}
        cpus: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(args.reps):
            for name, (cmd, env, cwd) in variants.items():
                wall, cpu = timed(cmd, env, cwd)
                times[name].append(wall)
                cpus[name].append(cpu)
        load1 = os.getloadavg()
        med = {k: statistics.median(v) for k, v in times.items()}
        cpu = {k: statistics.median(v) for k, v in cpus.items()}

    print(f"{args.reps} interleaved repetitions; load average (1, 5, 15 min) "
          f"{load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} at start, "
          f"{load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} at end; {os.cpu_count()} CPUs")
    floor, floor_cpu = med["python -c pass"], cpu["python -c pass"]
    print(f"{'variant':34s} {'wall s':>8s} {'x python':>9s} {'CPU s':>8s} {'x python':>9s}")
    for k in med:
        print(f"{k:34s} {med[k]:8.3f} {med[k] / floor:9.2f} {cpu[k]:8.3f} "
              f"{cpu[k] / floor_cpu:9.2f}")
    print()
    print(f"{'ratio':48s} {'wall':>6s} {'CPU':>6s}")
    for what in ("--help", "check --json", "prove --json", "run authors_code"):
        now, base = f"{what} (now)", f"{what} (base)"
        print(f"{what + ' now / base':48s} {med[now] / med[base]:6.2f} {cpu[now] / cpu[base]:6.2f}")
    peer = "authors' simulation_coin.py"
    if peer in med:
        run = "run authors_code (now)"
        print(f"{f'run authors_code --rounds {args.rounds} / authors script':48s} "
              f"{med[run] / med[peer]:6.2f} {cpu[run] / cpu[peer]:6.2f}")
    print()
    for what, goal in (("--help (now)", 0.15), ("check --json (now)", 0.25)):
        print(f"goal {what} < {goal} s: wall {med[what]:.3f} "
              f"({'met' if med[what] < goal else 'not met'}), CPU {cpu[what]:.3f} "
              f"({'met' if cpu[what] < goal else 'not met'})")


if __name__ == "__main__":
    main()
