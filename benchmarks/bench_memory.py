"""Peak memory of the ABM on the simulated chain against rounds, pruned and not (issue 20).

    python benchmarks/bench_memory.py [--rounds 500 2000 5000] [--preset authors_code]

Each measurement is a fresh interpreter running ``DeRelayModel(cfg).run(R)`` with
``chain = "simulated"`` (blocks carry the round's real contents) and printing its peak RSS
(``ru_maxrss``); with pruning (the default: :meth:`derelay.chain.ChainSimulator.prune`) and
without (``model.protocol.chain.prune = False``), alternated.  Timed: the run and the
chain's metrics (which need the settled ledger: built during the run when pruning, at
the end otherwise).  Constant in rounds means the
pruned column grows only by what the outputs themselves hold (the rounds and agents tables
the run returns), not with the chain.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
from derelay.model import DeRelayModel, SimConfig
preset, rounds, prune = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
m = DeRelayModel(SimConfig.from_preset(preset).with_updates(chain="simulated"), seed=0)
m.protocol.chain.prune = prune
t = time.perf_counter()
m.run(rounds)
m.protocol.chain.metrics()  # what a run's run.json reports (the settled ledger included)
print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "seconds": time.perf_counter() - t,
                  "blocks": len(m.protocol.chain.sim.blocks)}))
"""


def measure(preset: str, rounds: int, prune: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", CHILD, preset, str(rounds), "1" if prune else "0"],
                         env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, nargs="+", default=[500, 2000, 5000])
    ap.add_argument("--preset", default="authors_code")
    ap.add_argument("--no-baseline", action="store_true", help="pruned runs only")
    a = ap.parse_args()
    print(f"{'rounds':>7} {'blocks':>7} {'peak RSS MB pruned':>19} {'not pruned':>11} "
          f"{'ratio':>6} {'time ratio':>10}")
    for r in a.rounds:
        p = measure(a.preset, r, True)
        q = None if a.no_baseline else measure(a.preset, r, False)
        if q is None:
            print(f"{r:>7} {p['blocks']:>7} {p['rss_mb']:>19.0f}")
        else:
            print(f"{r:>7} {p['blocks']:>7} {p['rss_mb']:>19.0f} {q['rss_mb']:>11.0f} "
                  f"{p['rss_mb'] / q['rss_mb']:>6.2f} {p['seconds'] / q['seconds']:>10.2f}")


if __name__ == "__main__":
    main()
