"""Pytest helpers to pin equilibrium facts about a mechanism setting.

Use them in your own test suite so that a change of parameters (or of the mechanism)
that breaks an incentive property fails loudly, with the margins in the message::

    from derelay.params import Params
    from derelay.testing import assert_deviation_pays_below, assert_normal_ir_ic
    from experiments.testing import assert_converges_to_normal

    def test_design_is_incentive_compatible():
        assert_normal_ir_ic(Params())                  # Normal is IR and IC for every role

    def test_not_training_pays_below_the_value_of_the_model():
        # training 20x dearer and a steep discount: Not Training pays (U_NTr >= U_N)
        # exactly when the trainer's deposit b_t falls below 2.26 coins
        p = Params(p_comp=2e-8, beta=0.1)
        assert_deviation_pays_below("b_t", 2.26, role="T", deviation="NTr", params=p)

    def test_population_converges_to_normal():
        assert_converges_to_normal({"params": {}}, rounds=40, share=0.9)

Every helper raises ``AssertionError`` with a readable explanation, so it works
with plain ``assert``-style pytest reporting and with any other test runner.

The helpers here are closed-form (the mechanism's declaration only); the role and the
deviation are always named by the caller (a generic helper knows no mechanism's roles).
:func:`experiments.testing.assert_converges_to_normal` runs sweep kinds (the dynamics or
the agent-based model) and so lives in the sweep layer: derelay's core never imports
``experiments``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from derelay.mechanism import get_mechanism
from derelay.params import PARAM_INFO, Params, as_values, params_from_mapping

__all__ = [
    "assert_conditions_hold",
    "assert_deviation_pays_above",
    "assert_deviation_pays_below",
    "assert_normal_ir_ic",
    "deviation_threshold",
]


def _as_params(params: Params | Mapping[str, Any] | None) -> Params:
    if params is None:
        return Params()
    if isinstance(params, Params):
        return params
    return params_from_mapping(params)


def assert_normal_ir_ic(
    params: Params | Mapping[str, Any] | None = None,
    roles: Iterable[str] | None = None,
    strict: bool | None = None,
    mechanism: str = "derelayl",
) -> None:
    """Normal is individually rational (U_N >= 0) and incentive compatible (U_N > U_dev
    for every deviation; ``strict=False``: U_N >= U_dev) for each of ``roles`` (all
    roles by default).  The message lists every failing role with its margins."""
    mech = get_mechanism(mechanism)
    p = as_values(_as_params(params))
    wanted = list(roles) if roles is not None else [r.abbr for r in mech.roles]
    problems = []
    for abbr in wanted:
        role = mech.role(abbr)
        ir = float(mech.ir_margin(abbr, p))
        if ir < 0:
            problems.append(f"IR fails for {abbr}: U_N = {ir:.6g} < 0")
        for dev in role.deviations:
            m = float(mech.ic_margin(abbr, dev.abbr, p))
            st = dev.strict_ic if strict is None else strict
            if (m <= 0) if st else (m < 0):
                rel = ">" if st else ">="
                problems.append(
                    f"IC fails for {abbr} against {dev.abbr} ({dev.name}): "
                    f"U_N - U_{dev.abbr} = {m:.6g}, needs {rel} 0"
                )
    if problems:
        raise AssertionError("Normal is not an equilibrium:\n  " + "\n  ".join(problems))


def assert_conditions_hold(
    params: Params | Mapping[str, Any] | None = None,
    names: Iterable[str] | None = None,
    mechanism: str = "derelayl",
) -> None:
    """The design conditions ``names`` (default: all of T1-T8) hold at ``params``."""
    mech = get_mechanism(mechanism)
    p = as_values(_as_params(params))
    names = list(names) if names is not None else [c.name for c in mech.conditions]
    bad = []
    for n in names:
        c = mech.condition(n)
        if not bool(c.holds(p)):
            try:
                lhs, rel, rhs = c.paper_form(p)
                bad.append(f"{n} {c.equation}: {float(lhs):.6g} {rel} {float(rhs):.6g} is false")
            except ZeroDivisionError:
                bad.append(f"{n} {c.equation}: false (a divisor is zero)")
    if bad:
        raise AssertionError("conditions fail:\n  " + "\n  ".join(bad))


def _margin_fn(param: str, role: str, deviation: str, params: Params, mechanism: str):
    if param not in PARAM_INFO:
        raise ValueError(f"unknown parameter '{param}'")
    mech = get_mechanism(mechanism)
    mech.role(role).strategy(deviation)  # raises a clear KeyError if unknown
    base = params.model_dump()

    def margin(x):
        d = dict(base)
        d[param] = np.asarray(x, dtype=float)
        return np.asarray(mech.ic_margin(role, deviation, as_values(d)), dtype=float)

    return margin


def _search_range(param: str, threshold: float, lower, upper) -> tuple[float, float]:
    dom = PARAM_INFO[param].domain
    span = max(abs(threshold), 1e-9)
    lo = threshold - span if lower is None else lower
    hi = threshold + span if upper is None else upper
    if dom.lower is not None:
        lo = max(lo, dom.lower + (1e-9 if dom.lower_strict else 0.0))
    if dom.upper is not None:
        hi = min(hi, dom.upper - (1e-9 if dom.upper_strict else 0.0))
    return lo, hi


def deviation_threshold(
    param: str,
    role: str,
    deviation: str,
    params: Params | Mapping[str, Any] | None = None,
    lower: float | None = None,
    upper: float | None = None,
    mechanism: str = "derelayl",
) -> float:
    """The value of ``param`` where U_N - U_dev changes sign on [lower, upper] (brentq)."""
    from scipy.optimize import brentq

    p = _as_params(params)
    f = _margin_fn(param, role, deviation, p, mechanism)
    if lower is None or upper is None:
        raise ValueError("deviation_threshold needs lower and upper")
    fl, fu = float(f(lower)), float(f(upper))
    if np.sign(fl) == np.sign(fu):
        raise AssertionError(
            f"U_N - U_{deviation} does not change sign for {param} in [{lower}, {upper}] "
            f"({fl:.6g} and {fu:.6g})"
        )
    return float(brentq(lambda x: float(f(x)), lower, upper, xtol=1e-12, rtol=1e-12))


def _assert_switch(param, threshold, role, deviation, params, rtol, lower, upper, below, mech):
    p = _as_params(params)
    f = _margin_fn(param, role, deviation, p, mech)
    lo, hi = _search_range(param, threshold, lower, upper)
    tol = rtol * max(abs(threshold), 1e-12)
    left = np.linspace(lo, threshold - tol, 64)
    right = np.linspace(threshold + tol, hi, 64)
    m_left, m_right = f(left), f(right)
    pays, safe = (m_left, m_right) if below else (m_right, m_left)
    pays_x, safe_x = (left, right) if below else (right, left)
    side = "below" if below else "above"
    other = "above" if below else "below"
    if not np.all(pays <= 0):
        x = pays_x[np.argmax(pays > 0)]
        raise AssertionError(
            f"{role}'s deviation {deviation} does not pay at {param} = {x:.6g} ({side} "
            f"{threshold}): U_N - U_{deviation} = {float(f(x)):.6g} > 0"
        )
    if not np.all(safe > 0):
        x = safe_x[np.argmax(safe <= 0)]
        raise AssertionError(
            f"{role}'s deviation {deviation} still pays at {param} = {x:.6g} ({other} "
            f"{threshold}): U_N - U_{deviation} = {float(f(x)):.6g} <= 0"
        )
    return deviation_threshold(param, role, deviation, p, lo, hi, mech)


def assert_deviation_pays_below(
    param: str,
    threshold: float,
    role: str,
    deviation: str,
    params: Params | Mapping[str, Any] | None = None,
    rtol: float = 1e-6,
    lower: float | None = None,
    upper: float | None = None,
    mechanism: str = "derelayl",
) -> float:
    """``deviation`` pays (U_dev >= U_N) for ``param`` below ``threshold`` and Normal is
    strictly better above it, on [lower, upper] (default: a span of one threshold on
    each side, clipped to the domain) up to a relative tolerance ``rtol``.

    Returns the exact switching point (root of U_N - U_dev)."""
    return _assert_switch(
        param, threshold, role, deviation, params, rtol, lower, upper, True, mechanism
    )


def assert_deviation_pays_above(
    param: str,
    threshold: float,
    role: str,
    deviation: str,
    params: Params | Mapping[str, Any] | None = None,
    rtol: float = 1e-6,
    lower: float | None = None,
    upper: float | None = None,
    mechanism: str = "derelayl",
) -> float:
    """The mirror image of :func:`assert_deviation_pays_below` (e.g. a cost above which
    a deviation pays)."""
    return _assert_switch(
        param, threshold, role, deviation, params, rtol, lower, upper, False, mechanism
    )


def __getattr__(name: str):
    # a name that moved out of the core: say where it went, in one line (no upward import)
    if name == "assert_converges_to_normal":
        raise AttributeError(
            "derelay.testing.assert_converges_to_normal moved to experiments.testing "
            "(it runs sweep kinds; the core never imports experiments): "
            "use `from experiments.testing import assert_converges_to_normal`"
        )
    raise AttributeError(f"module 'derelay.testing' has no attribute {name!r}")
