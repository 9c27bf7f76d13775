"""Input and output guards shared by the run-type commands (``run``, ``chain``, ``learn``,
``feasible``, ``paper``): every file read is a regular, size-limited UTF-8 file, every
configuration is parsed without a traceback, every output directory holds exactly one
run's files.

* :func:`guard_input` -- a file given to an option is a regular file of at most
  :data:`derelay.io.MAX_INPUT_BYTES` (a FIFO answers at once, ``/dev/zero`` is refused),
  readable as UTF-8; else exit 2 naming the option.
* :func:`read_config` -- a TOML or JSON table from such a file: binary text, duplicate JSON
  keys, ``'[' * 100000`` (nesting too deep) and 5,000-digit integers give one line.
* :func:`parse_set` -- ``--set KEY=VALUE`` items; ``VALUE`` is read as a TOML value
  (``0.7``, ``10``, ``true``, ``"text"``, ``[1, 2]``), anything else as a string.
* :func:`run_output` -- :func:`derelay.io.output_dir` that also replaces, whole, a
  directory holding a previous output of the same command (it has the command's marker
  file, e.g. ``run.json``); any other non-empty directory is refused without ``--force``.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._common import fail

#: Largest number accepted for a count option where the code would otherwise overflow.
MAX_COUNT = 10**9


def guard_input(path: Path | None, option: str) -> str | None:
    """The text of ``path`` (None when not given), or exit 2 with one line."""
    if path is None:
        return None
    from derelay.io import InputError, read_text_file

    try:
        _check_name(path, option)
        if not Path(path).exists() and not Path(path).is_symlink():
            raise InputError(
                f"option '{option}' = '{path}': cannot read, file not found (does not exist)"
            )
        return read_text_file(Path(path), option)
    except InputError as exc:
        fail(str(exc))


def _check_name(path: Path, option: str) -> None:
    from derelay.io import InputError

    if any(len(part.encode()) > 255 for part in Path(path).parts):
        raise InputError(
            f"option '{option}' = '{path}': a name in the path is longer than 255 bytes"
        )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key '{k}'")
        out[k] = v
    return out


def _finite(value: str) -> float:
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"value {value} is not a finite number")
    return x


def parse_table(text: str, fmt: str, source: str) -> dict:
    """A TOML/JSON table from ``text``, or exit 2 naming ``source``."""
    import tomllib

    try:
        if fmt == "json":
            data = json.loads(text, object_pairs_hook=_no_duplicates)
        else:
            data = tomllib.loads(text)
    except RecursionError:
        fail(f"cannot parse {source}: nested too deeply")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        fail(f"cannot parse {source}: malformed {fmt.upper()}: {str(exc).splitlines()[0]}")
    except ValueError as exc:  # duplicate keys, integers beyond Python's digit limit
        fail(f"cannot parse {source}: {str(exc).splitlines()[0]}")
    if not isinstance(data, dict):
        fail(f"{source}: the configuration must be a table/object, got {type(data).__name__}")
    return data


def read_config(path: Path, option: str) -> dict:
    """The table in a TOML/JSON configuration file, or exit 2 with one line."""
    text = guard_input(path, option)
    fmt = "json" if Path(path).suffix.lower() == ".json" else "toml"
    if fmt == "toml" and Path(path).suffix.lower() != ".toml" and text.lstrip().startswith("{"):
        fmt = "json"
    return parse_table(text, fmt, f"option '{option}' = '{path}'")


def _check_numbers(obj: Any, source: str, prefix: str = "") -> None:
    """NaN, infinities and numbers beyond 1e300 in a parsed table: exit 2 naming the key."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            _check_numbers(v, source, f"{prefix}{k}" if not prefix else f"{prefix}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _check_numbers(v, source, f"{prefix}[{i}]")
    elif isinstance(obj, float) and not math.isfinite(obj):
        fail(f"{source}: parameter '{prefix}' = {obj} is out of range: allowed a finite number")
    elif isinstance(obj, int | float) and not isinstance(obj, bool) and abs(obj) > 1e300:
        fail(
            f"{source}: parameter '{prefix}' = {obj:.3g} is out of range: allowed |value| <= 1e300"
        )


