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
    mechanism: str = typer.Option(
        None, "--mechanism", "-m", help="Mechanism (default derelayl; see `derelay mechanisms`)."
    ),
    rlimit: int = typer.Option(
        None, "--rlimit", help="z3 resource limit per query (other mechanisms; deterministic)."
    ),
) -> None:
    """Do the conditions and the domain imply IR and IC for every role and deviation, and
    do the mechanism's claims hold?  (DeRelayL: T1-T8 and Table II.)

    DeRelayL also: is each T_i necessary (a witness where it fails yet its property
    holds), the exact condition instead, and the domain problems of the printed conditions.
    """
    _check_timeout(timeout)
    if mechanism not in (None, "derelayl"):
        return _prove_generic(mechanism, params, json_out, rlimit)
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


def _rlimit(rlimit: int | None) -> int:
    from derelay.formal.generic import DEFAULT_RLIMIT

    if rlimit is None:
        return DEFAULT_RLIMIT
    if rlimit < 1:
        fail(f"option '--rlimit' = {rlimit} is out of range: allowed rlimit >= 1")
    return rlimit


def _prove_generic(name, params, json_out, rlimit) -> None:
    from derelay.formal.generic import prove_mechanism

    from .mechanisms import load_point, print_status_table, resolve

    mech = resolve(name)
    result = prove_mechanism(mech, load_point(mech, params), _rlimit(rlimit))
    if json_out:
        print_json(result)
        return
    print_status_table(
        f"{mech.name}: the conditions and the domain imply ...",
        result["properties"],
        ("role", "property", "deviation", "status", "witness"),
    )
    print_status_table(
        f"{mech.name}: claims", result["claims"], ("name", "source", "status", "witness")
    )
    for e in result["errata"]:
        out_console.print(f"[cyan]erratum {e['id']} ({e['where']}):[/] {e['text']}")
    out_console.print(f"solver time {result['seconds']:.2f} s")


# ----------------------------------------------------------------------------------
# feasible
# ----------------------------------------------------------------------------------


def _parse_caps(items: list[str] | None) -> dict[str, float]:
    from derelay.params import REWARD_KEYS

    caps: dict[str, float] = {}
    for item in items or []:
        if "=" not in item:
            fail(f"option '--max-reward' = {item!r}: expected KEY=VALUE, e.g. r_cited=1")
        k, v = item.split("=", 1)
        k = k.strip()
        if k not in REWARD_KEYS:
            fail(f"option '--max-reward': unknown reward '{k}'; allowed {', '.join(REWARD_KEYS)}")
        try:
            val = float(v)
        except ValueError:
            fail(f"option '--max-reward' {k} = {v!r} is not a number; allowed {k} >= 0")
        if not math.isfinite(val) or val < 0:
            fail(f"option '--max-reward' {k} = {v} is out of range: allowed 0 <= {k}")
        caps[k] = val
    return caps


