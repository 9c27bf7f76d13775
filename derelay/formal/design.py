"""``derelay design``: the region of free parameters where wanted properties hold, exactly.

The economist's question -- *what deposit makes trainers honest at my parameters?* -- is a
question about a set: the values of the free parameters at which every wanted property
holds, every other parameter fixed at the user's point.  This module answers it exactly for
any registered mechanism.

Properties (``want``)
---------------------
* ``ir``: for each role, IR on the utilities themselves (U_Normal >= 0);
* ``ic``: for each role and deviation, IC on the utilities (U_N - U_dev > 0, or >= 0 where
  the mechanism declares the comparison weak);
* ``conditions``: the mechanism's design conditions (e.g. DeRelayL's T1-T8, which may be
  only *sufficient* for the property they protect).

``roles`` keeps the properties of those roles only.

Method
------
The formulas are evaluated once on a symbolic point (z3 Reals for the free keys, exact
Fractions elsewhere, in a fresh z3 context), so nothing is re-typed.

* **One free parameter**: each property's z3 term is translated into sympy and solved as a
  univariate inequality over the parameter's domain, giving a finite union of intervals
  with exact (rational or algebraic) endpoints and exact open/closed ends.  The region is
  the intersection.  The answer is then checked by z3 (rlimit, deterministic): a point of
  every region interval must satisfy every property when replayed with Fractions, and an
  empty region must be unsatisfiable for z3 too.  Any disagreement, or a term sympy cannot
  solve, gives ``unknown`` -- never a guess.
* **Two or more**: z3 decides whether the region is empty (with a witness point if not),
  and each property is described by its simplified inequality; ``grid_map`` evaluates a
  numpy grid over two free parameters with the same vectorised formulas.
* **Empty region**: a *conflict*: an irreducible set of properties whose conjunction is
  empty (deletion-based minimisation), each with the bound it imposes alone, e.g.
  "T IR needs b_t < 1.6068; T IC vs NTr needs b_t > 2.9286".
* **minimize**: an expression over the parameters (names, numbers, + - * / and
  parentheses; ``issuance`` is the mechanism's minted money per round, ``external`` what
  is paid in from outside per round, ``funding`` both) minimised over the
  region: exactly for one free parameter (infimum, and whether it is attained), with
  z3's optimiser for several (linear objectives and constraints; otherwise ``unknown``).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from derelay.mechanism import Mechanism, get_mechanism
from derelay.params import ParamsError, ParamValues

WANTS = ("ir", "ic", "conditions")
DEFAULT_RLIMIT = 20_000_000


class DesignError(ValueError):
    """Bad design query; the message names the option, the value and what is allowed."""


@dataclass
class Property:
    name: str
    kind: str  # ir | ic | condition
    role: str
    formula: Any  # callable p -> boolean term


def properties(mech: Mechanism, want: Sequence[str], roles: Sequence[str] | None) -> list[Property]:
    """The wanted properties of ``mech`` (see the module docstring)."""
    for w in want:
        if w not in WANTS:
            raise DesignError(f"option '--want' = {w!r} is not allowed: allowed {', '.join(WANTS)}")
    known = [r.abbr for r in mech.roles]
    for r in roles or ():
        if r not in known:
            raise DesignError(
                f"option '--role' = {r!r} is not a role of {mech.name}: allowed {', '.join(known)}"
            )
    keep = set(roles or known)
    out: list[Property] = []
    for r in mech.roles:
        if r.abbr not in keep:
            continue
        if "ir" in want:
            out.append(
                Property(f"{r.abbr} IR", "ir", r.abbr, lambda p, r=r: r.normal.utility(p) >= 0)
            )
        if "ic" in want:
            for d in r.deviations:

                def ic(p, r=r, d=d):
                    m = r.normal.utility(p) - d.utility(p)
                    return m > 0 if d.strict_ic else m >= 0

                out.append(Property(f"{r.abbr} IC vs {d.abbr}", "ic", r.abbr, ic))
    if "conditions" in want:
        for c in mech.conditions:
            if c.role in keep or c.role not in known:
                out.append(Property(c.name, "condition", c.role, c.holds))
    return out


# --------------------------------------------------------------------------------------
# z3 -> sympy
# --------------------------------------------------------------------------------------


def to_sympy(e: Any, symbols: Mapping[str, Any]):
    """A z3 term as a sympy expression (arithmetic, comparisons, connectives, If)."""
    import sympy as sp
    import z3

    if not z3.is_expr(e):
        return sp.nsimplify(e) if not isinstance(e, bool) else sp.true if e else sp.false
    if z3.is_true(e):
        return sp.true
    if z3.is_false(e):
        return sp.false
    if z3.is_rational_value(e):
        return sp.Rational(e.numerator_as_long(), e.denominator_as_long())
    if z3.is_int_value(e):
        return sp.Integer(e.as_long())
    if z3.is_algebraic_value(e):
        return sp.nsimplify(float(e.approx(30).as_fraction()))
    if z3.is_const(e):
        name = str(e)
        if name not in symbols:
            raise DesignError(f"unexpected symbol {name} in a formula")
        return symbols[name]
    k = e.decl().kind()
    a = [to_sympy(c, symbols) for c in e.children()]
    Z = z3
    table = {
        Z.Z3_OP_ADD: lambda: sp.Add(*a),
        Z.Z3_OP_MUL: lambda: sp.Mul(*a),
        Z.Z3_OP_SUB: lambda: a[0] - sp.Add(*a[1:]),
        Z.Z3_OP_UMINUS: lambda: -a[0],
        Z.Z3_OP_DIV: lambda: a[0] / a[1],
        Z.Z3_OP_POWER: lambda: a[0] ** a[1],
        Z.Z3_OP_TO_REAL: lambda: a[0],
        Z.Z3_OP_LE: lambda: sp.Le(a[0], a[1]),
        Z.Z3_OP_LT: lambda: sp.Lt(a[0], a[1]),
        Z.Z3_OP_GE: lambda: sp.Ge(a[0], a[1]),
        Z.Z3_OP_GT: lambda: sp.Gt(a[0], a[1]),
        Z.Z3_OP_EQ: lambda: sp.Eq(a[0], a[1]),
        Z.Z3_OP_DISTINCT: lambda: sp.Ne(a[0], a[1]),
        Z.Z3_OP_AND: lambda: sp.And(*a),
        Z.Z3_OP_OR: lambda: sp.Or(*a),
        Z.Z3_OP_NOT: lambda: sp.Not(a[0]),
        Z.Z3_OP_IMPLIES: lambda: sp.Implies(a[0], a[1]),
        Z.Z3_OP_IS_INT: lambda: sp.true,  # integrality is applied to the set afterwards
    }
    if k == Z.Z3_OP_ITE:
        c, x, y = a
        if z3.is_bool(e):
            return sp.Or(sp.And(c, x), sp.And(sp.Not(c), y))
        return sp.Piecewise((x, c), (y, True))
    if k not in table:
        raise DesignError(f"cannot translate the operation {e.decl().name()} exactly")
    return table[k]()


def _solve_set(cond, x, domain):
    """The subset of ``domain`` where the sympy boolean ``cond`` holds."""
    import sympy as sp
    from sympy.logic.boolalg import BooleanFalse, BooleanTrue

    if isinstance(cond, BooleanTrue) or cond is True:
        return domain
    if isinstance(cond, BooleanFalse) or cond is False:
        return sp.EmptySet
    if isinstance(cond, sp.And):
        out = domain
        for c in cond.args:
            out = sp.Intersection(out, _solve_set(c, x, domain))
        return out
    if isinstance(cond, sp.Or):
        out = sp.EmptySet
        for c in cond.args:
            out = sp.Union(out, _solve_set(c, x, domain))
        return out
    if isinstance(cond, sp.Not):
        return sp.Complement(domain, _solve_set(cond.args[0], x, domain))
    if x not in cond.free_symbols:
        return domain if bool(cond) else sp.EmptySet
    res = sp.solveset(cond, x, domain)
    if isinstance(res, sp.ConditionSet):
        raise DesignError("sympy cannot solve it")
    return res


# --------------------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------------------


def _num(v) -> dict[str, Any]:
    import sympy as sp

    if v in (sp.oo, -sp.oo):
        return {"exact": "inf" if v == sp.oo else "-inf", "float": float(v)}
    return {"exact": str(v), "float": float(v)}


def _intervals(s) -> list[dict[str, Any]]:
    import sympy as sp

    if s is sp.EmptySet or s == sp.EmptySet:
        return []
    parts = s.args if isinstance(s, sp.Union) else (s,)
    out = []
    for part in parts:
        if isinstance(part, sp.Interval):
            out.append(
                {
                    "lower": _num(part.start),
                    "lower_closed": not part.left_open and part.start != -sp.oo,
                    "upper": _num(part.end),
                    "upper_closed": not part.right_open and part.end != sp.oo,
                }
            )
        elif isinstance(part, sp.FiniteSet):
            for v in sorted(part, key=float):
                out.append(
                    {"lower": _num(v), "lower_closed": True, "upper": _num(v), "upper_closed": True}
                )
        else:
            raise DesignError(f"cannot describe the set {part}")
    return out


def _g(x: float) -> str:
    return f"{x:.6g}"


def describe_set(key: str, s, domain) -> str:
    """A set of values of ``key`` in words: 'b_t < 1.6068', '0.2 <= rho <= 0.5', ..."""
    import sympy as sp

    if s == sp.EmptySet:
        return f"no {key}"
    if s == domain:
        return f"any {key} in its domain"
    texts = []
    for iv in _intervals(s):
        lo, hi = iv["lower"], iv["upper"]
        dlo = float(domain.inf) if isinstance(domain, sp.Interval) else float("-inf")
        dhi = float(domain.sup) if isinstance(domain, sp.Interval) else float("inf")
        if lo["float"] == hi["float"]:
            texts.append(f"{key} = {_g(lo['float'])}")
            continue
        has_lo = lo["float"] > dlo or (
            lo["float"] == dlo and not _closed_lo(domain) and iv["lower_closed"]
        )
        has_hi = hi["float"] < dhi or (
            hi["float"] == dhi and not _closed_hi(domain) and iv["upper_closed"]
        )
        left = f"{_g(lo['float'])} {'<=' if iv['lower_closed'] else '<'} " if has_lo else ""
        right = f" {'<=' if iv['upper_closed'] else '<'} {_g(hi['float'])}" if has_hi else ""
        if not left and not right:
            texts.append(f"any {key} in its domain")
        elif left and not right:
            texts.append(f"{key} {'>=' if iv['lower_closed'] else '>'} {_g(lo['float'])}")
        else:
            texts.append(f"{left}{key}{right}")
    return " or ".join(texts)


def _closed_lo(domain) -> bool:
    import sympy as sp

    return isinstance(domain, sp.Interval) and not domain.left_open


def _closed_hi(domain) -> bool:
    import sympy as sp

    return isinstance(domain, sp.Interval) and not domain.right_open


# --------------------------------------------------------------------------------------
# minimize expressions
# --------------------------------------------------------------------------------------

_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.Constant)
_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub, ast.UAdd)


#: Names of the mechanism's money flows per round in a ``--minimize`` expression
#: (:class:`~derelay.mechanism.Funding`: minted, paid in from outside, both).  A numeric
#: parameter of the same name wins: the flow is then not available under that name.
FLOW_NAMES = ("issuance", "external", "funding")


def flow_names(mech: Mechanism) -> tuple[str, ...]:
    """The flow names a ``--minimize`` expression of ``mech`` may use."""
    return tuple(n for n in FLOW_NAMES if n not in set(mech.space.numeric_keys))


def objective(mech: Mechanism, expr: str):
    """Parse ``expr`` (names of parameters, ``issuance``, numbers, + - * /) into f(p)."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        raise DesignError(f"option '--minimize' = {expr!r} is not an expression") from None
    flows = flow_names(mech)
    names = set(mech.space.numeric_keys) | set(flows)
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp | ast.UnaryOp):
            if not isinstance(node.op, _OPS):
                raise DesignError(f"option '--minimize' = {expr!r}: only + - * / are allowed")
        elif not isinstance(node, _ALLOWED + _OPS):
            raise DesignError(
                f"option '--minimize' = {expr!r}: only names, numbers, + - * / and parentheses"
            )
        if isinstance(node, ast.Name) and node.id not in names:
            raise DesignError(
                f"option '--minimize' = {expr!r}: unknown name '{node.id}'"
                f"{mech.space.did_you_mean(node.id)}; allowed parameters of {mech.name}, "
                + ", ".join(flows[:-1])
                + (f" or {flows[-1]}" if len(flows) > 1 else "".join(flows))
            )
        if isinstance(node, ast.Constant) and (
            isinstance(node.value, bool) or not isinstance(node.value, int | float)
        ):
            raise DesignError(f"option '--minimize' = {expr!r}: only numeric constants")
    code = tree.body

    def f(p):
        def ev(n):
            if isinstance(n, ast.Constant):
                return Fraction(repr(n.value)) if isinstance(n.value, float) else n.value
            if isinstance(n, ast.Name):
                if n.id in flows:
                    if mech.funding is None:
                        raise DesignError(f"mechanism {mech.name} declares no funding ({n.id})")
                    minted, external = mech.funding.minted(p), mech.funding.external(p)
                    return {"issuance": minted, "external": external}.get(n.id, minted + external)
                return getattr(p, n.id)
            if isinstance(n, ast.UnaryOp):
                v = ev(n.operand)
                return -v if isinstance(n.op, ast.USub) else v
            a, b = ev(n.left), ev(n.right)
            op = n.op
            if isinstance(op, ast.Add):
                return a + b
            if isinstance(op, ast.Sub):
                return a - b
            if isinstance(op, ast.Mult):
                return a * b
            return a / b

        return ev(code)

    return f


