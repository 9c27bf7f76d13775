"""The formal layer for any mechanism: check, prove, feasible, deviations.

Everything is read from the mechanism's declaration - its parameter space (domains and
cross-constraints, levers), roles and strategies (utilities), conditions, claims, funding
and scopes - and evaluated through the same formulas on Fractions and z3 terms.

* :func:`check_mechanism`: utilities, conditions, IR (U_N >= 0) and IC (U_N > U_dev, or
  >= for a strategy with ``strict_ic=False``) at one point.
* :func:`prove_mechanism`: (a) for every role, do the conditions and the domain imply IR,
  and IC against each deviation?  (b) every declared :class:`~derelay.mechanism.Claim`:
  its hypotheses (plus the domain of the space and of its bound variables) imply its
  conclusion?  Each answer is ``proved`` (the negation is unsatisfiable),
  ``counterexample`` (a concrete point, replayed exactly with Fractions through the same
  formulas; a witness that does not replay is reported ``unknown``) or ``unknown``.
* :func:`feasible_mechanism`: reward levers meeting every condition at the least funding
  per round (``Funding.minted + Funding.external``), exactly (z3 optimisation over the
  rationals) - for mechanisms whose conditions are affine in their levers; otherwise one
  line saying which condition is not.  Strict conditions are met with a margin
  ``epsilon``.
* :func:`deviations_mechanism`: every deviation's gain U_dev - U_N at the point, a search
  for points of the domain where all conditions hold and a deviation still pays, and the
  mechanism's own ``scopes`` (e.g. DeRelayL's auction, lazy and coalition searches).

z3 runs with a resource limit (``rlimit``), not a wall-clock timeout, and every query
builds its terms in a z3 context of its own (never z3's global one, which carries every
earlier query of the process), so a verdict and its witness depend on the inputs only.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import z3

from derelay.params import ParamValues

#: Default z3 resource limit per query (deterministic, unlike a timeout).
DEFAULT_RLIMIT = 20_000_000
#: Outer wall-clock safety net per query (ms); a query that hits it answers "unknown".
SAFETY_TIMEOUT_MS = 30_000


class MechanismFormalError(ValueError):
    """Bad input for the generic formal layer; ``str(exc)`` is one line."""


# --- points -----------------------------------------------------------------------------
#: Wall-clock safety net of an optimisation (verdicts come from rlimit).
SAFETY_TIMEOUT_S = 120.0


def _point(mech, base=None):
    space = mech.space
    if space is None:
        raise MechanismFormalError(f"mechanism {mech.name} declares no parameter space")
    if base is None:
        return space.defaults()
    if hasattr(base, "space"):
        return base
    return space.validate(dict(base))


def _exact(mech, base=None) -> ParamValues:
    return mech.space.exact(_point(mech, base))


def _num(x) -> Any:
    if isinstance(x, bool):
        return x
    if isinstance(x, Fraction):
        return float(x)
    try:
        return float(x)
    except (TypeError, ValueError):
        return bool(x) if hasattr(x, "__bool__") else x


def _ok(x) -> bool:
    return bool(x)


def _dominated(mech, role) -> dict[str, bool]:
    return {s.abbr: s.strict_ic for s in role.deviations}


def _ic(un, ud, strict: bool):
    return un > ud if strict else un >= ud


# --- check ------------------------------------------------------------------------------
def check_mechanism(mech, base=None) -> dict[str, Any]:
    """Utilities, conditions, IR and IC at one point (exact, reported as floats)."""
    point = _point(mech, base)
    p = mech.space.exact(point)
    utilities = {r.abbr: {s.abbr: s.utility(p) for s in r.strategies} for r in mech.roles}
    ir, ic, ic_dev, margins = {}, {}, {}, {}
    for r in mech.roles:
        un = utilities[r.abbr][r.normal.abbr]
        ir[r.abbr] = _ok(un >= 0)
        per = {d.abbr: _ok(_ic(un, utilities[r.abbr][d.abbr], d.strict_ic)) for d in r.deviations}
        ic_dev[r.abbr] = per
        ic[r.abbr] = all(per.values())
        margins[r.abbr] = {
            "ir": float(un),
            **{f"ic_{d.abbr}": float(un - utilities[r.abbr][d.abbr]) for d in r.deviations},
        }
    conditions = {c.name: _ok(c.holds(p)) for c in mech.conditions}
    funding = None
    if mech.funding is not None:
        funding = {
            "minted": float(mech.funding.minted(p)),
            "external": float(mech.funding.external(p)),
        }
    extras = mech.extras(p)
    out = {
        "mechanism": mech.name,
        "params": point.to_dict(),
        "utilities": {r: {a: float(u) for a, u in us.items()} for r, us in utilities.items()},
        "conditions": conditions,
        "ir": ir,
        "ic": ic,
        "ic_deviations": ic_dev,
        "margins": margins,
        "funding": funding,
        "extras": extras,
    }
    # a mechanism's extra objects are also top-level keys (the issues' contracts name them
    # so: PoT's `settlement`, FLChain's `outcomes`, ...), never shadowing the common keys
    for k, v in extras.items():
        out.setdefault(k, v)
    return out


# --- z3 helpers ---------------------------------------------------------------------------
def _solver(rlimit: int, ctx: z3.Context) -> z3.Solver:
    s = z3.Solver(ctx=ctx)
    s.set("rlimit", int(rlimit))
    s.set("timeout", SAFETY_TIMEOUT_MS)  # outer safety net: a verdict comes from rlimit
    return s


def _bound_vars(claim, ctx: z3.Context) -> tuple[ParamValues, list]:
    vals, cons = {}, []
    for name, dom in dict(claim.bound).items():
        v = z3.Real(name, ctx)
        vals[name] = v
        cons.extend(dom.constraints(v))
    return ParamValues(**vals), cons


def _value(m: z3.ModelRef, v) -> Fraction | None:
    x = m.eval(v, model_completion=True)
    if z3.is_rational_value(x):
        return Fraction(x.numerator_as_long(), x.denominator_as_long())
    if z3.is_algebraic_value(x):
        a = x.approx(30)
        return Fraction(a.numerator_as_long(), a.denominator_as_long())
    return None


def _witness(mech, m, sym: ParamValues, base_exact: ParamValues, bound: ParamValues | None):
    vals = dict(vars(base_exact))
    changed = {}
    for k, v in vars(sym).items():
        if isinstance(v, z3.ExprRef) and not z3.is_rational_value(v):
            f = _value(m, v)
            if f is None:
                return None, None
            vals[k] = f
            if f != vars(base_exact).get(k):
                changed[k] = str(f)
    bvals = {}
    if bound is not None:
        for k, v in vars(bound).items():
            f = _value(m, v)
            if f is None:
                return None, None
            bvals[k] = f
    return ParamValues(**vals), {
        "changed": changed,
        "bound": {k: str(v) for k, v in bvals.items()},
        "_bound": bvals,
    }


def _near_base(hard: list, sym: ParamValues, base_exact: ParamValues, rlimit: int, ctx):
    """A model of ``hard`` that keeps as many parameters at the base point as it can
    (readable witnesses: only what must move moves), or None.

    Every parameter is first assumed at its base value (tracked by a literal); the unsat
    core names the assumptions that must go, they are released and the check repeated.
    A plain solver with the deterministic resource limit (an ``Optimize`` with soft
    constraints ignores it on non-linear queries and can run unboundedly)."""
    s = _solver(rlimit, ctx)
    s.add(*hard)
    lits = {}
    for k, v in vars(sym).items():
        b = vars(base_exact).get(k)
        if isinstance(v, z3.ExprRef) and isinstance(b, Fraction):
            lit = z3.Bool(f"__at_{k}", ctx)
            s.add(z3.Implies(lit, v == z3.RealVal(str(b), ctx)))
            lits[k] = lit
    active = dict(lits)
    for _ in range(len(lits) + 1):
        r = s.check(*active.values())
        if r == z3.sat:
            return s.model()
        if r != z3.unsat:
            return None
        core = {str(c) for c in s.unsat_core()}
        nxt = {k: v for k, v in active.items() if str(v) not in core}
        if len(nxt) == len(active):
            return None
        active = nxt
    return None


def _status(r) -> str:
    if r == z3.unsat:
        return "proved"
    if r == z3.sat:
        return "counterexample"
    return "unknown"


def _query(mech, hyps_fn, concl_fn, keys, base, rlimit, claim=None):
    """hyps(p, v) => concl(p, v) over the space (keys symbolic) and bound variables."""
    space = mech.space
    base_exact = _exact(mech, base)
    ctx = z3.Context()  # one query, one context
    sym = space.symbolic(keys, base=_point(mech, base), ctx=ctx)
    bound, bound_cons = _bound_vars(claim, ctx) if claim is not None else (ParamValues(), [])

    def term(x):
        return x if z3.is_expr(x) else z3.BoolVal(bool(x), ctx)

    hard = [
        *[term(x) for x in space.domain_constraints(sym, keys)],
        *[term(x) for x in bound_cons],
        *[term(x) for x in hyps_fn(sym, bound)],
        z3.Not(term(concl_fn(sym, bound))),
    ]
    s = _solver(rlimit, ctx)
    s.add(*hard)
    r = s.check()
    out: dict[str, Any] = {"status": _status(r), "witness": None}
    if r == z3.unknown:
        out["reason"] = s.reason_unknown()
    if r == z3.sat:
        model = _near_base(hard, sym, base_exact, rlimit, ctx) or s.model()
        pw, w = _witness(mech, model, sym, base_exact, bound)
        if pw is None:
            return {"status": "unknown", "witness": None, "reason": "irrational witness"}
        bv = ParamValues(**w.pop("_bound"))
        in_domain = all(_ok(c) for c in space.domain_constraints(pw, keys))
        in_bound = all(
            _ok(c)
            for name, dom in dict(getattr(claim, "bound", {})).items()
            for c in dom.constraints(getattr(bv, name))
        )
        replays = (
            in_domain
            and in_bound
            and all(_ok(h) for h in hyps_fn(pw, bv))
            and not _ok(concl_fn(pw, bv))
        )
        w["replayed"] = bool(replays)
        if not replays:
            return {"status": "unknown", "witness": w, "reason": "witness does not replay"}
        out["witness"] = w
    return out


def replay_claim(mech, claim, witness: dict, base=None) -> bool:
    """Does a claim's counterexample (as :func:`derelay.formal.claims.prove_claim` reports
    it: ``witness["exact"]``, the moved and bound values) replay exactly?"""
    bound = set(dict(claim.bound))
    vals = dict(vars(_exact(mech, base)))
    exact = {k: Fraction(v) for k, v in witness["exact"].items()}
    vals.update({k: v for k, v in exact.items() if k not in bound})
    p = ParamValues(**vals)
    v = ParamValues(**{k: x for k, x in exact.items() if k in bound})
    return all(_ok(h) for h in claim.hypotheses(p, v)) and not _ok(claim.conclusion(p, v))


# --- prove --------------------------------------------------------------------------------
def evaluate_claim(mech, claim, base=None, rlimit: int = DEFAULT_RLIMIT) -> dict[str, Any]:
    """One claim's verdict: :func:`derelay.formal.claims.prove_claim` (the one claim
    prover), with the time it took."""
    from .claims import prove_claim

    t0 = time.perf_counter()
    point = None if base is None else dict(_point(mech, base))
    res = prove_claim(mech, claim, point, rlimit=rlimit)
    return {**res, "seconds": round(time.perf_counter() - t0, 4)}


def prove_mechanism(mech, base=None, rlimit: int = DEFAULT_RLIMIT) -> dict[str, Any]:
    """The generic ``derelay prove --json`` object (see the module docstring)."""
    t0 = time.perf_counter()
    conds = lambda p, v: [c.holds(p) for c in mech.conditions]  # noqa: E731
    props = []
    keys = mech.space.numeric_keys
    for r in mech.roles:
        normal = r.normal

        def ir(p, v, normal=normal):
            return normal.utility(p) >= 0

        res = _query(mech, conds, ir, keys, base, rlimit)
        props.append({"role": r.abbr, "property": "IR", "deviation": None, **res})
        for d in r.deviations:

            def icf(p, v, normal=normal, d=d):
                return _ic(normal.utility(p), d.utility(p), d.strict_ic)

            res = _query(mech, conds, icf, keys, base, rlimit)
            props.append({"role": r.abbr, "property": "IC", "deviation": d.abbr, **res})
    claims = [evaluate_claim(mech, c, base, rlimit) for c in mech.claims]
    return {
        "mechanism": mech.name,
        "properties": props,
        "claims": claims,
        "errata": [{"id": e.id, "where": e.where, "text": e.text} for e in mech.errata],
        "hypotheses": "the space's domains and cross-constraints, and every condition "
        f"({', '.join(c.name for c in mech.conditions) or 'none'})",
        "rlimit": int(rlimit),
        "seconds": round(time.perf_counter() - t0, 4),
    }


# --- feasible -------------------------------------------------------------------------------
def _affine_in(expr_fn, sym: ParamValues, levers: tuple[str, ...]) -> bool:
    """Is ``expr_fn(sym)`` affine in the levers (the others fixed)?  Exact: with the levers
    at 0, e_i and e_i + e_j the second differences vanish identically."""

    ctx = next(v.ctx for v in vars(sym).values() if isinstance(v, z3.ExprRef))

    def at(**over):
        d = dict(vars(sym))
        d.update({k: z3.RealVal(v, ctx) for k, v in over.items()})
        return expr_fn(ParamValues(**d))

    zero = {k: 0 for k in levers}
    f0 = at(**zero)
    for i, a in enumerate(levers):
        fa = at(**{**zero, a: 1})
        fa2 = at(**{**zero, a: 2})
        if not _is_zero(fa2 - 2 * fa + f0):
            return False
        for b in levers[i + 1 :]:
            fb = at(**{**zero, b: 1})
            fab = at(**{**zero, a: 1, b: 1})
            if not _is_zero(fab - fa - fb + f0):
                return False
    return True


def _is_zero(e) -> bool:
    e = z3.simplify(e, som=True)
    return z3.is_rational_value(e) and e.numerator_as_long() == 0


def _margin(comp):
    """(lhs - rhs, strict) of a comparison built by the formulas (z3 term)."""
    if not z3.is_app(comp) or comp.num_args() != 2:
        return None
    k = comp.decl().kind()
    a, b = comp.arg(0), comp.arg(1)
    if k == z3.Z3_OP_GE:
        return a - b, False
    if k == z3.Z3_OP_GT:
        return a - b, True
    if k == z3.Z3_OP_LE:
        return b - a, False
    if k == z3.Z3_OP_LT:
        return b - a, True
    return None


def feasible_mechanism(
    mech, base=None, epsilon: Fraction = Fraction(1, 10**9), rlimit: int = DEFAULT_RLIMIT
) -> dict[str, Any]:
    """Levers meeting every condition at the least funding per round (exact)."""
    space = mech.space
    levers = tuple(space.levers)
    if not levers:
        return {
            "mechanism": mech.name,
            "feasible": None,
            "affine": False,
            "reason": f"mechanism {mech.name} declares no reward levers",
        }
    point = _point(mech, base)
    ctx = z3.Context()  # the optimisation lives in a context of its own
    sym = space.symbolic(levers, base=point, ctx=ctx)
    cons, not_affine = [], []
    for c in mech.conditions:
        comp = c.holds(sym)
        mg = _margin(comp) if isinstance(comp, z3.ExprRef) else None
        if mg is None or not _affine_in(lambda p, c=c: _margin(c.holds(p))[0], sym, levers):
            not_affine.append(c.name)
            continue
        m, strict = mg
        cons.append((c.name, m >= (z3.RealVal(str(epsilon), ctx) if strict else 0)))
    if not_affine:
        return {
            "mechanism": mech.name,
            "feasible": None,
            "affine": False,
            "reason": f"feasible needs conditions affine in the levers ({', '.join(levers)}); "
            f"{', '.join(not_affine)} of mechanism {mech.name} is not: use derelay prove",
        }
    objective = None
    if mech.funding is not None:
        f = lambda p: mech.funding.minted(p) + mech.funding.external(p)  # noqa: E731
        if _affine_in(f, sym, levers):
            objective = f(sym)
    if objective is None:
        objective = sum(getattr(sym, k) for k in levers)
    opt = z3.Optimize(ctx=ctx)
    opt.set("rlimit", int(rlimit))
    opt.set("timeout", int(SAFETY_TIMEOUT_S * 1000))  # outer safety net only
    eps = z3.RealVal(str(epsilon), ctx)
    for d in space.domain_constraints(sym, levers):  # strict domains: met with epsilon too
        mg = _margin(d) if isinstance(d, z3.ExprRef) else None
        opt.add(d if mg is None or not mg[1] else mg[0] >= eps)
    for _name, c in cons:
        opt.add(c)
    h = opt.minimize(objective)
    r = opt.check()
    out: dict[str, Any] = {
        "mechanism": mech.name,
        "affine": True,
        "levers": list(levers),
        "epsilon": str(epsilon),
    }
    if r == z3.unsat:
        out.update(feasible=False, conflict=[n for n, _ in cons])
        return out
    if r != z3.sat:
        out.update(feasible=None, reason=opt.reason_unknown())
        return out
    m = opt.model()
    lo = opt.lower(h)
    vals = {k: _value(m, getattr(sym, k)) for k in levers}
    exact = dict(vars(space.exact(point)))
    exact.update(vals)
    pe = ParamValues(**exact)
    out.update(
        feasible=True,
        bounded=z3.is_rational_value(lo),
        rewards={k: float(v) for k, v in vals.items()},
        rewards_exact={k: str(v) for k, v in vals.items()},
        conditions_hold={c.name: _ok(c.holds(pe)) for c in mech.conditions},
        funding=float(mech.funding.minted(pe) + mech.funding.external(pe))
        if mech.funding is not None
        else None,
        binding=[n for n, c in cons if _value(m, c.arg(0) - c.arg(1)) == 0],
    )
    return out


# --- deviations -------------------------------------------------------------------------------
def deviations_mechanism(
    mech, base=None, scope: str = "unilateral", rlimit: int = DEFAULT_RLIMIT, **opts
) -> dict[str, Any]:
    """Unilateral gains at the point, profitable deviations the conditions allow, and the
    mechanism's own scopes (``scope``: unilateral, a scope name, or all)."""
    scopes = dict(mech.scopes or {})
    allowed = ("unilateral", *scopes, "all")
    if scope not in allowed:
        raise MechanismFormalError(
            f"option '--scope' = {scope!r} is not allowed for mechanism {mech.name}: use "
            + ", ".join(allowed)
        )
    t0 = time.perf_counter()
    out: dict[str, Any] = {"mechanism": mech.name, "scope": scope, "deviations": []}
    if scope in ("unilateral", "all"):
        p = _exact(mech, base)
        table = []
        conds = lambda q, v: [c.holds(q) for c in mech.conditions]  # noqa: E731
        for r in mech.roles:
            un = r.normal.utility(p)
            for d in r.deviations:
                gain = d.utility(p) - un
                row = {
                    "role": r.abbr,
                    "deviation": d.abbr,
                    "family": d.deviation_family,
                    "gain": float(gain),
                    "gain_exact": str(Fraction(gain)),
                    "profitable": _ok(gain > 0),
                }

                def no_gain(q, v, r=r, d=d):
                    return d.utility(q) <= r.normal.utility(q)

                res = _query(mech, conds, no_gain, mech.space.numeric_keys, base, rlimit)
                row["under_conditions"] = res["status"]  # proved: never profitable
                row["witness"] = res.get("witness")
                table.append(row)
                if row["profitable"] or res["status"] == "counterexample":
                    out["deviations"].append({"kind": "unilateral", **row})
        out["unilateral_table"] = table
    for name, fn in scopes.items():
        if scope in (name, "all"):
            out[name] = fn(_exact(mech, base), **opts)
    out["seconds_total"] = round(time.perf_counter() - t0, 4)
    return out
