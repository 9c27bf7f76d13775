"""``derelay feasible``: rewards that meet T1-T8 exactly, at least issuance.

For fixed costs and counts every condition T1-T8 is *affine* in the seven rewards
(R_Cited, R_Deposit, R_HashM, R_EncryptedM, R_Case, R_VerifiedM, R_Verify); T7
involves none.  The coefficients are extracted from the core's own condition
functions (evaluated on z3 terms), never re-typed, and the design problem

    minimise  issuance(r)   s.t.  T1..T8 hold,  r >= 0

is an exact linear programme over the rationals, solved with z3's ``Optimize`` over
Reals and cross-checked with ``scipy.optimize.linprog`` (floating point).

Issuance per round
------------------
We use the core's :meth:`DeRelayL.issuance` (one source of truth): the citation
rewards of one round, ``(Q_Deposit / Q_Selected) * Q^MO_Selected * R_Cited`` (owners
implied by the deposits times each owner's expected selected trainers, the "now" part
of eq. 23), plus every miner reward of one block of each kind (Table II revenues):
``Q_Deposit R_Deposit + Q_HashM R_HashM + Q_EncryptedM R_EncryptedM + Q_Cases R_Case
+ Q_VerifiedM R_VerifiedM + Q_VerifiedM Q_Cases R_Verify``.  Deposits are transfers,
not issuance.

Strict conditions
-----------------
T8 (and T7) are strict.  A strict affine condition ``g(r) > 0`` is met with the
smallest documented margin ``g(r) >= epsilon`` (default ``1e-9`` coin, configurable),
so the returned design satisfies it strictly and exactly.  T7 involves no reward: if
it fails at the given deposit the design is infeasible and the conflict says so.

Parametric region
-----------------
:func:`feasible_region` evaluates the same extracted coefficients on a numpy grid of
(beta, s) (or any two parameters) and solves the separable LP in closed form per
point (each reward group enters its own conditions only); without a cap every point
where T7 holds and no count vanishes is feasible, so the region is interesting under
a cap on issuance or on R_Cited (e.g. the simulation's one coin per citation).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import z3

from derelay.formal.symbolic import (
    DEFAULT_TIMEOUT,
    FormalError,
    affine_split,
    base_fractions,
    fmt_fraction,
    fresh_context,
    infix,
    limit,
    substitute,
    symbolic_point,
    to_fraction,
    to_numpy,
    zval,
)
from derelay.mechanism import get_mechanism
from derelay.params import PARAM_INFO, REWARD_KEYS, Params, ParamValues, grid

DEFAULT_EPSILON = Fraction(1, 10**9)


@dataclass(frozen=True)
class LinearCondition:
    """``sum_k coeffs[k] * r_k + const  (>= | >)  0`` with z3 terms in the other params."""

    name: str
    strict: bool
    coeffs: dict[str, z3.ArithRef]
    const: z3.ArithRef
    description: str


def linear_structure(mechanism: str = "derelayl", ctx: z3.Context | None = None):
    """Conditions and issuance as affine functions of the rewards, as z3 terms in ``ctx``
    (a fresh context when omitted).  Not cached: z3 terms shared between queries would
    carry one query's solver history into the next."""
    mech = get_mechanism(mechanism)
    ctx = fresh_context() if ctx is None else ctx
    z = symbolic_point(ctx=ctx)
    conds = []
    for c in mech.conditions:

        def margin(p, c=c):
            e = c.holds(p)
            return e.arg(0) - e.arg(1)

        e = c.holds(z)
        strict = e.decl().kind() == z3.Z3_OP_GT
        coeffs = {}
        const = None
        for k in REWARD_KEYS:
            a, const = affine_split(margin, z, k)
            if not (z3.is_rational_value(a) and a.numerator_as_long() == 0):
                coeffs[k] = a
        zero = {k: z3.RealVal(0, ctx) for k in REWARD_KEYS}
        const = z3.simplify(
            z3.substitute(margin(z), *[(getattr(z, k), v) for k, v in zero.items()])
        )
        conds.append(LinearCondition(c.name, strict, coeffs, const, c.description))
    weights = {}
    for k in REWARD_KEYS:
        a, _ = affine_split(mech.issuance, z, k)
        weights[k] = a
    return conds, weights


