"""Any mechanism's claims, proved or refuted: ``prove_claim(mech, claim)``.

A :class:`~derelay.mechanism.Claim` is *hypotheses => conclusion* over the mechanism's
parameter space plus bound variables.  The query is the negation,

    domain(free keys) and domain(bound) and hypotheses and not conclusion,

with the free keys as z3 Reals (integer parameters carry ``IsInt``) and every other key
exact at the base point (the defaults, or a user's point).  The answer is

* ``proved``: the negation is unsatisfiable;
* ``counterexample``: a witness, kept at the base point in every coordinate the query does
  not force to move, and *replayed* with exact Fractions through the same formulas (the
  hypotheses hold and the conclusion fails); a witness that does not replay is reported as
  ``unknown``;
* ``unknown``: the resource limit ran out, or the solver is incomplete (e.g. non-polynomial
  terms).  Never reported as proved.

Determinism: every query runs in a fresh z3 context with a deterministic resource limit
(``rlimit``), so a verdict depends only on its inputs, never on machine load or on what
the process solved before.  ``timeout`` (seconds) is only an outer safety net; a query
that hits it says so in ``reason``.

Combinatorial claims (``Claim.evaluate``) are called with the exact base point and the
options, and their dict is passed through with the common keys filled in.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from derelay.mechanism import Claim, Mechanism, get_mechanism
from derelay.params import ParamValues

#: Default z3 resource limit per query (deterministic; roughly seconds x 1e6 here).
DEFAULT_RLIMIT = 20_000_000
#: Outer wall-clock safety net per query, seconds (a query that hits it is "unknown").
SAFETY_TIMEOUT = 120.0


def _z3():
    import z3

    return z3


def _frac(v: Any) -> Fraction:
    z3 = _z3()
    if z3.is_rational_value(v):
        return Fraction(v.numerator_as_long(), v.denominator_as_long())
    if z3.is_int_value(v):
        return Fraction(v.as_long())
    if z3.is_algebraic_value(v):
        # an irrational root: keep a close rational for the report; replay decides
        return Fraction(v.approx(20).as_fraction())
    raise ValueError(f"not a numeral: {v}")


def _fmt(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def _bool(x: Any) -> bool:
    from derelay.mechanism.ops import all_of

    return bool(all_of(x)) if not isinstance(x, bool) else x


def _solve(constraints, variables, base, rlimit, timeout, ctx=None):
    """(status, model dict | None, reason): a model near ``base`` if satisfiable."""
    z3 = _z3()
    s = z3.Solver(ctx=ctx)
    s.set("rlimit", int(rlimit))
    s.set("timeout", max(1, int(timeout * 1000)))
    s.add(*constraints)
    first = s.check()
    if first == z3.unsat:
        return "unsat", None, ""
    if first == z3.unknown:
        return "unknown", None, s.reason_unknown()
    model = s.model()
    # keep coordinates at the base point where the query allows (readable witnesses)
    lits = {}
    for k, var in variables.items():
        if k in base:
            lit = z3.Bool(f"__at_{k}", ctx)
            s.add(z3.Implies(lit, var == z3.RealVal(str(base[k]), ctx)))
            lits[k] = lit
    active = dict(lits)
    for _ in range(len(lits) + 1):
        r = s.check(*active.values())
        if r == z3.sat:
            model = s.model()
            break
        if r == z3.unknown:
            break  # keep the first model
        core = {str(c) for c in s.unsat_core()}
        nxt = {k: v for k, v in active.items() if str(v) not in core}
        if len(nxt) == len(active):
            break
        active = nxt
    out = {}
    for k, var in variables.items():
        v = model.eval(var, model_completion=True)
        out[k] = _frac(v)
    return "sat", out, ""


def prove_claim(
    mech: Mechanism | str,
    claim: Claim | str,
    base: Mapping[str, Any] | None = None,
    rlimit: int = DEFAULT_RLIMIT,
    timeout: float = SAFETY_TIMEOUT,
    **options: Any,
) -> dict[str, Any]:
    """Prove or refute one claim (see the module docstring); returns a JSON-ready dict."""
    mech = get_mechanism(mech) if isinstance(mech, str) else mech
    claim = mech.claim(claim) if isinstance(claim, str) else claim
    space = mech.space
    point = space.defaults() if base is None else space.validate(dict(base))
    head = {
        "name": claim.name,
        "source": claim.source,
        "statement": claim.statement,
        "encoding": claim.encoding,
    }
    if not claim.symbolic:
        res = dict(claim.evaluate(space.exact(point), **options))
        status = res.get("status")
        if status not in ("proved", "counterexample", "unknown"):
            raise ValueError(f"claim {claim.name}: evaluate gave status {status!r}")
        res.setdefault("witness", None)
        return {**head, **res}

    z3 = _z3()
    ctx = z3.Context()
    free = tuple(space.numeric_keys if claim.free is None else claim.free)
    p = space.symbolic(free, base=point, ctx=ctx)
    v = ParamValues(**{k: z3.Real(k, ctx) for k in claim.bound})
    constraints = list(space.domain_constraints(p, free))
    for k, dom in claim.bound.items():
        constraints.extend(dom.constraints(getattr(v, k)))
        if getattr(dom, "integer", False):
            constraints.append(z3.IsInt(getattr(v, k)))
    hyps = list(claim.hypotheses(p, v))
    concl = claim.conclusion(p, v)
    constraints = [c if z3.is_expr(c) else z3.BoolVal(bool(c), ctx) for c in [*constraints, *hyps]]
    negated = z3.Not(concl) if z3.is_expr(concl) else z3.BoolVal(not bool(concl), ctx)
    variables = {**{k: getattr(p, k) for k in free}, **{k: getattr(v, k) for k in claim.bound}}
    exact_base = {k: Fraction(getattr(space.exact(point), k)) for k in free}
    exact_base.update({k: _bound_default(dom) for k, dom in claim.bound.items()})
    status, model, reason = _solve(
        [*constraints, negated], variables, exact_base, rlimit, timeout, ctx=ctx
    )
    if status == "unsat":
        return {**head, "status": "proved", "witness": None, "free": list(free)}
    if status == "unknown":
        return {**head, "status": "unknown", "witness": None, "reason": reason, "free": list(free)}
    # replay exactly through the same formulas
    ex = dict(vars(space.exact(point)))
    ex.update({k: model[k] for k in free})
    pe = ParamValues(**ex)
    ve = ParamValues(**{k: model[k] for k in claim.bound})
    try:
        hyp_ok = all(_bool(h) for h in claim.hypotheses(pe, ve))
        dom_ok = all(_bool(c) for c in space.domain_constraints(pe, free))
        concl_holds = _bool(claim.conclusion(pe, ve))
        replayed = hyp_ok and dom_ok and not concl_holds
    except (ArithmeticError, TypeError, ValueError) as exc:
        replayed, reason = False, f"replay failed: {exc}"
    moved = [k for k in free if model[k] != exact_base.get(k)]
    witness = {
        "moved": moved,
        "values": {k: float(model[k]) for k in [*moved, *claim.bound]},
        "exact": {k: _fmt(model[k]) for k in [*moved, *claim.bound]},
        "replayed": replayed,
    }
    if not replayed:
        return {
            **head,
            "status": "unknown",
            "witness": witness,
            "reason": reason or "the solver's witness did not replay exactly",
            "free": list(free),
        }
    return {**head, "status": "counterexample", "witness": witness, "free": list(free)}


def _bound_default(dom: Any) -> Fraction:
    lo = getattr(dom, "lower", None)
    hi = getattr(dom, "upper", None)
    if lo is not None and hi is not None:
        return (Fraction(repr(float(lo))) + Fraction(repr(float(hi)))) / 2
    if lo is not None:
        return Fraction(repr(float(lo))) + 1
    if hi is not None:
        return Fraction(repr(float(hi))) - 1
    return Fraction(0)


def prove_claims(
    mech: Mechanism | str,
    base: Mapping[str, Any] | None = None,
    names: list[str] | None = None,
    rlimit: int = DEFAULT_RLIMIT,
    **options: Any,
) -> list[dict[str, Any]]:
    """Every claim of ``mech`` (or the named ones), in declaration order."""
    mech = get_mechanism(mech) if isinstance(mech, str) else mech
    claims = [c for c in mech.claims if names is None or c.name in names]
    return [prove_claim(mech, c, base, rlimit=rlimit, **options) for c in claims]
