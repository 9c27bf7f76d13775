"""``derelay mechanisms``: every registered mechanism, and the CLI's ``--mechanism`` helpers.

Built-ins, plug-ins installed with an entry point in group ``derelay.mechanisms`` and
mechanisms registered at run time are listed alike (``name``, ``title``, ``paper``,
``roles`` with strategies and families, ``conditions``, ``claims``).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ._common import fail, out_console, print_json


def resolve(name: str | None):
    """The mechanism named by ``--mechanism`` (default derelayl), or exit 2."""
    from derelay.mechanism import get_mechanism

    try:
        return get_mechanism(name or "derelayl")
    except KeyError as exc:
        fail(f"option '--mechanism' = {name!r}: {exc}")


def load_point(mech, path: Path | None):
    """A validated point of ``mech``'s space (defaults without ``path``), or exit 2."""
    from derelay.params import ParamsError

    try:
        return mech.space.defaults() if path is None else mech.space.load(path)
    except ParamsError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")


def print_status_table(title: str, rows: list[dict], cols: tuple[str, ...]) -> None:
    colour = {"proved": "green", "counterexample": "bold red", "unknown": "yellow"}
    t = Table(title=title)
    for c in cols:
        t.add_column(c)
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c)
            if c == "status" and v in colour:
                v = f"[{colour[v]}]{v}[/]"
            elif c == "witness":
                v = ", ".join(f"{k}={x}" for k, x in (v or {}).get("changed", {}).items())
            cells.append("" if v is None else str(v))
        t.add_row(*cells)
    out_console.print(t)


def mechanisms_cmd(
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """List every mechanism: roles with strategies and families, conditions, claims."""
    from derelay.mechanism import get_mechanism, mechanism_names
    from derelay.mechanism.registry import BUILTINS

    entries = []
    for name in mechanism_names():
        if name in BUILTINS:  # derelay's own: an error here is a bug, never hidden
            entries.append(get_mechanism(name).describe())
            continue
        try:  # a third-party plug-in that fails to load is listed with its error
            entries.append(get_mechanism(name).describe())
        except (ImportError, KeyError, TypeError, AttributeError) as exc:
            entries.append({"name": name, "error": f"{type(exc).__name__}: {exc}"})
    if json_out:
        print_json({"mechanisms": entries})
        return
    t = Table(title="Mechanisms")
    for col in ("name", "title", "roles (strategies: family)", "conditions", "claims"):
        t.add_column(col)
    for e in entries:
        if "error" in e:
            t.add_row(e["name"], f"[red]{e['error']}[/]", "", "", "")
            continue
        roles = "; ".join(
            f"{r['abbr']}: " + ", ".join(f"{s['abbr']}:{s['family']}" for s in r["strategies"])
            for r in e["roles"]
        )
        t.add_row(
            e["name"],
            e["title"],
            roles,
            ", ".join(c["name"] for c in e["conditions"]),
            ", ".join(c["name"] for c in e["claims"]),
        )
    out_console.print(t)


def register(app: typer.Typer) -> None:
    app.command("mechanisms")(mechanisms_cmd)
