"""``derelay deviations``: profitable deviations beyond the paper's Table II proofs.

Scopes
------
* ``unilateral`` -- each Table II deviation at the point, and for every parameter
  alone the exact break-even value (z3 over Reals with every other parameter fixed at
  the point) where the deviation starts to pay, with a proof that nothing closer pays;
* ``auction`` -- Algorithm 1 as printed (see :mod:`derelay.formal.auction`);
* ``lazy`` -- C4, a lazy-but-lucky trainer (:func:`lazy_utility`);
* ``coalition`` -- C8, TBM + SBM + trainer collusion against forks
  (:func:`coalition_gain`).

Every counterexample is a concrete scenario; ``gain`` is the exact (Fraction) gain of
the deviation over Normal and ``replayed_gain`` the gain recomputed independently in
floating point through the core's numeric closed form.  ``replayed_in_simulation``
is filled by :func:`simulate_witness` when the ABM (``derelay.model``) offers the
needed interface; otherwise it says why not (a documented hook).

Readings (documented choices)
-----------------------------
* Lazy trainer (C4, Step 11-3): it receives the model (value ``gap * coin``), adds
  white noise instead of training (no ``C_Train``, no +1 coin of new knowledge),
  still encrypts and broadcasts (so the noise model enters the ranking), and lands in
  the top share with probability ``p``: then it keeps its deposit and its model is
  cited like a selected model.  Table II's ``R^T_Cited`` (eq. 30) is an expectation
  for a trainer selected with probability ``s``; the lazy trainer's citation value is
  therefore ``(p / s) * R^T_Cited`` (reading ``"scaled"``, default).  The reading
  ``"unscaled"`` uses ``p * R^T_Cited`` instead (citations only counted when lucky,
  with R^T_Cited read as the value given selection).  ``U_lazy(s) - U_N =
  C_Train - coin`` under the default reading.
* Coalition (C8): on success (probability ``1 - q``) the TBM publishes improper
  (e.g. reused) test cases and saves their generation cost, the SBM ranks without
  verifying (saves ``C^Unit_Verify`` work) and puts the lazy model in the top share
  (``p = 1``).  With probability ``q`` honest miners fork the dishonest blocks away:
  TBM and SBM get Table II's ``-C_Mine`` (eqs. 62, 69) and the lazy trainer is judged
  on the honest fork, lucky with probability ``lazy_p``.  Side payments inside the
  coalition are transfers, so the coalition's total utility decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import z3

from derelay.formal.symbolic import (
    DEFAULT_TIMEOUT,
    FormalError,
    base_fractions,
    fmt_fraction,
    fresh_context,
    make_solver,
    to_fraction,
    verdict,
    zval,
)
from derelay.mechanism import derelayl as core
from derelay.mechanism import get_mechanism
from derelay.params import MECHANISM_KEYS, PARAM_INFO, Params, ParamValues, domain_constraints

LAZY_READINGS = ("scaled", "unscaled")


def _float_point(point: dict[str, Fraction]) -> ParamValues:
    return ParamValues(**{k: float(v) for k, v in point.items()})


def _in_domain(point: dict[str, Any]) -> bool:
    return all(bool(c) for c in domain_constraints(ParamValues(**point)))


# ------------------------------------------------------------------------------------
# Unilateral deviations and break-even values
# ------------------------------------------------------------------------------------


def _roots(expr: z3.ArithRef, x: z3.ArithRef, dom: list, timeout: float) -> list[Fraction] | None:
    """All real roots of ``expr(x) = 0`` within ``dom`` (None if unknown/too many)."""
    roots: list[Fraction] = []
    ctx = x.ctx
    s = make_solver(timeout, ctx)
    s.add(*dom, expr == 0)
    for _ in range(8):
        r = s.check()
        if r == z3.unsat:
            return sorted(roots)
        if r != z3.sat:
            return None
        v = to_fraction(s.model().eval(x, model_completion=True))
        roots.append(v)
        s.add(x != zval(v, ctx))
    return None


def break_even(
    params: Params | None,
    role: str,
    deviation: str,
    key: str,
    timeout: float = DEFAULT_TIMEOUT,
    mechanism: str = "derelayl",
) -> dict[str, Any] | None:
    """How far can ``key`` move alone before ``deviation`` pays?  (exact, z3)

    Returns ``None`` if the IC margin does not depend on ``key``.  Otherwise a dict
    with, per direction, the nearest value where U_N - U_dev reaches 0 (``ties_at``),
    whether the deviation pays strictly beyond it (with a witness value), and a
    proof that it pays nowhere closer (``proof``: "proved" / "unknown").
    """
    mech = get_mechanism(mechanism)
    point = base_fractions(params)
    ctx = fresh_context()  # one context per break-even query
    x = z3.Real(key, ctx)
    sym = ParamValues(**{k: (x if k == key else zval(v, ctx)) for k, v in point.items()})
    margin = z3.simplify(mech.ic_margin(role, deviation, sym))
    if not _mentions(margin, key):
        return None
    dom = [c for c in domain_constraints(sym) if not _is_closed(c)]
    x0 = point[key]
    strict = mech.role(role).strategy(deviation).strict_ic
    m0 = Fraction(mech.ic_margin(role, deviation, ParamValues(**point)))
    roots = _roots(margin, x, dom, timeout)
    out: dict[str, Any] = {
        "role": role,
        "deviation": deviation,
        "parameter": key,
        "value": float(x0),
        "margin_at_point": float(m0),
    }
    if roots is None:
        out["status"] = "unknown"
        return out
    for direction in ("up", "down"):
        side = [r for r in roots if (r > x0 if direction == "up" else r < x0)]
        if m0 <= 0:
            side = []
        nearest = (min(side) if direction == "up" else max(side)) if side else None
        entry: dict[str, Any] = {"ties_at": None, "pays_beyond": False}
        # proof that nothing strictly between x0 and the tie (or the domain end) pays
        s = make_solver(timeout, ctx)
        s.add(*dom, margin <= 0 if strict else margin < 0)
        s.add(x > zval(x0, ctx) if direction == "up" else x < zval(x0, ctx))
        if nearest is not None:
            s.add(x < zval(nearest, ctx) if direction == "up" else x > zval(nearest, ctx))
        r = s.check()
        entry["proof"] = verdict(r, "counterexample", "proved", "unknown")
        if nearest is not None:
            entry["ties_at"] = float(nearest)
            entry["ties_at_exact"] = fmt_fraction(nearest)
            entry["distance"] = float(abs(nearest - x0))
            entry["relative_distance"] = float(abs(nearest - x0) / abs(x0)) if x0 != 0 else None
            w = _beyond(margin, x, dom, nearest, direction, timeout, x0)
            if w is not None:
                entry["pays_beyond"] = True
                entry["witness_value"] = float(w)
                entry["witness_value_exact"] = fmt_fraction(w)
        out[direction] = entry
    out["status"] = "ok"
    return out


def _beyond(
    margin, x, dom, root: Fraction, direction: str, timeout: float, x0: Fraction
) -> Fraction | None:
    """A value just beyond ``root`` where the deviation pays strictly (margin < 0)."""
    scale = abs(root) or abs(x0) or Fraction(1)
    ctx = x.ctx
    for k in (3, 2, 1, 0):
        step = scale * Fraction(1, 10**k)
        cand = root + step if direction == "up" else root - step
        s = make_solver(timeout, ctx)
        s.add(*dom, x == zval(cand, ctx), margin < 0)
        if s.check() == z3.sat:
            return cand
    s = make_solver(timeout, ctx)
    s.add(*dom, margin < 0, x > zval(root, ctx) if direction == "up" else x < zval(root, ctx))
    if s.check() == z3.sat:
        return to_fraction(s.model().eval(x, model_completion=True))
    return None


def _mentions(expr: z3.ExprRef, name: str) -> bool:
    if z3.is_const(expr):
        return str(expr) == name
    return any(_mentions(c, name) for c in expr.children())


def _is_closed(c) -> bool:
    """Domain comparisons that are already decided (constants) are dropped."""
    return isinstance(c, bool) or (z3.is_bool(c) and (z3.is_true(c) or z3.is_false(c)))


def unilateral(
    params: Params | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    keys: tuple[str, ...] = MECHANISM_KEYS,
    mechanism: str = "derelayl",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(deviations found, full break-even table) for every Table II deviation."""
    mech = get_mechanism(mechanism)
    point = base_fractions(params)
    exact = ParamValues(**point)
    numeric = _float_point(point)
    found: list[dict[str, Any]] = []
    table: list[dict[str, Any]] = []
    for role in mech.roles:
        for dev in role.deviations:
            m0 = Fraction(mech.ic_margin(role.abbr, dev.abbr, exact))
            if (m0 <= 0) if dev.strict_ic else (m0 < 0):
                found.append(
                    {
                        "kind": "unilateral",
                        "roles": [role.abbr],
                        "gain": float(-m0),
                        "gain_exact": fmt_fraction(-m0),
                        "witness": {
                            "deviation": dev.abbr,
                            "where": "at the point",
                            "params": {k: float(v) for k, v in point.items()},
                        },
                        "replayed_gain": float(-mech.ic_margin(role.abbr, dev.abbr, numeric)),
                    }
                )
            for key in keys:
                be = break_even(params, role.abbr, dev.abbr, key, timeout, mechanism)
                if be is None:
                    continue
                table.append(be)
                for direction in ("up", "down"):
                    e = be.get(direction)
                    if not e or not e.get("pays_beyond"):
                        continue
                    w = dict(point)
                    w[key] = to_fraction(e["witness_value_exact"])
                    gain = -Fraction(mech.ic_margin(role.abbr, dev.abbr, ParamValues(**w)))
                    replay = -mech.ic_margin(role.abbr, dev.abbr, _float_point(w))
                    found.append(
                        {
                            "kind": "unilateral",
                            "roles": [role.abbr],
                            "gain": float(gain),
                            "gain_exact": fmt_fraction(gain),
                            "witness": {
                                "deviation": dev.abbr,
                                "parameter": key,
                                "from": float(point[key]),
                                "to": float(w[key]),
                                "to_exact": fmt_fraction(w[key]),
                                "break_even": e["ties_at"],
                                "break_even_exact": e["ties_at_exact"],
                                "direction": direction,
                                "relative_distance": e.get("relative_distance"),
                                "nothing_closer_pays": e["proof"],
                            },
                            "replayed_gain": float(replay),
                        }
                    )
    return found, table


