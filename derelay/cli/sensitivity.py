"""``derelay sensitivity``: Morris or Sobol sensitivity (SALib) of a spec's outputs."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from ._common import err_console, out_console, print_json
from ._common import fail as _fail


def fail(msg: str):
    _fail(msg)  # _common.fail escapes markup itself


def sensitivity(
    spec: Path = typer.Argument(..., help="Experiment spec with a [sensitivity] section."),
    workers: int = typer.Option(None, "--workers", "-w", help="Worker processes."),
    out: Path = typer.Option(None, "--out", "-o", help="Output directory (default: runs/<name>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted analysis."),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address or 'local'."),
    method: str = typer.Option(None, "--method", help="Override the spec: morris or sobol."),
    samples: int = typer.Option(
        None, "--samples", help="Override the spec: Morris trajectories / Sobol base samples."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
    json_out: bool = typer.Option(False, "--json", help="Print the indices as one JSON object."),
    force: bool = typer.Option(
        False, "--force", help="Run a design above the sweep's limit of planned runs."
    ),
) -> None:
    """Morris or Sobol sensitivity (SALib) of a spec's outputs over its parameter ranges.

    The spec's sensitivity section names the method, ranges and outputs; the design is
    run by the sweep engine (parallel, Dask, --resume) and analysed with SALib.

    Writes OUT/sensitivity.json, OUT/sensitivity.csv, OUT/sensitivity_<output>.png/.pdf
    next to the sweep's Parquet dataset and manifest.
    """
    from experiments.runner import SweepInterrupted
    from experiments.sensitivity import run_sensitivity, tidy
    from experiments.spec import SpecError, load_spec, spec_from_mapping

    from ._inputs import check_count, guard_table

    check_count("--workers", workers, 1, 1024)
    check_count("--samples", samples, 1, 10**6)
    guard_table(spec, "spec")
    try:
        sp = load_spec(spec)
    except SpecError as exc:
        fail(str(exc))
    if sp.sensitivity is None:
        fail(f"{spec} has no [sensitivity] section (method, samples, outputs, ranges)")
    try:
        if method is not None or samples is not None:
            data = sp.model_dump(mode="json")
            if method is not None:
                data["sensitivity"]["method"] = method
            if samples is not None:
                data["sensitivity"]["samples"] = samples
            sp = spec_from_mapping(data, str(spec))
        out = out or Path("runs") / sp.name
        res, result = run_sensitivity(
            sp,
            out,
            workers=workers,
            resume=resume,
            scheduler=scheduler,
            progress=progress and not json_out,
            force=force,
        )
    except SpecError as exc:
        fail(str(exc))
    except SweepInterrupted as exc:
        err_console.print(f"[yellow]{exc}[/]")
        raise typer.Exit(code=130) from None
    except RuntimeError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(code=1) from None
    if json_out:
        print_json({"sweep": res.summary(), **result})
        return
    df = tidy(result)
    t = Table(
        title=f"{result['method'].capitalize()} sensitivity ({result['design_points']} points)"
    )
    for c in df.columns:
        t.add_column(c, justify="right" if c not in ("output", "parameter") else "left")
    for _, row in df.iterrows():
        t.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    out_console.print(t)
    for o, idx in result["indices"].items():
        if "note" in idx:
            out_console.print(f"[yellow]{o}: {idx['note']}[/]")
    out_console.print(f"results in {out}/sensitivity.json")
    if res.failed:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.command("sensitivity")(sensitivity)
