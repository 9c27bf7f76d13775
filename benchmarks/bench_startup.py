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

Ratios > 1 mean "slower than the reference named in the row".
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


def timed(cmd: list[str], env: dict, cwd: Path | None = None) -> float:
    if "--out" in cmd:  # a fresh output directory every time (run refuses a used one)
        i = cmd.index("--out") + 1
        cmd = [*cmd[:i], f"{cmd[i]}_{time.monotonic_ns()}", *cmd[i + 1:]]
    t = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


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
        variants: dict[str, tuple[list[str], dict, Path | None]] = {
            "python -c pass": ([py, "-c", "pass"], env_new, None),
            "--help (base)": ([py, "-m", "derelay", "--help"], env_old, None),
            "--help (now)": ([py, "-m", "derelay", "--help"], env_new, None),
            "check --json (base)": ([py, "-m", "derelay", "check", "--json"], env_old, None),
            "check --json (now)": ([py, "-m", "derelay", "check", "--json"], env_new, None),
            "run authors_code (now)": (
                [py, "-m", "derelay", "run", "--preset", "authors_code", "--rounds",
                 str(args.rounds), "--no-progress", "--out", str(runs / "now")], env_new, None),
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

        times: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(args.reps):
            for name, (cmd, env, cwd) in variants.items():
                times[name].append(timed(cmd, env, cwd))
        med = {k: statistics.median(v) for k, v in times.items()}

    floor = med["python -c pass"]
    print(f"{'variant':34s} {'median s':>9s} {'x python':>9s}")
    for k, v in med.items():
        print(f"{k:34s} {v:9.3f} {v / floor:9.2f}")
    print()
    print(f"--help        now / base: {med['--help (now)'] / med['--help (base)']:.2f}")
    print(f"check --json  now / base: {med['check --json (now)'] / med['check --json (base)']:.2f}")
    peer = med.get("authors' simulation_coin.py")
    if peer:
        print(f"run --preset authors_code --rounds {args.rounds}: derelay / authors' script = "
              f"{med['run authors_code (now)'] / peer:.2f}")


if __name__ == "__main__":
    main()
