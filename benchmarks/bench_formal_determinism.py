"""Are ``derelay prove --json --no-timings`` answers the same on an idle and a busy machine?

    python benchmarks/bench_formal_determinism.py [--json] [--overload N]

Runs ``python -m derelay prove --json --no-timings`` (DeRelayL, the default) and the same
with ``--mechanism NAME`` for every built-in mechanism, once per phase:

* ``as is``: the machine as it is;
* ``busy``: both cores kept busy by 2 busy-loop subprocesses (started by this script,
  ended by their process ids when the phase is over);
* ``overload``: 3 busy loops (``--overload N`` to change; 0 skips the phase).

Each run is a fresh process.  Printed per command and phase: the wall time, the load
average at the end, a digest of stdout; and whether every phase printed byte-identical
output (the verdicts and witnesses depend on z3's deterministic resource limit and on
the query only, never on the clock).  A plain script (one run, no assertions on time).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MECHANISMS = ("derelayl", "pot", "brain", "flchain", "deepchain")


def commands() -> list[tuple[str, list[str]]]:
    base = [sys.executable, "-m", "derelay", "prove", "--json", "--no-timings"]
    out = [("default (derelayl)", base)]
    out += [(f"--mechanism {m}", [*base, "--mechanism", m]) for m in MECHANISMS]
    return out


def start_busy(n: int) -> list[subprocess.Popen]:
    return [
        subprocess.Popen([sys.executable, "-c", "while True:\n    pass"], cwd=ROOT)
        for _ in range(n)
    ]


def stop_busy(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_phase(name: str, busy: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = start_busy(busy)
    rows = []
    try:
        if busy:
            time.sleep(2.0)  # let the busy loops take the cores
        for label, cmd in commands():
            t0 = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True, cwd=ROOT, env=env)
            dt = time.perf_counter() - t0
            rows.append(
                {
                    "command": label,
                    "seconds": round(dt, 2),
                    "load1": round(os.getloadavg()[0], 2),
                    "exit": r.returncode,
                    "bytes": len(r.stdout),
                    "sha256": hashlib.sha256(r.stdout).hexdigest(),
                    "stdout": r.stdout,
                    "unknown": r.stdout.count(b'"unknown"'),
                }
            )
    finally:
        stop_busy(procs)
    return {"phase": name, "busy_loops": busy, "rows": rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--overload", type=int, default=3, help="busy loops of the third phase")
    args = ap.parse_args()
    phases = [("as is", 0), ("busy", 2)]
    if args.overload > 0:
        phases.append(("overload", args.overload))
    results = [run_phase(name, n) for name, n in phases]
    summary = []
    for i, (label, _cmd) in enumerate(commands()):
        outs = [ph["rows"][i] for ph in results]
        summary.append(
            {
                "command": label,
                "identical": len({o["stdout"] for o in outs}) == 1,
                "all_exit_0": all(o["exit"] == 0 for o in outs),
                "seconds": {ph["phase"]: ph["rows"][i]["seconds"] for ph in results},
                "load1": {ph["phase"]: ph["rows"][i]["load1"] for ph in results},
                "unknown_strings": outs[0]["unknown"],
                "sha256": outs[0]["sha256"][:16],
            }
        )
    ok = all(s["identical"] and s["all_exit_0"] for s in summary)
    if args.json:
        print(json.dumps({"identical": ok, "commands": summary, "cpus": os.cpu_count()}))
        return 0
    names = [p for p, _ in phases]
    print(f"cpus: {os.cpu_count()}; phases: " + ", ".join(f"{p} ({n} busy)" for p, n in phases))
    head = f"{'command':<24}{'identical':>10}  " + "  ".join(f"{p + ' s':>12}" for p in names)
    print(head + "  " + "  ".join(f"{'load ' + p:>14}" for p in names) + "  sha256")
    for s in summary:
        times = "  ".join(f"{s['seconds'][p]:>12.2f}" for p in names)
        loads = "  ".join(f"{s['load1'][p]:>14.2f}" for p in names)
        flag = "yes" if s["identical"] and s["all_exit_0"] else "NO"
        print(f"{s['command']:<24}{flag:>10}  {times}  {loads}  {s['sha256']}")
    print(f"all outputs byte-identical across phases: {'yes' if ok else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