# --------------------------------------------------------------------------------------
# the query
# --------------------------------------------------------------------------------------


def design(
    mechanism: str | Mechanism = "derelayl",
    base: Mapping[str, Any] | None = None,
    free: Sequence[str] = (),
    want: Sequence[str] = ("ir", "ic"),
    roles: Sequence[str] | None = None,
    minimize: str | None = None,
    rlimit: int = DEFAULT_RLIMIT,
) -> dict[str, Any]:
    """Answer a design query (see the module docstring); a JSON-ready dict."""
    mech = get_mechanism(mechanism) if isinstance(mechanism, str) else mechanism
    space = mech.space
    point = (
        space.defaults()
        if base is None
        else (base if getattr(base, "space", None) is space else space.validate(dict(base)))
    )
    free = list(dict.fromkeys(free))
    if not free:
        raise DesignError("option '--free' is empty: name at least one parameter")
    for k in free:
        if k not in space:
            raise DesignError(
                f"option '--free' = {k!r} is not a parameter of {mech.name}{space.did_you_mean(k)}"
            )
        if not space.info[k].numeric:
            raise DesignError(f"option '--free' = {k!r} is not a number parameter")
    props = properties(mech, want, roles)
    if not props:
        raise DesignError("no properties to check: --want/--role select nothing")
    obj = objective(mech, minimize) if minimize else None
    head = {
        "mechanism": mech.name,
        "free": free,
        "want": list(want),
        "roles": list(roles) if roles else [r.abbr for r in mech.roles],
        "base": {k: v for k, v in point.to_dict().items() if k not in free},
        "properties": [p.name for p in props],
    }
    if len(free) == 1:
        return {**head, **_design_1d(mech, point, free[0], props, obj, rlimit)}
    return {**head, **_design_nd(mech, point, free, props, obj, rlimit)}


