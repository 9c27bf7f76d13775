"""The ``derelay`` command line.

Every module in this package that defines ``register(app)`` contributes its
subcommands; modules are discovered automatically (sorted by name), so a new
capability adds a module here and edits nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

app = typer.Typer(
    name="derelay",
    help=(
        "derelay: DeRelayL's incentive mechanism in closed form, under a solver, "
        "on a forkable chain and as an agent-based model with real learning."
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
    """derelay: probe, prove and reproduce DeRelayL's incentive mechanism."""


def _register_all() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_all()


def main() -> None:  # console entry point
    app()
