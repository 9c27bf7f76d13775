"""derelay.testing and experiments.testing: the equilibrium regression helpers pass where they should and fail
with a useful message where they should not (so they are not tests that cannot fail)."""

from __future__ import annotations

import textwrap

import pytest

import derelay.testing as dt
from derelay.mechanism import get_mechanism
from derelay.params import Params, as_values
from derelay.testing import (
    assert_conditions_hold,
    assert_deviation_pays_above,
    assert_deviation_pays_below,
    assert_normal_ir_ic,
    deviation_threshold,
)
from experiments.testing import assert_converges_to_normal

MECH = get_mechanism("derelayl")


def test_defaults_are_an_equilibrium():
    assert_normal_ir_ic(Params())
    assert_conditions_hold(Params())
    assert_normal_ir_ic({"beta": 0.5}, roles=["T", "MO"])


def test_violated_t8_is_reported_with_margins():
    bad = Params(b_t=0.5, s=0.2, beta=0.05)
    with pytest.raises(AssertionError, match=r"IC fails for T against NBr .*U_N - U_NBr = -"):
        assert_normal_ir_ic(bad)
    with pytest.raises(AssertionError, match="T8"):
        assert_conditions_hold(bad)
    assert_normal_ir_ic(bad, roles=["MO", "DBM"])  # the other roles are unaffected


def test_threshold_matches_closed_form():
    # U_N - U_NTr = c + R^T_Cited - C_Train + s b_T - C_Enc - C_Broadcast (t_ntr_exact);
    # with p_comp = 2e-8, beta = 0.1 it is zero at b_T = 2.26
    p = Params(p_comp=2e-8, beta=0.1)
    root = assert_deviation_pays_below("b_t", 2.26, "T", "NTr", p)
    assert root == pytest.approx(2.26, rel=1e-9)
    at = p.model_dump() | {"b_t": root}
    assert abs(float(MECH.ic_margin("T", "NTr", as_values(at)))) < 1e-9
    # a wrong threshold is caught on both sides
    with pytest.raises(AssertionError, match="still pays"):
        assert_deviation_pays_below("b_t", 2.0, "T", "NTr", p)
    with pytest.raises(AssertionError, match="does not pay"):
        assert_deviation_pays_below("b_t", 2.5, "T", "NTr", p)


def test_pays_above_for_a_cost():
    # Not Broadcasting pays once broadcasting is expensive enough (k_expand large)
    p = Params(beta=0.05, s=0.2, b_t=1.0)
    root = deviation_threshold("k_expand", "T", "NBr", p, 0.0, 100.0)
    assert_deviation_pays_above("k_expand", root, "T", "NBr", p, rtol=1e-6)
    with pytest.raises(AssertionError):
        assert_deviation_pays_above("k_expand", root * 1.5, "T", "NBr", p, rtol=1e-6)


def test_convergence_helper_passes_and_fails():
    reached = assert_converges_to_normal({"params": {}}, rounds=40, share=0.9)
    assert set(reached) == {0, 1, 2} and all(r <= 40 for r in reached.values())
    with pytest.raises(AssertionError, match="never reached"):
        assert_converges_to_normal(
            {"params": {"b_t": 0.5, "s": 0.2, "beta": 0.05}}, rounds=40, share=0.9
        )


def test_docstring_example_runs():
    code = dt.__doc__.split("::", 1)[1].split("Every helper")[0]
    ns: dict = {}
    exec(textwrap.dedent(code.strip("\n")), ns)
    for name, fn in ns.items():
        if name.startswith("test_"):
            fn()


def test_role_and_deviation_are_named_by_the_caller():
    # a generic helper knows no mechanism's roles: no DeRelayL role as a default
    with pytest.raises(TypeError):
        assert_deviation_pays_below("b_t", 2.26)  # type: ignore[call-arg]


def test_experiments_testing_docstring_example_runs():
    import experiments.testing as et

    code = et.__doc__.split("::", 1)[1]
    ns: dict = {}
    exec(textwrap.dedent(code.strip("\n")), ns)
    ns["test_population_converges_to_normal"]()


def test_the_moved_helper_says_where_it_went():
    import derelay.testing

    with pytest.raises(AttributeError, match="moved to experiments.testing"):
        derelay.testing.assert_converges_to_normal  # noqa: B018