def _symbolic(mech, point, free):
    import z3

    ctx = z3.Context()
    p = mech.space.symbolic(free, base=point, ctx=ctx)
    return p, ctx


def _domain_terms(space, p, free):
    import z3

    out = []
    for t in space.domain_constraints(p, free):
        if z3.is_expr(t):
            out.append(t)
        elif not bool(t):
            out.append(False)
    return out


def _as_bool(t, ctx):
    import z3

    return t if z3.is_expr(t) else z3.BoolVal(bool(t), ctx)


def _z3_check(terms, ctx, rlimit):
    import z3

    s = z3.Solver(ctx=ctx)
    s.set("rlimit", int(rlimit))
    s.add(*terms)
    r = s.check()
    return ("sat" if r == z3.sat else "unsat" if r == z3.unsat else "unknown"), s


def _replay(mech, point, values: Mapping[str, Fraction], props) -> dict[str, bool]:
    from derelay.mechanism.ops import all_of

    ex = dict(vars(mech.space.exact(point)))
    ex.update(values)
    pe = ParamValues(**ex)
    return {pr.name: bool(all_of(pr.formula(pe))) for pr in props}


def _inner_point(iv) -> Fraction:
    import math

    lo, hi = iv["lower"]["float"], iv["upper"]["float"]
    if lo == hi:
        return (
            Fraction(iv["lower"]["exact"])
            if "/" in iv["lower"]["exact"] or iv["lower"]["exact"].lstrip("-").isdigit()
            else Fraction(lo)
        )
    if math.isinf(lo) and math.isinf(hi):
        return Fraction(0)
    if math.isinf(lo):
        return Fraction(hi) - 1
    if math.isinf(hi):
        return Fraction(lo) + 1
    return (Fraction(lo) + Fraction(hi)) / 2


