"""The sweep engine: run every (point, replication) of a spec, in parallel, resumably.

Layout of an output directory::

    OUT/sweep.json               the spec, its digest and the derelay version
    OUT/spec.toml                the spec as given (when it came from a file)
    OUT/<table>/run_000012.parquet   one file per finished run and kept table
    OUT/status/run_000012.json   the run's status record, written last (the truth)
    OUT/manifest.json            every run: config, seed, status, error, duration
    OUT/runs.parquet             the same as a flat table (one row per run)

Every file is written to a temporary name and moved into place with ``os.replace``,
so a killed sweep leaves only whole files.  A run is *finished* when its status record
exists; ``resume`` reruns only runs without one (and failed ones with
``retry_failed``); ``load_results`` reads only files of runs whose status is ``ok``,
so nothing is duplicated or half-read.

Run kinds live in :data:`RUN_KINDS`: ``kind(config: dict, seed: int) -> {table:
DataFrame}``; each table carries a ``round`` column (0 for one-shot kinds).  The runner
adds ``run_id, replication, seed, point`` and the swept parameter columns in front.
"""

from __future__ import annotations

import json
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .registry import KIND_DOCS, KIND_VALIDATORS, RUN_KINDS, RunKind, register_kind  # noqa: F401
from .spec import RunSpec, Spec, SpecError

ID_COLUMNS = ("run_id", "replication", "seed", "point")
#: About how long a pool worker takes to start and import what runs need (seconds; a fresh
#: interpreter importing numpy, pandas, pyarrow, mesa and the model: about 2 s of CPU,
#: measured by ``benchmarks/bench_parallel.py --components``).  While no worker is up, a
#: sweep whose remaining runs would take this process less than what is left of it stops
#: its pool and finishes alone.
POOL_STARTUP_S = 2.0
#: A long sweep refreshes manifest.json at most this often (the status files stay the truth).
MANIFEST_EVERY_S = 30.0
#: Columns that identify a row within a run's table: never dropped by outputs.metrics.
KEY_COLUMNS = ("round", "participant", "agent_id", "role", "strategy", "method")


class SweepInterrupted(RuntimeError):
    """The sweep was interrupted (Ctrl-C); finished runs are kept, resume with --resume."""


