"""Safe inputs and outputs for every command: nothing lost, nothing half-written.

* :func:`output_dir` -- a run directory always holds exactly one run's files, or is
  refused.  Outputs are written into a fresh hidden temporary directory beside the target
  and swapped in whole when the command succeeds; a non-empty target is refused unless
  ``force`` (then the old contents are replaced as a whole, never mixed with the new).  A
  failure or an interrupt removes the temporary directory and leaves the target untouched.
* :func:`output_file` -- the same for a single file (temporary file + atomic rename).
* :func:`read_text_file` -- reads only regular files, up to a size limit, as UTF-8, so a
  FIFO, ``/dev/zero`` or a binary file gives one clear error instead of a hang or a crash.
* :func:`check_output_path` -- the usual mistakes with an output path (a file where a
  directory is wanted, a missing parent, no write permission, a name too long) as one
  line naming the option.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

#: Largest input file read by default (bytes).
MAX_INPUT_BYTES = 16 * 1024 * 1024
#: Prefix of the temporary directories and files made here (cleaned up on any exit).
TMP_PREFIX = ".derelay-tmp-"


class OutputError(ValueError):
    """A bad output path; ``str(exc)`` is a complete one-line message."""


class InputError(ValueError):
    """A bad input file; ``str(exc)`` is a complete one-line message."""


def check_output_path(path: Path, option: str = "--out", kind: str = "dir") -> Path:
    """Validate an output path without creating anything; returns it resolved."""
    path = Path(path)
    label = f"option '{option}' = '{path}'"
    try:
        name_max = os.pathconf(path.parent if str(path.parent) else ".", "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    if any(len(part.encode()) > name_max for part in path.parts):
        raise OutputError(f"{label}: a name in the path is longer than {name_max} bytes")
    parent = path.parent
    # walk up to the first existing ancestor: it must be a writable directory
    probe = parent
    while not probe.exists():
        if probe.is_symlink() or probe == probe.parent:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise OutputError(f"{label}: '{probe}' is a file, not a directory")
    if not parent.exists():
        raise OutputError(f"{label}: directory '{parent}' does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{label}: directory '{parent}' is not writable")
    if kind == "dir" and path.exists() and not path.is_dir():
        raise OutputError(f"{label} is a file: give a directory")
    if kind == "file" and path.exists() and path.is_dir():
        raise OutputError(f"{label} is a directory: give a file path")
    return path


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def _clean_stale_temps(parent: Path, name: str) -> None:
    """Remove temporaries an earlier, killed run left for the same target."""
    for p in parent.glob(f"{TMP_PREFIX}{name}-*"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                p.unlink()


@contextlib.contextmanager
def output_dir(path: Path, force: bool = False, option: str = "--out") -> Iterator[Path]:
    """Yield a fresh temporary directory; on success it replaces ``path`` whole.

    ``path`` must not exist, be an empty directory, or (with ``force``) be a directory
    whose whole contents are then replaced.
    """
    path = check_output_path(Path(path), option, "dir")
    if path.exists() and not _is_empty_dir(path) and not force:
        raise OutputError(
            f"option '{option}' = '{path}' is not empty: choose a new directory or pass --force "
            "(which replaces its contents whole)"
        )
    parent = path.parent
    _clean_stale_temps(parent, path.name)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{path.name}-", dir=parent))
    old = None
    try:
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{path.name}-old-", dir=parent))
            os.rmdir(old)
            os.rename(path, old)
        os.rename(tmp, path)
    except BaseException:
        if old is not None and old.exists() and not path.exists():
            os.rename(old, path)  # put the previous run back
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None and old.exists():
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def output_file(path: Path, option: str = "--out") -> Iterator[Path]:
    """Yield a temporary file path beside ``path``; renamed onto it on success."""
    path = check_output_path(Path(path), option, "file")
    _clean_stale_temps(path.parent, path.name)
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{path.name}-", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_text_file(path: Path, option: str | None = None, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes``, or :class:`InputError`."""
    path = Path(path)
    label = f"option '{option}' = '{path}'" if option else f"'{path}'"
    try:
        if not path.exists():
            raise InputError(f"{label}: file not found")
        if path.is_dir():
            raise InputError(f"{label} is a directory, expected a file")
        if not path.is_file():
            raise InputError(f"{label} is not a regular file")
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(f"{label} is {size:,} bytes: allowed at most {max_bytes:,}")
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{label} is not a UTF-8 text file") from None
    except OSError as exc:
        raise InputError(f"{label}: cannot read ({exc.strerror or exc})") from None
