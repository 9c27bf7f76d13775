"""``derelay feasible``: exact minimal rewards, conflicts in words, the (beta, s) region."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from derelay.formal.feasible import (
    feasible_region,
    feasible_rewards,
    linear_structure,
    region_summary,
)
from derelay.formal.symbolic import FormalError, base_fractions, exact_point
from derelay.mechanism import get_mechanism
from derelay.params import REWARD_KEYS, Params, ParamValues

MECH = get_mechanism("derelayl")


def test_contract_keys_and_exact_minimum_on_defaults():
    r = feasible_rewards()
    assert {"feasible", "rewards", "rewards_exact", "issuance", "conflict"} <= set(r)
    assert r["feasible"] is True and r["conflict"] == []
    assert set(r["rewards"]) == set(REWARD_KEYS)
    ex = {k: Fraction(v) for k, v in r["rewards_exact"].items()}
    # hand-derived from (7) and (9): (1-beta)(Q_Sel (1-s) b_MO + k_T |M|) / Q^MO_Sel, C_Mine/Q_Dep
    p = exact_point(Params())
    t1 = (1 - p.beta) * (p.q_selected * (1 - p.s) * p.b_mo + p.k_transmit * p.model_size)
    assert ex["r_cited"] == t1 / p.q_selected_mo == Fraction(7, 12000)
    assert ex["r_deposit"] == p.c_mine / p.q_deposit
    assert all(v >= 0 for v in ex.values())
    # issuance is the core's definition evaluated at the design
    iss = MECH.issuance(ParamValues(**{**base_fractions(None), **ex}))
    assert Fraction(r["issuance_exact"]) == iss
    assert r["crosscheck"]["agrees"]
    assert all(r["replay"]["conditions"].values())


def test_strict_t8_met_by_epsilon_margin():
    # make T8 bind: a small deposit and a large broadcast cost
    p = Params(b_t=2.5, q_broadcast=400.0, v_rec=10.0, v_now_t=8.0)
    eps = Fraction(1, 10**6)
    r = feasible_rewards(p, epsilon=eps)
    assert r["feasible"]
    assert "T8" in r["binding"]
    assert Fraction(r["margins"]["T8"]) == eps
    point = {**base_fractions(p), **{k: Fraction(v) for k, v in r["rewards_exact"].items()}}
    assert MECH.condition("T8").holds(ParamValues(**point))


def test_t7_conflict_in_words():
    r = feasible_rewards(Params(b_t=1.0))
    assert r["feasible"] is False and r["rewards"] is None
    assert r["conflict"] == [
        "T7: the trainer's deposit b_t=1 does not exceed the model's value "
        "(v_rec - v_now_t) * coin = 2 coin, and no reward can change that"
    ]


def test_zero_count_conflict_names_the_count():
    r = feasible_rewards(Params(q_hash_m=0.0, v_fhem=8.0))
    assert r["feasible"] is False
    assert any(c.startswith("T4:") and "q_hash_m = 0" in c for c in r["conflict"])


def test_caps_conflict():
    r = feasible_rewards(max_issuance=1)
    assert r["feasible"] is False
    assert any("issuance <= 1" in c for c in r["conflict"])
    r = feasible_rewards(max_rewards={"r_cited": 1e-4})
    assert r["conflict_conditions"] == ["T1"]
    assert any("r_cited >= 0.000583333" in c for c in r["conflict"])


def test_bad_inputs():
    with pytest.raises(FormalError, match="epsilon"):
        feasible_rewards(epsilon=0)
    with pytest.raises(FormalError, match="minimize"):
        feasible_rewards(minimize="coins")
    with pytest.raises(FormalError, match="unknown reward"):
        feasible_rewards(max_rewards={"r_bogus": 1})
    with pytest.raises(FormalError, match="points"):
        feasible_region(points=1)
    with pytest.raises(FormalError, match="reward"):
        feasible_region(axes=("beta", "r_cited"), points=5)


def test_linear_structure_comes_from_the_core():
    conds, weights = linear_structure()
    names = [c.name for c in conds]
    assert names == [f"T{i}" for i in range(1, 9)]
    by = {c.name: c for c in conds}
    assert set(by["T1"].coeffs) == {"r_cited"} and set(by["T8"].coeffs) == {"r_cited"}
    assert set(by["T5"].coeffs) == {"r_encrypted_m", "r_case"}
    assert by["T7"].coeffs == {} and by["T7"].strict and by["T8"].strict
    assert set(weights) == set(REWARD_KEYS)


def test_region_dataframe_and_caps():
    df = feasible_region(points=12, max_rewards={"r_cited": 0.001})
    assert list(df.columns[:3]) == ["beta", "s", "feasible"]
    assert len(df) == 144
    assert 0 < df["feasible"].sum() < len(df)
    assert set(df.loc[~df["feasible"], "reason"]) == {"max_r_cited"}
    # higher discount factors make the citation reward cheaper (eqs. 7, 8, 14)
    assert df.loc[df["feasible"], "beta"].min() > df["beta"].min()
    s = region_summary(df)
    assert s["points"] == 144 and s["feasible_points"] == int(df["feasible"].sum())


def test_region_t7_infeasible_everywhere():
    df = feasible_region(Params(b_t=1.0), points=5)
    assert not df["feasible"].any()
    assert set(df["reason"]) == {"T7"}


_F = st.floats(min_value=0.3, max_value=3.0, allow_nan=False)


@settings(max_examples=25, deadline=None)
@given(_F, _F, _F, _F, st.integers(1, 98), st.integers(1, 98))
def test_region_closed_form_matches_exact_lp(f1, f2, f3, f4, beta, s):
    """The vectorised region solves the same LP as z3 Optimize (and linprog)."""
    base = Params()
    p = base.model_copy(
        update={
            "c_mine": base.c_mine * round(f1, 3),
            "p_comp": base.p_comp * round(f2, 3),
            "b_mo": base.b_mo * round(f3, 3),
            "k_transmit": base.k_transmit * round(f4, 3),
            "beta": beta / 100,
            "s": s / 100,
        }
    )
    exact = feasible_rewards(p)
    assert exact["feasible"] and exact["crosscheck"]["agrees"]
    df = feasible_region(p, points=2, ranges={"beta": (p.beta, p.beta), "s": (p.s, p.s)})
    assert bool(df["feasible"].iloc[0])
    assert np.isclose(df["min_issuance"].iloc[0], exact["issuance"], rtol=1e-9, atol=1e-12)
    assert np.isclose(df["r_cited_min"].iloc[0], exact["rewards"]["r_cited"], rtol=1e-9, atol=1e-15)


def test_region_conditions_are_the_solved_region():
    from derelay.formal.feasible import region_conditions

    conds = region_conditions(axes=("beta", "s"))
    assert conds["T7"] == "1 > 0"
    assert conds["T3"] == "r_deposit >= 1/6400"
    df = feasible_region(points=7)
    for _, row in df.sample(5, random_state=0).iterrows():
        env = {"beta": row["beta"], "s": row["s"]}
        bounds = [
            eval(conds[name].split(">=", 1)[1].split("(margin")[0], {}, env)  # noqa: S307
            for name in ("T1", "T2", "T8")
        ]
        assert max(0.0, *bounds) == pytest.approx(row["r_cited_min"], rel=1e-9, abs=1e-15)
