"""``derelay --help`` without importing typer.

Importing typer (with its click and its pydantic adapters) costs more than the rest of
the root help page.  The page is written here from the same sources typer uses -
:data:`derelay.cli.ROOT_HELP`, the ``--version`` help, and the one-line help of every
command in :data:`derelay.cli.COMMANDS` read from the modules' source - and in click's
plain layout (``rich_markup_mode=None``): usage line, help paragraph, ``Options`` and
``Commands`` definition lists, the width ``min(terminal columns, 80) - 2`` (at least 50).
:func:`root_help` returns ``None`` whenever the page would need a layout rule this module
does not implement (a command module the table does not know, a help text that is not
one plain paragraph, a word longer than its column, a very long name); the caller then
asks typer.  ``tests/test_perf_cli.py`` compares the two pages at several widths.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap

HELP_HELP = "Show this message and exit."


def program_name() -> str:
    """How the program was started, as click names it in usage lines: the script's file
    name, or ``python -m PACKAGE`` for ``python -m``."""
    main = sys.modules.get("__main__")
    path = sys.argv[0]
    package = getattr(main, "__package__", None)
    if package in (None, ""):
        return os.path.basename(path)
    name = os.path.splitext(os.path.basename(path))[0]
    module = package if name == "__main__" else f"{package}.{name}"
    return f"python -m {module.lstrip('.')}"


def _fill(text: str, width: int, indent: str = "", rest: str | None = None) -> str | None:
    """``text`` (one plain paragraph) wrapped at ``width``; None if it is not plain or a
    word does not fit on a line."""
    if "\n" in text or "\t" in text or "\b" in text:
        return None
    first = indent
    rest = indent if rest is None else rest
    if any(len(w) > width - max(len(first), len(rest)) for w in text.split()):
        return None
    return textwrap.TextWrapper(
        width, initial_indent=first, subsequent_indent=rest, replace_whitespace=False
    ).fill(text)


def _definitions(rows: list[tuple[str, str]], width: int, indent: int = 2) -> str | None:
    first_col = max(len(n) for n, _ in rows) + 2
    if first_col - 2 > 30:  # click moves such a name's text to the next line
        return None
    text_width = max(width - first_col - 2, 10)
    out = []
    for name, text in rows:
        wrapped = _fill(text, text_width)
        if wrapped is None:
            return None
        lines = wrapped.splitlines() or [""]
        out.append(" " * indent + name.ljust(first_col) + lines[0])
        out.extend(" " * (indent + first_col) + line for line in lines[1:])
    return "\n".join(out)


def root_help(
    prog: str | None = None, columns: int | None = None, width: int | None = None
) -> str | None:
    """The text ``derelay --help`` prints (ending in a newline), or None (ask typer).

    ``columns``: the terminal's (default: asked); ``width``: the page's, when forced (as
    typer's test runner forces 80)."""
    from . import COMMANDS, ROOT_HELP, VERSION_HELP, _module_names, _source_help, short_help

    modules = _module_names()
    if any(m not in set(COMMANDS.values()) for m in modules):
        return None  # a command module the table does not know: typer imports it
    prog = program_name() if prog is None else prog
    if width is None:
        if columns is None:
            columns = shutil.get_terminal_size().columns
        width = max(min(columns, 80) - 2, 50)
    commands = []
    for name, module in COMMANDS.items():
        if module not in modules:
            continue
        text = _source_help(module).get(name)
        if text is None:
            return None
        commands.append((name, text))
    prefix = f"Usage: {prog} "
    if width < len(prefix) + 20:
        return None
    usage = _fill("[OPTIONS] COMMAND [ARGS]...", width, prefix, " " * len(prefix))
    about = _fill(ROOT_HELP, width, "  ")
    options = _definitions([("--version", VERSION_HELP), ("--help", HELP_HELP)], width)
    limit = width - 6 - max(len(n) for n, _ in commands)
    listed = _definitions([(n, short_help(t, limit)) for n, t in commands], width)
    if None in (usage, about, options, listed):
        return None
    return f"{usage}\n\n{about}\n\nOptions:\n{options}\n\nCommands:\n{listed}\n"