def _design_1d(mech, point, key, props, obj, rlimit) -> dict[str, Any]:
    import sympy as sp

    space = mech.space
    spec = space.info[key]
    p, ctx = _symbolic(mech, point, [key])
    x = sp.Symbol(key, real=True)
    symbols = {key: x}
    try:
        dom = sp.Interval(-sp.oo, sp.oo)
        for t in _domain_terms(space, p, [key]):
            dom = sp.Intersection(dom, _solve_set(to_sympy(t, symbols), x, sp.Reals))
        if spec.kind == "int" or spec.domain.integer:
            dom = sp.Intersection(dom, sp.Integers)
        sets = {}
        for pr in props:
            sets[pr.name] = sp.simplify(
                _solve_set(to_sympy(_as_bool(pr.formula(p), ctx), symbols), x, dom)
            )
    except (DesignError, NotImplementedError, TypeError, ValueError) as exc:
        return {
            "status": "unknown",
            "reason": f"not solvable exactly: {exc}",
            "region": None,
            "conflict": None,
            "optimum": None,
        }
    region = dom
    for s in sets.values():
        region = sp.Intersection(region, s)
    region = sp.simplify(region)
    bounds = [
        {"property": n, "needs": describe_set(key, s, dom), "set": _intervals_or_none(s)}
        for n, s in sets.items()
    ]
    # z3 double-check (deterministic): the region's description must agree with z3
    all_terms = [_as_bool(pr.formula(p), ctx) for pr in props]
    dom_terms = [_as_bool(t, ctx) for t in _domain_terms(space, p, [key])]
    if region == sp.EmptySet:
        st, _ = _z3_check([*dom_terms, *all_terms], ctx, rlimit)
        if st != "unsat":
            return {
                "status": "unknown",
                "reason": f"z3 says {st} where sympy found no value",
                "region": None,
                "conflict": None,
                "optimum": None,
                "bounds": bounds,
            }
        conflict = _minimal_conflict(list(sets), lambda names: _empty(sets, names, dom))
        return {
            "status": "empty",
            "region": {"intervals": [], "text": f"no {key}"},
            "conflict": {
                "properties": [
                    {"property": n, "needs": describe_set(key, sets[n], dom)} for n in conflict
                ],
                "text": "; ".join(f"{n} needs {describe_set(key, sets[n], dom)}" for n in conflict)
                + f"; no {key} satisfies {'both' if len(conflict) == 2 else 'all of them'}",
            },
            "optimum": None,
            "bounds": bounds,
        }
    try:
        ivs = _intervals(region)
    except DesignError as exc:
        return {
            "status": "unknown",
            "reason": str(exc),
            "region": None,
            "conflict": None,
            "optimum": None,
            "bounds": bounds,
        }
    for iv in ivs:
        probe = _inner_point(iv)
        if spec.kind == "int":
            probe = Fraction(round(float(probe)))
        ok = _replay(mech, point, {key: probe}, props)
        if not all(ok.values()):
            return {
                "status": "unknown",
                "reason": f"exact replay at {key} = {probe} disagrees",
                "region": None,
                "conflict": None,
                "optimum": None,
                "bounds": bounds,
            }
    optimum = None
    if obj is not None:
        optimum = _minimize_1d(obj, p, x, symbols, region, ctx)
    return {
        "status": "region",
        "region": {
            "intervals": ivs,
            "text": describe_set(key, region, dom),
            "integers": spec.kind == "int" or spec.domain.integer,
        },
        "conflict": None,
        "optimum": optimum,
        "bounds": bounds,
    }