# ---------------------------------------------------------------------------------------
# Atomic file helpers
# ---------------------------------------------------------------------------------------


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=False, default=_json_default))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def atomic_write_parquet(path: Path, df: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def run_file(out: Path, table: str, run_id: int) -> Path:
    return out / table / f"run_{run_id:06d}.parquet"


def status_file(out: Path, run_id: int) -> Path:
    return out / "status" / f"run_{run_id:06d}.json"


# ---------------------------------------------------------------------------------------
# One run (executed in a worker process, a Dask worker, or in-process)
# ---------------------------------------------------------------------------------------


def _tidy(df: pd.DataFrame, run: dict[str, Any], metrics: list[str], every: int) -> pd.DataFrame:
    df = df.copy()
    if "round" not in df.columns:
        df["round"] = 0
    if metrics:
        keep = [c for c in df.columns if c in metrics or c in KEY_COLUMNS]
        df = df[keep]
    if every > 1 and len(df):
        rounds = df["round"].to_numpy()
        last = rounds.max()
        df = df[(rounds % every == 0) | (rounds == last)]
    df = df.reset_index(drop=True)
    front = {
        "run_id": run["run_id"],
        "replication": run["replication"],
        "seed": run["seed"],
        "point": run["point"],
    }
    for k, v in run["values"].items():
        if k in df.columns:
            continue
        front[k] = v
    for i, (k, v) in enumerate(front.items()):
        if k in df.columns:
            df = df.drop(columns=[k])
        df.insert(i, k, v)
    # round right after the identifiers and parameters
    cols = list(df.columns)
    cols.remove("round")
    cols.insert(len(front), "round")
    return df[cols]


def compute_run(
    kind: str, run: dict[str, Any], tables: list[str], metrics: list[str], every: int
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """Run one sweep run in memory: its status record and its tidy tables; never raises.

    A metric of ``metrics`` that no kept table has makes the run fail, and its record
    carries ``spec_error`` (the sweep refuses such a spec after its first run).
    """
    t0 = time.perf_counter()
    record: dict[str, Any] = {
        "run_id": run["run_id"],
        "point": run["point"],
        "replication": run["replication"],
        "seed": run["seed"],
        "status": "ok",
        "error": None,
        "files": [],
        "rows": 0,
    }
    frames: dict[str, pd.DataFrame] = {}
    try:
        fn = RUN_KINDS[kind]
        result = fn(run["config"], int(run["seed"]))
        if not isinstance(result, dict) or not all(
            isinstance(v, pd.DataFrame) for v in result.values()
        ):
            raise TypeError(f"run kind {kind!r} must return a dict of pandas DataFrames")
        wanted = tables or list(result)
        missing = [t for t in wanted if t not in result]
        if missing:
            raise KeyError(f"run kind {kind!r} produced no table(s) {missing}")
        if metrics:
            have = {c for t in wanted for c in result[t].columns}
            unknown = [m for m in metrics if m not in have]
            if unknown:
                avail = sorted(have - set(KEY_COLUMNS))
                record["spec_error"] = (
                    f"'outputs.metrics' = {unknown} names no column of kind {kind!r}'s "
                    f"table(s) {wanted}: available {avail}"
                )
                raise ValueError(record["spec_error"])
        for t in wanted:
            frames[t] = _tidy(result[t], run, metrics, every)
    except Exception as exc:  # a failing run is recorded; the sweep goes on
        frames = {}
        record["status"] = "failed"
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["traceback"] = traceback.format_exc(limit=8)
    record["duration_s"] = time.perf_counter() - t0
    return record, frames


def write_run(out: Path, record: dict[str, Any], frames: dict) -> dict[str, Any]:
    """Write a computed run's tables (DataFrames or Parquet bytes), then its status record."""
    for t, df in frames.items():
        path = run_file(out, t, record["run_id"])
        if isinstance(df, bytes):
            atomic_write_bytes(path, df)
            import pyarrow.parquet as pq

            record["rows"] += pq.ParquetFile(path).metadata.num_rows
        else:
            atomic_write_parquet(path, df)
            record["rows"] += len(df)
        record["files"].append(str(path.relative_to(out)))
    atomic_write_json(status_file(out, record["run_id"]), record)
    return record


def execute_run(
    kind: str,
    run: dict[str, Any],
    out: str,
    tables: list[str],
    metrics: list[str],
    every: int,
    plugins: bytes | None = None,
) -> dict[str, Any]:
    """Run one sweep run and write its tables and status record; never raises.

    ``plugins``: run-time registrations of the parent process
    (:func:`derelay.engine.plugins.snapshot`), re-registered here first.
    """
    from derelay.engine.plugins import restore

    from . import kinds as _kinds  # noqa: F401  (registers the built-in kinds in workers)

    restore(plugins)
    record, frames = compute_run(kind, run, tables, metrics, every)
    return write_run(Path(out), record, frames)


def execute_run_remote(
    kind: str,
    run: dict[str, Any],
    tables: list[str],
    metrics: list[str],
    every: int,
    plugins: bytes | None = None,
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """A run on a Dask worker: the record and each table as Parquet bytes, written nothing.

    The results travel back through Dask, so a worker needs no view of the output
    directory; the client writes the files (:func:`write_run`).
    """
    import io

    from derelay.engine.plugins import restore

    from . import kinds as _kinds  # noqa: F401

    restore(plugins)
    record, frames = compute_run(kind, run, tables, metrics, every)
    blobs = {}
    for t, df in frames.items():
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        blobs[t] = buf.getvalue()
    return record, blobs


# ---------------------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------------------


@dataclass
class SweepResult:
    out: Path
    total: int
    done: int
    failed: int
    skipped: int
    elapsed_s: float
    statuses: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)

    def summary(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "runs": self.total,
            "ok": self.done,
            "failed": self.failed,
            "skipped_finished": self.skipped,
            "elapsed_s": round(self.elapsed_s, 3),
        }


def read_statuses(out: Path) -> dict[int, dict[str, Any]]:
    statuses: dict[int, dict[str, Any]] = {}
    sdir = Path(out) / "status"
    if not sdir.is_dir():
        return statuses
    for f in sorted(sdir.glob("run_*.json")):
        try:
            rec = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue  # cannot happen with atomic writes, but never trust a file blindly
        statuses[int(rec["run_id"])] = rec
    return statuses


def _finished(rec: dict[str, Any] | None, out: Path, retry_failed: bool) -> bool:
    if rec is None:
        return False
    if rec["status"] == "ok":
        return all((out / f).exists() for f in rec.get("files", []))
    return not retry_failed


def write_manifest(out: Path, spec: Spec, runs: list[RunSpec]) -> dict[str, Any]:
    """Write manifest.json and runs.parquet from the status records (atomic)."""
    statuses = read_statuses(out)
    entries = []
    rows = []
    for r in runs:
        st = statuses.get(r.run_id)
        status = st["status"] if st else "pending"
        e = r.as_record()
        e.update(
            status=status,
            error=st.get("error") if st else None,
            duration_s=st.get("duration_s") if st else None,
            files=st.get("files", []) if st else [],
        )
        entries.append(e)
        row = {
            "run_id": r.run_id,
            "point": r.point,
            "replication": r.replication,
            "seed": r.seed,
            "status": status,
            "error": e["error"],
            "duration_s": e["duration_s"],
        }
        for k, v in r.values.items():
            row[k] = v
        rows.append(row)
    counts = {s: sum(1 for e in entries if e["status"] == s) for s in ("ok", "failed", "pending")}
    manifest = {
        "name": spec.name,
        "kind": spec.kind,
        "digest": spec.digest(),
        "root_seed": spec.seed,
        "seeding": spec.seeding,
        "replications": spec.replications,
        "axes": spec.axis_names(),
        "counts": counts,
        "runs": entries,
    }
    atomic_write_json(out / "manifest.json", manifest)
    atomic_write_parquet(out / "runs.parquet", pd.DataFrame(rows))
    return manifest


def _check_out(out: Path, spec: Spec, resume: bool) -> None:
    """Refuse an output directory this sweep may not write into (writes nothing)."""
    meta_path = out / "sweep.json"
    if out.exists() and not out.is_dir():
        raise SpecError(f"output directory {out} is a file; choose another --out")
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SpecError(f"{meta_path} is unreadable ({exc}); choose another --out") from None
        if not resume:
            raise SpecError(
                f"output directory {out} already holds a sweep ({meta.get('name')!r}); "
                "use --resume to continue it or choose another --out"
            )
        if meta.get("digest") != spec.digest():
            raise SpecError(
                f"cannot --resume: {out} holds a sweep of a different spec "
                f"(digest {meta.get('digest')} != {spec.digest()}); choose another --out"
            )
        return
    if out.is_dir() and any(out.iterdir()):
        what = "cannot --resume: " if resume else ""
        raise SpecError(
            f"{what}output directory {out} is not empty and holds no sweep; "
            "choose another --out"
        )


def _prepare_out(out: Path, spec: Spec, resume: bool, spec_text: str | None) -> None:
    _check_out(out, spec, resume)
    meta_path = out / "sweep.json"
    if meta_path.exists():
        for stale in out.rglob(".*.tmp-*"):  # temporaries of runs killed mid-write
            stale.unlink(missing_ok=True)
        return
    from derelay import __version__

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(
        meta_path,
        {
            "name": spec.name,
            "kind": spec.kind,
            "digest": spec.digest(),
            "derelay_version": __version__,
            "git": _git_state(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "spec": spec.model_dump(mode="json"),
        },
    )
    if spec_text is not None:
        atomic_write_text(out / "spec.toml", spec_text)


def _git_state() -> dict[str, Any] | None:
    """Commit and dirtiness of the derelay checkout (provenance; None outside git)."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        )
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root, capture_output=True, text=True, timeout=5,
        )  # fmt: skip
        return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return None


class _Progress:
    """A rich progress bar with runs done, failed and time left (or nothing)."""

    def __init__(self, total: int, enabled: bool, label: str):
        self.failed = 0
        self.enabled = enabled
        self.label = label
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            err_console = Console(stderr=True)
            self.progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("runs  [red]{task.fields[failed]} failed[/]"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=err_console,
                transient=False,
            )
            self.task = self.progress.add_task(label, total=total, failed=0)

    def __enter__(self):
        if self.enabled:
            self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.progress.__exit__(*exc)

    def advance(self, rec: dict[str, Any]) -> None:
        if rec["status"] != "ok":
            self.failed += 1
        if self.enabled:
            self.progress.update(self.task, advance=1, failed=self.failed)


def run_sweep(
    spec: Spec,
    out: str | Path,
    workers: int | None = None,
    resume: bool = False,
    scheduler: str | None = None,
    retry_failed: bool = False,
    progress: bool = False,
    spec_text: str | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> SweepResult:
    """Run (or resume) a sweep; see the module docstring for the output layout.

    ``workers``: processes on this machine, this one included (1 runs in-process;
    default: the CPU count).  With more than one, a warm pool of ``workers - 1`` processes
    (forked from this one where safe, else from a forkserver: :func:`_pool_context`) takes
    chunks of runs from the queue this process also runs runs from (:func:`_run_local`);
    a pool that could not be up before the rest is done is stopped.  Every run's BLAS/OpenMP
    libraries use one thread, in every process (the same bits with any ``workers``);
    ``scheduler``: a Dask scheduler address (``tcp://host:port``), or ``"local"`` to
    start a local Dask cluster of ``workers`` processes.
    """
    from derelay.engine.plugins import snapshot

    from . import kinds as _kinds  # noqa: F401
    from .registry import preload_modules

    out = Path(out)
    t0 = time.perf_counter()
    if scheduler is not None:
        check_scheduler(scheduler)
    _check_out(out, spec, resume)
    runs = spec.runs()
    statuses = read_statuses(out) if resume else {}
    pending = [r for r in runs if not _finished(statuses.get(r.run_id), out, retry_failed)]
    skipped = len(runs) - len(pending)
    outputs = spec.outputs
    args = (list(outputs.tables), list(outputs.metrics), outputs.every)
    checked = bool(outputs.metrics and pending)  # the first run is checked before writing
    blob = snapshot()  # registrations a worker process would not see (None: none)
    preload = preload_modules(spec.kind)
    n_workers = 1 if scheduler is not None else workers or os.cpu_count() or 1
    n_local = len(pending) - checked
    ctx = None
    if n_workers > 1 and n_local > 1:
        try:
            ctx = _pool_context(preload)
        except Exception:  # noqa: BLE001 - no worker processes here: this process runs all
            ctx = None
    pool = None
    dask = None
    try:
        if ctx is not None and ctx.get_start_method() != "fork":
            # A forkserver (or spawned) pool starts now, in the background, and warms up
            # while this process imports the kind's modules and runs the first runs.
            pool = _start_pool(n_local, n_workers, blob, preload, ctx)
        _import_quietly(preload)
        with _single_threaded():
            if ctx is not None and pool is None:  # fork: now that this process is warm
                ctx = _pool_context(preload)  # (the imports may have started a thread)
                pool = _start_pool(n_local, n_workers, blob, preload, ctx)
            first = None
            if checked:
                first = compute_run(spec.kind, pending[0].as_record(), *args)
                if first[0].get("spec_error"):
                    raise SpecError(f"invalid experiment spec: {first[0]['spec_error']}")
            if scheduler:
                dask = _connect_dask(scheduler, workers or os.cpu_count() or 1)
            return _sweep(spec, out, runs, pending, skipped, first, args, blob, pool, dask,
                          resume, progress, spec_text, on_result, t0)
    finally:
        if pool is not None:
            pool.stop()
        if dask is not None:
            for part in dask:
                if part is not None:
                    part.close()


def check_scheduler(scheduler: str) -> None:
    """``local`` or a Dask address (``tcp://host:port``, ``host:port``, ``inproc://...``)."""
    import re

    if scheduler == "local":
        return
    if re.fullmatch(r"(tcp|tls|ucx|ws|wss|inproc)://\S+", scheduler) or re.fullmatch(
        r"[A-Za-z0-9.\-]+:\d{1,5}", scheduler
    ):
        return
    raise SpecError(
        f"'--scheduler' = {scheduler!r} is not a Dask scheduler: allowed 'local' or an "
        "address such as tcp://host:8786"
    )


def _connect_dask(scheduler: str, workers: int):
    """(client, cluster or None); a local cluster listens on 127.0.0.1 only, dashboard too."""
    from dask.distributed import Client, LocalCluster

    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        )
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout="10s"), None
    except (OSError, TimeoutError, ValueError) as exc:
        raise SpecError(f"cannot connect to Dask scheduler '--scheduler' {scheduler}: {exc}") from None


def _sweep(spec, out, runs, pending, skipped, first, args, blob, pool, dask, resume, progress,
           spec_text, on_result, t0) -> SweepResult:
    _prepare_out(out, spec, resume, spec_text)
    results: dict[int, dict[str, Any]] = {}

    last_manifest = [time.monotonic()]

    def collect(rec: dict[str, Any], bar: _Progress) -> None:
        results[rec["run_id"]] = rec
        bar.advance(rec)
        if on_result is not None:
            on_result(rec)
        if time.monotonic() - last_manifest[0] > MANIFEST_EVERY_S:  # visible progress
            write_manifest(out, spec, runs)
            last_manifest[0] = time.monotonic()

    interrupted = False
    lost: str | None = None
    with _Progress(len(pending), progress and bool(pending), spec.name) as bar:
        try:
            if first is not None:
                collect(write_run(out, *first), bar)
                pending = pending[1:]
            if dask is not None:
                _run_dask(dask[0], spec.kind, pending, out, (*args, blob), bar, collect)
            else:
                work = _Work(pending, pool.n + 1 if pool is not None else 1)
                _run_local(spec.kind, work, out, args, pool, bar, collect)
        except KeyboardInterrupt:
            interrupted = True
        except SweepWorkerLost as exc:
            lost = str(exc)
    if not interrupted and lost is None:
        missing = [r.run_id for r in pending if not status_file(out, r.run_id).exists()]
        if missing:  # never "0 ok, N pending" with success
            lost = f"{len(missing)} runs came back with no result (first {missing[:5]})"
    write_manifest(out, spec, runs)
    final = read_statuses(out)
    ok = sum(1 for r in runs if final.get(r.run_id, {}).get("status") == "ok")
    failed = sum(1 for r in runs if final.get(r.run_id, {}).get("status") == "failed")
    res = SweepResult(out, len(runs), ok, failed, skipped, time.perf_counter() - t0, final)
    if lost is not None:
        pending_n = len(runs) - ok - failed
        raise SweepWorkerLost(
            f"{lost}; stopped after {ok} ok / {failed} failed of {len(runs)} runs "
            f"({pending_n} pending, recorded in {out / 'manifest.json'}); "
            f"finish with: derelay sweep SPEC --out {out} --resume"
        )
    if interrupted:
        raise SweepInterrupted(
            f"interrupted after {ok} ok / {failed} failed of {len(runs)} runs; "
            f"continue with: derelay sweep SPEC --out {out} --resume"
        )
    return res


#: A chunk handed to a pool worker holds about this much work (seconds, estimated from the
#: runs timed so far), so that trivially short runs do not pay one round trip each.
CHUNK_TARGET_S = 0.25


class SweepWorkerLost(SweepInterrupted):
    """A pool worker died (killed, out of memory); finished runs are kept, resume finishes."""


def _pool_context(preload: tuple[str, ...] = ()):
    """The start method of the pool's processes: ``fork`` where that is safe, else a
    ``forkserver``, else ``spawn``.

    * ``fork`` (Linux only) copies this process, warm: everything the runs import is already
      imported here (:func:`run_sweep` imports the kind's modules first), so a worker is up
      in milliseconds and costs no CPU to start - on a loaded machine the start-up CPU of a
      worker comes straight out of the sweep's share.  It is chosen only when forking is
      safe: this process runs no other Python thread (the pool is forked from the main
      thread before the progress bar's and the dispatcher's threads start) and torch is not
      loaded (its OpenMP pool does not survive a fork); the native threads that do exist
      (jemalloc's, OpenBLAS's) are fork-aware.
    * ``forkserver`` otherwise: one fresh, single-threaded process imports its preload
      (SIGINT ignored, one BLAS thread, the run kinds and ``preload``: see
      :mod:`experiments._sweep_worker`) once and forks every worker from there.  It is
      started once per process: a later sweep of another kind finds its modules imported
      by the worker initializer.
    * ``spawn`` where neither exists: every worker imports everything again.
    """
    import multiprocessing as mp
    import sys

    methods = mp.get_all_start_methods()
    torch = "torch" in sys.modules or any(m.split(".")[0] == "torch" for m in preload)
    if (sys.platform == "linux" and "fork" in methods and not torch
            and threading.active_count() == 1):  # fmt: skip
        return mp.get_context("fork")
    if "forkserver" not in methods:
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["experiments._sweep_worker", *preload])
    return ctx


def _import_quietly(modules: Iterable[str]) -> None:
    """Import ``modules`` ahead of the runs that need them (one that fails is left to the
    run that imports it, which then reports the error itself)."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - a warm-up only; the run reports the error
            continue


def _one_thread() -> None:
    """One thread for every BLAS/OpenMP library loaded here, and for torch (workers)."""
    import sys

    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


class _single_threaded:
    """Context: this process's runs use one BLAS/OpenMP (and torch) thread, as pool workers
    do, so every run computes the same bits whichever process runs it; restored after."""

    def __enter__(self):
        import sys

        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits(limits=1)
        self._torch = sys.modules.get("torch")
        if self._torch is not None:
            self._torch_threads = self._torch.get_num_threads()
            self._torch.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        if self._torch is not None:
            self._torch.set_num_threads(self._torch_threads)
        self._limits.restore_original_limits()


def _worker_init(plugins: bytes | None, preload: tuple[str, ...] = ()) -> None:
    """Pool initializer: SIGINT ignored (the parent handles Ctrl-C), the kind's modules
    imported (already done by a forkserver's preload), one thread, plug-ins restored once."""
    import signal

    from .registry import THREAD_VARS

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for var in THREAD_VARS:  # for what is imported later (torch, numexpr) and subprocesses
        os.environ[var] = "1"
    _import_quietly(preload)
    _one_thread()
    from derelay.engine.plugins import restore

    restore(plugins)


def _worker_ready() -> int:
    """A no-op task: its result tells the parent that a worker is up and warm."""
    return os.getpid()


def _worker_probe(modules: tuple[str, ...] = ()) -> dict[str, Any]:
    """What a process looks like to its runs: pid, thread settings (the environment's,
    every loaded BLAS/OpenMP library's, torch's) and which of ``modules`` are imported."""
    import sys

    from threadpoolctl import threadpool_info

    from .registry import THREAD_VARS

    torch = sys.modules.get("torch")
    return {
        "pid": os.getpid(),
        "env": {v: os.environ.get(v) for v in THREAD_VARS},
        "blas_threads": sorted({int(i["num_threads"]) for i in threadpool_info()}),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "imported": {m: m in sys.modules for m in modules},
    }


def _execute_chunk(kind, records, out, tables, metrics, every) -> list[dict[str, Any]]:
    """Run a chunk of runs in a pool worker (each writes its files and status record as it
    finishes); only the small status records travel back."""
    return [execute_run(kind, rec, out, tables, metrics, every) for rec in records]


class _Work:
    """The runs still to hand out (one queue, shared by this process and the pool's
    dispatcher thread) and the run times measured so far."""

    def __init__(self, runs: list[RunSpec], workers: int):
        from collections import deque

        self.queue = deque(runs)
        self.total = len(runs)
        self.workers = workers
        self.timings: list[float] = []
        self.lock = threading.Lock()

    def take(self, n: int = 1) -> list[RunSpec]:
        with self.lock:
            return [self.queue.popleft() for _ in range(min(n, len(self.queue)))]

    def left(self) -> int:
        return len(self.queue)

    def estimate(self) -> float | None:
        """Seconds per run (median of the latest timings), None before the first."""
        import statistics

        t = self.timings[-64:]
        return statistics.median(t) if t else None

    def chunk(self) -> list[RunSpec]:
        """About CHUNK_TARGET_S seconds of runs, at most a fair share of what is left."""
        est = self.estimate()
        size = 1 if not est else max(1, int(CHUNK_TARGET_S / max(est, 1e-6)))
        fair = max(1, self.left() // (2 * self.workers))
        return self.take(min(size, fair))


class _WarmPool:
    """``n`` pool processes, started in the background while this process works.

    A dispatcher thread creates the pool and sends every process a no-op (its reply: the
    process is up and warm); once :meth:`go` hands it the work, it gives every ready process
    one chunk (:meth:`_Work.chunk`; two queued when runs are short) and the next the moment
    one comes back, and puts what comes back on :attr:`results`: ``("runs", records)``, ``("lost", exc, run_ids)`` (a
    worker died) or ``("failed", exc)`` (no pool: this process runs everything).  Nothing is
    handed out before :meth:`go`, so a sweep refused after its first run writes nothing.
    """

    def __init__(self, n: int, blob: bytes | None, preload: tuple[str, ...], ctx=None):
        import queue

        self.n = n
        self.ctx = ctx if ctx is not None else _pool_context(preload)
        self.t0 = time.perf_counter()
        self.results: queue.SimpleQueue = queue.SimpleQueue()
        self.ready = 0
        self._stop = threading.Event()
        self._go = threading.Event()
        self._lock = threading.Lock()
        self._executor = None
        self._work: _Work | None = None
        self._job: tuple = ()
        self._created = None
        if self.ctx.get_start_method() == "fork":  # fork here, before any thread starts
            try:
                self._created = self._create(blob, preload)
            except Exception as exc:  # no worker processes here: this process runs all
                self._created = exc
        self._thread = threading.Thread(
            target=self._main, args=(blob, preload), name="sweep-pool", daemon=True
        )
        self._thread.start()

    def _create(self, blob, preload):
        """The executor and one no-op per process (submitting the first starts them)."""
        from concurrent.futures import ProcessPoolExecutor

        ex = ProcessPoolExecutor(
            max_workers=self.n, mp_context=self.ctx, initializer=_worker_init,
            initargs=(blob, preload),
        )
        with self._lock:
            self._executor = ex
        pings = set()
        for _ in range(self.n):  # each submit starts a process (and waits for it)
            if self._stop.is_set():
                break
            pings.add(ex.submit(_worker_ready))
        return ex, pings

    def go(self, work: _Work, kind: str, out: Path, args: tuple) -> None:
        self._work, self._job = work, (kind, str(out), *args)
        self._go.set()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop now: nothing more is handed out, the worker processes end."""
        self._stop.set()
        with self._lock:
            ex = self._executor
        if ex is not None:
            _stop_pool(ex)

    def _main(self, blob, preload) -> None:
        try:
            created = self._created or self._create(blob, preload)
            if isinstance(created, Exception):
                raise created
            ex, pings = created
        except Exception as exc:  # no worker processes here: this process runs everything
            self.results.put(("failed", exc))
            return
        finally:
            if self._stop.is_set():  # stopped while processes were being started
                with self._lock:
                    if self._executor is not None:
                        _stop_pool(self._executor)
        if self._stop.is_set():
            return
        busy: dict = {}  # future -> its chunk of runs
        try:
            self._dispatch(ex, pings, busy)
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            from concurrent.futures.process import BrokenProcessPool

            if self._stop.is_set():
                return
            if self.ready == 0 and not busy and isinstance(exc, BrokenProcessPool):
                self.results.put(("failed", exc))  # never came up: this process runs all
                return
            out = Path(self._job[1]) if self._job else None
            lost = sorted(
                r.run_id for part in busy.values() for r in part
                if out is None or not status_file(out, r.run_id).exists()
            )  # fmt: skip
            self.results.put(("lost", exc, lost))

    def _dispatch(self, ex, pings: set, busy: dict) -> None:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        while not self._stop.is_set():
            if self._go.is_set():
                work = self._work
                # One chunk per ready worker; two when runs are short, so that a worker
                # never waits for the round trip of its next chunk (a long run's chunk is
                # one run: a second would only leave a worker busy while this one idles).
                est = work.estimate()
                depth = 2 if est is not None and est < CHUNK_TARGET_S else 1
                while len(busy) < depth * self.ready:
                    part = work.chunk()
                    if not part:
                        break
                    busy[ex.submit(_execute_chunk, self._job[0], [r.as_record() for r in part],
                                   *self._job[1:])] = part  # fmt: skip
                if not pings and not busy and not work.left():
                    return  # everything handed out has come back
            if not pings and not busy:
                self._go.wait(0.05)
                continue
            done, _ = wait([*pings, *busy], timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in done:
                if fut in pings:
                    pings.discard(fut)
                    if fut.exception() is not None:
                        raise BrokenProcessPool(str(fut.exception()))
                    self.ready += 1
                    continue
                part = busy.pop(fut)
                try:
                    recs = fut.result()
                except BrokenProcessPool:
                    busy[fut] = part  # its runs are lost
                    raise
                except Exception as exc:  # e.g. a result that cannot be pickled back
                    recs = [_crash_record(r, Path(self._job[1]), exc) for r in part]
                self.results.put(("runs", recs))


def _stop_pool(pool) -> None:
    """Shut a pool down now: cancel what is queued, end the worker processes."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)


def _start_pool(n_runs: int, workers: int, blob, preload, ctx) -> _WarmPool | None:
    """A warm pool of ``workers - 1`` processes for ``n_runs`` runs (None: not worth one)."""
    n = min(workers - 1, n_runs - 1)
    return _WarmPool(n, blob, preload, ctx) if n >= 1 else None


def _run_local(kind, work: _Work, out, args, pool: _WarmPool | None, bar, collect) -> None:
    """Run ``work`` here and, once its processes are up, on ``pool`` as well.

    This process runs runs from the start, from the same queue the pool's dispatcher takes
    chunks from.  While no pool process is up, each run timed here updates the estimate of
    what is left; when that is shorter than a worker's start-up (:data:`POOL_STARTUP_S`,
    less the time it has had), the pool is stopped and this process finishes alone, so
    ``--workers 2`` is never slower than one worker.  Results are identical to a serial
    sweep's: each run's seed and files are its own.  A worker that dies ends the sweep
    cleanly (:class:`SweepWorkerLost`): its runs have no status record; ``--resume`` reruns
    them.
    """
    import queue

    tables, metrics, every = args
    got = 0

    def handle(msg) -> None:
        nonlocal got, pool
        if msg[0] == "runs":
            for rec in msg[1]:
                got += 1
                collect(rec, bar)
        elif msg[0] == "lost":
            exc, lost = msg[1], msg[2]
            raise SweepWorkerLost(
                f"a worker process died ({type(exc).__name__}: {exc or 'killed'}); "
                f"runs {lost} have no result"
            )
        else:  # "failed": the pool could not start; this process runs everything
            pool = None

    try:
        if pool is not None:
            pool.go(work, kind, out, args)
        while got < work.total:
            while pool is not None:
                try:
                    handle(pool.results.get_nowait())
                except queue.Empty:
                    break
            if got >= work.total:
                break
            part = work.take(1)
            if part:
                t = time.perf_counter()
                rec = execute_run(kind, part[0].as_record(), str(out), tables, metrics, every)
                work.timings.append(time.perf_counter() - t)
                got += 1
                collect(rec, bar)
                if pool is not None and not pool.ready:
                    wait_s = POOL_STARTUP_S - (time.perf_counter() - pool.t0)
                    if work.estimate() * work.left() < wait_s:  # done before it would help
                        pool.stop()
                        pool = None
            elif pool is not None:  # the rest is in the pool's hands
                try:
                    handle(pool.results.get(timeout=0.5))
                except queue.Empty:
                    if not pool.alive() and pool.results.empty():
                        raise SweepWorkerLost(
                            f"the worker pool stopped with {work.total - got} runs out"
                        ) from None
            else:  # cannot happen: every run is either here or with the pool
                raise SweepWorkerLost(f"{work.total - got} runs were never run")
    finally:
        if pool is not None:
            pool.stop()


def _crash_record(r: RunSpec, out: Path, exc: BaseException) -> dict[str, Any]:
    rec = {
        "run_id": r.run_id,
        "point": r.point,
        "replication": r.replication,
        "seed": r.seed,
        "status": "failed",
        "error": f"worker crashed: {type(exc).__name__}: {exc}",
        "files": [],
        "rows": 0,
        "duration_s": None,
    }
    atomic_write_json(status_file(out, r.run_id), rec)
    return rec


def _run_dask(client, kind, pending, out, args, bar, collect) -> None:
    """Run ``pending`` on a Dask cluster; results (records and Parquet bytes) travel back
    through Dask and are written here, so workers need no view of ``out``."""
    from dask.distributed import as_completed

    tables, metrics, every, blob = args
    futs = {}
    for r in pending:
        f = client.submit(
            execute_run_remote, kind, r.as_record(), tables, metrics, every, blob, pure=False
        )
        futs[f] = r
    try:
        for f in as_completed(list(futs)):
            r = futs[f]
            try:
                rec, blobs = f.result()
                rec = write_run(out, rec, blobs)
            except Exception as exc:  # a worker died, or the result could not travel
                rec = _crash_record(r, out, exc)
            collect(rec, bar)
    except KeyboardInterrupt:
        client.cancel(list(futs))
        raise


# ---------------------------------------------------------------------------------------
# Reading results
# ---------------------------------------------------------------------------------------


def load_results(out: str | Path, table: str = "rounds") -> pd.DataFrame:
    """The tidy long table of every ``ok`` run (sorted by run_id, round)."""
    import pyarrow.dataset as ds

    out = Path(out)
    statuses = read_statuses(out)
    files = []
    for rid in sorted(statuses):
        rec = statuses[rid]
        if rec["status"] != "ok":
            continue
        rel = f"{table}/run_{rid:06d}.parquet"
        if rel in rec.get("files", []) and (out / rel).exists():
            files.append(str(out / rel))
    if not files:
        return pd.DataFrame()
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:  # runs may differ in columns (e.g. an infeasible point has no optimum)
        schema = pa.unify_schemas([pq.read_schema(f) for f in files])
        df = ds.dataset(files, format="parquet", schema=schema).to_table().to_pandas()
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # incompatible types: let pandas upcast
        df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    sort = [c for c in ("run_id", "round", "participant") if c in df.columns]
    return df.sort_values(sort, kind="stable").reset_index(drop=True)


def load_manifest(out: str | Path) -> dict[str, Any]:
    return json.loads((Path(out) / "manifest.json").read_text(encoding="utf-8"))


# The built-in kinds (kinds imports the registry, never this module).
from . import kinds as _builtin_kinds  # noqa: E402,F401
