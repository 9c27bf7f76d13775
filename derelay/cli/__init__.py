"""The ``derelay`` command line.

Every module in this package that defines ``register(app)`` contributes its
subcommands; modules are discovered automatically (sorted by name), so a new
capability adds a module here and edits nothing else.

Start-up is kept short by loading command modules lazily. ``COMMANDS`` below is a
table of every command with its module, so ``derelay --help`` lists them all without
importing any module (their one-line help is read from the modules' source text), and
``derelay check`` imports only ``derelay.cli.check``. The auto-discovery contract still
holds: a module with ``register(app)`` that the table does not know yet is imported and
registered when the commands are listed or looked up (slower, but complete).
``scan_commands()`` rebuilds the table from the modules themselves;
``tests/test_perf_cli.py`` checks that the table matches it.

This module imports no typer: the typer application (``app``, ``LazyGroup``) lives in
:mod:`derelay.cli._app` and is imported on first use of those names.  ``derelay --help``
itself is written by :func:`derelay.cli._help.root_help` from the same table, texts and
layout rules as the typer page (the test compares them at several terminal widths); it
falls back to typer for anything it does not know how to lay out.  ``derelay check
--json`` (the default point, no other option) and ``derelay --version`` are answered
without typer too.
"""

from __future__ import annotations

import functools
import pkgutil
import re
import sys
from typing import Any

ROOT_HELP = (
    "derelay: incentive mechanisms for decentralized learning (DeRelayL, Proof of "
    "Training, BRAIN, FLChain, DeepChain) in closed form, under a solver, as "
    "agent-based models with real learning, side by side."
)
VERSION_HELP = "Print the version and exit."

# name -> module under derelay.cli. Order: modules by name, then the order in which each
# module registers its commands (the eager order). The one-line help of each command is
# read from its module's source (:func:`_source_help`), so a docstring edit needs no edit
# here; a new command module needs none either (it is found and imported), only a new
# entry to stay lazy.
COMMANDS: dict[str, str] = {
    "chain": "chain",
    "check": "check",
    "params": "check",
    "compare": "compare",
    "dashboard": "dashboard",
    "design": "design",
    "prove": "formal",
    "feasible": "formal",
    "deviations": "formal",
    "learn": "learn",
    "mechanisms": "mechanisms",
    "paper": "paper",
    "plot": "plot",
    "run": "run",
    "sensitivity": "sensitivity",
    "sweep": "sweep",
}


@functools.lru_cache(maxsize=1)
def _module_names() -> tuple[str, ...]:
    """Command modules of this package (names only: nothing is imported)."""
    return tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")))


_REGISTER = re.compile(r"^def register\(.*?(?=^\S|\Z)", re.S | re.M)
_COMMAND = re.compile(r"app\.command\(\s*\"([\w-]+)\"([^()]*)\)\((\w+)\)")


@functools.cache
def _source_help(module_name: str) -> dict[str, str | None]:
    """The one-line help of each command ``register(app)`` registers, read from the
    module's source text without importing it (a few regular expressions: parsing the
    module with ``ast`` would cost as much as importing typer): ``app.command(NAME)(FUNC)``
    and FUNC's docstring, shortened as click does.  ``None`` for a command registered any
    other way (``help=``, ``hidden=``, ...): it is then imported to ask."""
    import inspect
    from pathlib import Path

    try:
        src = Path(__file__).with_name(f"{module_name}.py").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    reg = _REGISTER.search(src)
    out: dict[str, str | None] = {}
    if reg is None:
        return out
    for name, extra, func in _COMMAND.findall(reg.group(0)):
        out[name] = None
        if any(k in extra for k in ("help", "hidden", "deprecated")):
            continue
        m = re.search(
            rf"^def {func}\(.*?^\)[^\n]*:\n\s*(?:r?)(\"\"\"|\'\'\')(.*?)\1", src, re.S | re.M
        )
        if m is None or m.group(2).startswith(("\\", "{")):
            continue
        text = inspect.cleandoc(m.group(2)).split("\f", 1)[0]
        out[name] = short_help(text, 10**6)
    return out


def short_help(text: str, limit: int) -> str:
    """The one-line help of a command whose help is ``text``, at most ``limit`` characters:
    the first paragraph's words up to the first sentence end that fits, else as many
    words as fit with ``...`` (the rule click applies to command lists)."""
    words = text.split("\n\n", 1)[0].split()
    if words and words[0] == "\b":
        words = words[1:]
    length = 0
    for i, word in enumerate(words):
        length += len(word) + (i > 0)
        if length > limit:
            break
        if word.endswith("."):
            return " ".join(words[: i + 1])
        if length == limit and i != len(words) - 1:
            break
    else:
        return " ".join(words)
    # drop words until the rest and "..." fit
    length += 3
    while i > 0:
        length -= len(words[i]) + 1
        if length <= limit:
            break
        i -= 1
    return " ".join(words[:i]) + "..."


_APP_NAMES = ("app", "LazyGroup", "scan_commands", "_build_commands", "_root", "_version")


def __getattr__(name: str) -> Any:
    if name in _APP_NAMES:
        from . import _app

        return getattr(_app, name)
    if name == "typer":
        import typer

        return typer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:  # console entry point
    args = sys.argv[1:]
    if args == ["--help"]:
        from ._help import root_help

        text = root_help()
        if text is not None:
            sys.stdout.write(text)
            sys.stdout.flush()
            return
    elif args == ["--version"]:
        from derelay import __version__

        sys.stdout.write(f"derelay {__version__}\n")
        sys.stdout.flush()
        return
    elif args == ["check", "--json"]:
        # The default point's check, as ``derelay.cli.check.check`` prints it, without typer:
        # typer (0.29) coerces every option through a pydantic TypeAdapter, which costs more
        # than the check itself (the test compares the two outputs).
        from derelay.check import check_point

        from ._common import print_json

        print_json(check_point(None))
        return
    from ._app import app

    app()