def _num(expr, values: Mapping[str, Fraction]) -> Fraction:
    v = substitute(expr, values)
    try:
        return to_fraction(v)
    except FormalError:
        raise FormalError(f"division by zero in {infix(expr)}") from None


def _parse_epsilon(epsilon) -> Fraction:
    eps = to_fraction(epsilon)
    if eps <= 0:
        raise FormalError(
            f"parameter 'epsilon' = {float(eps)!r} is out of range: allowed epsilon > 0"
        )
    return eps


def feasible_rewards(
    params: Params | None = None,
    minimize: str = "issuance",
    epsilon: Any = DEFAULT_EPSILON,
    max_issuance: Any = None,
    max_rewards: Mapping[str, Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    mechanism: str = "derelayl",
) -> dict[str, Any]:
    """The ``derelay feasible --json`` object at ``params`` (costs and counts).

    ``minimize``: "issuance" (default) or "none" (any feasible design).
    ``max_issuance``: optional cap on issuance per round; ``max_rewards``: optional
    upper bounds per reward key (e.g. {"r_cited": 1} for the simulation's one coin).
    """
    if minimize not in ("issuance", "none"):
        raise FormalError(f"option 'minimize' = {minimize!r} is not allowed: use issuance or none")
    t0 = time.perf_counter()
    eps = _parse_epsilon(epsilon)
    mech = get_mechanism(mechanism)
    ctx = fresh_context()  # the whole design query lives in a context of its own
    conds, weights = linear_structure(mechanism, ctx)
    params = params or Params()
    point = base_fractions(params)
    others = {k: v for k, v in point.items() if k not in REWARD_KEYS}
    caps = {}
    for k, v in (max_rewards or {}).items():
        if k not in REWARD_KEYS:
            raise FormalError(
                f"unknown reward '{k}' in max_rewards: allowed {', '.join(REWARD_KEYS)}"
            )
        caps[k] = to_fraction(v)
        if caps[k] < 0:
            raise FormalError(
                f"parameter 'max_{k}' = {float(caps[k])!r} is out of range: allowed >= 0"
            )
    r = {k: z3.Real(k, ctx) for k in REWARD_KEYS}
    num_conds = []
    for c in conds:
        coeffs = {k: _num(a, others) for k, a in c.coeffs.items()}
        const = _num(c.const, others)
        num_conds.append((c, coeffs, const))
    notes = []
    try:
        w = {k: _num(weights[k], others) for k in REWARD_KEYS}
    except FormalError as exc:
        if minimize == "issuance":
            raise FormalError(
                f"issuance is undefined at this point ({exc}): parameter 'q_selected' must "
                "be > 0 to count model owners (or use --minimize none)"
            ) from None
        w = None
        notes.append(f"issuance undefined: {exc}")
    s = limit(z3.Optimize(ctx=ctx), timeout)
    tracked = {}
    for k in REWARD_KEYS:
        lit = z3.Bool(f"nonneg_{k}", ctx)
        s.add(z3.Implies(lit, r[k] >= 0))
        tracked[str(lit)] = ("nonneg", k)
    for c, coeffs, const in num_conds:
        expr = z3.Sum([zval(a, ctx) * r[k] for k, a in coeffs.items()] + [zval(const, ctx)])
        rhs = zval(eps, ctx) if c.strict else z3.RealVal(0, ctx)
        lit = z3.Bool(f"cond_{c.name}", ctx)
        s.add(z3.Implies(lit, expr >= rhs))
        tracked[str(lit)] = ("cond", c.name)
    for k, cap in caps.items():
        lit = z3.Bool(f"cap_{k}", ctx)
        s.add(z3.Implies(lit, r[k] <= zval(cap, ctx)))
        tracked[str(lit)] = ("cap", k)
    iss = z3.Sum([zval(w[k], ctx) * r[k] for k in REWARD_KEYS]) if w is not None else None
    if max_issuance is not None:
        cap = to_fraction(max_issuance)
        if w is None:
            raise FormalError("max_issuance needs q_selected > 0 (issuance undefined)")
        lit = z3.Bool("cap_issuance", ctx)
        s.add(z3.Implies(lit, iss <= zval(cap, ctx)))
        tracked[str(lit)] = ("cap_issuance", cap)
    lits = [z3.Bool(n, ctx) for n in tracked]
    # feasibility with an unsat core first (Optimize supports assumptions)
    check = limit(z3.Solver(ctx=ctx), timeout)
    check.set("core.minimize", True)
    for a in s.assertions():
        check.add(a)
    res = check.check(*lits)
    result: dict[str, Any] = {
        "feasible": False,
        "rewards": None,
        "rewards_exact": None,
        "issuance": None,
        "conflict": [],
        "epsilon": float(eps),
        "epsilon_exact": fmt_fraction(eps),
        "minimize": minimize,
        "issuance_definition": (
            "(q_deposit / q_selected) * q_selected_mo * r_cited + q_deposit * r_deposit + "
            "q_hash_m * r_hash_m + q_encrypted_m * r_encrypted_m + q_cases * r_case + "
            "q_verified_m * r_verified_m + q_verified_m * q_cases * r_verify  "
            "(derelay.mechanism DeRelayL.issuance)"
        ),
    }
    if notes:
        result["notes"] = notes
    if res == z3.unknown:
        result["feasible"] = None
        result["status"] = "unknown"
        result["reason"] = check.reason_unknown()
        result["seconds"] = round(time.perf_counter() - t0, 4)
        return result
    if res == z3.unsat:
        core = [tracked[str(c)] for c in check.unsat_core()]
        result["status"] = "infeasible"
        result["conflict"] = _explain(core, num_conds, point, caps, max_issuance, mech)
        result["conflict_conditions"] = [c[1] for c in core if c[0] == "cond"]
        result["seconds"] = round(time.perf_counter() - t0, 4)
        return result
    for lit in lits:
        s.add(lit)
    if minimize == "issuance":
        s.minimize(iss)
    # deterministic tie-break among optimal designs: smallest rewards in key order
    for k in REWARD_KEYS:
        s.minimize(r[k])
    if s.check() != z3.sat:
        result["feasible"] = None
        result["status"] = "unknown"
        result["reason"] = s.reason_unknown()
        return result
    m = s.model()
    vals = {k: to_fraction(m.eval(r[k], model_completion=True)) for k in REWARD_KEYS}
    result["feasible"] = True
    result["status"] = "feasible"
    result["rewards"] = {k: float(v) for k, v in vals.items()}
    result["rewards_exact"] = {k: fmt_fraction(v) for k, v in vals.items()}
    if w is not None:
        issuance = sum((w[k] * vals[k] for k in REWARD_KEYS), Fraction(0))
        result["issuance"] = float(issuance)
        result["issuance_exact"] = fmt_fraction(issuance)
    # margins and exact replay through the core formulas
    full = ParamValues(**{**point, **vals})
    result["margins"] = {
        c.name: fmt_fraction(sum((a * vals[k] for k, a in coeffs.items()), const))
        for c, coeffs, const in num_conds
    }
    result["binding"] = [
        c.name
        for c, coeffs, const in num_conds
        if sum((a * vals[k] for k, a in coeffs.items()), const) == (eps if c.strict else 0)
    ]
    ev = mech.evaluate(full)
    result["replay"] = {
        "conditions": {k: bool(v) for k, v in ev.conditions.items()},
        "ir": {k: bool(v) for k, v in ev.ir.items()},
        "ic": {k: bool(v) for k, v in ev.ic.items()},
    }
    if minimize == "issuance":
        result["crosscheck"] = _linprog_check(num_conds, w, eps, caps, max_issuance, result)
    result["seconds"] = round(time.perf_counter() - t0, 4)
    return result


def _linprog_check(num_conds, w, eps, caps, max_issuance, result) -> dict[str, Any]:
    """Solve the same LP in floating point with scipy (HiGHS) and compare."""
    from scipy.optimize import linprog

    idx = {k: i for i, k in enumerate(REWARD_KEYS)}
    a_ub, b_ub = [], []
    for c, coeffs, const in num_conds:
        row = [0.0] * len(REWARD_KEYS)
        for k, a in coeffs.items():
            row[idx[k]] = -float(a)
        a_ub.append(row)
        b_ub.append(float(const) - (float(eps) if c.strict else 0.0))
    cvec = [float(w[k]) for k in REWARD_KEYS]
    if max_issuance is not None:
        a_ub.append(cvec)
        b_ub.append(float(to_fraction(max_issuance)))
    bounds = [(0, float(caps[k]) if k in caps else None) for k in REWARD_KEYS]
    lp = linprog(cvec, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if lp.status != 0:
        return {"status": lp.message, "agrees": False}
    z3_val = result["issuance"]
    tol = 1e-9 * max(1.0, abs(z3_val))
    return {
        "scipy_issuance": float(lp.fun),
        "agrees": bool(abs(lp.fun - z3_val) <= tol),
    }


def _fmt(x: Fraction) -> str:
    f = float(x)
    return f"{f:.6g}"


def _explain(core, num_conds, point, caps, max_issuance, mech) -> list[str]:
    """The unsat core in words."""
    out = []
    by_name = {c.name: (c, coeffs, const) for c, coeffs, const in num_conds}
    in_core = [x[1] for x in core if x[0] == "cond"]
    p = ParamValues(**point)
    for kind, what in core:
        if kind != "cond":
            continue
        c, coeffs, const = by_name[what]
        cond = mech.condition(what)
        if what == "T7":
            gap = p.v_rec - p.v_now_t
            out.append(
                f"T7: the trainer's deposit b_t={_fmt(p.b_t)} does not exceed the model's value "
                f"(v_rec - v_now_t) * coin = {_fmt(gap * p.coin)} coin, and no reward can "
                "change that"
            )
            continue
        if not coeffs or all(a == 0 for a in coeffs.values()):
            zero = [name for name in cond.divisors if name in PARAM_INFO and point.get(name) == 0]
            why = f" ({', '.join(f'{z} = 0' for z in zero)})" if zero else ""
            rel = ">" if c.strict else ">="
            out.append(
                f"{what}: {cond.description}; no reward enters it at this point{why} and it "
                f"reduces to 0 {rel} {_fmt(-const)}, which fails"
            )
            continue
        rel = ">" if c.strict else ">="
        terms = " + ".join(f"{_fmt(a)} * {k}" for k, a in coeffs.items() if a != 0)
        need = -const
        if len(coeffs) == 1:
            ((k, a),) = coeffs.items()
            if a > 0:
                out.append(f"{what}: {cond.description}; needs {k} {rel} {_fmt(need / a)}")
                continue
        out.append(f"{what}: {cond.description}; needs {terms} {rel} {_fmt(need)}")
    for kind, what in core:
        if kind == "cap":
            out.append(f"cap: {what} <= {_fmt(caps[what])} is too small for {', '.join(in_core)}")
        elif kind == "cap_issuance":
            out.append(
                f"cap: issuance <= {_fmt(what)} per round is too small to meet {', '.join(in_core)}"
            )
    if not out:
        out.append("the conditions conflict with the non-negativity of the rewards")
    return out


# ----------------------------------------------------------------------------------
# Region over two parameters (vectorised)
# ----------------------------------------------------------------------------------


def _groups(conds: list[LinearCondition]):
    """Reward groups: connected components of 'appear in the same condition'."""
    parent = {k: k for k in REWARD_KEYS}

    def find(k):
        while parent[k] != k:
            k = parent[k]
        return k

    for c in conds:
        ks = list(c.coeffs)
        for a, b in zip(ks, ks[1:], strict=False):
            parent[find(a)] = find(b)
    groups: dict[str, list[str]] = {}
    for k in REWARD_KEYS:
        groups.setdefault(find(k), []).append(k)
    return list(groups.values())


def feasible_region(
    params: Params | None = None,
    axes: tuple[str, str] = ("beta", "s"),
    points: int = 50,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    epsilon: Any = DEFAULT_EPSILON,
    max_issuance: float | None = None,
    max_rewards: Mapping[str, float] | None = None,
    mechanism: str = "derelayl",
):
    """Tidy DataFrame over a ``points`` x ``points`` grid of two parameters.

    Columns: the two axes, ``feasible``, ``min_issuance``, ``<reward>_min`` for each
    reward (the issuance-minimising design), ``r_cited_binding`` (which of T1/T2/T8
    sets R_Cited) and ``reason`` ("" if feasible, else the failing condition or cap).
    Uses the closed form of the separable LP (valid because each reward group enters
    its own conditions only and the T5/T6 groups have a single condition each);
    :func:`feasible_rewards` solves the same LP exactly at any single point.
    """
    import pandas as pd

    if len(axes) != 2 or axes[0] == axes[1]:
        raise FormalError(f"option 'region' needs two different parameters, got {axes!r}")
    for a in axes:
        if a not in PARAM_INFO or PARAM_INFO[a].group != "mechanism":
            raise FormalError(f"unknown mechanism parameter '{a}' in region axes")
        if a in REWARD_KEYS:
            raise FormalError(f"region axis '{a}' is a reward (the unknowns); pick a cost or rate")
    if not isinstance(points, int) or points < 2 or points > 1000:
        raise FormalError(
            f"option 'points' = {points!r} is out of range: allowed 2 <= points <= 1000"
        )
    eps = float(_parse_epsilon(epsilon))
    params = params or Params()
    conds, weights = linear_structure(mechanism)
    axis_values = {}
    for a in axes:
        if ranges and a in ranges:
            lo, hi = ranges[a]
        else:
            dom = PARAM_INFO[a].domain
            base = getattr(params, a)
            lo = dom.lower if dom.lower is not None else 0.0
            hi = dom.upper if dom.upper is not None else 2.0 * base
            if dom.lower is not None and dom.lower_strict:
                lo = lo + (hi - lo) / (2 * points)
            if dom.upper is not None and dom.upper_strict:
                hi = hi - (hi - lo) / (2 * points)
        axis_values[a] = np.linspace(lo, hi, points)
    g = grid(params, **axis_values)
    env = g.as_dict()
    n = points * points
    full = {k: np.broadcast_to(np.asarray(v, dtype=float), (n,)) for k, v in env.items()}
    feasible = np.ones(n, dtype=bool)
    reason = np.full(n, "", dtype=object)
    mins: dict[str, np.ndarray] = {k: np.zeros(n) for k in REWARD_KEYS}
    binding = np.full(n, "", dtype=object)
    w = {
        k: np.broadcast_to(np.asarray(to_numpy(weights[k], full), dtype=float), (n,))
        for k in REWARD_KEYS
    }
    for group in _groups(conds):
        gconds = [c for c in conds if set(c.coeffs) & set(group)]
        if len(group) == 1:
            k = group[0]
            need = np.zeros(n)
            which = np.full(n, "", dtype=object)
            for c in gconds:
                a = np.broadcast_to(np.asarray(to_numpy(c.coeffs[k], full), dtype=float), (n,))
                c0 = np.broadcast_to(np.asarray(to_numpy(c.const, full), dtype=float), (n,))
                target = eps if c.strict else 0.0
                with np.errstate(divide="ignore", invalid="ignore"):
                    bound = np.where(a > 0, (target - c0) / a, -np.inf)
                bad = (a <= 0) & (c0 < target)
                feasible &= ~bad
                reason = np.where(bad & (reason == ""), c.name, reason)
                upd = bound > need
                which = np.where(upd, c.name, which)
                need = np.maximum(need, bound)
            mins[k] = need
            if k == "r_cited":
                binding = which
        else:
            if len(gconds) != 1:
                raise FormalError("region: reward group with several conditions is not separable")
            c = gconds[0]
            target = eps if c.strict else 0.0
            c0 = np.broadcast_to(np.asarray(to_numpy(c.const, full), dtype=float), (n,))
            deficit = np.maximum(target - c0, 0.0)
            best_cost = np.full(n, np.inf)
            best_key = np.full(n, "", dtype=object)
            for k in group:
                a = np.broadcast_to(np.asarray(to_numpy(c.coeffs[k], full), dtype=float), (n,))
                with np.errstate(divide="ignore", invalid="ignore"):
                    cost = np.where(a > 0, w[k] / a, np.inf)
                better = cost < best_cost
                best_cost = np.where(better, cost, best_cost)
                best_key = np.where(better, k, best_key)
            for k in group:
                a = np.broadcast_to(np.asarray(to_numpy(c.coeffs[k], full), dtype=float), (n,))
                with np.errstate(divide="ignore", invalid="ignore"):
                    mins[k] = np.where((best_key == k) & (deficit > 0), deficit / a, 0.0)
            bad = (deficit > 0) & ~np.isfinite(best_cost)
            feasible &= ~bad
            reason = np.where(bad & (reason == ""), c.name, reason)
    # T7-like conditions without rewards
    for c in conds:
        if not c.coeffs:
            c0 = np.broadcast_to(np.asarray(to_numpy(c.const, full), dtype=float), (n,))
            bad = (c0 <= 0) if c.strict else (c0 < 0)
            feasible &= ~bad
            reason = np.where(bad & (reason == ""), c.name, reason)
    issuance = sum(w[k] * mins[k] for k in REWARD_KEYS)
    for k, cap in (max_rewards or {}).items():
        bad = mins[k] > cap
        feasible &= ~bad
        reason = np.where(bad & (reason == ""), f"max_{k}", reason)
    if max_issuance is not None:
        bad = issuance > max_issuance
        feasible &= ~bad
        reason = np.where(bad & (reason == ""), "max_issuance", reason)
    data = {axes[0]: full[axes[0]], axes[1]: full[axes[1]], "feasible": feasible}
    data["min_issuance"] = np.where(feasible, issuance, np.nan)
    for k in REWARD_KEYS:
        data[f"{k}_min"] = np.where(feasible, mins[k], np.nan)
    data["r_cited_binding"] = binding
    data["reason"] = reason
    df = pd.DataFrame(data)
    df.attrs.update(
        {
            "axes": list(axes),
            "points": points,
            "epsilon": eps,
            "max_issuance": max_issuance,
            "max_rewards": dict(max_rewards or {}),
        }
    )
    return df


def region_conditions(
    params: Params | None = None,
    axes: tuple[str, str] = ("beta", "s"),
    epsilon: Any = DEFAULT_EPSILON,
    mechanism: str = "derelayl",
) -> dict[str, str]:
    """The region solved symbolically: each condition's requirement on the rewards
    with every parameter except the two ``axes`` fixed at the point (exact rationals).

    A single-reward condition is shown solved for its reward (valid where the
    coefficient is positive); a condition without rewards (T7) as the inequality it
    imposes on the axes.  With a cap ``K`` on a reward, the feasible region is where
    every lower bound on that reward is ``<= K``.
    """
    eps = _parse_epsilon(epsilon)
    conds, _ = linear_structure(mechanism)
    point = base_fractions(params)
    fixed = {k: v for k, v in point.items() if k not in axes and k not in REWARD_KEYS}
    out: dict[str, str] = {}
    for c in conds:
        rel = ">" if c.strict else ">="
        const = substitute(c.const, fixed)
        if not c.coeffs:
            out[c.name] = f"{infix(const)} {rel} 0"
            continue
        coeffs = {k: substitute(a, fixed) for k, a in c.coeffs.items()}
        if len(coeffs) == 1:
            ((k, a),) = coeffs.items()
            target = zval(eps, const.ctx) if c.strict else z3.RealVal(0, const.ctx)
            bound = z3.simplify((target - const) / a)
            out[c.name] = f"{k} >= {infix(bound)}" + (
                f"   (margin {fmt_fraction(eps)} for the strict condition)" if c.strict else ""
            )
        else:
            lhs = " + ".join(f"{infix(a)} * {k}" for k, a in coeffs.items())
            out[c.name] = f"{lhs} {rel} {infix(z3.simplify(-const))}"
    return out


def region_summary(df) -> dict[str, Any]:
    ax = df.attrs.get("axes", list(df.columns[:2]))
    feas = df[df["feasible"]]
    out: dict[str, Any] = {
        "axes": ax,
        "points": int(len(df)),
        "feasible_points": int(len(feas)),
        "feasible_share": float(len(feas) / max(len(df), 1)),
        "reasons": {k: int(v) for k, v in df.loc[~df["feasible"], "reason"].value_counts().items()},
    }
    for a in ax:
        if len(feas):
            out[f"{a}_range_feasible"] = [float(feas[a].min()), float(feas[a].max())]
    if len(feas):
        out["min_issuance_range"] = [
            float(feas["min_issuance"].min()),
            float(feas["min_issuance"].max()),
        ]
    return out
