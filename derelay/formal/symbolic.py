"""Shared solver machinery: the symbolic point, exact replay and z3 helpers.

Nothing here writes a utility.  The mechanism core's functions
(:mod:`derelay.mechanism.derelayl`) evaluate floats, numpy arrays, :class:`Fraction`
and z3 terms alike; this module only builds the *points* they are evaluated on:

* :func:`symbolic_point` -- every mechanism parameter as a z3 ``Real``;
* :func:`exact_point` -- a point of exact :class:`fractions.Fraction` values (floats are
  read through their shortest decimal ``repr``, so ``0.1`` is exactly 1/10); the
  replay of every solver witness goes through the core formulas at such a point;
* :func:`nice_model` -- a solver witness that stays at a base point (the defaults or
  a user file) in every coordinate except those the query forces to move, found by
  iterated unsat cores of "parameter = base value" assumptions;
* :func:`affine_split` -- coefficient extraction of a formula that is affine in one
  variable (used to solve break-even values exactly and to print exact conditions);
* :func:`to_numpy` -- evaluates a z3 arithmetic term on numpy arrays (so grid
  computations reuse coefficients derived from the core formulas, never re-typed);
* :func:`infix` -- a readable one-line rendering of a z3 term.

Determinism
-----------
A verdict or witness must be a function of its inputs only.  z3's answers depend on the
state of the *context* their terms live in (term ids, the order variables were created
in, what earlier queries left behind), and the global context carries every earlier
query of the process.  So every query builds its terms in a context of its own
(:func:`fresh_context`; :func:`symbolic_point`, :func:`zval` and the solvers take
``ctx``, and the helpers below work in the context of the terms they are given), and
every check carries a deterministic resource limit (``rlimit``, :func:`limit`) that
decides when it gives up.  The wall clock is an outer safety net only
(``WALL_FACTOR`` times the budget), never reached on a working machine.  Nothing here
caches z3 objects between queries.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import z3

from derelay.mechanism import get_mechanism
from derelay.params import MECHANISM_KEYS, Params, ParamValues, as_values, domain_constraints

#: Default per-query time budget in seconds (``--timeout``).
DEFAULT_TIMEOUT = 5.0

#: The budget is spent as a deterministic z3 resource limit (``rlimit``, counted per
#: ``check``): ``timeout`` seconds buy ``timeout * RLIMIT_PER_SECOND`` units, so a verdict
#: depends on its inputs (and the budget) only, never on machine load.  The largest single
#: check of ``prove_all``, ``feasible_rewards`` and ``deviations.search`` at the defaults
#: uses under 1e6 units, i.e. a quarter of a second of budget.
RLIMIT_PER_SECOND = 4_000_000
#: Default resource limit of one check (the default budget).
DEFAULT_RLIMIT = int(DEFAULT_TIMEOUT * RLIMIT_PER_SECOND)
#: The wall clock is only an outer safety net: ``WALL_FACTOR`` times the budget.
WALL_FACTOR = 20.0


class FormalError(ValueError):
    """Bad input to a formal query; the message names the parameter and allowed range."""


# ------------------------------------------------------------------------------------
# Points
# ------------------------------------------------------------------------------------


def fresh_context() -> z3.Context:
    """A new z3 context: one per query, so an answer never depends on earlier queries."""
    return z3.Context()


def symbolic_point(keys: Iterable[str] = MECHANISM_KEYS, ctx: z3.Context | None = None):
    """Every parameter in ``keys`` as a z3 Real of the same name (in ``ctx``; pass a
    :func:`fresh_context` per query -- the default is a new context too, never z3's
    global one)."""
    ctx = fresh_context() if ctx is None else ctx
    return ParamValues(**{k: z3.Real(k, ctx) for k in keys})


def context_of(*things: Any) -> z3.Context | None:
    """The z3 context of the first z3 term found in ``things`` (terms, lists of terms,
    :class:`ParamValues`), or None."""
    for t in things:
        if isinstance(t, z3.AstRef):
            return t.ctx
        if isinstance(t, ParamValues):
            t = list(t.as_dict().values())
        if isinstance(t, list | tuple):
            c = context_of(*t)
            if c is not None:
                return c
    return None


def to_fraction(x: Any) -> Fraction:
    """Exact rational of a float/int/Fraction/z3 numeral (floats via ``repr``)."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, bool):
        return Fraction(int(x))
    if isinstance(x, int):
        return Fraction(x)
    if isinstance(x, float | np.floating):
        if not math.isfinite(float(x)):
            raise FormalError(f"non-finite value {x!r}")
        return Fraction(repr(float(x)))
    if isinstance(x, z3.ExprRef):
        if z3.is_rational_value(x):
            return Fraction(x.numerator_as_long(), x.denominator_as_long())
        if z3.is_int_value(x):
            return Fraction(x.as_long())
        if z3.is_algebraic_value(x):
            return to_fraction(x.approx(30))
        v = z3.simplify(x)
        if v is not x and (z3.is_rational_value(v) or z3.is_int_value(v)):
            return to_fraction(v)
        raise FormalError(f"not a numeral: {x}")
    return Fraction(str(x))


