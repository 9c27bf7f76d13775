"""``derelay dashboard``: the interactive dashboard, served on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import fail


def dashboard(
    mechanism: str = typer.Option(
        "derelayl", "--mechanism", "-m", help="Mechanism shown first (the page can switch)."
    ),
    port: int = typer.Option(
        5006, "--port", help="Port on 127.0.0.1 (0: any free port, printed at start)."
    ),
    compare: Path = typer.Option(
        None, "--compare", help="Results directory of `derelay compare` for the Compare tab."
    ),
    show: bool = typer.Option(False, "--show", help="Open the page in the default browser."),
) -> None:
    """Serve the dashboard: sliders for every parameter, live verdicts, a region map,
    the design interval of one parameter, a live ABM run and the compare results.

    Binds to 127.0.0.1 only and loads nothing from the network (BokehJS is served by
    the dashboard itself). Stop it with Ctrl-C.
    """
    from derelay.dashboard.spaces import get, mechanism_names

    try:
        import bokeh  # noqa: F401
    except ImportError as exc:
        fail(f"the dashboard needs bokeh ({exc}); install with: pip install -e '.[dashboard]'")
    if not (0 <= port <= 65535):
        fail(f"--port = {port} is out of range: allowed 0 <= port <= 65535")
    try:
        get(mechanism)
    except KeyError:
        fail(f"--mechanism = {mechanism!r} is unknown: allowed {', '.join(mechanism_names())}")
    if compare is not None and not compare.is_dir():
        fail(f"--compare = {str(compare)!r} is not a directory")
    from derelay.dashboard.server import serve

    try:
        serve(mechanism, port, str(compare) if compare else "", show=show)
    except OSError as exc:
        fail(f"--port = {port}: cannot listen on 127.0.0.1:{port} ({exc.strerror or exc})")


def register(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard)
