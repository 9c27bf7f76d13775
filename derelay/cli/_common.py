"""Shared helpers for CLI commands: user errors exit 2 with one clear message.

``out_console`` and ``err_console`` (rich consoles) are created on first use, and typer is
imported only to exit, so a command that prints JSON only (``derelay check --json``) needs
neither rich nor typer here."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

EXIT_USER_ERROR = 2

if TYPE_CHECKING:
    from rich.console import Console

    err_console: Console
    out_console: Console


def __getattr__(name: str) -> Any:
    if name in ("out_console", "err_console"):
        from rich.console import Console

        console = Console(stderr=name == "err_console", highlight=False)
        globals()[name] = console
        return console
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def fail(message: str) -> NoReturn:
    """Print ``message`` to stderr and exit with status 2 (user error)."""
    import typer
    from rich.markup import escape

    # user text (keys, file names, values) is never read as rich markup
    console = globals().get("err_console") or __getattr__("err_console")
    console.print(f"[bold red]error:[/] {escape(str(message))}", soft_wrap=True)
    raise typer.Exit(code=EXIT_USER_ERROR)


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays and paths into JSON-friendly values: the engine's
    :func:`derelay.engine.jsonable.to_jsonable` (imported on use, so no command pays for
    numpy at start-up unless it prints JSON)."""
    from derelay.engine.jsonable import to_jsonable as convert

    return convert(obj)


def print_json(obj: Any) -> None:
    """Print exactly one JSON object on stdout."""
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


def load_params_or_exit(path: Path | None):
    """Load and validate a parameter file, or exit 2 with a clear message."""
    from derelay.params import ParamsError, defaults, load_params

    if path is None:
        return defaults()
    try:
        return load_params(path)
    except ParamsError as exc:
        fail(str(exc))
