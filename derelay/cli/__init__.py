"""The ``derelay`` command line.

Every module in this package that defines ``register(app)`` contributes its
subcommands; modules are discovered automatically (sorted by name), so a new
capability adds a module here and edits nothing else.

Start-up is kept short by loading command modules lazily. ``COMMANDS`` below is a
table of every command with its module and its one-line help, so ``derelay --help``
lists them all without importing any module (their one-line help is read from the
modules' source text), and ``derelay check`` imports only ``derelay.cli.check``. The auto-discovery contract still holds: a module with
``register(app)`` that the table does not know yet is imported and registered when
the commands are listed or looked up (slower, but complete). ``scan_commands()``
rebuilds the table from the modules themselves; ``tests/test_perf_cli.py`` checks
that the table matches it.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
from difflib import get_close_matches

import typer
import typer.core

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


def _build_commands(module_name: str) -> dict[str, object]:
    """Import one command module and build the click commands it registers."""
    module = importlib.import_module(f"{__name__}.{module_name}")
    register = getattr(module, "register", None)
    if register is None:
        return {}
    sub = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
    register(sub)
    out: dict[str, object] = {}
    for info in sub.registered_commands:
        cmd = typer.main.get_command_from_info(
            info, pretty_exceptions_short=False, rich_markup_mode=None
        )
        if cmd.name:
            out[cmd.name] = cmd
    for group_info in sub.registered_groups:
        group = typer.main.get_group_from_info(
            group_info, pretty_exceptions_short=False, suggest_commands=True,
            rich_markup_mode=None,
        )
        if group.name:
            out[group.name] = group
    return out


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

    from typer._click.utils import make_default_short_help

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
        out[name] = make_default_short_help(text, 10**6)
    return out


def scan_commands() -> dict[str, tuple[str, str, bool]]:
    """Import every command module: name -> (module, one-line help, hidden), eager order."""
    table: dict[str, tuple[str, str, bool]] = {}
    for module_name in _module_names():
        for name, cmd in _build_commands(module_name).items():
            table[name] = (module_name, cmd.get_short_help_str(10**6), bool(cmd.hidden))
    return table


class LazyGroup(typer.core.TyperGroup):
    """A typer group that imports a command's module only when the command is used."""

    def _unknown_modules(self) -> list[str]:
        known = set(COMMANDS.values())
        return [m for m in _module_names() if m not in known]

    def _load_module(self, module_name: str) -> None:
        for name, cmd in _build_commands(module_name).items():
            self.commands.setdefault(name, cmd)

    def _load_unknown(self) -> None:
        if getattr(self, "_unknown_loaded", False):
            return
        self._unknown_loaded = True
        for module_name in self._unknown_modules():
            self._load_module(module_name)

    def list_commands(self, ctx):
        self._load_unknown()
        names = [n for n, module in COMMANDS.items() if module in _module_names()]
        names += [n for n in self.commands if n not in COMMANDS]
        return names

    def get_command(self, ctx, cmd_name):
        cmd = self.commands.get(cmd_name)
        if cmd is not None:
            return cmd
        module = COMMANDS.get(cmd_name)
        if module is not None and module in _module_names():
            self._load_module(module)
        else:
            self._load_unknown()
        return self.commands.get(cmd_name)

    def format_commands(self, ctx, formatter) -> None:
        from typer._click.utils import make_default_short_help

        rows = []
        for name in self.list_commands(ctx):
            text = None
            if name in COMMANDS and name not in self.commands:
                text = _source_help(COMMANDS[name]).get(name)
            if text is not None:
                rows.append((name, text, False))
            else:
                cmd = self.commands.get(name) or self.get_command(ctx, name)
                if cmd is None:
                    continue
                rows.append((name, cmd.get_short_help_str(10**6), bool(cmd.hidden)))
        rows = [(n, h) for n, h, hidden in rows if not hidden]
        if not rows:
            return
        limit = formatter.width - 6 - max(len(n) for n, _ in rows)
        with formatter.section("Commands"):
            formatter.write_dl([(n, make_default_short_help(h, limit)) for n, h in rows])

    def resolve_command(self, ctx, args):
        try:
            return self._click_resolve_command(ctx, args)
        except typer.core._click.exceptions.UsageError as e:
            if self.suggest_commands and args:
                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    suggestions = ", ".join(f"{m!r}" for m in matches)
                    e.message = f"{e.message.rstrip('.')}. Did you mean {suggestions}?"
            raise


app = typer.Typer(
    name="derelay",
    cls=LazyGroup,
    help=(
        "derelay: incentive mechanisms for decentralized learning (DeRelayL, Proof of "
        "Training, BRAIN, FLChain, DeepChain) in closed form, under a solver, as "
        "agent-based models with real learning, side by side."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from derelay import __version__

        typer.echo(f"derelay {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """derelay: probe, prove and reproduce incentive mechanisms for decentralized learning."""


def main() -> None:  # console entry point
    app()