def _intervals_or_none(s):
    try:
        return _intervals(s)
    except DesignError:
        return None


def _empty(sets, names, dom) -> bool:
    import sympy as sp

    region = dom
    for n in names:
        region = sp.Intersection(region, sets[n])
    return sp.simplify(region) == sp.EmptySet


def _minimal_conflict(names: list[str], is_empty) -> list[str]:
    """Deletion-based minimisation: an irreducible subset that is still empty."""
    core = list(names)
    for n in list(names):
        trial = [m for m in core if m != n]
        if trial and is_empty(trial):
            core = trial
    return core


def _minimize_1d(obj, p, x, symbols, region, ctx) -> dict[str, Any]:
    import sympy as sp
    from sympy.calculus.util import minimum

    try:
        f = to_sympy(obj(p), symbols)
        inf = minimum(f, x, region)
    except (DesignError, NotImplementedError, TypeError, ValueError) as exc:
        return {"status": "unknown", "reason": str(exc)}
    if inf in (sp.oo, -sp.oo) or inf is sp.nan:
        return {"status": "unbounded", "value": _num(inf)}
    where = sp.solveset(sp.Eq(f, inf), x, region)
    attained = where != sp.EmptySet
    arg = None
    if attained and isinstance(where, sp.FiniteSet):
        arg = _num(min(where, key=float))
    else:
        # the infimum is approached at a boundary of the region
        cands = [b for b in (region.inf, region.sup) if b not in (sp.oo, -sp.oo)]
        near = [b for b in cands if sp.simplify(f.subs(x, b) - inf) == 0]
        arg = _num(near[0]) if near else None
    return {"status": "optimum", "value": _num(inf), "attained": bool(attained), "at": arg}


