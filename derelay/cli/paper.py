"""``derelay paper``: regenerate every figure and table of the reproduction."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from ._common import err_console, fail, out_console, print_json


def paper(
    out: Path = typer.Option(Path("paper"), "--out", "-o", help="Output directory."),
    quick: bool = typer.Option(
        False, "--quick", help="Fewer rounds, replications and grid points (the CI size)."
    ),
    workers: int = typer.Option(
        None, "--workers", "-w", help="Worker processes for the sweeps (default: CPU count)."
    ),
    only: str = typer.Option(
        None, "--only", help="Comma list of sections to run (writes REPRODUCTION.partial.md)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the claims as one JSON object."),
    progress: bool = typer.Option(
        True,
        "--progress/--no-progress",
        help="Show progress on stderr: a live display on a terminal, else a line every 5 s.",
    ),
) -> None:
    """Regenerate every figure and table of the reproduction and OUT/REPRODUCTION.md.

    Figs. 3-4 (both presets), the eq. (15)/(21) checks, the T1-T8 proof table, the
    deviations found, our figures, and the claims/verdicts/errata report.

    Sections whose part of derelay is missing degrade with a note; exit status 0 when
    every section ran, 1 when some degraded or failed, 2 for bad input.  Progress
    (section k/N, the runs inside a section, an ETA) goes to stderr.
    """
    from paper.generate import generate, sections

    if workers is not None and workers < 1:
        fail(f"'--workers' = {workers} is out of range: allowed --workers >= 1")
    keys = [k for k, _ in sections()]
    sel = None
    if only:
        sel = [k.strip() for k in only.split(",") if k.strip()]
        bad = [k for k in sel if k not in keys]
        if bad:
            fail(escape(f"'--only' has unknown section(s) {bad}: allowed {keys}"))

    def log(msg: str) -> None:
        err_console.print(escape(msg), highlight=False)

    show = (err_console.is_terminal) if progress else None
    try:
        rep = generate(
            out, quick=quick, workers=workers, only=sel, log=log, progress=show,
            console=err_console,
        )  # fmt: skip
    except ValueError as exc:
        fail(escape(str(exc)))
    if json_out:
        print_json(rep.to_json())
    else:
        name = "REPRODUCTION.partial.md" if sel else "REPRODUCTION.md"
        ok = sum(1 for s in rep.sections if s.status == "ok")
        out_console.print(
            f"{ok}/{len(rep.sections)} sections ok, {len(rep.claims)} claims, "
            f"{rep.seconds:.0f} s -> {out / name}"
        )
        for s in rep.sections:
            if s.status != "ok":
                out_console.print(f"  [yellow]{s.key}: {s.status}: {escape(s.note)}[/]")
    if any(s.status != "ok" for s in rep.sections):
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.command("paper")(paper)
