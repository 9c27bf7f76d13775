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
from ._inputs import guard_table
from ._words import names, sufficient_notes, words

#: Largest per-query solver timeout (seconds): one day.
MAX_TIMEOUT = 86_400.0

SCOPES = ("unilateral", "auction", "lazy", "coalition", "all")


def _check_timeout(timeout: float) -> None:
    if not math.isfinite(timeout) or not 0 < timeout <= MAX_TIMEOUT:
        fail(
            f"option '--timeout' = {timeout!r} is out of range: allowed 0 < timeout <= "
            f"{MAX_TIMEOUT:g} (seconds)"
        )


def _load(params: Path | None):
    guard_table(params, "--params")
    return load_params_or_exit(params) if params is not None else None


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(str(text))


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
    timeout: float = typer.Option(
        5.0,
        "--timeout",
        help="Per-query solver budget in seconds of z3 work: a deterministic resource limit "
        "(seconds x 4e6 rlimit units) decides; the wall clock (20x) is only a safety net.",
    ),
    mechanism: str = typer.Option(
        None, "--mechanism", "-m", help="Mechanism (default derelayl; see `derelay mechanisms`)."
    ),
    rlimit: int = typer.Option(
        None, "--rlimit", help="z3 resource limit per query (other mechanisms; deterministic)."
    ),
    no_timings: bool = typer.Option(
        False,
        "--no-timings",
        help="Leave the wall-clock 'seconds' fields out of --json: the rest of the output is "
        "a function of the inputs only (the same on an idle or a busy machine).",
    ),
) -> None:
    """Do the conditions and the domain imply IR and IC for every role and deviation, and
    do the mechanism's claims hold?  (DeRelayL: T1-T8 and Table II.)

    DeRelayL also: is each T_i necessary (a witness where it fails yet its property
    holds), the exact condition instead, and the domain problems of the printed conditions.
    """
    _check_timeout(timeout)
    guard_table(params, "--params")
    if mechanism not in (None, "derelayl"):
        return _prove_generic(mechanism, params, json_out, rlimit, no_timings)
    base = _load(params)
    from derelay.formal.prove import prove_all

    result = prove_all(base, timeout)
    if json_out:
        print_json(_without_timings(result) if no_timings else result)
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
    if not 1 <= rlimit <= 2**32 - 1:
        fail(f"option '--rlimit' = {rlimit} is out of range: allowed 1 <= rlimit <= 4294967295")
    return rlimit


def _without_timings(obj):
    """``obj`` without its wall-clock fields (keys ``seconds``), recursively."""
    if isinstance(obj, dict):
        return {k: _without_timings(v) for k, v in obj.items() if k != "seconds"}
    if isinstance(obj, list):
        return [_without_timings(v) for v in obj]
    return obj


def _prove_generic(name, params, json_out, rlimit, no_timings=False) -> None:
    from derelay.formal.generic import prove_mechanism

    from .mechanisms import load_point, print_status_table, resolve

    mech = resolve(name)
    result = prove_mechanism(mech, load_point(mech, params), _rlimit(rlimit))
    if json_out:
        print_json(_without_timings(result) if no_timings else result)
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
    points: int = typer.Option(50, "--points", help="Grid points per region axis (2-1000)."),
    out: Path = typer.Option(
        None, "--out", help="With --region: write the region as CSV or Parquet (by suffix)."
    ),
    timeout: float = typer.Option(
        5.0,
        "--timeout",
        help="Solver budget in seconds of z3 work (deterministic rlimit, seconds x 4e6 units; "
        "the wall clock, 20x, is only a safety net).",
    ),
    mechanism: str = typer.Option(
        None, "--mechanism", "-m", help="Mechanism (default derelayl; see `derelay mechanisms`)."
    ),
    rlimit: int = typer.Option(
        None, "--rlimit", help="z3 resource limit (other mechanisms; deterministic)."
    ),
) -> None:
    """Rewards meeting the conditions exactly (rationals) at least issuance, or the
    conflict (DeRelayL: T1-T8; others: when their conditions are affine in their levers)."""
    guard_table(params, "--params")
    if out is not None and region is None:
        fail("option '--out' needs --region (the file holds the region map); without --region "
             "use --json for the rewards")  # fmt: skip
    if out is not None:
        from derelay.io import OutputError, check_output_path

        try:
            check_output_path(out, "--out", "file")
        except OutputError as exc:
            fail(str(exc))
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
                from derelay.io import OutputError, output_file

                try:
                    with output_file(out, "--out") as tmp:
                        if out.suffix.lower() == ".csv":
                            df.to_csv(tmp, index=False)
                        else:
                            df.to_parquet(tmp, index=False)
                except (OutputError, OSError) as exc:
                    fail(f"option '--out' = '{out}': cannot write ({exc})")
                summary["written"] = str(out)
            if json_out:
                print_json({"region": summary, "rows": df.to_dict(orient="records")})
                return
            _print_region(summary)
            return
        result = feasible_rewards(p, minimize, epsilon, max_issuance, caps or None, timeout=timeout)
    except FormalError as exc:
        fail(str(exc))
    if json_out:
        print_json(result)
        return
    if result["feasible"]:
        t = Table(title=f"Rewards meeting T1-T8 (minimise {minimize})")
        t.add_column("lever")  # the space's reward levers
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
            out_console.print(_esc(_crosscheck_words(cc)))
    elif result["feasible"] is None:
        out_console.print(f"[yellow]unknown[/]: {result.get('reason')}")
    else:
        out_console.print("[bold red]infeasible[/]:")
        for line in result["conflict"]:
            out_console.print(f"  - {_esc(line)}")
        _explain_sufficient(p, result.get("conflict_conditions") or [])


