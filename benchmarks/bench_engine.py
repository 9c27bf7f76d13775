"""The engine port against the pre-port ABM, side by side in one run.

    python benchmarks/bench_engine.py [--quick] [--reps N] [--base COMMIT] [--new COMMIT]

The pre-port commit (default c501781, the last commit before issue 10's engine) is
exported with ``git archive`` into a temporary directory; every measurement runs in a
fresh interpreter with ``PYTHONPATH`` pointing at one tree or the other, and the two are
interleaved (old, new, old, new, ...) so that the machine's load hits both alike.  Timed
is ``DeRelayModel.run(rounds)`` only (imports and set-up excluded), as the median over the
repetitions.  ``--new COMMIT`` exports that commit as the new side too (default: the
working tree), so the files can change while it runs.  Settings:

* Fig. 3: 256 participants x 5,000 rounds, presets paper_text and authors_code;
* large: 100,000 participants x 1,000 rounds (authors_code and paper_text,
  agents.parquet sampled as in benchmarks/bench_model.py).

The ratios are new / old wall time and CPU time (> 1: the port is slower); on a shared
machine the CPU-time ratio is the steadier one.  ``--quick`` runs 1,000
rounds and 20,000 x 200.  On the shared 2-core machine numbers are noisy; the ratio of
interleaved medians is what to read.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
from derelay.model import DeRelayModel, SimConfig
preset, n, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cfg = SimConfig.from_preset(preset)
if n != 256:
    cfg = cfg.with_updates(params={"n_participants": n, "n_miners": n // 2},
                           record_every=100, record_sample=1000)
m = DeRelayModel(cfg, seed=0)
t, c = time.perf_counter(), time.process_time()
m.run(rounds)
dt, dc = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"seconds": dt, "cpu": dc, "total_nano": int(m.ledger.coins.sum()),
                  "rows": len(m.recorder.rows)}))
"""


def export(commit: str, dest: Path) -> Path:
    tar = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=tar, check=True)
    return dest


def measure(tree: Path, preset: str, n: int, rounds: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, preset, str(n), str(rounds)],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    quick = "--quick" in sys.argv
    reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 3
    base = sys.argv[sys.argv.index("--base") + 1] if "--base" in sys.argv else "c501781"
    new_rev = sys.argv[sys.argv.index("--new") + 1] if "--new" in sys.argv else None
    rounds, (n_big, r_big) = (1000, (20_000, 200)) if quick else (5000, (100_000, 1000))
    settings = [
        ("paper_text", 256, rounds, reps),
        ("authors_code", 256, rounds, reps),
        ("authors_code", n_big, r_big, max(1, reps - 1)),
        ("paper_text", n_big, r_big, max(1, reps - 1)),
    ]
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", new_rev or "HEAD"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as tmp_new:
        old_tree = export(base, Path(tmp))
        new_tree = export(new_rev, Path(tmp_new)) if new_rev else ROOT
        what = f"{new_rev} (git archive, {head})" if new_rev else f"working tree at {head}"
        print(f"old = {base} (git archive), new = {what}; interleaved, median")
        for preset, n, r, k in settings:
            old, new, old_c, new_c = [], [], [], []
            for _ in range(k):
                o = measure(old_tree, preset, n, r)
                w = measure(new_tree, preset, n, r)
                if o["total_nano"] != w["total_nano"] or o["rows"] != w["rows"]:
                    raise SystemExit(f"{preset} {n}x{r}: old and new runs differ: {o} vs {w}")
                old.append(o["seconds"])
                new.append(w["seconds"])
                old_c.append(o["cpu"])
                new_c.append(w["cpu"])
            mo, mn = statistics.median(old), statistics.median(new)
            co, cn = statistics.median(old_c), statistics.median(new_c)
            print(
                f"{preset:13s} {n:>7,} x {r:>5,} rounds: wall old {mo:7.2f} s new {mn:7.2f} s "
                f"ratio {mn / mo:5.3f}; CPU old {co:7.2f} s new {cn:7.2f} s ratio "
                f"{cn / co:5.3f}  (CPU runs old {[round(x, 2) for x in old_c]}, new "
                f"{[round(x, 2) for x in new_c]}; same ledger total)"
            )


if __name__ == "__main__":
    main()
