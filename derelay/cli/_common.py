"""Shared helpers for CLI commands: user errors exit 2 with one clear message."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

err_console = Console(stderr=True, highlight=False)
out_console = Console(highlight=False)

EXIT_USER_ERROR = 2


def fail(message: str) -> NoReturn:
    """Print ``message`` to stderr and exit with status 2 (user error)."""
    from rich.markup import escape

    # user text (keys, file names, values) is never read as rich markup
    err_console.print(f"[bold red]error:[/] {escape(str(message))}", soft_wrap=True)
    raise typer.Exit(code=EXIT_USER_ERROR)


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, Fractions and paths into JSON-friendly values."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        np = None
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if np is not None and isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if np is not None and isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, Path):
        return str(obj)
    return obj


def print_json(obj: Any) -> None:
    """Print exactly one JSON object on stdout."""
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


def load_params_or_exit(path: Path | None):
    """Load and validate a parameter file, or exit 2 with a clear message."""
    from derelay.params import Params, ParamsError, load_params

    if path is None:
        return Params()
    try:
        return load_params(path)
    except ParamsError as exc:
        fail(str(exc))
