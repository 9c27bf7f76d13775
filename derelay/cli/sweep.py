"""``derelay sweep``: run a declarative experiment spec in parallel, resumably."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from ._common import err_console, out_console, print_json
from ._common import fail as _fail


def fail(msg: str):
    _fail(escape(msg))


def sweep(
    spec: Path = typer.Argument(
        ..., help="Experiment spec (TOML), e.g. experiments/smoke_sweep.toml."
    ),
    workers: int = typer.Option(
        None,
        "--workers",
        "-w",
        help="Worker processes (default: CPU count, or in-process when the sweep is too short to repay starting workers; 1 = in-process).",
    ),
    out: Path = typer.Option(
        None, "--out", "-o", help="Output directory (default: runs/<spec name>)."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue an interrupted sweep: rerun nothing that finished."
    ),
    scheduler: str = typer.Option(
        None,
        "--scheduler",
        help="Dask scheduler address (tcp://host:8786), or 'local' for a local Dask cluster.",
    ),
    retry_failed: bool = typer.Option(
        False, "--retry-failed", help="With --resume, also rerun runs that failed."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Validate SPEC and list its runs (id, point, seed); run nothing."
    ),
    force: bool = typer.Option(
        False, "--force",
        help="Run a sweep planning more runs than experiments.spec.MAX_RUNS (100,000).",
    ),
    mechanism: str = typer.Option(
        None,
        "--mechanism",
        "-m",
        help="Mechanism to sweep (overrides the spec's `mechanism` key; default derelayl).",
    ),
) -> None:
    """Run every (point, replication) of SPEC; write a tidy Parquet dataset and a manifest.

    Output: OUT/<table>/run_NNNNNN.parquet (long format: run_id, replication, seed,
    point, <parameters>, round, <metrics>), OUT/manifest.json and OUT/runs.parquet.
    Exit status: 0 all runs ok, 1 some runs failed (recorded in the manifest),
    2 bad input, 130 interrupted (continue with --resume).
    """
    from experiments.runner import SweepInterrupted, SweepWorkerLost, run_sweep
    from experiments.spec import SpecError, load_spec, spec_from_mapping

    if workers is not None and not 1 <= workers <= 1024:
        fail(f"'--workers' = {workers} is out of range: allowed 1 <= --workers <= 1024")
    if out is not None:
        from derelay.io import OutputError, check_output_path

        try:
            check_output_path(out, "--out", "dir")
        except OutputError as exc:
            fail(str(exc))
    try:
        sp = load_spec(spec, force=force)
        if mechanism is not None and mechanism != sp.mechanism:
            data = sp.model_dump()
            data["mechanism"] = mechanism
            data["base"].pop("mechanism", None)
            sp = spec_from_mapping(data, f"{spec} with --mechanism {mechanism}", force=force)
    except SpecError as exc:
        fail(str(exc))
    out = out or Path("runs") / sp.name
    if dry_run:
        runs = sp.runs()
        listing = {
            "name": sp.name,
            "kind": sp.kind,
            "mechanism": sp.mechanism,
            "runs": len(runs),
            "points": len(sp.points()),
            "replications": sp.replications,
            "digest": sp.digest(),
            "out": str(out),
            "plan": [
                {"run_id": r.run_id, "replication": r.replication, "seed": r.seed, **r.values}
                for r in runs
            ],
        }
        if json_out:
            print_json(listing)
        else:
            out_console.print(
                f"{sp.name}: kind {sp.kind}, {len(sp.points())} points x {sp.replications} "
                f"replications = {len(runs)} runs -> {out}"
            )
            for r in runs[:20]:
                out_console.print(f"  run {r.run_id}: rep {r.replication} seed {r.seed} {r.values}")
            if len(runs) > 20:
                out_console.print(f"  ... {len(runs) - 20} more")
        return
    if retry_failed and not resume:
        fail("'--retry-failed' needs --resume")
    try:
        res = run_sweep(
            sp,
            out,
            workers=workers,
            resume=resume,
            scheduler=scheduler,
            retry_failed=retry_failed,
            progress=progress and not json_out,
            spec_text=spec.read_text(encoding="utf-8"),
        )
    except SpecError as exc:
        fail(str(exc))
    except SweepWorkerLost as exc:
        err_console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(code=1) from None
    except SweepInterrupted as exc:
        err_console.print(f"[yellow]{escape(str(exc))}[/]")
        raise typer.Exit(code=130) from None
    summary = res.summary()
    if json_out:
        print_json(summary)
    else:
        out_console.print(
            f"sweep [bold]{sp.name}[/]: {res.done} ok, {res.failed} failed, "
            f"{res.skipped} already finished, of {res.total} runs in {res.elapsed_s:.1f} s -> {out}"
        )
        out_console.print(
            f"  load with: from experiments.runner import load_results; "
            f"load_results('{out}')  (or pandas.read_parquet('{out}/rounds'))",
            soft_wrap=True,
        )
        if res.failed:
            for rid, st in sorted(res.statuses.items()):
                if st["status"] == "failed":
                    out_console.print(f"  run {rid}: {st['error']}", soft_wrap=True)
                    break
            out_console.print(f"  (every error is in {out}/manifest.json)")
    if res.failed:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