def feasible_cmd(
    params: Path = typer.Option(
        None, "--params", "-p", help="Costs and counts (JSON or TOML); defaults when omitted."
    ),
    minimize: str = typer.Option(
        "issuance", "--minimize", help="Objective: issuance (per round) or none."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    epsilon: float = typer.Option(
        1e-9, "--epsilon", help="Margin (coin) by which strict conditions (T8) are met."
    ),
    max_issuance: float = typer.Option(
        None, "--max-issuance", help="Optional cap on issuance per round (coin)."
    ),
    max_reward: list[str] = typer.Option(
        None, "--max-reward", help="Optional cap KEY=VALUE on one reward (repeatable)."
    ),
    region: str = typer.Option(
        None, "--region", help="Two parameters, e.g. beta,s: map where a feasible reward exists."
    ),
    points: int = typer.Option(50, "--points", help="Grid points per region axis."),
    out: Path = typer.Option(None, "--out", help="Write the region as CSV or Parquet (by suffix)."),
    timeout: float = typer.Option(5.0, "--timeout", help="Solver timeout (seconds)."),
    mechanism: str = typer.Option(
        None, "--mechanism", "-m", help="Mechanism (default derelayl; see `derelay mechanisms`)."
    ),
    rlimit: int = typer.Option(
        None, "--rlimit", help="z3 resource limit (other mechanisms; deterministic)."
    ),
) -> None:
    """Rewards meeting the conditions exactly (rationals) at least issuance, or the
    conflict (DeRelayL: T1-T8; others: when their conditions are affine in their levers)."""
    if mechanism not in (None, "derelayl"):
        return _feasible_generic(mechanism, params, json_out, epsilon, rlimit)
    from derelay.formal.feasible import (
        feasible_region,
        feasible_rewards,
        region_conditions,
        region_summary,
    )
    from derelay.formal.symbolic import FormalError

    _check_timeout(timeout)
    if minimize not in ("issuance", "none"):
        fail(f"option '--minimize' = {minimize!r} is not allowed: use issuance or none")
    if not math.isfinite(epsilon) or epsilon <= 0:
        fail(f"option '--epsilon' = {epsilon!r} is out of range: allowed 0 < epsilon")
    if max_issuance is not None and (not math.isfinite(max_issuance) or max_issuance < 0):
        fail(f"option '--max-issuance' = {max_issuance!r} is out of range: allowed 0 <= value")
    if not 2 <= points <= 1000:
        fail(f"option '--points' = {points} is out of range: allowed 2 <= points <= 1000")
    caps = _parse_caps(max_reward)
    p = load_params_or_exit(params)
    if out is not None and out.suffix.lower() not in (".csv", ".parquet"):
        fail(f"option '--out' = {str(out)!r}: use a .csv or .parquet file name")
    try:
        if region is not None:
            axes = tuple(a.strip() for a in region.split(","))
            if len(axes) != 2:
                fail(f"option '--region' = {region!r}: expected two parameters, e.g. beta,s")
            df = feasible_region(
                p, axes, points, epsilon=epsilon, max_issuance=max_issuance, max_rewards=caps
            )
            summary = region_summary(df)
            summary["conditions"] = region_conditions(p, axes, epsilon)
            if out is not None:
                tmp = out.with_name(out.name + ".tmp")
                if out.suffix.lower() == ".csv":
                    df.to_csv(tmp, index=False)
                else:
                    df.to_parquet(tmp, index=False)
                tmp.replace(out)
                summary["written"] = str(out)
            if json_out:
                print_json({"region": summary, "rows": df.to_dict(orient="records")})
                return
            out_console.print(summary)
            return
        result = feasible_rewards(p, minimize, epsilon, max_issuance, caps or None, timeout=timeout)
    except FormalError as exc:
        fail(str(exc))
    if json_out:
        print_json(result)
        return
    if result["feasible"]:
        t = Table(title=f"Rewards meeting T1-T8 (minimise {minimize})")
        t.add_column("reward")
        t.add_column("exact", justify="right")
        t.add_column("decimal", justify="right")
        for k, v in result["rewards_exact"].items():
            t.add_row(k, v, f"{result['rewards'][k]:.6g}")
        out_console.print(t)
        if result["issuance"] is not None:
            out_console.print(
                f"issuance per round: {result['issuance_exact']} = {result['issuance']:.6g} coin; "
                f"binding: {', '.join(result['binding']) or '-'}"
            )
        cc = result.get("crosscheck")
        if cc:
            out_console.print(f"scipy linprog cross-check: {cc}")
    elif result["feasible"] is None:
        out_console.print(f"[yellow]unknown[/]: {result.get('reason')}")
    else:
        out_console.print("[bold red]infeasible[/]:")
        for line in result["conflict"]:
            out_console.print(f"  - {line}")


def _feasible_generic(name, params, json_out, epsilon, rlimit) -> None:
    from fractions import Fraction

    from derelay.formal.generic import feasible_mechanism

    from .mechanisms import load_point, resolve

    if not math.isfinite(epsilon) or epsilon <= 0:
        fail(f"option '--epsilon' = {epsilon!r} is out of range: allowed 0 < epsilon")
    mech = resolve(name)
    result = feasible_mechanism(
        mech, load_point(mech, params), Fraction(repr(epsilon)), _rlimit(rlimit)
    )
    if json_out:
        print_json(result)
        return
    if not result.get("affine", True) or result["feasible"] is None:
        out_console.print(f"[yellow]{result['reason']}[/]")
    elif result["feasible"]:
        out_console.print(
            f"feasible: {result['rewards_exact']}; funding per round {result['funding']}; "
            f"binding: {', '.join(result['binding']) or '-'}"
        )
    else:
        out_console.print(f"[bold red]infeasible[/]: {', '.join(result['conflict'])}")


# ----------------------------------------------------------------------------------
# deviations
# ----------------------------------------------------------------------------------


def deviations_cmd(
    params: Path = typer.Option(
        None, "--params", "-p", help="Parameter point (JSON or TOML); defaults when omitted."
    ),
    scope: str = typer.Option(
        "all", "--scope", help="unilateral | auction | lazy | coalition | all."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    lazy_p: float = typer.Option(
        None,
        "--lazy-p",
        help="Probability that a lazy model ranks in the top share (C4), e.g. the rate "
        "measured by `derelay learn`; also used on the honest fork in the coalition.",
    ),
    lazy_citations: str = typer.Option(
        "scaled",
        "--lazy-citations",
        help="Lazy trainer's citation value: scaled (p/s) or unscaled (p).",
    ),
    fork_q: float = typer.Option(
        None, "--fork-q", help="Probability that honest miners fork a collusion away (C8)."
    ),
    bidders: int = typer.Option(4, "--bidders", help="Bidders in the auction search (2-8)."),
    slots: int = typer.Option(
        None, "--slots", help="Q_Selected of Algorithm 1 (default: floor(B/b_MO), < bidders)."
    ),
    deviant: int = typer.Option(
        None, "--deviant", help="Index of the deviating bidder (default: the last)."
    ),
    simulate: bool = typer.Option(
        False, "--simulate", help="Also replay lazy/coalition witnesses in the ABM if available."
    ),
    timeout: float = typer.Option(5.0, "--timeout", help="Per-query solver timeout (seconds)."),
    mechanism: str = typer.Option(
        None, "--mechanism", "-m", help="Mechanism (default derelayl; see `derelay mechanisms`)."
    ),
    rlimit: int = typer.Option(
        None, "--rlimit", help="z3 resource limit per query (other mechanisms; deterministic)."
    ),
) -> None:
    """Search for strategies that beat Normal: unilateral, and the mechanism's own scopes
    (DeRelayL: auction, lazy (C4), coalition (C8))."""
    from derelay.formal.deviations import search
    from derelay.formal.symbolic import FormalError

    _check_timeout(timeout)
    if mechanism not in (None, "derelayl"):
        return _deviations_generic(mechanism, params, scope, json_out, rlimit)
    if scope not in SCOPES:
        fail(f"option '--scope' = {scope!r} is not allowed: use {', '.join(SCOPES)}")
    for name, v in (("--lazy-p", lazy_p), ("--fork-q", fork_q)):
        if v is not None and (not math.isfinite(v) or not 0 <= v <= 1):
            fail(f"option '{name}' = {v!r} is out of range: allowed 0 <= value <= 1")
    if lazy_citations not in ("scaled", "unscaled"):
        fail(
            f"option '--lazy-citations' = {lazy_citations!r} is not allowed: use scaled or unscaled"
        )
    if not 2 <= bidders <= 8:
        fail(f"option '--bidders' = {bidders} is out of range: allowed 2 <= bidders <= 8")
    if slots is not None and not 1 <= slots <= bidders:
        fail(f"option '--slots' = {slots} is out of range: allowed 1 <= slots <= bidders")
    p = load_params_or_exit(params)
    try:
        result = search(
            p,
            scope,
            timeout,
            lazy_p=lazy_p,
            fork_q=fork_q,
            citations=lazy_citations,
            bidders=bidders,
            slots=slots,
            simulate=simulate,
            deviant=deviant,
        )
    except FormalError as exc:
        fail(str(exc))
    if json_out:
        print_json(result)
        return
    t = Table(title=f"Profitable deviations (scope {scope})")
    for col in ("kind", "roles", "gain", "replayed", "scenario"):
        t.add_column(col)
    for d in result["deviations"]:
        w = d["witness"]
        if d["kind"] == "unilateral":
            scen = (
                f"{w['deviation']} at the point"
                if "parameter" not in w
                else f"{w['deviation']}: {w['parameter']} {w['from']:.4g} -> {w['to']:.4g} "
                f"(break-even {w['break_even']:.4g})"
            )
        elif d["kind"] == "lazy":
            scen = f"p={w['lazy_p']:.4g} > p*={w['p_star']:.4g}, b_t={w['b_t']:.4g}"
        elif d["kind"] == "coalition":
            scen = f"fork q={w['fork_q']:.4g} < q*={w['q_star']:.4g}"
        else:
            scen = w["search"]
        t.add_row(
            d["kind"], ",".join(d["roles"]), f"{d['gain']:.6g}", f"{d['replayed_gain']:.6g}", scen
        )
    out_console.print(t)
    for key in ("lazy", "coalition"):
        if key in result:
            out_console.print(f"{key}: {result[key]}")
    if "auction" in result:
        out_console.print(f"auction: {result['auction']}")
    out_console.print(f"seconds: {result['seconds']}")


def _deviations_generic(name, params, scope, json_out, rlimit) -> None:
    from derelay.formal.generic import MechanismFormalError, deviations_mechanism

    from .mechanisms import load_point, resolve

    mech = resolve(name)
    try:
        result = deviations_mechanism(
            mech, load_point(mech, params), "all" if scope is None else scope, _rlimit(rlimit)
        )
    except MechanismFormalError as exc:
        fail(str(exc))
    if json_out:
        print_json(result)
        return
    t = Table(title=f"{mech.name}: deviations (scope {result['scope']})")
    for col in ("role", "deviation", "family", "gain at point", "never pays under conditions"):
        t.add_column(col)
    for r in result.get("unilateral_table", []):
        t.add_row(r["role"], r["deviation"], r["family"], f"{r['gain']:.6g}", r["under_conditions"])
    out_console.print(t)
    for k in mech.scopes or {}:
        if k in result:
            out_console.print(f"{k}: {result[k]}")


def register(app: typer.Typer) -> None:
    app.command("prove")(prove_cmd)
    app.command("feasible")(feasible_cmd)
    app.command("deviations")(deviations_cmd)