def exact_point(params: Params | Mapping[str, Any] | ParamValues) -> ParamValues:
    """A point of exact Fractions (all keys of ``params``)."""
    vals = as_values(params).as_dict()
    return ParamValues(**{k: to_fraction(v) for k, v in vals.items()})


def base_fractions(params: Params | None) -> dict[str, Fraction]:
    """The mechanism keys of ``params`` (defaults if None) as exact Fractions."""
    params = params or Params()
    d = params.model_dump()
    return {k: to_fraction(d[k]) for k in MECHANISM_KEYS}


def zval(f: Fraction, ctx: z3.Context | None = None) -> z3.ArithRef:
    """The exact rational ``f`` as a z3 numeral in ``ctx``."""
    if f.denominator != 1:
        return z3.Q(f.numerator, f.denominator, ctx)
    return z3.RealVal(f.numerator, ctx)


def fmt_fraction(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def as_float(x: Any) -> float:
    return float(to_fraction(x)) if not isinstance(x, float) else x


def point_dict(point: Mapping[str, Fraction]) -> dict[str, float]:
    return {k: float(v) for k, v in point.items()}


def point_exact(point: Mapping[str, Fraction]) -> dict[str, str]:
    return {k: fmt_fraction(v) for k, v in point.items()}


# ------------------------------------------------------------------------------------
# Solving
# ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """A satisfiability query's answer: "sat", "unsat" or "unknown" (+ reason)."""

    status: str
    model: dict[str, Fraction] | None = None
    reason: str = ""
    seconds: float = 0.0
    moved: list[str] = field(default_factory=list)


def limit(s, timeout: float = DEFAULT_TIMEOUT, rlimit: int | None = None):
    """Give a z3 ``Solver`` or ``Optimize`` its limits for a budget of ``timeout`` seconds:
    the deterministic resource limit ``rlimit`` per check (default ``timeout *
    RLIMIT_PER_SECOND``), which decides verdicts, and a wall-clock limit of ``WALL_FACTOR
    * timeout`` as an outer safety net only.  Returns ``s``."""
    if timeout is None or not math.isfinite(timeout) or timeout <= 0:
        raise FormalError(f"parameter 'timeout' = {timeout!r} is out of range: allowed timeout > 0")
    units = int(timeout * RLIMIT_PER_SECOND) if rlimit is None else int(rlimit)
    s.set("rlimit", max(1, units))
    s.set("timeout", max(1, int(round(WALL_FACTOR * timeout * 1000))))
    return s


def make_solver(timeout: float, ctx: z3.Context | None = None) -> z3.Solver:
    """A fresh solver in ``ctx`` with :func:`limit` applied.  Pass the context of the
    query's terms (:func:`context_of`); the global context is never used implicitly."""
    if ctx is None:
        raise FormalError("make_solver needs the query's z3 context (see fresh_context)")
    return limit(z3.Solver(ctx=ctx), timeout)


def _model_values(m: z3.ModelRef, sym: ParamValues, base: Mapping[str, Fraction]):
    out: dict[str, Fraction] = {}
    for k, var in sym.as_dict().items():
        v = m.eval(var, model_completion=False)
        if z3.eq(v, var):  # unconstrained: keep the base value
            out[k] = base.get(k, Fraction(0))
        else:
            out[k] = to_fraction(v)
    return out


def _tidy(s, active, lits, sym, base, target):
    """Make a found model readable: restore moved coordinates to their base value
    where possible, then try round values (0, 1) for the rest.  Every step is a check
    under the solver's resource limit (no clock), so the witness depends on the query
    only."""
    model = _model_values(s.model(), sym, base)
    moved = [k for k in lits if k not in active]
    for k in moved:
        trial = {**active, k: lits[k]}
        if s.check(*trial.values()) == z3.sat:
            active = trial
            model = _model_values(s.model(), sym, base)
    vars_ = sym.as_dict()
    extra = []
    for k in [k for k in lits if k not in active]:
        for v in (0, 1):
            if model[k] == v:
                break
            lit = vars_[k] == v
            if s.check(*active.values(), *extra, lit) == z3.sat:
                extra.append(lit)
                model = _model_values(s.model(), sym, base)
                break
    if extra:
        s.check(*active.values(), *extra)
        model = _model_values(s.model(), sym, base)
    return active, model


def _drop_one(active: dict, core: set[str], release: Iterable[str] = ()) -> dict:
    """Release one coordinate named in the unsat core: the first of ``release`` (a
    mechanism's preferred order, e.g. its design levers first), else the first in the
    point's key order."""
    names = [k for k, v in active.items() if str(v) in core]
    if not names:
        return active
    rank = {k: i for i, k in enumerate(release)}
    victim = min(names, key=lambda k: rank.get(k, len(rank)))
    return {k: v for k, v in active.items() if k != victim}


def nice_model(
    constraints: list,
    sym: ParamValues,
    base: Mapping[str, Fraction],
    timeout: float = DEFAULT_TIMEOUT,
    prefer: Mapping[str, Fraction] | None = None,
    release: Iterable[str] = (),
) -> Outcome:
    """Is ``constraints`` satisfiable?  If so, a model close to ``base``.

    Every parameter is first assumed equal to its base value (tracked by a Boolean
    literal); the unsat core names the assumptions that must go, they are dropped and
    the query repeated.  The answer therefore moves as few coordinates as the
    query needs (greedily), which makes witnesses readable.  ``prefer`` overrides
    base values for the assumptions (e.g. a round value such as 0 for a key).
    ``release``: the order in which coordinates leave the base point when an unsat core
    offers several (the mechanism's choice; default the key order of ``sym``).

    Runs in the context of ``constraints`` and ``sym`` (build them in a
    :func:`fresh_context` per query), every check under the resource limit.
    """
    t0 = time.perf_counter()
    ctx = context_of(sym, constraints)
    release = tuple(release)
    s = make_solver(timeout, ctx)
    s.set("core.minimize", True)
    s.add(*constraints)
    first = s.check()  # decide first; readable witnesses only for satisfiable queries
    if first == z3.unsat:
        return Outcome("unsat", seconds=time.perf_counter() - t0)
    if first == z3.unknown:
        return Outcome("unknown", reason=s.reason_unknown(), seconds=time.perf_counter() - t0)
    lits = {}
    target = dict(base)
    if prefer:
        target.update(prefer)
    for k, var in sym.as_dict().items():
        if k in target:
            lit = z3.Bool(f"__at_{k}", ctx)
            s.add(z3.Implies(lit, var == zval(target[k], ctx)))
            lits[k] = lit
    active = dict(lits)
    while True:
        r = s.check(*active.values())
        if r == z3.sat:
            active, model = _tidy(s, active, lits, sym, base, target)
            moved = [k for k in lits if k not in active]
            return Outcome("sat", model, seconds=time.perf_counter() - t0, moved=moved)
        if r == z3.unknown:
            return Outcome("unknown", reason=s.reason_unknown(), seconds=time.perf_counter() - t0)
        core = {str(c) for c in s.unsat_core()}
        smaller = _drop_one(active, core, release)
        if len(smaller) == len(active):  # nothing left to release: solver disagrees with itself
            return Outcome(
                "unknown", reason="incomplete unsat core", seconds=time.perf_counter() - t0
            )
        active = smaller


def verdict(r, sat: Any = "sat", unsat: Any = "unsat", unknown: Any = "unknown") -> Any:
    """Map a z3 ``CheckSatResult`` (unhashable) to a label."""
    if r == z3.sat:
        return sat
    if r == z3.unsat:
        return unsat
    return unknown


def check_sat(constraints: list, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
    """Satisfiability of ``constraints`` (in their own context, under the rlimit)."""
    t0 = time.perf_counter()
    s = make_solver(timeout, context_of(constraints))
    s.add(*constraints)
    r = s.check()
    dt = time.perf_counter() - t0
    if r == z3.sat:
        return Outcome("sat", seconds=dt)
    if r == z3.unsat:
        return Outcome("unsat", seconds=dt)
    return Outcome("unknown", reason=s.reason_unknown(), seconds=dt)


def prove(claim, assumptions: list, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
    """``assumptions`` imply ``claim``?  "unsat" of the negation means proved."""
    return check_sat([*assumptions, z3.Not(claim)], timeout)


def domain(sym: ParamValues) -> list:
    return domain_constraints(sym)


def conditions(sym: Any, names: Iterable[str] | None = None, mechanism: str = "derelayl"):
    mech = get_mechanism(mechanism)
    names = set(names) if names is not None else None
    return [c.holds(sym) for c in mech.conditions if names is None or c.name in names]


# ------------------------------------------------------------------------------------
# Algebra on z3 terms
# ------------------------------------------------------------------------------------


def affine_split(fn: Callable[[Any], Any], sym: ParamValues, var: str):
    """``fn(sym) = a * var + c``: return (a, c) as simplified z3 terms (or raise).

    Checked exactly: the second difference in ``var`` must vanish identically.
    """

    def at(v):
        d = sym.as_dict()
        d[var] = v
        return fn(ParamValues(**d))

    ctx = context_of(sym)
    f0, f1, f2 = at(z3.RealVal(0, ctx)), at(z3.RealVal(1, ctx)), at(z3.RealVal(2, ctx))
    a = z3.simplify(f1 - f0)
    c = z3.simplify(f0)
    second = z3.simplify(f2 - 2 * f1 + f0, som=True)
    if not (z3.is_rational_value(second) and second.numerator_as_long() == 0):
        s = make_solver(2.0, ctx)
        try:
            s.add(*domain_constraints(sym))
        except AttributeError:
            pass
        s.add(second != 0)
        if s.check() != z3.unsat:
            raise FormalError(f"formula is not affine in {var}")
    return a, c


def comparison_parts(expr: z3.BoolRef):
    """(lhs, relation, rhs) of a z3 comparison."""
    kinds = {
        z3.Z3_OP_GE: ">=",
        z3.Z3_OP_GT: ">",
        z3.Z3_OP_LE: "<=",
        z3.Z3_OP_LT: "<",
        z3.Z3_OP_EQ: "==",
    }
    k = expr.decl().kind()
    if k not in kinds:
        raise FormalError(f"not a comparison: {expr}")
    return expr.arg(0), kinds[k], expr.arg(1)


def to_numpy(expr: z3.ExprRef, env: Mapping[str, Any]) -> Any:
    """Evaluate an arithmetic z3 term with numpy values bound to its constants."""
    if z3.is_rational_value(expr):
        return expr.numerator_as_long() / expr.denominator_as_long()
    if z3.is_int_value(expr):
        return float(expr.as_long())
    if z3.is_const(expr):
        return env[str(expr)]
    k = expr.decl().kind()
    args = [to_numpy(a, env) for a in expr.children()]
    if k == z3.Z3_OP_ADD:
        out = args[0]
        for a in args[1:]:
            out = out + a
        return out
    if k == z3.Z3_OP_MUL:
        out = args[0]
        for a in args[1:]:
            out = out * a
        return out
    if k == z3.Z3_OP_SUB:
        out = args[0]
        for a in args[1:]:
            out = out - a
        return out
    if k == z3.Z3_OP_UMINUS:
        return -args[0]
    if k == z3.Z3_OP_DIV:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.divide(args[0], args[1])
    if k == z3.Z3_OP_TO_REAL:
        return args[0]
    raise FormalError(f"unsupported operator in {expr}")


def substitute(expr: z3.ExprRef, values: Mapping[str, Fraction]) -> z3.ExprRef:
    ctx = expr.ctx
    pairs = [(z3.Real(k, ctx), zval(v, ctx)) for k, v in values.items()]
    return z3.simplify(z3.substitute(expr, *pairs)) if pairs else z3.simplify(expr)


def infix(expr: z3.ExprRef) -> str:
    """A compact infix rendering of a z3 arithmetic/boolean term on one line."""
    return _infix(expr, 0)


_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "*": 6, "/": 6, "neg": 7, "atom": 9}


def _wrap(text: str, prec: int, outer: int) -> str:
    return f"({text})" if prec < outer else text


def _infix(e: z3.ExprRef, outer: int) -> str:
    if z3.is_rational_value(e) or z3.is_int_value(e):
        f = to_fraction(e)
        txt = fmt_fraction(f)
        return _wrap(txt, _PREC["neg"] if f < 0 or f.denominator != 1 else 9, outer)
    if z3.is_true(e):
        return "true"
    if z3.is_false(e):
        return "false"
    if z3.is_const(e):
        return str(e)
    k = e.decl().kind()
    ch = e.children()
    cmp = {
        z3.Z3_OP_GE: ">=",
        z3.Z3_OP_GT: ">",
        z3.Z3_OP_LE: "<=",
        z3.Z3_OP_LT: "<",
        z3.Z3_OP_EQ: "=",
    }
    if k in cmp:
        p = _PREC["cmp"]
        return _wrap(f"{_infix(ch[0], p + 1)} {cmp[k]} {_infix(ch[1], p + 1)}", p, outer)
    if k == z3.Z3_OP_AND:
        p = _PREC["and"]
        return _wrap(" and ".join(_infix(c, p + 1) for c in ch), p, outer)
    if k == z3.Z3_OP_OR:
        p = _PREC["or"]
        return _wrap(" or ".join(_infix(c, p + 1) for c in ch), p, outer)
    if k == z3.Z3_OP_NOT and ch[0].decl().kind() in cmp:
        flip = {z3.Z3_OP_GE: "<", z3.Z3_OP_GT: "<=", z3.Z3_OP_LE: ">", z3.Z3_OP_LT: ">="}
        inner = ch[0]
        ik = inner.decl().kind()
        if ik in flip:
            p = _PREC["cmp"]
            a, b = inner.children()
            return _wrap(f"{_infix(a, p + 1)} {flip[ik]} {_infix(b, p + 1)}", p, outer)
    if k == z3.Z3_OP_NOT:
        return _wrap(f"not {_infix(ch[0], _PREC['not'])}", _PREC["not"], outer)
    if k == z3.Z3_OP_ADD:
        p = _PREC["+"]
        parts = []
        ch = [c for c in ch if not _is_zero_quotient(c)] or [z3.RealVal(0, e.ctx)]
        if len(ch) == 1:
            return _infix(ch[0], outer)
        for i, c in enumerate(ch):
            neg = _negated(c)
            if neg is not None:
                term = _infix(neg, p + 1)
                parts.append(f"- {term}" if i else f"-{term}")
            else:
                term = _infix(c, p)
                parts.append(f"+ {term}" if i else term)
        return _wrap(" ".join(parts), p, outer)
    if k == z3.Z3_OP_SUB:
        p = _PREC["+"]
        return _wrap(" - ".join([_infix(ch[0], p)] + [_infix(c, p + 1) for c in ch[1:]]), p, outer)
    if k == z3.Z3_OP_UMINUS:
        return _wrap(f"-{_infix(ch[0], _PREC['neg'])}", _PREC["neg"], outer)
    if k == z3.Z3_OP_MUL:
        p = _PREC["*"]
        if (z3.is_rational_value(ch[0]) or z3.is_int_value(ch[0])) and to_fraction(ch[0]) == -1:
            rest = ch[1:]
            inner = " * ".join(_infix(c, p) for c in rest)
            return _wrap(f"-{inner}" if len(rest) == 1 else f"-({inner})", _PREC["neg"], outer)
        return _wrap(" * ".join(_infix(c, p) for c in ch), p, outer)
    if k == z3.Z3_OP_DIV:
        p = _PREC["/"]
        return _wrap(f"{_infix(ch[0], p)} / {_infix(ch[1], p + 1)}", p, outer)
    if k == z3.Z3_OP_TO_REAL:
        return _infix(ch[0], outer)
    return str(e)


def _is_zero_quotient(e: z3.ExprRef) -> bool:
    """``0 / x`` (z3 keeps it because x may be 0; on our domains x != 0)."""
    if z3.is_rational_value(e):
        return to_fraction(e) == 0
    if e.decl().kind() == z3.Z3_OP_DIV:
        return _is_zero_quotient(e.arg(0))
    if e.decl().kind() == z3.Z3_OP_MUL:
        return any(_is_zero_quotient(c) for c in e.children())
    return False


def _negated(e: z3.ExprRef):
    """If ``e`` is ``-1 * x`` (or a negative numeral), return the positive part."""
    if z3.is_rational_value(e) and to_fraction(e) < 0:
        return zval(-to_fraction(e), e.ctx)
    if e.decl().kind() == z3.Z3_OP_MUL:
        ch = e.children()
        if z3.is_rational_value(ch[0]) and to_fraction(ch[0]) < 0:
            c = -to_fraction(ch[0])
            rest = ch[1:]
            prod = rest[0] if len(rest) == 1 else z3.Product(*rest)
            return prod if c == 1 else zval(c, e.ctx) * prod
    if e.decl().kind() == z3.Z3_OP_UMINUS:
        return e.arg(0)
    return None