def _crosscheck_words(cc: dict) -> str:
    if "scipy_issuance" in cc:
        agree = "agrees" if cc.get("agrees") else "DISAGREES"
        return (
            f"scipy linprog cross-check: {agree} (its least issuance "
            f"{cc['scipy_issuance']:.6g} coin)"
        )
    return f"scipy linprog cross-check: {words(cc)}"


def _explain_sufficient(p, conflict: list[str]) -> None:
    """A conflict that rests on a sufficient-only condition (e.g. T7), said in words:
    does the property it protects hold at the file's own rewards?"""
    from derelay.check import check_point
    from derelay.mechanism import get_mechanism

    mech = get_mechanism("derelayl")
    sufficient = [c.name for c in mech.conditions if c.exactness == "sufficient"]
    if not any(c in sufficient for c in conflict):
        return
    res = check_point(p)
    lines = sufficient_notes(mech, conflict, res["ir"], res["ic_deviations"])
    for line in lines:
        out_console.print(
            _esc("note: " + line.replace("at this point", "at this point's own rewards"))
        )
    for c in conflict:
        if c in sufficient and not any(line.startswith(c) for line in lines):
            out_console.print(
                _esc(
                    f"note: {c} is a sufficient condition, not a necessary one; the property it "
                    "protects fails too at this point's own rewards (see `derelay check`)."
                )
            )


def _print_region(summary: dict) -> None:
    ax = summary.get("axes", [])
    out_console.print(
        f"region over {_esc(' x '.join(ax))}: {summary.get('feasible_points')} of "
        f"{summary.get('points')} grid points admit rewards meeting T1-T8 "
        f"(share {summary.get('feasible_share', float('nan')):.3g})"
    )
    for a in ax:
        rng = summary.get(f"{a}_range_feasible")
        if rng:
            out_console.print(f"  {_esc(a)} over feasible points: {rng[0]:.4g} .. {rng[1]:.4g}")
    mi = summary.get("min_issuance_range")
    if mi:
        out_console.print(f"  least issuance per round: {mi[0]:.6g} .. {mi[1]:.6g} coin")
    reasons = summary.get("reasons") or {}
    if reasons:
        out_console.print("  infeasible points by reason: " + _esc(words(reasons)))
    conds = summary.get("conditions") or {}
    if conds:
        out_console.print("conditions on the rewards over the region:")
        for k, v in conds.items():
            out_console.print(f"  {_esc(k)}: {_esc(v)}")
    if summary.get("written"):
        out_console.print(f"wrote {_esc(summary['written'])}")


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
        out_console.print(f"[yellow]{_esc(result['reason'])}[/]")
    elif result["feasible"]:
        rewards = ", ".join(f"{k} = {v}" for k, v in (result["rewards_exact"] or {}).items())
        out_console.print(
            _esc(
                f"feasible: {rewards}; funding per round {words(result['funding'])}; "
                f"binding: {names(result['binding'])}"
            )
        )
    else:
        out_console.print(f"[bold red]infeasible[/]: {_esc(names(result['conflict']))}")


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
        help="Probability that a lazy model ranks in the top share (the lazy search), e.g. "
        "the rate "
        "measured by `derelay learn`; also used on the honest fork in the coalition.",
    ),
    lazy_citations: str = typer.Option(
        "scaled",
        "--lazy-citations",
        help="Lazy trainer's citation value: scaled (p/s) or unscaled (p).",
    ),
    fork_q: float = typer.Option(
        None,
        "--fork-q",
        help="Probability that honest miners fork a collusion away (the coalition search).",
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
    timeout: float = typer.Option(
        5.0,
        "--timeout",
        help="Per-query solver budget in seconds of z3 work: a deterministic resource limit "
        "(seconds x 4e6 rlimit units) decides; the wall clock (20x) is only a safety net.",
    ),
    mechanism: str = typer.Option(
        None, "--mechanism", "-m", help="Mechanism (default derelayl; see `derelay mechanisms`)."
    ),
    rlimit: int = typer.Option(
        None, "--rlimit", help="z3 resource limit per query (other mechanisms; deterministic)."
    ),
) -> None:
    """Search for strategies that beat Normal: unilateral, and the mechanism's own scopes
    (DeRelayL: auction, lazy trainers, miner coalitions).  The text output ends with the
    searches that ended unknown (solver limit reached), as the JSON has them."""
    from derelay.formal.deviations import search
    from derelay.formal.symbolic import FormalError
    from derelay.mechanism.derelayl.scopes import scenario

    _check_timeout(timeout)
    guard_table(params, "--params")
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
    for d in result["deviations"]:  # DeRelayL's plug-in says how its witnesses read
        t.add_row(
            d["kind"],
            ",".join(d["roles"]),
            f"{d['gain']:.6g}",
            f"{d['replayed_gain']:.6g}",
            scenario(d),
        )
    out_console.print(t)
    if "lazy" in result:
        out_console.print(_esc(_lazy_words(result["lazy"])))
    if "coalition" in result:
        out_console.print(_esc(_coalition_words(result["coalition"])))
    if "auction" in result:
        out_console.print(_esc(_auction_words(result["auction"])))
    _print_unknown(result)
    secs = result["seconds"]
    if isinstance(secs, dict):
        out_console.print("solver time: " + ", ".join(f"{k} {v:.2f} s" for k, v in secs.items()))
    else:
        out_console.print(f"solver time: {secs:.2f} s")


