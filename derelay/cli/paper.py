"""``derelay paper``: regenerate every figure and table of the reproduction."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import typer
from rich.markup import escape

from ._common import err_console, fail, out_console, print_json


def _sections_help() -> str:
    from paper.sections import discover

    keys = ", ".join(s.key for s in discover())
    return f"Comma list of sections to run (writes REPRODUCTION.partial.md): {keys}."


def paper(
    out: Path = typer.Option(Path("paper"), "--out", "-o", help="Output directory."),
    quick: bool = typer.Option(
        False, "--quick", help="Fewer rounds, replications and grid points (the CI size)."
    ),
    workers: int = typer.Option(
        None, "--workers", "-w", help="Worker processes for the sweeps (default: CPU count)."
    ),
    only: str = typer.Option(None, "--only", help=_sections_help()),
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
    every section ran, 1 when some failed, 2 for bad input.  Progress
    (section k/N, the runs inside a section, an ETA) goes to stderr.
    """
    from paper.generate import generate, sections

    if workers is not None and not 1 <= workers <= 1024:
        fail(f"'--workers' = {workers} is out of range: allowed 1 <= --workers <= 1024")
    keys = [k for k, _ in sections()]
    sel = None
    if only:
        sel = [k.strip() for k in only.split(",") if k.strip()]
        bad = [k for k in sel if k not in keys]
        if bad:
            fail(f"'--only' has unknown section(s) {', '.join(bad)}: allowed {', '.join(keys)}")

    def log(msg: str) -> None:
        err_console.print(escape(msg), highlight=False)

    show = (err_console.is_terminal) if progress else None
    with _paper_output(out, keep=bool(sel)) as tmp:
        try:
            rep = generate(
                tmp, quick=quick, workers=workers, only=sel, log=log, progress=show,
                console=err_console, shown_out=out,
            )  # fmt: skip
        except ValueError as exc:
            fail(str(exc).replace(str(tmp), str(out)))
    if json_out:
        import json

        from ._common import to_jsonable

        text = json.dumps(to_jsonable(rep.to_json())).replace(
            json.dumps(str(tmp))[1:-1], json.dumps(str(out))[1:-1]
        )
        print_json(json.loads(text))
    else:
        name = "REPRODUCTION.partial.md" if sel else "REPRODUCTION.md"
        ok = sum(1 for s in rep.sections if s.status == "ok")
        out_console.print(
            f"{ok}/{len(rep.sections)} sections ok, {len(rep.claims)} claims, "
            f"{rep.seconds:.0f} s -> {escape(str(out / name))}"
        )
        for s in rep.sections:
            if s.status != "ok":
                note = str(s.note).replace(str(tmp), str(out))
                out_console.print(f"  [yellow]{s.key}: {s.status}: {escape(note)}[/]")
    if any(s.status != "ok" for s in rep.sections):
        raise typer.Exit(code=1)


@contextlib.contextmanager
def _paper_output(out: Path, keep: bool = False):
    """Generate into a temporary directory beside ``out``, then swap the generator's own
    outputs (``paper.generate.OUTPUTS`` and whatever else it wrote) into ``out``.

    ``out`` must be missing, empty, or a previous ``derelay paper`` output (it has the
    marker file); anything else is refused and nothing is deleted.  Files in ``out`` that
    the generator does not make are never touched.  With ``--only`` (``keep``) the previous
    outputs are copied into the temporary directory first, so the other sections' files
    survive; a full run replaces them whole.
    A failure or an interrupt removes the temporary directory and leaves ``out`` as it was.
    """
    import shutil
    import tempfile

    from derelay.io import TMP_PREFIX, OutputError, check_output_path
    from paper.generate import MARKER, OUTPUTS

    out = Path(out)
    try:
        check_output_path(out, "--out", "dir")
    except OutputError as exc:
        fail(str(exc))
    previous = (out / MARKER).exists()
    if out.is_dir() and any(out.iterdir()) and not previous:
        fail(
            f"'--out' {out} is not empty and was not made by derelay paper (no {MARKER} "
            "marker): choose another --out (nothing was deleted)"
        )
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{out.name}-", dir=out.parent))
    except OSError as exc:
        fail(f"'--out' {out}: cannot write ({exc.strerror or exc})")
    try:
        if previous and keep:
            for name in OUTPUTS:
                src = out / name
                if src.is_dir():
                    shutil.copytree(src, tmp / name)
                elif src.is_file():
                    shutil.copy2(src, tmp / name)
        yield tmp
        _retarget(tmp, out)
        out.mkdir(parents=True, exist_ok=True)
        made = sorted(p.name for p in tmp.iterdir())
        for name in sorted(set(made) | set(OUTPUTS)):
            dst = out / name
            if dst.is_dir() and not dst.is_symlink():
                shutil.rmtree(dst)
            elif dst.exists() or dst.is_symlink():
                dst.unlink()
            if name in made:
                os.replace(tmp / name, dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _retarget(tmp: Path, out: Path) -> None:
    """The generated text names the temporary directory where it means ``out``."""
    old, new = str(tmp), str(out)
    for f in tmp.rglob("*"):
        if f.suffix.lower() in (".md", ".json", ".toml", ".csv", ".txt") and f.is_file():
            text = f.read_text(encoding="utf-8", errors="surrogateescape")
            if old in text:
                f.write_text(text.replace(old, new), encoding="utf-8", errors="surrogateescape")


def register(app: typer.Typer) -> None:
    app.command("paper")(paper)
