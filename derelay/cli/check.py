"""``derelay check``: evaluate one parameter point."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ._common import load_params_or_exit, out_console, print_json

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

    if mechanism not in (None, "derelayl"):
        return _check_generic(mechanism, params, json_out)
    p = load_params_or_exit(params)
    result = check_point(p)
    if json_out:
        print_json(result)
        return
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
    f = result["failing"]
    if any(f.values()):
        out_console.print(
            f"[bold red]Failing:[/] conditions {f['conditions'] or '-'}; "
            f"IR fails for {f['ir'] or '-'}; IC fails for {f['ic'] or '-'}"
        )
    else:
        out_console.print("[green]All of T1-T8 hold; Normal is IR and IC for every role.[/]")


def _check_generic(name: str, params: Path | None, json_out: bool) -> None:
    from derelay.formal.generic import check_mechanism

    from .mechanisms import load_point, resolve

    mech = resolve(name)
    result = check_mechanism(mech, load_point(mech, params))
    if json_out:
        print_json(result)
        return
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


def params_cmd(
    markdown: bool = typer.Option(False, "--markdown", help="Print the reference as Markdown."),
    json_out: bool = typer.Option(False, "--json", help="Print defaults and domains as JSON."),
    mechanism: str = MECHANISM_OPTION,
) -> None:
    """List every parameter: key, paper symbol, meaning, equations, allowed range, default."""
    from derelay.params import PARAMS, reference_markdown

    if mechanism not in (None, "derelayl"):
        from .mechanisms import resolve

        space = resolve(mechanism).space
        if markdown:
            typer.echo(space.reference_markdown())
        elif json_out:
            print_json({r["key"]: r for r in space.reference_rows()})
        else:
            t = Table(title=f"Parameters of {mechanism}")
            for col in ("key", "symbol", "allowed", "default", "meaning"):
                t.add_column(col)
            for spec in space.specs:
                t.add_row(spec.name, spec.symbol, spec.allowed(), str(spec.default), spec.meaning)
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
    for col in ("key", "symbol", "allowed", "default", "meaning"):
        t.add_column(col)
    for p in PARAMS:
        t.add_row(p.name, p.symbol, p.domain.describe(p.name), f"{p.default:g}", p.description)
    out_console.print(t)


def register(app: typer.Typer) -> None:
    app.command("check")(check)
    app.command("params")(params_cmd)