def _design_nd(mech, point, free, props, obj, rlimit) -> dict[str, Any]:
    import z3

    space = mech.space
    p, ctx = _symbolic(mech, point, free)
    dom_terms = [_as_bool(t, ctx) for t in _domain_terms(space, p, free)]
    terms = {pr.name: _as_bool(pr.formula(p), ctx) for pr in props}
    described = [{"property": n, "needs": _infix(t)} for n, t in terms.items()]
    st, s = _z3_check([*dom_terms, *terms.values()], ctx, rlimit)
    if st == "unknown":
        return {
            "status": "unknown",
            "reason": s.reason_unknown(),
            "region": None,
            "conflict": None,
            "optimum": None,
            "bounds": described,
        }
    if st == "unsat":

        def is_empty(names):
            r, _ = _z3_check([*dom_terms, *(terms[n] for n in names)], ctx, rlimit)
            return r == "unsat"

        conflict = _minimal_conflict(list(terms), is_empty)
        return {
            "status": "empty",
            "region": None,
            "conflict": {
                "properties": [{"property": n, "needs": _infix(terms[n])} for n in conflict],
                "text": "; ".join(f"{n} needs {_infix(terms[n])}" for n in conflict)
                + f"; no ({', '.join(free)}) satisfies all of them",
            },
            "optimum": None,
            "bounds": described,
        }
    m = s.model()
    witness = {}
    for k in free:
        v = m.eval(getattr(p, k), model_completion=True)
        witness[k] = (
            Fraction(v.numerator_as_long(), v.denominator_as_long())
            if z3.is_rational_value(v)
            else Fraction(float(v.approx(20).as_fraction()))
        )
    ok = _replay(mech, point, witness, props)
    if not all(ok.values()):
        return {
            "status": "unknown",
            "reason": "z3's witness did not replay exactly",
            "region": None,
            "conflict": None,
            "optimum": None,
            "bounds": described,
        }
    optimum = None
    if obj is not None:
        optimum = _minimize_nd(obj, p, free, [*dom_terms, *terms.values()], ctx, rlimit)
    return {
        "status": "region",
        "region": {
            "text": " and ".join(f"{d['property']}: {d['needs']}" for d in described),
            "witness": {k: {"exact": str(v), "float": float(v)} for k, v in witness.items()},
        },
        "conflict": None,
        "optimum": optimum,
        "bounds": described,
    }


