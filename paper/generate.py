"""``derelay paper``: regenerate every figure and table of the reproduction from scratch.

Each section (one module in :mod:`paper.sections`) runs its experiment through the
sweep engine (from the specs in ``experiments/``), draws its figures (PNG and PDF under
``<out>/figures/``) and returns its claims, tables and errata as data
(:mod:`paper.core`).  A section that raises is reported as *failed* with its error
(every part of derelay is always installed: an import error is a defect like any
other), and the other sections go on.  :mod:`paper.render`
writes ``<out>/REPRODUCTION.md`` and ``<out>/reproduction.json`` from that data.

``quick=True`` shrinks rounds, replications and grids (the CI size); the effective
specs are written to ``<out>/specs/`` so that every claim's command reproduces its
numbers in either mode.

The version stamp (git commit and whether the code had uncommitted changes) is taken
*before* anything is written, and ignores the generated outputs, so it describes the
code that ran.
"""

from __future__ import annotations

import shutil
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core import (  # noqa: F401  (re-exported for sections and tests)
    Check,
    Claim,
    Context,
    Erratum,
    Q,
    Section,
    Table,
    available,
    need,
)
from .errata import ERRATA
from .render import render as _render
from .render import to_json as _to_json
from .sections import discover

#: File marking an output directory as made by this generator (safe to regenerate).
MARKER = ".derelay-paper"
_need = need  # the pre-split name

#: Generated paths ignored by the version stamp (they are outputs, not code).
OUTPUTS = ("REPRODUCTION.md", "REPRODUCTION.partial.md", "reproduction.json", "figures",
           "data", "specs", MARKER)  # fmt: skip


def sections() -> list[tuple[str, Callable[[Context], Section]]]:
    """(key, run) of every section, in report order."""
    return [(s.key, s.run) for s in discover()]


def titles() -> dict[str, str]:
    return {s.key: s.title for s in discover()}


SECTIONS = sections()


def code_state(out: Path | None = None) -> dict[str, Any] | None:
    """Git commit and dirty state of the code, ignoring generated outputs under ``out``."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    ignore: list[str] = []
    if out is not None:
        try:
            rel = Path(out).resolve().relative_to(root)
            ignore = [str(rel / o) for o in OUTPUTS]
        except ValueError:
            pass
    changed = []
    for line in status.splitlines():
        path = line[3:].split(" -> ")[-1].strip().strip('"')
        if not any(path == i or path.startswith(i + "/") for i in ignore):
            changed.append(path)
    return {"commit": commit, "dirty": bool(changed), "changed": changed[:20]}


@dataclass
class Report:
    out: Path
    quick: bool
    sections: list[Section]
    seconds: float
    git: dict[str, Any] | None = None
    version: str = ""
    all_keys: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.version:
            from derelay import __version__

            self.version = __version__
        if not self.all_keys:
            self.all_keys = [k for k, _ in SECTIONS]

    @property
    def claims(self) -> list[Claim]:
        return [c for s in self.sections for c in s.claims]

    @property
    def errata(self) -> list[Erratum]:
        own = [e for s in self.sections for e in s.errata]
        ids = {e.id for e in own}
        return [*ERRATA_STATIC(ids), *own]

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)


def ERRATA_STATIC(exclude: set[str]) -> list[Erratum]:  # noqa: N802
    return [e for e in ERRATA if e.id not in exclude]


def render(rep: Report) -> str:
    return _render(rep)


def generate(
    out: str | Path = "paper",
    quick: bool = False,
    workers: int | None = None,
    only: list[str] | None = None,
    log: Callable[[str], None] = print,
    progress: bool | None = None,
    console=None,
    progress_every: float = 5.0,
    shown_out: str | Path | None = None,
) -> Report:
    """Regenerate figures, tables, ``REPRODUCTION.md`` and ``reproduction.json``.

    ``progress``: a live display on a terminal (``True``), heartbeat log lines
    (``False``), or neither (``None``).
    """
    from .progress import Progress, expected_seconds

    out = Path(out)
    specs = discover()
    keys = [s.key for s in specs]
    if only:
        bad = [k for k in only if k not in keys]
        if bad:
            raise ValueError(f"unknown section(s) {bad}; sections are {keys}")
    git = code_state(out)  # before anything is written
    out.mkdir(parents=True, exist_ok=True)
    if workers is None and quick:
        workers = 1  # quick runs are short: process start-up would dominate
    ctx = Context(
        out=out,
        quick=quick,
        workers=workers,
        log=log,
        shown_out=Path(shown_out) if shown_out is not None else None,
    )
    # from scratch: old figures and data go (a section that degrades leaves no stale file),
    # but only directories this generator made (never a user's own figures/ or data/)
    marker = out / MARKER
    owned = (ctx.figdir, ctx.datadir, ctx.specdir)
    foreign = [d for d in owned if d.exists() and not marker.exists()]
    if foreign:
        raise ValueError(
            f"'--out' {out} already has {', '.join(d.name + '/' for d in foreign)} not made by "
            "derelay paper; choose another --out (nothing was deleted)"
        )
    marker.write_text("written by derelay paper; figures/, data/ and specs/ are regenerated\n")
    for d in owned:
        if d.exists() and not only:
            shutil.rmtree(d)
    ctx.figdir.mkdir(parents=True, exist_ok=True)
    chosen = [s for s in specs if not only or s.key in only]
    prog = None
    if progress is not None:
        prog = Progress(
            [s.key for s in chosen],
            expected_seconds(out, keys, quick),
            tty=bool(progress),
            log=log,
            every=progress_every,
            console=console,
        )
        ctx.progress = prog
        prog.start()
    t0 = time.perf_counter()
    done: list[Section] = []
    try:
        for k, spec in enumerate(chosen, start=1):
            if prog is not None:
                prog.section(k, spec.key)
            log(f"[{k}/{len(chosen)} {spec.key}] {spec.title}")
            ts = time.perf_counter()
            try:
                sec = spec.run(ctx)
            except Exception as exc:  # a broken part must not take the whole report down
                sec = Section(
                    spec.key, spec.title, status="failed", note=f"{type(exc).__name__}: {exc}"
                )
                log(f"  FAILED: {type(exc).__name__}: {exc}")
                log(traceback.format_exc(limit=8))
            sec.seconds = time.perf_counter() - ts
            empty = ctx.extra.pop("empty_panels", None)
            if empty:
                sec.empty_panels = empty
                msg = "figure panel(s) with no finite data: " + "; ".join(
                    f"{k}: {', '.join(v)}" for k, v in empty.items()
                )
                sec.note = f"{sec.note}; {msg}" if sec.note else msg
            done.append(sec)
            if prog is not None:
                prog.section_done(spec.key, sec.seconds)
            log(f"  done in {sec.seconds:.1f} s")
    finally:
        if prog is not None:
            prog.stop()
    rep = Report(out, quick, done, time.perf_counter() - t0, git=git, all_keys=keys)
    from experiments.runner import atomic_write_json, atomic_write_text

    if not only:
        atomic_write_text(out / "REPRODUCTION.md", render(rep))
        atomic_write_json(out / "reproduction.json", rep.to_json())
    else:
        atomic_write_text(out / "REPRODUCTION.partial.md", render(rep))
    return rep


def main() -> None:  # pragma: no cover - convenience: python -m paper.generate
    generate(quick="--quick" in sys.argv)
