"""Serving the dashboard: a Bokeh server on 127.0.0.1 that needs no outside network.

BokehJS (the page's JavaScript and CSS) ships inside the ``bokeh`` wheel and is served by
this server from its own ``/static`` route (Bokeh's ``server`` resources mode, forced here
whatever ``BOKEH_RESOURCES`` says), so the browser loads every file from the loopback
address and nothing from a CDN.  The browser test checks that by aborting every request
that is not to loopback.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from functools import partial

HOST = "127.0.0.1"
DEFAULT_PORT = 5006


def make_server(
    mechanism: str = "derelayl",
    port: int = DEFAULT_PORT,
    compare_dir: str = "",
    host: str = HOST,
):
    """A started-but-not-running :class:`bokeh.server.server.Server` (``server.port`` is the
    bound port; pass ``port=0`` for any free one)."""
    from bokeh.application import Application
    from bokeh.application.handlers.function import FunctionHandler
    from bokeh.server.server import Server
    from bokeh.settings import settings

    from .app import make_document

    settings.resources.set_value("server")  # BokehJS from this server, never a CDN
    app = Application(FunctionHandler(partial(_session, mechanism, compare_dir, make_document)))
    port = int(port) or free_port(host)
    return Server(
        {"/": app},
        address=host,
        port=port,
        allow_websocket_origin=[f"{host}:{port}", f"localhost:{port}"],
        num_procs=1,
        check_unused_sessions_milliseconds=10_000,
        unused_session_lifetime_milliseconds=30_000,
    )


def free_port(host: str = HOST) -> int:
    """A port on ``host`` that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _session(mechanism: str, compare_dir: str, make_document: Callable, doc) -> None:
    args = doc.session_context.request.arguments if doc.session_context else {}
    mech = args.get("mechanism", [mechanism.encode()])[0].decode(errors="replace")
    from .spaces import mechanism_names

    names = mechanism_names()
    if mech not in names:
        import html

        from bokeh.models import Div

        doc.add_root(
            Div(
                text=f"<b>unknown mechanism {html.escape(repr(mech))}</b>: allowed "
                + ", ".join(f"<a href='?mechanism={n}'>{n}</a>" for n in names),
                name="error",
            )
        )
        return
    make_document(doc, mech, compare_dir)


def serve(
    mechanism: str = "derelayl",
    port: int = DEFAULT_PORT,
    compare_dir: str = "",
    show: bool = False,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Run the dashboard until interrupted."""
    server = make_server(mechanism, port, compare_dir)
    server.start()
    url = f"http://{HOST}:{server.port}/"
    (ready or _print_ready)(url)
    if show:
        server.io_loop.add_callback(server.show, "/")
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _print_ready(url: str) -> None:
    sys.stdout.write(f"derelay dashboard serving at {url} (Ctrl-C stops it)\n")
    sys.stdout.flush()
