"""Table II utilities and T1-T8: pinned values, appendix identities, backends agree."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
import z3
from hypothesis import given
from hypothesis import strategies as st

from derelay.mechanism import derelayl as d
from derelay.mechanism import get_mechanism
from derelay.params import MECHANISM_KEYS, Params, ParamValues, as_values, random_grid

M = get_mechanism("derelayl")

# A point with simple numbers, every utility computed by hand from Appendix A below.
POINT_B = dict(
    beta=F(1, 2),
    s=F(1, 4),
    coin=F(2),
    r_cited=F(3),
    q_selected=F(4),
    q_selected_mo=F(2),
    b_mo=F(1),
    k_transmit=F(1, 2),
    model_size=F(2),
    v_rec=F(5),
    v_now_t=F(3),
    q_selected_t=F(3),
    p_comp=F(1, 4),
    data_volume=F(2),
    tau=F(2),
    b_t=F(4),
    k_encrypt=F(1, 4),
    q_broadcast=F(3),
    k_expand=F(2),
    q_deposit=F(10),
    q_deposit_less=F(6),
    r_deposit=F(1, 2),
    c_mine=F(2),
    q_hash_m=F(8),
    r_hash_m=F(1, 4),
    v_fhem=F(6),
    v_now_ebm=F(4),
    c_gen_fhe_key=F(1),
    q_encrypted_m=F(5),
    r_encrypted_m=F(2, 5),
    q_cases=F(10),
    r_case=F(3, 10),
    c_unit_gen_td_case=F(1, 10),
    q_verified_m=F(2),
    r_verified_m=F(3, 2),
    r_verify=F(1, 5),
    c_unit_verify=F(1, 20),
)
# Hand computation (terms: k_T|M| = 1, C_Train = 1/4*2*2*2 = 2, k_Enc|M| = 1/2,
# k_T k_E |M| = 2, C_Broadcast = 3*2 = 6, version gaps 2 and 2):
EXPECTED_B = {
    "MO": {"N": F(8), "NTm": F(-4)},  # (25): 2*3/(1/2) - (4*3/4*1 + 1) = 12 - 4
    "T": {"N": F(5, 2), "NTr": F(-1), "NBr": F(-1)},  # (32): 3*2 + 3*(1/2)*3/(1/2) - 12.5
    "DBM": {"N": F(3), "NPA": F(1), "PI": F(-2)},  # (42) 10/2-2, (45) 6/2-2, (48)
    "EBM": {"N": F(1), "NG": F(-2)},  # (52): 8/4 + 2*2 - (2 + 2 + 1)
    "TBM": {"N": F(2), "IT": F(-2)},  # (59): 5*2/5 + 10*3/10 - 2 - 10/10
    "SBM": {"N": F(0), "IRa": F(-2)},  # (66): 3 + 4 - 2 - 4 - 1
}
# T1..T8 at B (division-free forms): 6>=2, 4.5>=3.25, 5>=2, 2>=1, 5>=3, 7>=7, 4>4 fails, 4.5>2.75
EXPECTED_CONDITIONS_B = {
    "T1": True,
    "T2": True,
    "T3": True,
    "T4": True,
    "T5": True,
    "T6": True,
    "T7": False,
    "T8": True,
}


def test_declared_strategy_sets_match_table_ii():
    assert M.strategies == {
        "MO": ("N", "NTm"),
        "T": ("N", "NTr", "NBr"),
        "DBM": ("N", "NPA", "PI"),
        "EBM": ("N", "NG"),
        "TBM": ("N", "IT"),
        "SBM": ("N", "IRa"),
    }
    for role in M.roles:
        for s in role.strategies:
            assert s.name and s.description and s.equation.startswith("(")
            if not s.is_normal:
                assert s.ic_equation and s.strict_ic
    assert [c.name for c in M.conditions] == [f"T{i}" for i in range(1, 9)]
    assert [c.equation for c in M.conditions] == [f"({i})" for i in range(7, 15)]


def test_utilities_at_hand_computed_point_exactly():
    p = ParamValues(**POINT_B)
    assert M.utilities(p) == EXPECTED_B


def test_conditions_and_verdicts_at_hand_computed_point():
    ev = M.evaluate(ParamValues(**POINT_B))
    assert ev.conditions == EXPECTED_CONDITIONS_B
    assert all(ev.ir.values())  # SBM sits exactly at U_N = 0: IR is weak
    assert all(ev.ic.values())  # T7 fails, yet IC vs NTr holds: T7 is only sufficient
    assert d.t_ntr_exact(ParamValues(**POINT_B))


def test_paper_forms_at_hand_computed_point():
    p = ParamValues(**POINT_B)
    assert d.t1_paper(p) == (F(3), ">=", F(1))  # (1-b)(Q(1-s)b^MO + k|M|)/Q^MO = 2/2
    assert d.t2_paper(p) == (F(3), ">=", F(1, 2) / F(3, 2) * F(13, 2))
    assert d.t3_paper(p) == (F(1, 2), ">=", F(1, 5))
    assert d.t4_paper(p) == (F(1, 4), ">=", F(1, 8))
    assert d.t7_paper(p) == (F(4), ">", F(4))
    assert d.t8_paper(p) == (F(3), ">", F(11, 2) * F(1, 2) / F(3, 2))


def test_defaults_all_hold_and_pinned():
    p = Params()
    u = M.utilities(p)
    assert u["MO"]["N"] == pytest.approx(18 - 0.0005 - 0.01)
    assert u["T"]["N"] == pytest.approx(3 + 16.2 - 1.94)
    assert u["T"]["NTr"] == pytest.approx(-1.01)
    assert u["SBM"]["N"] == pytest.approx(6.464 - 0.01 - 2.56 - 0.64)
    ev = M.evaluate(p)
    assert all(ev.conditions.values()) and all(ev.ir.values()) and all(ev.ic.values())


# ---------------------------------------------------------------- hypothesis (exact)
_DENOMS = st.sampled_from([1, 2, 3, 4, 8, 16, 64])


def _frac(lo=0, hi=50):
    """Exact rationals in [lo, hi] (cheap to draw: integer numerator over a small denominator)."""
    lo, hi = F(lo), F(hi)
    return st.builds(
        lambda num, den: (
            lo + (hi - lo) * F(num, 1024)
            if den == 1
            else lo + (hi - lo) * F(num % (den * 16), den * 16)
        ),
        st.integers(0, 1024),
        _DENOMS,
    )


_unit_open = st.builds(lambda num: F(num, 1025), st.integers(1, 1024))


@st.composite
def exact_points(draw, positive_divisors=False):
    vals = {k: draw(_frac()) for k in MECHANISM_KEYS}
    vals["beta"] = draw(_unit_open)
    vals["s"] = draw(_unit_open)
    vals["coin"] = draw(_frac(F(1, 64), 10))
    vals["q_deposit_less"] = vals["q_deposit"] * draw(
        st.builds(lambda k: F(k, 16), st.integers(0, 15))
    )
    vals["v_now_t"] = min(vals["v_now_t"], vals["v_rec"])
    vals["v_now_ebm"] = min(vals["v_now_ebm"], vals["v_fhem"])
    if positive_divisors:
        for k in ("q_selected_mo", "q_selected_t", "q_deposit", "q_hash_m"):
            vals[k] = vals[k] + F(1, 8)
    return ParamValues(**vals)


@given(exact_points())
def test_ic_differences_reduce_to_appendix_equations(p):
    u = M.utilities(p)
    # (85) U_N - U_NTm = U_N + Q_Selected b^MO
    assert u["MO"]["N"] - u["MO"]["NTm"] == u["MO"]["N"] + p.q_selected * p.b_mo
    # (86) U_N - U_NTr = U_N - gap (c) + b^T + k_T |M|
    assert u["T"]["N"] - u["T"]["NTr"] == (
        u["T"]["N"] - (p.v_rec - p.v_now_t) * p.coin + p.b_t + p.k_transmit * p.model_size
    )
    # (89) U_N - U_NBr = Q^T b R/(1-b) - ((-s) b^T + k_Enc |M|) - Q_B k_T k_E |M|
    assert u["T"]["N"] - u["T"]["NBr"] == (
        p.q_selected_t * p.beta * p.r_cited / (1 - p.beta)
        - (-p.s * p.b_t + p.k_encrypt * p.model_size)
        - p.q_broadcast * p.k_transmit * p.k_expand * p.model_size
    )
    # (93) and (96)
    assert u["DBM"]["N"] - u["DBM"]["NPA"] == (p.q_deposit - p.q_deposit_less) * p.r_deposit
    assert u["DBM"]["N"] - u["DBM"]["PI"] == p.q_deposit * p.r_deposit
    # (97)-(99) U_N - U_dev = U_N + C_Mine
    for role, dev in (("EBM", "NG"), ("TBM", "IT"), ("SBM", "IRa")):
        assert u[role]["N"] - u[role][dev] == u[role]["N"] + p.c_mine


@given(exact_points())
def test_division_free_conditions_are_exactly_ir(p):
    ev = M.evaluate(p)
    for role, cond in M.ir_condition.items():
        if role == "T" and p.q_selected_t * p.beta == 0:
            continue
        assert ev.conditions[cond] == ev.ir[role], (role, cond)


@given(exact_points(positive_divisors=True))
def test_paper_form_equals_division_free_form_when_divisors_positive(p):
    ops = {">=": lambda a, b: a >= b, ">": lambda a, b: a > b}
    for c in M.conditions:
        lhs, rel, rhs = c.paper_form(p)
        assert ops[rel](lhs, rhs) == c.holds(p), c.name


@given(exact_points(positive_divisors=True))
def test_t8_is_exactly_ic_against_not_broadcasting(p):
    assert d.t8(p) == M.ic_against("T", "NBr", p)


@given(exact_points(positive_divisors=True))
def test_t7_with_t2_is_sufficient_for_ic_against_not_training(p):
    if d.t2(p) and d.t7(p):
        assert M.ic_against("T", "NTr", p)
    assert d.t_ntr_exact(p) == M.ic_against("T", "NTr", p)


@given(exact_points())
def test_ir_and_positive_mining_cost_imply_miner_ic(p):
    # The paper's eqs. (97)-(99): U_N >= 0 and C_Mine > 0 give U_N > U_dev.
    ev = M.evaluate(p)
    for role in ("EBM", "TBM", "SBM"):
        if ev.ir[role] and p.c_mine > 0:
            assert ev.ic[role]


# ---------------------------------------------------------------- backends agree
def test_vectorised_path_agrees_with_scalar_path():
    g = random_grid(400, seed=3)
    ev = M.evaluate(g)
    for i in range(0, 400, 7):
        point = ParamValues(
            **{k: (v[i] if isinstance(v, np.ndarray) else v) for k, v in vars(g).items()}
        )
        pe = M.evaluate(point)
        for role, per in pe.utilities.items():
            for s, val in per.items():
                assert ev.utilities[role][s][i] == pytest.approx(float(val), rel=1e-12, abs=1e-12)
        for name, val in pe.conditions.items():
            assert bool(ev.conditions[name][i]) == bool(val), name
        for role in pe.ir:
            assert bool(ev.ir[role][i]) == bool(pe.ir[role])
            assert bool(ev.ic[role][i]) == bool(pe.ic[role])


def test_grid_of_both_outcomes():
    # a base near every condition's boundary, so random scaling crosses each of them
    base = Params(r_cited=0.002, c_mine=0.05, v_fhem=8.05, b_t=2.2, q_cases=10, r_verify=0.0001)
    g = random_grid(20000, base=base, seed=5, spread=3.0)
    ev = M.evaluate(g)
    for name, arr in ev.conditions.items():
        assert arr.shape == (20000,)
        assert arr.any() and not arr.all(), name  # the grid visits both sides of every condition


def test_z3_terms_evaluate_to_the_same_exact_values():
    sym = ParamValues(**{k: z3.Real(k) for k in MECHANISM_KEYS})
    subs = [(z3.Real(k), z3.RealVal(f"{v.numerator}/{v.denominator}")) for k, v in POINT_B.items()]
    for role, per in M.utilities(sym).items():
        for s, expr in per.items():
            val = z3.simplify(z3.substitute(expr, *subs))
            assert F(val.as_fraction()) == EXPECTED_B[role][s], (role, s)
    for c in M.conditions:
        val = z3.simplify(z3.substitute(c.holds(sym), *subs))
        assert z3.is_true(val) == EXPECTED_CONDITIONS_B[c.name], c.name
    ic_t = z3.simplify(z3.substitute(M.ic("T", sym), *subs))
    assert z3.is_true(ic_t)


def test_params_object_and_values_agree():
    p = Params()
    assert M.utilities(p) == M.utilities(as_values(p))
