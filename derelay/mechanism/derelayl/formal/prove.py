"""``derelay prove``: do T1-T8 and the parameter domain imply IR and IC?

Every claim is a z3 query over *all* mechanism parameters as Reals (nonlinear real
arithmetic: products of parameters appear; z3's nlsat decides it).  The utilities,
conditions and domain are the core's own functions evaluated on the symbolic point
(:func:`derelay.formal.symbolic.symbolic_point`), never re-typed.

Answers
-------
* ``proved``: the negation is unsatisfiable;
* ``counterexample``: a concrete point (kept at the base point -- the defaults or a
  user file -- in every coordinate the query does not force to move), replayed
  exactly with :class:`~fractions.Fraction` arithmetic through the same formulas; the
  replay is part of the witness and a witness that does not replay is reported as
  ``unknown``;
* ``unknown``: the resource limit ran out or the solver is incomplete.  Never reported
  as proved.

Determinism: every claim, every condition's necessity entry and every domain check is
built in a z3 context of its own (:func:`derelay.formal.symbolic.fresh_context`) and
solved under a deterministic resource limit, so the output (``seconds`` aside) is a
function of the inputs: the same in a fresh process, after any other query in the same
process, and on an idle or a loaded machine.

Readings (see :mod:`derelay.mechanism.derelayl`): IR is U_N >= 0; IC is U_N > U_dev
strictly as every comparison of eqs. (85)-(99) is printed with ">"; the weak variant
(U_N >= U_dev) is reported as property ``IC_weak``.  Conditions are the
division-free forms (eqs. 72, 76, 78, 81, 83/84, 87, 90), which equal the printed
forms (7)-(14) whenever their divisors are positive; the zero-divisor points are
listed under ``domain_problems``.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import z3

from derelay.formal.symbolic import (
    DEFAULT_TIMEOUT,
    WALL_FACTOR,
    Outcome,
    affine_split,
    base_fractions,
    check_sat,
    domain,
    fmt_fraction,
    fresh_context,
    infix,
    limit,
    make_solver,
    nice_model,
    prove,
    symbolic_point,
    to_fraction,
    zval,
)
from derelay.mechanism import get_mechanism
from derelay.mechanism.derelayl import t_ntr_exact
from derelay.params import PARAM_INFO, REWARD_KEYS, Params, ParamValues

#: Extra assumptions tried when a claim fails, in order (name, builder).  The first
#: one under which the claim is proved is reported as its repair.
REPAIRS: tuple[tuple[str, Any], ...] = (
    ("c_mine > 0", lambda z: [z.c_mine > 0]),
    ("q_selected > 0 and b_mo > 0", lambda z: [z.q_selected > 0, z.b_mo > 0]),
    ("r_deposit > 0", lambda z: [z.r_deposit > 0]),
)

#: Order in which coordinates leave the base point when an unsat core offers several
#: (readable witnesses): the design levers (rewards) first, then deposits and costs,
#: then prices; any other parameter after these, in the point's key order.
RELEASE_ORDER: tuple[str, ...] = (
    *REWARD_KEYS,
    "b_mo",
    "b_t",
    "c_mine",
    "c_gen_fhe_key",
    "c_unit_gen_td_case",
    "c_unit_verify",
    "p_comp",
    "k_transmit",
    "k_encrypt",
    "k_expand",
)

#: Known slips in the paper's Appendix B, found while checking the proofs (declared by
#: DeRelayL, ``DERELAYL.errata``; this view keeps the historical keys).
PAPER_NOTES: tuple[dict[str, str], ...] = tuple(
    {"equation": e.where, "text": e.text} for e in get_mechanism("derelayl").errata
)


def _witness(out: Outcome, base: dict[str, Fraction], replay: dict) -> dict:
    model = out.model or {}
    return {
        "params": {k: float(v) for k, v in model.items()},
        "params_exact": {k: fmt_fraction(v) for k, v in model.items()},
        "changed": {k: fmt_fraction(model[k]) for k in out.moved if model[k] != base.get(k)},
        "replay": replay,
    }


def _replay_claim(mech, point: dict[str, Fraction], role: str, prop: str, dev: str | None):
    """Exact replay of a claim's counterexample through the core's formulas."""
    p = ParamValues(**point)
    conds = {c.name: bool(c.holds(p)) for c in mech.conditions}
    if prop == "IR":
        margin = mech.ir_margin(role, p)
        holds = margin >= 0
    else:
        margin = mech.ic_margin(role, dev, p)
        strict = prop == "IC" and mech.role(role).strategy(dev).strict_ic
        holds = margin > 0 if strict else margin >= 0
    return {
        "conditions": conds,
        "margin": float(margin),
        "margin_exact": fmt_fraction(Fraction(margin)),
        "property_holds": bool(holds),
        "confirms": all(conds.values()) and not holds,
    }


def prove_claims(
    base: Params | None = None, timeout: float = DEFAULT_TIMEOUT, mechanism: str = "derelayl"
) -> list[dict[str, Any]]:
    """Every (role, property, deviation) claim of Table II under T1-T8 and the domain."""
    mech = get_mechanism(mechanism)
    basef = base_fractions(base)
    claims: list[dict[str, Any]] = []
    for role in mech.roles:
        items: list[tuple[str, str | None]] = [("IR", None)]
        for d in role.deviations:
            items.append(("IC", d.abbr))
            items.append(("IC_weak", d.abbr))
        for prop, dev in items:
            # one query, one context: the answer cannot depend on earlier queries
            z = symbolic_point(ctx=fresh_context())
            hyp = [*domain(z), *[c.holds(z) for c in mech.conditions]]
            if prop == "IR":
                phi = mech.ir(role.abbr, z)
                eq = mech_ir_equation(mech, role.abbr)
            else:
                strict = mech.role(role.abbr).strategy(dev).strict_ic if prop == "IC" else False
                phi = mech.ic_against(role.abbr, dev, z, strict=strict)
                eq = role.strategy(dev).ic_equation
            out = nice_model([*hyp, z3.Not(phi)], z, basef, timeout, release=RELEASE_ORDER)
            claim: dict[str, Any] = {
                "role": role.abbr,
                "property": prop,
                "deviation": dev,
                "status": "unknown",
                "witness": None,
                "paper_equation": eq,
                "seconds": round(out.seconds, 4),
            }
            if out.status == "unsat":
                claim["status"] = "proved"
            elif out.status == "sat":
                replay = _replay_claim(mech, out.model, role.abbr, prop, dev)
                claim["witness"] = _witness(out, basef, replay)
                claim["status"] = "counterexample" if replay["confirms"] else "unknown"
                if not replay["confirms"]:
                    claim["reason"] = "solver witness did not replay exactly"
                else:
                    works = _repairs(hyp, phi, z, timeout)
                    claim["holds_if"] = works[0] if works else None
                    claim["repairs"] = works
            else:
                claim["reason"] = out.reason or "unknown"
            claims.append(claim)
    return claims


def mech_ir_equation(mech, role: str) -> str | None:
    name = getattr(mech, "ir_condition", {}).get(role)
    return mech.condition(name).appendix_equation if name else None


def _repairs(hyp, phi, z, timeout) -> list[str]:
    """Every extra assumption of :data:`REPAIRS` under which the claim is proved."""
    return [
        name for name, build in REPAIRS if prove(phi, [*hyp, *build(z)], timeout).status == "unsat"
    ]


# ------------------------------------------------------------------------------------
# Necessity of each condition
# ------------------------------------------------------------------------------------


def _protected(mech, cond, z):
    if cond.protects == "IR":
        return mech.ir(cond.role, z), (lambda p: mech.ir_margin(cond.role, p)), ">="
    strict = mech.role(cond.role).strategy(cond.deviation).strict_ic
    return (
        mech.ic_against(cond.role, cond.deviation, z),
        (lambda p: mech.ic_margin(cond.role, cond.deviation, p)),
        ">" if strict else ">=",
    )


def _key_variables(cond, z) -> list[str]:
    keys = [*REWARD_KEYS, "b_t"]
    out = []
    for k in keys:
        a, _c = _split_bool(cond.holds, z, k)
        if a is not None:
            out.append(k)
    return out


def _split_bool(holds, z, var):
    """Coefficient of ``var`` in lhs - rhs of a condition (None if 0)."""

    def margin(p):
        e = holds(p)
        return e.arg(0) - e.arg(1)

    try:
        a, c = affine_split(margin, z, var)
    except ValueError:
        return None, None
    if z3.is_rational_value(a) and a.numerator_as_long() == 0:
        return None, c
    return a, c


def _is_one(e) -> bool:
    return (z3.is_rational_value(e) or z3.is_int_value(e)) and to_fraction(e) == 1


def _condition_margin(cond):
    def margin(p):
        e = cond.holds(p)
        return e.arg(0) - e.arg(1)

    return margin


def _solved_form(margin_fn, z, var: str, rel: str, hyp) -> str | None:
    """``margin(var) rel 0`` solved for ``var`` when its coefficient is provably > 0."""
    try:
        a, c = affine_split(margin_fn, z, var)
    except ValueError:
        return None
    if z3.is_rational_value(a) and a.numerator_as_long() == 0:
        return None
    c_txt = min((z3.simplify(-c), z3.simplify(-c, som=True)), key=lambda e: len(infix(e)))
    thr = z3.simplify(c_txt / a) if not _is_one(a) else c_txt
    if prove(a > 0, hyp, 2.0).status == "unsat":
        return f"{var} {rel} {infix(thr)}"
    if prove(a >= 0, hyp, 2.0).status == "unsat":
        return f"{var} {rel} {infix(thr)}   (when {infix(z3.simplify(a))} > 0)"
    return None


def necessity(
    base: Params | None = None, timeout: float = DEFAULT_TIMEOUT, mechanism: str = "derelayl"
) -> dict[str, dict[str, Any]]:
    """For each T_i: is it necessary for what it protects, and what is exact?"""
    mech = get_mechanism(mechanism)
    basef = base_fractions(base)
    out: dict[str, dict[str, Any]] = {}
    for cond in mech.conditions:
        z = symbolic_point(ctx=fresh_context())  # one context per condition's entry
        dom = domain(z)
        phi, margin_fn, rel = _protected(mech, cond, z)
        t0 = time.perf_counter()
        entry: dict[str, Any] = {
            "protects": {"role": cond.role, "property": cond.protects, "deviation": cond.deviation},
            "paper": f"{cond.equation}/{cond.appendix_equation}: {cond.description}",
            "paper_exactness": cond.exactness,
        }
        # necessary?  look for a point where the condition fails but the property holds
        res = nice_model(
            [*dom, z3.Not(cond.holds(z)), phi], z, basef, timeout, release=RELEASE_ORDER
        )
        entry["necessary"] = {"sat": "counterexample", "unsat": "proved"}.get(res.status, "unknown")
        entry["witness"] = None
        if res.status == "sat":
            p = ParamValues(**res.model)
            m = margin_fn(p)
            ok = (m > 0) if rel == ">" else (m >= 0)
            entry["witness"] = {
                "params": {k: float(v) for k, v in res.model.items()},
                "params_exact": {k: fmt_fraction(v) for k, v in res.model.items()},
                "changed": {
                    k: fmt_fraction(res.model[k]) for k in res.moved if res.model[k] != basef.get(k)
                },
                "replay": {
                    "condition_holds": bool(cond.holds(p)),
                    "margin": float(m),
                    "margin_exact": fmt_fraction(Fraction(m)),
                    "property_holds": bool(ok),
                    "confirms": bool(ok) and not bool(cond.holds(p)),
                },
            }
            if not entry["witness"]["replay"]["confirms"]:
                entry["necessary"] = "unknown"
        # sufficient on its own (with the domain)?
        suff = prove(phi, [*dom, cond.holds(z)], timeout)
        entry["sufficient_alone"] = _status(suff)
        if suff.status != "unsat":
            companions = [c for c in mech.conditions if c.role == cond.role and c is not cond]
            with_ = prove(phi, [*dom, cond.holds(z), *[c.holds(z) for c in companions]], timeout)
            entry["sufficient_with"] = {
                "conditions": [c.name for c in companions],
                "status": _status(with_),
            }
        # the exact condition: the protected property itself, division-free
        exact_txt = f"{infix(z3.simplify(margin_fn(z), som=True))} {rel} 0"
        entry["exact_condition"] = exact_txt
        keys = _key_variables(cond, z)
        keys = [k for k in keys if k in REWARD_KEYS] or keys
        # solve the division-free form when it is exact (equivalence proved below),
        # the protected property itself otherwise (T7)
        if cond.exactness == "exact":
            solve_fn = _condition_margin(cond)
        else:
            solve_fn = margin_fn
        solved = [s for k in keys if (s := _solved_form(solve_fn, z, k, rel, dom)) is not None]
        entry["exact_condition_solved"] = solved
        eqv = prove(phi == cond.holds(z), dom, timeout)
        entry["equivalent_to_condition"] = _status(eqv)
        if cond.protects == "IC" and cond.deviation == "NTr":
            same = prove(phi == t_ntr_exact(z), dom, timeout)
            entry["equals_t_ntr_exact"] = _status(same)
            entry["robust_condition_at_point"] = _qe_t7(mech, base, timeout)
        entry["seconds"] = round(time.perf_counter() - t0, 4)
        out[cond.name] = entry
    return out


def _status(o: Outcome) -> str:
    return {"unsat": "proved", "sat": "counterexample"}.get(o.status, "unknown")


def _numerals(e: z3.ExprRef) -> set[Fraction]:
    out: set[Fraction] = set()
    if z3.is_rational_value(e) or z3.is_int_value(e):
        out.add(to_fraction(e))
    for c in e.children():
        out |= _numerals(c)
    return out


def _infimum(
    cond: z3.BoolRef, x: z3.ArithRef, timeout: float = DEFAULT_TIMEOUT
) -> tuple[Fraction, bool] | None:
    """Infimum of ``x`` over a quantifier-free linear condition in ``x`` alone, and
    whether it is attained: it is one of the condition's numerals (the breakpoints).
    Every check is resource-limited; an unknown answer gives no infimum (None)."""
    ctx = cond.ctx
    best = None
    for c in sorted(_numerals(cond)):
        s = make_solver(timeout, ctx)
        s.add(cond, x < zval(c, ctx))
        r = s.check()
        if r == z3.unknown:
            return None
        if r == z3.unsat:
            best = c
    if best is None:
        return None
    s = make_solver(timeout, ctx)
    s.add(cond, x == zval(best, ctx))
    r = s.check()
    if r == z3.unknown:
        return None
    return best, r == z3.sat


#: The quantifier elimination of :func:`_qe_t7`: ``qe`` then a contextual simplification.
_QE_TACTICS = ("qe", "ctx-solver-simplify")


def _qe_goal(mech, basef: dict[str, Fraction], ctx: z3.Context):
    """The T7 robustness formula at the point (b_t free), built in ``ctx``."""
    z = symbolic_point(ctx=ctx)
    fixed = {k: zval(v, ctx) for k, v in basef.items() if k not in ("b_t", "r_cited")}
    p = ParamValues(**{k: fixed.get(k, getattr(z, k)) for k in z.as_dict()})
    r = z.r_cited
    t2 = mech.condition("T2").holds(p)
    ic = mech.ic_against("T", "NTr", p)
    phi = z3.ForAll([r], z3.Implies(z3.And(r >= 0, t2), ic))
    return z, p, z3.And(phi, z.b_t >= 0)


def _qe_tactic(ctx: z3.Context) -> z3.Tactic:
    return z3.Then(*[z3.Tactic(t, ctx) for t in _QE_TACTICS], ctx=ctx)


def _qe_t7(mech, base: Params | None, timeout: float) -> dict[str, Any]:
    """Quantifier elimination at the base point: the weakest condition on b_t such that
    *every* R_Cited meeting T2 makes Normal beat Not Training.

    With the other parameters fixed the formula is linear in (b_t, r_cited), so
    z3's ``qe`` tactic eliminates ``r_cited`` exactly.  This is what T7 tries to be
    (eq. 86 uses T2 and T7); the result shows how much weaker the exact requirement is.
    """
    basef = base_fractions(base)
    t0 = time.perf_counter()
    try:
        # z3 applies a tactic with no resource limit (only a timer), so the deterministic
        # budget is enforced first: the same tactics then "smt", as a solver under the
        # rlimit, in a context of its own.  Only if they finish there is the elimination
        # itself run (the same deterministic work), with the wall clock as an outer net.
        guard_ctx = fresh_context()
        _z, _p, goal_formula = _qe_goal(mech, basef, guard_ctx)
        guard = limit(
            z3.Then(_qe_tactic(guard_ctx), z3.Tactic("smt", guard_ctx), ctx=guard_ctx).solver(),
            timeout,
        )
        guard.add(goal_formula)
        if guard.check() == z3.unknown:
            return {
                "status": "unknown",
                "reason": f"resource limit: {guard.reason_unknown() or 'unknown'}",
            }
        ctx = fresh_context()
        z, p, goal_formula = _qe_goal(mech, basef, ctx)
        g = z3.Goal(ctx=ctx)
        g.add(goal_formula)
        net_ms = max(1, int(round(WALL_FACTOR * timeout * 1000)))
        res = z3.TryFor(_qe_tactic(ctx), net_ms, ctx=ctx)(g)
        forms = [
            z3.And(*sub) if len(sub) > 1 else (sub[0] if len(sub) else z3.BoolVal(True, ctx))
            for sub in res
        ]
        cond = z3.simplify(z3.Or(*forms)) if len(forms) > 1 else z3.simplify(forms[0])
        t7_val = mech.condition("T7").paper_form(p)
        smallest = None
        inf = _infimum(cond, z.b_t, timeout)
        if inf is not None:
            lo_f, attained = inf
            smallest = f"b_t {'>=' if attained else '>'} {fmt_fraction(lo_f)}"
            bound = z.b_t >= zval(lo_f, ctx) if attained else z.b_t > zval(lo_f, ctx)
            if prove(cond == bound, [], timeout).status == "unsat":
                cond = bound
        return {
            "formula": "forall r_cited >= 0: T2 -> U_N^T > U_NTr^T  (other parameters at the point)",
            "condition_on_b_t": infix(cond),
            "exact_deposit_condition": smallest,
            "t7_at_point": f"b_t > {fmt_fraction(Fraction(str(z3.simplify(t7_val[2]))))}",
            "seconds": round(time.perf_counter() - t0, 4),
        }
    except (z3.Z3Exception, ValueError) as exc:
        return {"status": "unknown", "reason": str(exc)}


# ------------------------------------------------------------------------------------
# Domain problems
# ------------------------------------------------------------------------------------


def domain_problems(timeout: float = DEFAULT_TIMEOUT, mechanism: str = "derelayl") -> list[dict]:
    """Points where the paper's printed conditions are undefined or its domain loose."""
    mech = get_mechanism(mechanism)
    out: list[dict] = []
    for cond in mech.conditions:
        for div in cond.divisors:
            z = symbolic_point(ctx=fresh_context())  # one context per divisor's checks
            dom = domain(z)
            if div in PARAM_INFO:
                info = PARAM_INFO[div]
                if info.domain.lower == 0 and not info.domain.lower_strict:
                    zero = getattr(z, div) == 0
                    if check_sat([*dom, zero], timeout).status == "unsat":
                        out.append(
                            {
                                "kind": "zero_divisor_excluded",
                                "condition": cond.name,
                                "parameter": div,
                                "detail": f"{cond.name} as printed {cond.equation} divides by "
                                f"{div}; {div} = 0 is excluded by a cross constraint of the "
                                "domain (e.g. q_deposit_less < q_deposit, eq. 43)",
                            }
                        )
                        continue
                    reduced = z3.simplify(
                        z3.substitute(cond.holds(z), (getattr(z, div), z3.RealVal(0, z.coin.ctx)))
                    )
                    sat = check_sat([*dom, zero, cond.holds(z)], timeout)
                    phi, _m, _r = _protected(mech, cond, z)
                    eqv = prove(phi == cond.holds(z), [*dom, zero], timeout)
                    out.append(
                        {
                            "kind": "zero_divisor",
                            "condition": cond.name,
                            "parameter": div,
                            "detail": f"{cond.name} as printed {cond.equation} divides by {div}, "
                            f"which the domain allows to be 0; the division-free form then reads "
                            f"'{infix(reduced)}'",
                            "division_free_satisfiable": {"sat": True, "unsat": False}.get(
                                sat.status
                            ),
                            "division_free_still_exact": _status(eqv),
                        }
                    )
    # beta at the appendix's closed ends
    for bval in (0, 1):
        z = symbolic_point(ctx=fresh_context())
        sub = (z.beta, z3.RealVal(bval, z.beta.ctx))
        affected = [c.name for c in mech.conditions if any("beta" in d for d in c.divisors)]
        reduced = {
            c.name: infix(z3.substitute(c.holds(z), sub))
            for c in mech.conditions
            if c.name in affected
        }
        detail = (
            "beta = 1: the citation values Q*R/(1-beta) (eqs. 23, 30) are undefined (infinite "
            "future reward), so U_N^MO and U_N^T do not exist"
            if bval == 1
            else "beta = 0: T2 and T8 as printed divide by beta; the trainer gets no future "
            "citation value and the division-free forms no longer involve R_Cited"
        )
        out.append(
            {
                "kind": "beta_boundary",
                "parameter": "beta",
                "value": bval,
                "detail": detail + "; the appendix's 0 <= beta <= 1 is therefore narrowed to "
                "0 < beta < 1",
                "division_free_forms": reduced,
            }
        )
    out.append(
        {
            "kind": "strict_ic_ties",
            "parameter": "c_mine",
            "detail": "C_Mine >= 0 and rewards >= 0 allow C_Mine = 0 with zero rewards: then "
            "U_N = U_dev for every miner deviation (eqs. 94, 96-99) and strict IC fails; "
            "strict IC of DBM/EBM/TBM/SBM is proved once C_Mine > 0 (see the claims' "
            "'holds_if'); likewise the MO needs Q_Selected * b^MO > 0 (eq. 85).",
        }
    )
    return out


def prove_all(
    base: Params | None = None, timeout: float = DEFAULT_TIMEOUT, mechanism: str = "derelayl"
) -> dict[str, Any]:
    """The ``derelay prove --json`` object."""
    t0 = time.perf_counter()
    claims = prove_claims(base, timeout, mechanism)
    nec = necessity(base, timeout, mechanism)
    problems = domain_problems(timeout, mechanism)
    from derelay.formal.generic import evaluate_claim

    mech = get_mechanism(mechanism)
    paper_claims = [evaluate_claim(mech, c, None) for c in mech.claims]
    return {
        "claims": claims,
        "paper_claims": paper_claims,
        "necessity": nec,
        "domain_problems": problems,
        "paper_notes": list(PAPER_NOTES),
        "hypotheses": "parameter domain (derelay.params.domain_constraints) and T1-T8 "
        "(division-free forms)",
        "timeout": timeout,
        "seconds": round(time.perf_counter() - t0, 4),
    }
