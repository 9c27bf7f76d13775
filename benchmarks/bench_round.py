"""DeRelayL's round against a plain-numpy reference round, interleaved (issue 20).

    python benchmarks/bench_round.py [--sizes 256 100000] [--rounds 400 20] [--reps 5]
    python benchmarks/bench_round.py --recording [--rounds 200]

The reference (:func:`reference_round`, below) is the same round of the authors_code preset
written as the fewest whole-array numpy operations, with no engine around it: role
assignment, bids, matching (owners by performance, trainers by bid, one partial sort with a
random tie-break), deposits, training (a performance increment per pair), the top-s selection
(one ``argpartition``), refunds and forfeits, block rewards and citations, versions, per-role
sums in one ``bincount`` pass and one rounds row.  It keeps no ledger of flows, no recorder
tables, no lineage and no chain: it is the bound a vectorised engine can approach, not a
replacement.  Both sides run in this process, alternated (derelay, reference, derelay, ...),
the median CPU time (``time.process_time``: the machine is shared) per agent-round is
reported and the ratio derelay / reference (the goal: <= 8 at 256 participants, <= 2 at
100,000); ``paired`` is the median of the per-pair ratios (each derelay run against the
reference run right after it), the steadier figure on a shared machine.  The derelay side is ``DeRelayModel.run`` with the
preset's own recording (above 20,000 participants the recorder samples 1,000 agents:
``derelay.engine.record.AUTO_SAMPLE``).

``--recording`` measures that default instead: 100,000 participants (authors_code) with
the default agents table, AUTO_SAMPLE = 1,000 (now) against 10,000 (before issue 20), each
in a fresh interpreter (peak RSS), alternated; CPU time of the rounds and peak RSS.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

NANO = 10**9
REF_REPEAT = 5


class RefState:
    def __init__(self, n: int, rng: np.random.Generator) -> None:
        self.n = n
        self.coins = np.full(n, 1000 * NANO, dtype=np.int64)
        self.perf = np.full(n, -np.inf)
        self.version = np.full(n, -1, dtype=np.int64)
        self.perf[0], self.version[0] = 0.0, 0
        self.latest = 0
        self.rng = rng
        self.rows: list[dict] = []


def reference_round(s: RefState, share: float = 0.5, limit: int = 4) -> None:
    """One authors_code round in plain numpy (see the module docstring)."""
    n, rng, coins = s.n, s.rng, s.coins
    # roles: owners are holders of a model (at most n/2), trainers the others up to n/2,
    # and four block miners drawn from the rest
    perm = rng.permutation(n)
    holders = perm[s.version[perm] >= 0]
    owners = holders[: n // 2]
    others = perm[s.version[perm] < 0]
    trainers = others[: n // 2 - len(owners) // 2 + 1]
    miners = rng.choice(n, size=4)
    # bids: a random share of the coins (deposit); matching: owners by performance, trainers
    # by bid, one partial sort with a random tie-break key
    bids = (coins[trainers] * rng.random(len(trainers)) * 0.01).astype(np.int64)
    o_order = owners[np.argsort(-s.perf[owners], kind="stable")]
    m = min(len(trainers), limit * len(o_order))
    key = bids + rng.random(len(bids))
    top = np.argpartition(-key, m - 1)[:m] if 0 < m < len(key) else np.arange(m)
    top = top[np.argsort(-key[top])]
    t = trainers[top]
    owner_of = np.repeat(o_order, limit)[:m]
    dep = bids[top]
    np.subtract.at(coins, t, dep)
    # training: each pair trains one model on its owner's; top-s selection by performance
    new_perf = s.perf[owner_of] + rng.normal(1.0, 1.0, m)
    k = int(share * m)
    sel = np.argpartition(-new_perf, k - 1)[:k] if 0 < k < m else np.arange(k)
    selected = np.zeros(m, dtype=bool)
    selected[sel] = True
    # settlement: refunds to the selected, forfeits of the others; rewards and citations
    np.add.at(coins, t[selected], dep[selected] + 2 * NANO)
    np.add.at(coins, owner_of[selected], NANO)
    np.add.at(coins, miners, NANO // 10)
    s.perf[t[selected]] = new_perf[selected]
    s.latest += 1
    s.version[t[selected]] = s.latest
    # per-role statistics in one pass, and the rounds row
    role = np.full(n, 3, dtype=np.int64)
    role[owners], role[t], role[miners] = 0, 1, 2
    util = np.zeros(n)
    util[t[selected]] = 2.0
    sums = np.bincount(role, weights=util, minlength=4)
    counts = np.bincount(role, minlength=4)
    s.rows.append({
        "n_owners": int(counts[0]), "n_trainers": int(counts[1]), "n_selected": k,
        "total_coins": int(coins.sum()), "mean_u_MO": sums[0], "mean_u_T": sums[1],
        "share_latest": float((s.version == s.latest).mean()),
        "best": float(new_perf.max()) if m else float("nan"),
    })  # fmt: skip


def time_derelay(n: int, rounds: int) -> float:
    from derelay.model import DeRelayModel, SimConfig

    cfg = SimConfig.from_preset("authors_code")
    if n != 256:
        cfg = cfg.with_updates(params={"n_participants": n, "n_miners": n // 2})
    m = DeRelayModel(cfg, seed=0)
    m.run(2)  # warm
    t = time.process_time()
    m.run(rounds)
    return (time.process_time() - t) / (rounds * n)


def time_reference(n: int, rounds: int) -> float:
    s = RefState(n, np.random.default_rng(0))
    for _ in range(2):
        reference_round(s)
    # the reference is an order of magnitude faster: time REF_REPEAT times as many
    # rounds, so that both sides are measured over comparable CPU time
    rounds *= REF_REPEAT
    t = time.process_time()
    for _ in range(rounds):
        reference_round(s)
    return (time.process_time() - t) / (rounds * n)


RECORDING_CHILD = r"""
import json, resource, sys, time
import derelay.engine.record as rec
from derelay.model import DeRelayModel, SimConfig
rec.AUTO_SAMPLE = int(sys.argv[1])
cfg = SimConfig.from_preset("authors_code").with_updates(
    params={"n_participants": 100_000, "n_miners": 50_000})