def _minimize_nd(obj, p, free, constraints, ctx, rlimit) -> dict[str, Any]:
    import z3

    o = z3.Optimize(ctx=ctx)
    o.set("rlimit", int(rlimit))
    o.set("timeout", 120_000)  # outer safety net only; rlimit decides
    o.add(*constraints)
    f = obj(p)
    if not z3.is_expr(f):
        return {
            "status": "optimum",
            "value": {"exact": str(f), "float": float(f)},
            "attained": True,
        }
    h = o.minimize(f)
    r = o.check()
    if r != z3.sat:
        return {"status": "unknown", "reason": o.reason_unknown() if r == z3.unknown else "unsat"}
    lo = o.lower(h)
    text = str(lo)
    if "oo" in text:
        return {"status": "unbounded", "value": {"exact": "-inf", "float": float("-inf")}}
    attained = "epsilon" not in text
    val = lo if attained else z3.substitute(lo, (z3.Real("epsilon", ctx), z3.RealVal(0, ctx)))
    val = z3.simplify(val)
    if not z3.is_rational_value(val):
        return {"status": "unknown", "reason": f"optimum {text} is not a rational number"}
    fv = Fraction(val.numerator_as_long(), val.denominator_as_long())
    at = None
    if attained:
        m = o.model()
        at = {k: str(m.eval(getattr(p, k), model_completion=True)) for k in free}
    return {
        "status": "optimum",
        "value": {"exact": str(fv), "float": float(fv)},
        "attained": attained,
        "at": at,
    }


def _infix(t) -> str:
    """A readable exact rendering of a z3 boolean term (through sympy)."""
    import sympy as sp
    import z3

    names = {str(c): sp.Symbol(str(c), real=True) for c in _consts(t)}
    try:
        e = to_sympy(t, names)
        return sp.sstr(sp.simplify(e))
    except (DesignError, TypeError, ValueError):
        return str(z3.simplify(t))


def _consts(t) -> list:
    import z3

    out, stack, seen = [], [t], set()
    while stack:
        e = stack.pop()
        if z3.is_const(e) and e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            if str(e) not in seen:
                seen.add(str(e))
                out.append(e)
        else:
            stack.extend(e.children())
    return out


# --------------------------------------------------------------------------------------
# grid maps (two free parameters)
# --------------------------------------------------------------------------------------


def grid_map(
    mechanism: str | Mechanism,
    base: Mapping[str, Any] | None,
    axes: Mapping[str, Sequence[float]],
    want: Sequence[str] = ("ir", "ic"),
    roles: Sequence[str] | None = None,
):
    """A pandas DataFrame over a 2-D grid: every property's verdict and ``all``."""
    import numpy as np
    import pandas as pd

    from derelay.mechanism.ops import all_of

    mech = get_mechanism(mechanism) if isinstance(mechanism, str) else mechanism
    point = mech.space.defaults() if base is None else mech.space.validate(dict(base))
    if len(axes) != 2:
        raise DesignError(f"a grid map needs exactly two free parameters, got {len(axes)}")
    try:
        g = mech.space.grid(point, **{k: np.asarray(v, dtype=float) for k, v in axes.items()})
    except ParamsError as exc:
        raise DesignError(str(exc)) from None
    props = properties(mech, want, roles)
    cols = {k: np.asarray(getattr(g, k)) for k in axes}
    n = len(next(iter(cols.values())))
    verdicts = {}
    for pr in props:
        v = np.broadcast_to(np.asarray(all_of(pr.formula(g)), dtype=bool), (n,))
        verdicts[pr.name] = v
    df = pd.DataFrame({**cols, **verdicts})
    df["all"] = np.logical_and.reduce([df[c].to_numpy() for c in verdicts]) if verdicts else True
    return df
