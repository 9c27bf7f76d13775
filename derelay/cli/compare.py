"""``derelay compare``: the mechanisms side by side under the same deviants and data."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import fail, out_console, print_json


def compare(
    config: Path = typer.Option(
        None,
        "--config",
        "-c",
        help="Comparison config (TOML); default experiments/compare.toml values.",
    ),
    mechanisms: str = typer.Option(
        None, "--mechanisms", help="Comma-separated mechanisms (default: all five)."
    ),
    seeds: int = typer.Option(None, "--seeds", min=1, max=1000, help="Seeds per cell."),
    rounds: int = typer.Option(None, "--rounds", min=2, max=100_000, help="Rounds per run."),
    learning: str = typer.Option(None, "--learning", help="abstract or torch."),
    quick: bool = typer.Option(
        False, "--quick", help="Abstract learning, 3 seeds, 20 rounds, fewer shares (~2 min)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (new or empty)."),
    workers: int = typer.Option(
        None, "--workers", "-w", min=1, max=256, help="Worker processes (default: automatic)."
    ),
    scheduler: str = typer.Option(
        None, "--scheduler", help="Dask scheduler address tcp://HOST:PORT, or 'local'."
    ),
    resume: bool = typer.Option(False, "--resume", help="Finish an interrupted comparison."),
    force: bool = typer.Option(False, "--force", help="Replace a non-empty --out directory."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
) -> None:
    """Run every mechanism under the same deviant types, data, compute and currency; write
    compare.parquet, per-run round data, figures/ and report.md.

    Per (mechanism, family, share, seed): the deviants' gain against their all-honest twin
    run, the closed-form IC verdict beside it, detection, money, accuracy and waste.
    Exit status 0 when it ran, 2 for bad input.
    """
    import shutil

    from derelay.io import OutputError, check_output_path
    from derelay.space import read_table_file
    from derelay.strict import ConfigError, validate
    from experiments.compare import CompareConfig, quick_config, run_compare

    data: dict = {}
    if config is not None:
        from derelay.params import ParamsError
        from derelay.space import parse_table

        try:
            text, _fmt, src = read_table_file(config)
            data = dict(parse_table(text, "toml", src))
        except ParamsError as exc:
            fail(str(exc).replace("invalid parameters", "invalid comparison config", 1))
    over: dict = {}
    if mechanisms is not None:
        over["mechanisms"] = [m.strip() for m in mechanisms.split(",") if m.strip()]
        if not over["mechanisms"]:
            fail("option '--mechanisms' is empty: name at least one mechanism")
    if seeds is not None:
        over["seeds"] = seeds
    if rounds is not None:
        over["rounds"] = rounds
    if learning is not None:
        if learning not in ("abstract", "torch"):
            fail(f"option '--learning' = {learning!r} is not allowed: allowed abstract, torch")
        over["learning"] = learning
    try:
        if quick:
            cfg = quick_config(**{**data, **over})
        else:
            cfg = validate(CompareConfig, {**data, **over}, str(config) if config else None)
    except ConfigError as exc:
        fail(str(exc))
    except ValueError as exc:  # quick_config builds the model directly
        fail(str(exc).splitlines()[0])
    from derelay.mechanism import UnknownMechanism, get_mechanism

    for m in cfg.mechanisms:
        try:
            get_mechanism(m)
        except UnknownMechanism as exc:
            fail(f"option '--mechanisms': {exc}")
    try:
        check_output_path(out, "--out", "dir")
    except OutputError as exc:
        fail(str(exc))
    if out.exists() and any(out.iterdir()) and not (resume or force):
        fail(
            f"option '--out' = '{out}' is not empty: choose a new directory, pass --resume to "
            "finish that comparison, or --force to replace it"
        )
    if force and not resume and out.exists():
        shutil.rmtree(out)
    try:
        summary = run_compare(
            cfg,
            out,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            progress=progress and not json_out,
        )
    except ValueError as exc:
        fail(str(exc).splitlines()[0])
    if json_out:
        from experiments.compare import _jsonable

        print_json(_jsonable(summary))
        return
    out_console.print(
        f"compared {', '.join(summary['mechanisms'])}: {summary['rows']} rows -> "
        f"{out / 'compare.parquet'}, {out / 'report.md'}",
        soft_wrap=True,
    )
    if summary.get("missing_mechanisms"):
        out_console.print(
            "not available here (no round protocol): " + ", ".join(summary["missing_mechanisms"]),
            soft_wrap=True,
        )
    for f in summary["findings"]:
        out_console.print(
            f"finding: {f['mechanism']} {f['family']}: simulated {f['verdict']}, closed form "
            f"{'IC holds' if f['cf_ic'] else 'IC fails'}",
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)