# ------------------------------------------------------------------------------------
# C4: lazy but lucky
# ------------------------------------------------------------------------------------


def lazy_utility(p: Any, prob: Any, citations: str = "scaled") -> Any:
    """U_lazy(p): a trainer who adds noise instead of training, top share w.p. ``prob``.

    Built from the core's term functions (eqs. 30, 31, 35); see the module docstring
    for the reading.  Works on floats, Fractions and z3 terms.
    """
    if citations not in LAZY_READINGS:
        raise FormalError(
            f"option 'lazy_citations' = {citations!r} is not allowed: use "
            + " or ".join(LAZY_READINGS)
        )
    share = prob / p.s if citations == "scaled" else prob
    return (
        core.trainer_gap(p) * p.coin
        + share * core.trainer_citation_value(p)
        - (1 - prob) * p.b_t
        - core.transmit_cost(p)
        - core.encrypt_cost(p)
        - core.broadcast_cost(p)
    )


def lazy_gain(p: Any, prob: Any, citations: str = "scaled") -> Any:
    """U_lazy(p) - U^T_N (eq. 32)."""
    return lazy_utility(p, prob, citations) - core.u_t_n(p)


def _affine_root(fn: Callable[[Any], Any]) -> tuple[Fraction, Fraction]:
    """fn(v) = a v + c with Fractions: return (a, c)."""
    c = Fraction(fn(Fraction(0)))
    a = Fraction(fn(Fraction(1))) - c
    if Fraction(fn(Fraction(2))) != 2 * a + c:
        raise FormalError("not affine")
    return a, c