def guard_table(path: Path | None, option: str) -> dict | None:
    """A parameter or configuration file checked before any loader reads it: a regular,
    size-limited UTF-8 file that parses (no duplicate JSON keys, not nested too deeply, no
    5,000-digit integers) and holds only finite numbers.  None when not given."""
    if path is None:
        return None
    data = read_config(path, option)
    _check_numbers(data, f"option '{option}' = '{path}'")
    return data


def parse_set(items: list[str] | None, option: str = "--set") -> dict[str, Any]:
    """``KEY=VALUE`` items -> dict (a later item for the same key is refused)."""
    import tomllib

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            fail(f"option '{option}' = {item!r}: expected KEY=VALUE, e.g. {option} s=0.7")
        if key in out:
            fail(f"option '{option}': key '{key}' is given twice")
        raw = raw.strip()
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except (tomllib.TOMLDecodeError, ValueError, RecursionError):
            lowered = raw.lower()
            if lowered in ("nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity"):
                value = float(lowered.replace("infinity", "inf"))
            else:
                value = raw
        if isinstance(value, float) and not math.isfinite(value):
            fail(
                f"option '{option}': parameter '{key}' = {raw} is out of range: "
                "allowed a finite number"
            )
        out[key] = value
    return out


def check_count(option: str, value: int | None, low: int, high: int, why: str = "") -> None:
    """``low <= value <= high`` or exit 2 naming the option and the range."""
    if value is None:
        return
    if not low <= value <= high:
        more = f" ({why})" if why else ""
        fail(
            f"option '{option}' = {value} is out of range: allowed {low} <= {option} <= {high:,}{more}"
        )


def check_real(
    option: str, value: float | None, low: float, high: float, lo_open=False, hi_open=False
) -> None:
    """A finite ``value`` in ``[low, high]`` (ends open with ``lo_open``/``hi_open``)."""
    if value is None:
        return
    ok = (
        math.isfinite(value)
        and (value > low if lo_open else value >= low)
        and (value < high if hi_open else value <= high)
    )
    if not ok:
        left, right = "(" if lo_open else "[", ")" if hi_open else "]"
        fail(f"option '{option}' = {value} is out of range: allowed {left}{low:g}, {high:g}{right}")


def _previous_output(path: Path, markers: tuple[str, ...]) -> bool:
    return path.is_dir() and any((path / m).exists() for m in markers)


@contextlib.contextmanager
def run_output(
    path: Path, force: bool, markers: tuple[str, ...], option: str = "--out"
) -> Iterator[Path]:
    """A temporary directory swapped in whole for ``path`` on success (see the module
    docstring); an unusable path exits 2 before anything runs."""
    from derelay.io import OutputError, check_output_path, output_dir

    try:
        check_output_path(Path(path), option, "dir")
        cm = output_dir(Path(path), force or _previous_output(Path(path), markers), option)
        tmp = cm.__enter__()
    except OutputError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"option '{option}' = '{path}': cannot write ({exc.strerror or exc})")
    try:
        yield tmp
    except BaseException as exc:
        cm.__exit__(type(exc), exc, exc.__traceback__)
        raise
    try:
        cm.__exit__(None, None, None)
    except OSError as exc:
        fail(f"option '{option}' = '{path}': cannot write ({exc.strerror or exc})")


def preflight_output(path: Path, force: bool, markers: tuple[str, ...], option: str = "--out"):
    """Refuse an unusable ``--out`` before any work (the same checks as :func:`run_output`)."""
    from derelay.io import OutputError, check_output_path

    path = Path(path)
    try:
        check_output_path(path, option, "dir")
    except OutputError as exc:
        fail(str(exc))
    if path.is_dir() and any(path.iterdir()) and not force and not _previous_output(path, markers):
        fail(
            f"option '{option}' = '{path}' is not empty and holds no earlier output of this "
            "command: choose a new directory or pass --force (which replaces its contents whole)"
        )