def _lazy_words(lz: dict) -> str:
    text = (
        f"lazy trainers ({lz.get('citations')} citations): laziness pays iff the lazy model "
        f"reaches the top share with probability above p* = {lz.get('p_star_exact')} "
        f"({lz.get('p_star', float('nan')):.4g}); at p = s the lazy gain is "
        f"{lz.get('gain_at_p_equal_s', float('nan')):.4g}"
    )
    for d in lz.get("deposits") or []:
        t7 = "also with T7 met" if d.get("pays_with_t7") else "not once T7 holds"
        text += (
            f"; at p = {d['p']:.4g} it pays when b_t > {d['b_t_star_exact']} "
            f"({d['b_t_star']:.4g}), {t7}"
        )
    return text + "."


def _coalition_words(co: dict) -> str:
    text = (
        f"miner coalition: collusion pays iff honest miners fork it away with probability "
        f"below q* = {co.get('q_star_exact')} ({co.get('q_star', float('nan')):.4g}); "
        f"coalition gain if it succeeds {co.get('success', float('nan')):.4g}, if forked "
        f"{co.get('forked', float('nan')):.4g}, honest play {co.get('honest', float('nan')):.4g}"
    )
    per = co.get("per_role_without_transfers") or {}
    if per:
        text += "; per role without transfers: " + ", ".join(
            f"{r} q* = {v.get('q_star_exact')}" for r, v in per.items()
        )
    if "nothing_above_q_star_pays" in co:
        text += f"; nothing above q* pays: {co['nothing_above_q_star_pays']}"
    return text + "."


def _auction_words(au: dict) -> str:
    text = (
        f"auction ({au.get('bidders')} bidders, {au.get('slots')} slots, deviant bidder "
        f"{au.get('deviant')}): bid deviation search {au.get('bid_deviation_search')}, bid "
        f"shading search {au.get('bid_shading_search')}, T7-breaking search "
        f"{au.get('t7_break_search')}"
    )
    br = au.get("t7_broken_outcome")
    if isinstance(br, dict) and br.get("note"):
        text += f"; {br['note']}"
    return text + "."


def _unknown_searches(result: dict) -> list[str]:
    out = []
    for row in result.get("unilateral_table") or []:
        for side in ("up", "down"):
            d = row.get(side) or {}
            if d.get("proof") == "unknown":
                out.append(
                    f"{row.get('role')} {row.get('deviation')}: moving {row.get('parameter')} "
                    f"{side} from {row.get('value')}"
                )
        if row.get("status") == "unknown" and not any(
            (row.get(s) or {}).get("proof") == "unknown" for s in ("up", "down")
        ):
            out.append(f"{row.get('role')} {row.get('deviation')} in {row.get('parameter')}")
    for key in ("auction", "lazy", "coalition"):
        d = result.get(key)
        if isinstance(d, dict):
            for k, v in d.items():
                if v == "unknown":
                    out.append(f"{key}: {k.replace('_', ' ')}")
    return out


def _print_unknown(result: dict) -> None:
    unknown = _unknown_searches(result)
    if unknown:
        out_console.print(
            f"[yellow]searches that ended unknown (solver limit reached; raise --timeout or "
            f"--rlimit):[/] {_esc('; '.join(unknown))}"
        )
    else:
        out_console.print("searches that ended unknown: none")


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
            out_console.print(_esc(f"{k}: {words(result[k])}"))
    _print_unknown(result)


def register(app: typer.Typer) -> None:
    app.command("prove")(prove_cmd)
    app.command("feasible")(feasible_cmd)
    app.command("deviations", context_settings={"show_default": True})(deviations_cmd)
