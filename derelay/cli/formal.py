"""``derelay prove``, ``derelay feasible`` and ``derelay deviations`` (issue 3).

Every answer is ``proved``, ``counterexample`` (concrete values, replayed exactly
through the core formulas) or ``unknown`` (timeout, configurable with ``--timeout``).
Exit status 0 whenever the analysis ran, whatever the verdicts; 2 for bad input.
"""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.table import Table

from ._common import fail, load_params_or_exit, out_console, print_json

SCOPES = ("unilateral", "auction", "lazy", "coalition", "all")


def _check_timeout(timeout: float) -> None:
    if not math.isfinite(timeout) or timeout <= 0:
        fail(f"option '--timeout' = {timeout!r} is out of range: allowed 0 < timeout (seconds)")


def _load(params: Path | None):
    return load_params_or_exit(params) if params is not None else None


# ----------------------------------------------------------------------------------
# prove
# ----------------------------------------------------------------------------------


def prove_cmd(
    params: Path = typer.Option(
        None,
        "--params",
        "-p",
        help="Base point for readable witnesses (JSON or TOML); defaults when omitted. "
        "The claims themselves are proved for every point of the domain.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    timeout: float = typer.Option(5.0, "--timeout", help="Per-query solver timeout (seconds)."),
) -> None:
    """Do T1-T8 and the domain imply IR and IC for every role and Table II deviation?

    Also: is each T_i necessary (a witness where it fails yet its property holds), the
    exact condition instead, and the domain problems of the printed conditions.
    """
    _check_timeout(timeout)
    base = _load(params)
    from derelay.formal.prove import prove_all

    result = prove_all(base, timeout)
    if json_out:
        print_json(result)
        return
    t = Table(title="Claims: T1-T8 and the domain imply ...")
    for col in ("role", "property", "deviation", "status", "witness (moved from base)", "holds if"):
        t.add_column(col)
    colour = {"proved": "green", "counterexample": "bold red", "unknown": "yellow"}
    for c in result["claims"]:
        w = c["witness"]
        moved = ", ".join(f"{k}={v}" for k, v in w["changed"].items()) if w else ""
        t.add_row(
            c["role"],
            c["property"],
            c["deviation"] or "",
            f"[{colour[c['status']]}]{c['status']}[/]",
            moved,
            c.get("holds_if") or "",
        )
    out_console.print(t)
    n = Table(title="Necessity of each condition")
    for col in ("cond", "protects", "necessary", "witness", "exact condition"):
        n.add_column(col)
    for name, e in result["necessity"].items():
        pr = e["protects"]
        prot = f"{pr['property']} {pr['role']}" + (
            f" vs {pr['deviation']}" if pr["deviation"] else ""
        )
        w = e["witness"]
        moved = ", ".join(f"{k}={v}" for k, v in w["changed"].items()) if w else ""
        exact = "; ".join(e["exact_condition_solved"]) or e["exact_condition"]
        n.add_row(name, prot, e["necessary"], moved, exact)
    out_console.print(n)
    for d in result["domain_problems"]:
        out_console.print(f"[yellow]domain:[/] {d['detail']}")
    for note in result["paper_notes"]:
        out_console.print(f"[cyan]paper {note['equation']}:[/] {note['text']}")
    out_console.print(f"solver time {result['seconds']:.2f} s")


def register(app: typer.Typer) -> None:
    app.command("prove")(prove_cmd)