def lazy(
    params: Params | None = None,
    lazy_p: float | None = None,
    citations: str = "scaled",
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The p and the deposit at which laziness pays; witnesses replayed."""
    point = base_fractions(params)
    exact = ParamValues(**point)
    summary: dict[str, Any] = {"citations": citations}
    # break-even luck p* at the point's deposit
    a, c = _affine_root(lambda v: lazy_gain(exact, v, citations))
    if a > 0:
        p_star = -c / a
        summary["p_star"] = float(p_star)
        summary["p_star_exact"] = fmt_fraction(p_star)
        summary["p_star_meaning"] = (
            "laziness pays iff the lazy model reaches the top share with probability > p_star"
        )
    elif a < 0:
        p_star = -c / a
        summary["p_star"] = float(p_star)
        summary["p_star_meaning"] = "laziness pays iff p < p_star"
    else:
        p_star = None
        summary["p_star"] = None
        summary["p_star_meaning"] = "the gain does not depend on p" + (
            " and laziness always pays" if c > 0 else " and laziness never pays"
        )
    summary["gain_at_p_equal_s"] = float(lazy_gain(exact, exact.s, citations))
    ps = [Fraction(repr(float(lazy_p)))] if lazy_p is not None else []
    if lazy_p is None and p_star is not None and 0 <= p_star < 1:
        ps = [min(Fraction(1), p_star + (1 - p_star) / 2)]
    # deposit at which laziness pays for each p considered
    found: list[dict[str, Any]] = []
    deposits = []
    for prob in ps:
        if not 0 <= prob <= 1:
            raise FormalError(
                f"option 'lazy_p' = {float(prob)!r} is out of range: allowed 0 <= p <= 1"
            )

        def g_of_bt(bt, prob=prob):
            d = dict(point)
            d["b_t"] = bt
            return lazy_gain(ParamValues(**d), prob, citations)

        ab, cb = _affine_root(g_of_bt)
        entry: dict[str, Any] = {"p": float(prob)}
        if ab != 0:
            bt_star = -cb / ab
            entry["b_t_star"] = float(bt_star)
            entry["b_t_star_exact"] = fmt_fraction(bt_star)
            entry["pays_when"] = "b_t < b_t_star" if ab < 0 else "b_t > b_t_star"
        else:
            entry["b_t_star"] = None
            entry["pays_when"] = "always" if cb > 0 else "never"
        deposits.append(entry)
        gain = Fraction(lazy_gain(exact, prob, citations))
        # z3: does a deposit b_t >= 0 meeting T7 exist at which laziness pays?
        ctx = fresh_context()  # one context per query
        bt = z3.Real("b_t", ctx)
        sym = ParamValues(**{k: (bt if k == "b_t" else zval(v, ctx)) for k, v in point.items()})
        s = make_solver(timeout, ctx)
        s.add(bt >= 0, get_mechanism().condition("T7").holds(sym))
        s.add(lazy_gain(sym, zval(prob, ctx), citations) > 0)
        r = s.check()
        entry["pays_with_t7"] = verdict(r, True, False, None)
        if r == z3.sat:
            entry["t7_deposit_witness"] = fmt_fraction(
                to_fraction(s.model().eval(bt, model_completion=True))
            )
        if gain > 0:
            found.append(
                {
                    "kind": "lazy",
                    "roles": ["T"],
                    "gain": float(gain),
                    "gain_exact": fmt_fraction(gain),
                    "witness": {
                        "lazy_p": float(prob),
                        "b_t": float(point["b_t"]),
                        "s": float(point["s"]),
                        "citations": citations,
                        "u_lazy": float(lazy_utility(exact, prob, citations)),
                        "u_normal": float(core.u_t_n(exact)),
                        "p_star": summary["p_star"],
                        "b_t_star": entry.get("b_t_star"),
                    },
                    "replayed_gain": float(lazy_gain(_float_point(point), float(prob), citations)),
                }
            )
    summary["deposits"] = deposits
    return found, summary


# ------------------------------------------------------------------------------------
# C8: coalition of TBM, SBM and a lazy trainer
# ------------------------------------------------------------------------------------


def _with(p: ParamValues, **over) -> ParamValues:
    d = p.as_dict()
    d.update(over)
    return ParamValues(**d)


def coalition_success(p: Any) -> Any:
    """Coalition utility when the dishonest TB and SB stay on the main chain."""
    zero = p.coin * 0
    tbm = core.u_tbm_n(_with(p, c_unit_gen_td_case=zero))
    sbm = core.u_sbm_n(_with(p, c_unit_verify=zero))
    return tbm + sbm + lazy_utility(p, 1, "scaled")


def coalition_forked(p: Any, lazy_p: Any = 0, citations: str = "scaled") -> Any:
    """Coalition utility when honest miners fork the dishonest blocks away."""
    return core.u_mine_only(p) + core.u_mine_only(p) + lazy_utility(p, lazy_p, citations)


def coalition_honest(p: Any) -> Any:
    return core.u_tbm_n(p) + core.u_sbm_n(p) + core.u_t_n(p)


def coalition_gain(p: Any, q: Any, lazy_p: Any = 0, citations: str = "scaled") -> Any:
    """Expected coalition gain over Normal when forks happen with probability ``q``."""
    return (
        (1 - q) * coalition_success(p)
        + q * coalition_forked(p, lazy_p, citations)
        - coalition_honest(p)
    )


def _per_role_q_star(p, lp, citations) -> dict[str, Any]:
    """Each member's own break-even fork probability when nobody compensates anyone
    (no side payments): the coalition is stable only below the smallest of them."""
    zero = Fraction(0)
    parts = {
        "TBM": (
            core.u_tbm_n(_with(p, c_unit_gen_td_case=zero)),
            core.u_mine_only(p),
            core.u_tbm_n(p),
        ),
        "SBM": (core.u_sbm_n(_with(p, c_unit_verify=zero)), core.u_mine_only(p), core.u_sbm_n(p)),
        "T": (lazy_utility(p, 1, "scaled"), lazy_utility(p, lp, citations), core.u_t_n(p)),
    }
    out = {}
    for role, (succ, fork, honest) in parts.items():
        succ, fork, honest = Fraction(succ), Fraction(fork), Fraction(honest)
        # (1 - q) succ + q fork > honest  <=>  q < (succ - honest) / (succ - fork)
        if succ > fork:
            qs = (succ - honest) / (succ - fork)
            out[role] = {
                "q_star": float(qs),
                "q_star_exact": fmt_fraction(qs),
                "gain_if_never_forked": float(succ - honest),
            }
        else:
            out[role] = {"q_star": None, "gain_if_never_forked": float(succ - honest)}
    return out


def coalition(
    params: Params | None = None,
    lazy_p: float | None = None,
    fork_q: float | None = None,
    citations: str = "scaled",
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The fork probability q* below which the C8 collusion pays."""
    point = base_fractions(params)
    exact = ParamValues(**point)
    lp = Fraction(repr(float(lazy_p))) if lazy_p is not None else Fraction(0)
    if not 0 <= lp <= 1:
        raise FormalError(f"option 'lazy_p' = {float(lp)!r} is out of range: allowed 0 <= p <= 1")
    a, c = _affine_root(lambda q: coalition_gain(exact, q, lp, citations))
    summary: dict[str, Any] = {
        "success": float(coalition_success(exact)),
        "forked": float(coalition_forked(exact, lp, citations)),
        "honest": float(coalition_honest(exact)),
        "lazy_p_on_honest_fork": float(lp),
    }
    if a < 0:
        q_star = -c / a
        summary["q_star"] = float(q_star)
        summary["q_star_exact"] = fmt_fraction(q_star)
        summary["meaning"] = (
            "collusion pays iff honest miners fork it away with probability < q_star"
        )
    else:
        q_star = None
        summary["q_star"] = None
        summary["meaning"] = (
            "collusion never pays" if c <= 0 and a >= 0 else "collusion always pays"
        )
    summary["per_role_without_transfers"] = _per_role_q_star(exact, lp, citations)
    # z3 confirmation: no q >= q_star makes collusion pay; some q below does
    ctx = fresh_context()  # one context per query
    q = z3.Real("q", ctx)
    zp = ParamValues(**{k: zval(v, ctx) for k, v in point.items()})
    g = coalition_gain(zp, q, zval(lp, ctx), citations)
    if q_star is not None:
        s = make_solver(timeout, ctx)
        s.add(q >= zval(max(q_star, Fraction(0)), ctx), q <= 1, g > 0)
        summary["nothing_above_q_star_pays"] = verdict(
            s.check(), "counterexample", "proved", "unknown"
        )
    found: list[dict[str, Any]] = []
    if fork_q is not None:
        qs = [Fraction(repr(float(fork_q)))]
        if not 0 <= qs[0] <= 1:
            raise FormalError(f"option 'fork_q' = {fork_q!r} is out of range: allowed 0 <= q <= 1")
    elif q_star is not None and q_star > 0:
        qs = [min(q_star, Fraction(1)) / 2]
    elif q_star is None and c > 0:
        qs = [Fraction(1, 2)]
    else:
        qs = []
    for qv in qs:
        gain = Fraction(coalition_gain(exact, qv, lp, citations))
        if gain > 0:
            found.append(
                {
                    "kind": "coalition",
                    "roles": ["TBM", "SBM", "T"],
                    "gain": float(gain),
                    "gain_exact": fmt_fraction(gain),
                    "witness": {
                        "fork_q": float(qv),
                        "q_star": summary["q_star"],
                        "lazy_p_on_honest_fork": float(lp),
                        "success_utility": summary["success"],
                        "forked_utility": summary["forked"],
                        "honest_utility": summary["honest"],
                        "per_role_success": {
                            "TBM": float(
                                core.u_tbm_n(_with(exact, c_unit_gen_td_case=Fraction(0)))
                            ),
                            "SBM": float(core.u_sbm_n(_with(exact, c_unit_verify=Fraction(0)))),
                            "T": float(lazy_utility(exact, 1)),
                        },
                    },
                    "replayed_gain": float(
                        coalition_gain(_float_point(point), float(qv), float(lp), citations)
                    ),
                }
            )
    return found, summary


# ------------------------------------------------------------------------------------
# Simulation replay hook
# ------------------------------------------------------------------------------------


def simulate_witness(
    entry: dict[str, Any],
    params: Params | None = None,
    rounds: int = 30,
    seed: int = 0,
    lazy_share: float = 0.1,
) -> dict[str, Any]:
    """Replay a lazy witness in the ABM (``derelay.model``), if available.

    Runs ``rounds`` rounds at the witness's parameters with a share ``lazy_share`` of
    trainers playing Not Training (the ABM's lazy trainer submits its parent plus white
    noise and may rank in the top share by luck), then reports the realised mean
    utility per trainer-round of lazy and normal trainers, their difference
    (``simulated_gain``), the ABM's measured lucky rate (``lazy_top_s_rate``, the
    empirical ``p``) and the closed-form gain :func:`lazy_gain` at that measured ``p``.
    The realised per-round utilities are not the discounted expectations of Table II,
    so the two gains are compared in sign, not in value.  Coalitions (C8) need
    coordinated TBM/SBM/trainer behaviour, which the ABM does not model: reported as
    unavailable.
    """
    if entry.get("kind") != "lazy":
        return {"status": "unavailable", "reason": "only lazy (C4) witnesses can be simulated"}
    # the engine runs DeRelayL's round protocol (loaded by the mechanism's declaration):
    # the formal layer imports no simulation module
    from derelay.engine.run import RunConfig, run_simulation

    params = params or Params()
    cfg = RunConfig(
        mechanism="derelayl",
        params=params.model_dump(),
        strategies={"T": {"N": 1.0 - lazy_share, "NTr": lazy_share}},
        mesa_agents=False,
    )
    res = run_simulation(cfg, rounds=rounds, seed=seed, progress=False)
    u = res.utilities
    u = u[u["role"] == "T"].groupby("strategy")[["n", "utility_sum"]].sum()
    if "NTr" not in u.index or "N" not in u.index:
        return {"status": "unavailable", "reason": "no lazy or no normal trainers in the run"}
    mean = (u["utility_sum"] / u["n"]).to_dict()
    rate = res.rounds["lazy_top_s_rate"].dropna()
    p_hat = float(rate.mean()) if len(rate) else None
    out = {
        "status": "ok",
        "rounds": rounds,
        "seed": seed,
        "lazy_share": lazy_share,
        "mean_utility_lazy": float(mean["NTr"]),
        "mean_utility_normal": float(mean["N"]),
        "simulated_gain": float(mean["NTr"] - mean["N"]),
        "lazy_top_s_rate": p_hat,
    }
    if p_hat is not None:
        pv = _float_point(base_fractions(params))
        out["closed_form_gain_at_measured_p"] = float(
            lazy_gain(pv, p_hat, entry["witness"].get("citations", "scaled"))
        )
    return out


# ------------------------------------------------------------------------------------
# Entry point
# ------------------------------------------------------------------------------------


def search(
    params: Params | None = None,
    scope: str = "all",
    timeout: float = DEFAULT_TIMEOUT,
    lazy_p: float | None = None,
    fork_q: float | None = None,
    citations: str = "scaled",
    bidders: int = 4,
    slots: int | None = None,
    simulate: bool = False,
    deviant: int | None = None,
) -> dict[str, Any]:
    """The ``derelay deviations --json`` object."""
    from .auction import auction_search

    scopes = ("unilateral", "auction", "lazy", "coalition")
    if scope not in (*scopes, "all"):
        raise FormalError(
            f"option 'scope' = {scope!r} is not allowed: use {', '.join(scopes)} or all"
        )
    if citations not in LAZY_READINGS:
        raise FormalError(
            f"option 'lazy_citations' = {citations!r} is not allowed: use "
            + " or ".join(LAZY_READINGS)
        )
    chosen = scopes if scope == "all" else (scope,)
    t0 = time.perf_counter()
    out: dict[str, Any] = {"deviations": [], "scope": scope}
    seconds: dict[str, float] = {}
    for sc in chosen:
        t = time.perf_counter()
        if sc == "unilateral":
            found, table = unilateral(params, timeout)
            out["unilateral_table"] = table
        elif sc == "auction":
            found, info = auction_search(
                params, bidders=bidders, slots=slots, timeout=timeout, deviant=deviant
            )
            out["auction"] = info
        elif sc == "lazy":
            found, info = lazy(params, lazy_p, citations, timeout)
            out["lazy"] = info
        else:
            found, info = coalition(params, lazy_p, fork_q, citations, timeout)
            out["coalition"] = info
        if simulate:
            for e in found:
                e["replayed_in_simulation"] = simulate_witness(e, params)
        out["deviations"].extend(found)
        seconds[sc] = round(time.perf_counter() - t, 4)
    out["seconds"] = seconds
    out["seconds_total"] = round(time.perf_counter() - t0, 4)
    out["params_keys"] = len(PARAM_INFO)
    return out
