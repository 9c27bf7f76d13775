"""The typer application of the ``derelay`` command line (see :mod:`derelay.cli`): the
lazy group that imports a command's module only when the command is used."""

from __future__ import annotations

import importlib
from difflib import get_close_matches

import typer
import typer.core

from derelay import cli as pkg

from . import ROOT_HELP, VERSION_HELP, _module_names, _source_help, short_help


def _build_commands(module_name: str) -> dict[str, object]:
    """Import one command module and build the click commands it registers."""
    module = importlib.import_module(f"{pkg.__name__}.{module_name}")
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
        known = set(pkg.COMMANDS.values())
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
        names = [n for n, module in pkg.COMMANDS.items() if module in _module_names()]
        names += [n for n in self.commands if n not in pkg.COMMANDS]
        return names

    def get_command(self, ctx, cmd_name):
        cmd = self.commands.get(cmd_name)
        if cmd is not None:
            return cmd
        module = pkg.COMMANDS.get(cmd_name)
        if module is not None and module in _module_names():
            self._load_module(module)
        else:
            self._load_unknown()
        return self.commands.get(cmd_name)

    def format_commands(self, ctx, formatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            text = None
            if name in pkg.COMMANDS and name not in self.commands:
                text = _source_help(pkg.COMMANDS[name]).get(name)
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
            formatter.write_dl([(n, short_help(h, limit)) for n, h in rows])

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
    help=ROOT_HELP,
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
        False, "--version", callback=_version, is_eager=True, help=VERSION_HELP
    ),
) -> None:
    """derelay: probe, prove and reproduce incentive mechanisms for decentralized learning."""