m = DeRelayModel(cfg, seed=0)
c = time.process_time()
m.run(int(sys.argv[2]))
cpu = time.process_time() - c
rows = len(m.recorder.agents_frame())
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"cpu": cpu, "rss_mb": rss, "agent_rows": rows}))
"""


def recording(rounds: int, reps: int) -> None:
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root, "OMP_NUM_THREADS": "1"}
    out: dict[int, list[dict]] = {10_000: [], 1_000: []}
    for _ in range(reps):
        for size in out:
            r = subprocess.run(
                [sys.executable, "-c", RECORDING_CHILD, str(size), str(rounds)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            out[size].append(json.loads(r.stdout.strip().splitlines()[-1]))
    print(f"100,000 participants x {rounds} rounds, default agents table (medians of {reps})")
    for size, runs in out.items():
        cpu = statistics.median(x["cpu"] for x in runs)
        rss = statistics.median(x["rss_mb"] for x in runs)
        print(f"  AUTO_SAMPLE {size:>6,}: CPU {cpu:6.2f} s, peak RSS {rss:6.0f} MB, "
              f"{runs[0]['agent_rows']:,} agent rows")  # fmt: skip
    old, new = out[10_000], out[1_000]
    c = statistics.median(x["cpu"] for x in new) / statistics.median(x["cpu"] for x in old)
    r = statistics.median(x["rss_mb"] for x in new) / statistics.median(x["rss_mb"] for x in old)
    print(f"  now / before: CPU {c:.3f}, peak RSS {r:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 100_000])
    ap.add_argument("--rounds", type=int, nargs="+", default=[400, 20])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--recording", action="store_true", help="the default recording at 100,000")
    a = ap.parse_args()
    if a.recording:
        recording(a.rounds[0] if a.rounds != [400, 20] else 200, min(a.reps, 2))
        return
    rounds = dict(zip(a.sizes, a.rounds + a.rounds[-1:] * len(a.sizes), strict=False))
    # ratio: of the two medians; paired: the median of each interleaved pair's own ratio
    # (robust when the machine's speed drifts during the run: both sides of a pair ran
    # within a second of each other)
    print(
        f"{'participants':>12} {'derelay ns/agent-round':>23} {'reference':>10} {'ratio':>6}"
        f" {'paired':>7}"
    )
    for n in a.sizes:
        d, r = [], []
        for _ in range(a.reps):
            d.append(time_derelay(n, rounds[n]))
            r.append(time_reference(n, rounds[n]))
        dm, rm = statistics.median(d), statistics.median(r)
        paired = statistics.median(x / y for x, y in zip(d, r, strict=True))
        print(f"{n:>12} {dm * 1e9:>23.0f} {rm * 1e9:>10.0f} {dm / rm:>6.1f} {paired:>7.2f}")


if __name__ == "__main__":
    main()
