"""``derelay check``: evaluate one parameter point."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import load_params_or_exit, print_json
from ._inputs import guard_table

MECHANISM_OPTION = typer.Option(
    None, "--mechanism", "-m", help="Mechanism (default derelayl; see `derelay mechanisms`)."
)


def check(
    params: Path = typer.Option(
        None, "--params", "-p", help="Parameter file (JSON or TOML); defaults when omitted."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    mechanism: str = MECHANISM_OPTION,
) -> None:
    """Evaluate one parameter point: every utility, condition, IR and IC per role
    (DeRelayL: Table II, T1-T8).

    Exit status 0 whenever the evaluation ran (whatever the verdicts), 2 for bad input.
    """
    from derelay.check import check_point
    from derelay.mechanism import get_mechanism

    guard_table(params, "--params")
    if mechanism not in (None, "derelayl"):
        return _check_generic(mechanism, params, json_out)
    # the default point needs no pydantic model (its values are valid by construction)
    result = check_point(None if params is None else load_params_or_exit(params))
    if json_out:
        print_json(result)
        return
    from rich.table import Table

    from ._common import out_console

    mech = get_mechanism(result["mechanism"])
    ok, bad = "[green]yes[/]", "[bold red]NO[/]"
    t = Table(title="Utilities (Table II)")
    t.add_column("role")
    t.add_column("strategy")
    t.add_column("utility", justify="right")
    t.add_column("U_N - U_dev", justify="right")
    t.add_column("IC vs N", justify="center")
    for role in mech.roles:
        for s in role.strategies:
            u = result["utilities"][role.abbr][s.abbr]
            if s.is_normal:
                t.add_row(role.abbr, f"{s.abbr} ({s.name})", f"{u:.6g}", "", "")
            else:
                m = result["margins"][role.abbr][f"ic_{s.abbr}"]
                v = result["ic_deviations"][role.abbr][s.abbr]
                t.add_row("", f"{s.abbr} ({s.name})", f"{u:.6g}", f"{m:.6g}", ok if v else bad)
    out_console.print(t)
    c = Table(title="Conditions T1-T8")
    for col in ("condition", "eq.", "protects", "lhs", "rel", "rhs", "holds"):
        c.add_column(col)
    for cond in mech.conditions:
        pf = result["paper_forms"][cond.name]
        prot = f"{cond.protects} {cond.role}" + (f" vs {cond.deviation}" if cond.deviation else "")
        lhs = "-" if pf["lhs"] is None else f"{pf['lhs']:.6g}"
        rhs = "-" if pf["rhs"] is None else f"{pf['rhs']:.6g}"
        c.add_row(
            cond.name,
            cond.equation,
            prot,
            lhs,
            pf["relation"] or "",
            rhs,
            ok if result["conditions"][cond.name] else bad,
        )
    out_console.print(c)
    r = Table(title="Verdicts per role")
    for col in ("role", "IR (U_N >= 0)", "IC (U_N > U_dev)"):
        r.add_column(col)
    for role in mech.roles:
        r.add_row(
            role.abbr,
            ok if result["ir"][role.abbr] else bad,
            ok if result["ic"][role.abbr] else bad,
        )
    out_console.print(r)
    _verdict_lines(mech, result, "All of T1-T8 hold; Normal is IR and IC for every role.")


def _verdict_lines(mech, result: dict, all_ok: str) -> None:
    from rich.markup import escape

    from ._common import out_console
    from ._words import names, sufficient_notes

    f = result["failing"]
    if any(f.values()):
        out_console.print(
            f"[bold red]Failing:[/] conditions: {escape(names(f['conditions']))}; "
            f"IR fails for: {escape(names(f['ir']))}; IC fails for: {escape(names(f['ic']))}"
        )
        for line in sufficient_notes(mech, f["conditions"], result["ir"], result["ic_deviations"]):
            out_console.print(escape(line))
    else:
        out_console.print(f"[green]{escape(all_ok)}[/]")


def _check_generic(name: str, params: Path | None, json_out: bool) -> None:
    from derelay.formal.generic import check_mechanism

    from .mechanisms import load_point, resolve

    guard_table(params, "--params")
    mech = resolve(name)
    result = check_mechanism(mech, load_point(mech, params))
    if json_out:
        print_json(result)
        return
    from rich.table import Table

    from ._common import out_console

    ok, bad = "[green]yes[/]", "[bold red]NO[/]"
    t = Table(title=f"Utilities ({mech.title or mech.name})")
    for col in ("role", "strategy", "family", "utility", "U_N - U_dev", "IC vs N"):
        t.add_column(col)
    for role in mech.roles:
        for s in role.strategies:
            u = result["utilities"][role.abbr][s.abbr]
            if s.is_normal:
                t.add_row(role.abbr, s.abbr, s.deviation_family, f"{u:.6g}", "", "")
            else:
                m = result["margins"][role.abbr][f"ic_{s.abbr}"]
                v = result["ic_deviations"][role.abbr][s.abbr]
                t.add_row("", s.abbr, s.deviation_family, f"{u:.6g}", f"{m:.6g}", ok if v else bad)
    out_console.print(t)
    for c in mech.conditions:
        out_console.print(
            f"condition {c.name} ({c.protects} {c.role}): "
            + (ok if result["conditions"][c.name] else bad)
        )
    for role in mech.roles:
        out_console.print(
            f"{role.abbr}: IR {ok if result['ir'][role.abbr] else bad}, "
            f"IC {ok if result['ic'][role.abbr] else bad}"
        )
    if "failing" in result:
        _verdict_lines(mech, result, "Every condition holds; Normal is IR and IC for every role.")


def params_cmd(
    markdown: bool = typer.Option(False, "--markdown", help="Print the reference as Markdown."),
    json_out: bool = typer.Option(False, "--json", help="Print defaults and domains as JSON."),
    mechanism: str = MECHANISM_OPTION,
) -> None:
    """List every parameter: key, paper symbol, meaning, equations, allowed range, default."""
    from rich.table import Table

    from derelay.params import PARAMS, reference_markdown

    from ._common import out_console

    if mechanism not in (None, "derelayl"):
        from .mechanisms import resolve

        space = resolve(mechanism).space
        if markdown:
            typer.echo(space.reference_markdown())
        elif json_out:
            print_json({r["key"]: r for r in space.reference_rows()})
        else:
            t = Table(title=f"Parameters of {mechanism}")
            for col in ("key", "symbol", "unit", "allowed", "default", "meaning", "source"):
                t.add_column(col, overflow="fold")
            for spec in space.specs:
                t.add_row(
                    spec.name,
                    spec.symbol,
                    getattr(spec, "unit", "") or "-",
                    spec.allowed(),
                    str(spec.default),
                    spec.meaning,
                    getattr(spec, "source", "") or "",
                )
            out_console.print(t)
        return

    if markdown:
        typer.echo(reference_markdown())
        return
    if json_out:
        print_json(
            {
                p.name: {
                    "symbol": p.symbol,
                    "description": p.description,
                    "equations": p.equations,
                    "allowed": p.domain.describe(p.name),
                    "default": p.default,
                    "group": p.group,
                    "unit": p.unit,
                }
                for p in PARAMS
            }
        )
        return
    t = Table(title="Parameters (Table I and Table III)")
    for col in ("key", "symbol", "unit", "allowed", "default", "meaning", "equations"):
        t.add_column(col, overflow="fold")
    for p in PARAMS:
        eqs = p.equations
        eqs = ", ".join(eqs) if isinstance(eqs, list | tuple) else str(eqs or "")
        t.add_row(
            p.name,
            p.symbol,
            p.unit or "-",
            p.domain.describe(p.name),
            f"{p.default:g}",
            p.description,
            eqs,
        )
    out_console.print(t)


def register(app: typer.Typer) -> None:
    app.command("check")(check)
    app.command("params")(params_cmd)
