"""Peak memory of the ABM on the simulated chain against rounds, pruned and not (issue 20).

    python benchmarks/bench_memory.py [--rounds 500 2000 5000] [--preset authors_code]
                                      [--no-baseline]

Each measurement is a fresh interpreter running ``DeRelayModel(cfg).run(R)`` with
``chain = "simulated"`` (blocks carry the round's real contents) and then the chain's
metrics (what run.json reports; they need the settled ledger).  Printed per run:

* ``peak RSS``: ``ru_maxrss`` of the child, MB;
* ``outputs``: the in-memory size of the tables the run returns and that *must* grow with
  rounds - the rounds rows, the per-round utility arrays and agents chunks
  (:class:`derelay.engine.record.Recorder`), the ABM ledger's flow log (flows.parquet)
  and the protocol's per-block payments (blocks.parquet) - measured as the deep size of
  those Python objects and numpy arrays, MB;
* ``RSS now``: the resident size at the end (``/proc/self/statm``): the peak of a short run
  can be a start-up transient, so growth is read from this column;
* ``now - outputs``: what remains resident besides the outputs;
* ``chain``: the deep size of the chain simulator itself (its block store, settled
  ledger, indexes; the network is included but constant), MB.

Then the growth per 1,000 rounds between successive round counts for each column: constant
in rounds means ``chain`` (and ``RSS - outputs``) grow by a small, fixed amount per
block header (about 120 bytes per frozen block: :class:`derelay.chain.blocks.BlockStore`)
while the outputs grow as they must.  With the baseline (default), the same run without
pruning (``model.protocol.chain.prune = False``) is measured beside it, alternated.
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
import numpy as np
from derelay.model import DeRelayModel, SimConfig
preset, rounds, prune = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
m = DeRelayModel(SimConfig.from_preset(preset).with_updates(chain="simulated"), seed=0)
m.protocol.chain.prune = prune
t = time.perf_counter()
m.run(rounds)
m.protocol.chain.metrics()  # what a run's run.json reports (the settled ledger included)
seconds = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
with open("/proc/self/statm") as f:  # resident now (the peak may be a start-up transient)
    now = int(f.read().split()[1]) * resource.getpagesize() / 2**20

SKIP = (type, type(sys), type(len), type(lambda: 0))

def deep(obj, seen):
    # bytes held by obj and everything it references that was not counted yet
    stack, total = [obj], 0
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, SKIP):
            continue
        seen.add(id(o))
        if isinstance(o, np.ndarray):  # getsizeof counts the data of an array owning it
            total += sys.getsizeof(o)
            if o.base is not None:
                stack.append(o.base)
            continue
        total += sys.getsizeof(o)
        if isinstance(o, dict):
            stack.extend(o.keys()); stack.extend(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(o)
        else:
            d = getattr(o, "__dict__", None)
            if d is not None:
                stack.append(d)
            for cls in type(o).__mro__:
                for s in getattr(cls, "__slots__", ()):
                    if hasattr(o, s):
                        stack.append(getattr(o, s))
    return total

rec, lg, proto = m.recorder, m.ledger, m.protocol
seen = set()
outputs = sum(deep(x, seen) for x in
              (rec.rows, rec.util_rows, rec.agent_chunks, lg._chunks, proto.blocks))
chain = deep(proto.chain.sim, seen)
print(json.dumps({"rss_mb": rss, "rss_now_mb": now, "seconds": seconds, "outputs_mb": outputs / 2**20,
                  "chain_mb": chain / 2**20, "blocks": len(proto.chain.sim.blocks)}))
"""


def measure(preset: str, rounds: int, prune: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, preset, str(rounds), "1" if prune else "0"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, nargs="+", default=[500, 2000, 5000])
    ap.add_argument("--preset", default="authors_code")
    ap.add_argument("--no-baseline", action="store_true", help="pruned runs only")
    a = ap.parse_args()
    rounds = sorted(a.rounds)
    print(
        f"{'rounds':>7} {'blocks':>7} {'peak RSS MB':>12} {'RSS now MB':>11} {'outputs MB':>11} "
        f"{'now-outputs':>12} {'chain MB':>9} {'not pruned RSS':>15} {'time ratio':>10}",
        flush=True,
    )
    res = []
    for r in rounds:
        p = measure(a.preset, r, True)
        q = None if a.no_baseline else measure(a.preset, r, False)
        res.append(p)
        line = (
            f"{r:>7} {p['blocks']:>7} {p['rss_mb']:>12.0f} {p['rss_now_mb']:>11.0f} "
            f"{p['outputs_mb']:>11.1f} {p['rss_now_mb'] - p['outputs_mb']:>12.0f} "
            f"{p['chain_mb']:>9.1f}"
        )
        if q is not None:
            line += f" {q['rss_mb']:>15.0f} {p['seconds'] / q['seconds']:>10.2f}"
        print(line, flush=True)
    if len(rounds) > 1:
        print("\ngrowth per 1,000 rounds (MB)")
        print(
            f"{'from':>7} {'to':>7} {'peak RSS':>9} {'RSS now':>8} {'outputs':>8} "
            f"{'now-outputs':>12} {'chain':>7}"
        )
        for j in range(1, len(rounds)):
            r0, r1, p0, p1 = rounds[j - 1], rounds[j], res[j - 1], res[j]
            k = 1000 / (r1 - r0)

            def g(key, p0=p0, p1=p1, k=k):
                return (p1[key] - p0[key]) * k

            rest = g("rss_now_mb") - g("outputs_mb")
            print(
                f"{r0:>7} {r1:>7} {g('rss_mb'):>9.1f} {g('rss_now_mb'):>8.1f} "
                f"{g('outputs_mb'):>8.1f} {rest:>12.1f} {g('chain_mb'):>7.2f}"
            )


if __name__ == "__main__":
    main()
