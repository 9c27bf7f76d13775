"""Duration of ``derelay compare``: the ``--quick`` comparison (all five mechanisms,
abstract learning, 3 seeds x 20 rounds) and, with ``--full``, the documented torch
comparison (``experiments/compare.toml`` with ``--learning torch``).

    python benchmarks/bench_compare.py            # quick, workers 1 and 2
    python benchmarks/bench_compare.py --full     # also the full torch comparison (long)

Prints wall seconds per run and the 2-worker speed-up; the load average is printed beside
each number because the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str]) -> float:
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "derelay", "compare", *args, "--no-progress", "--out", f"{d}/c"],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true", help="also the full torch comparison")
    a = ap.parse_args()
    for w in (1, 2):
        s = _run(["--quick", "--workers", str(w)])
        print(f"compare --quick --workers {w}: {s:.1f} s (load {os.getloadavg()[0]:.1f})")
    if a.full:
        s = _run(["--config", "experiments/compare.toml", "--learning", "torch", "--workers", "2"])
        print(
            f"compare (experiments/compare.toml, torch) --workers 2: {s:.0f} s "
            f"(load {os.getloadavg()[0]:.1f})"
        )


if __name__ == "__main__":
    main()
