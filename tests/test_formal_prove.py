"""``derelay prove``: known answers, replayed witnesses, solver vs numeric agreement."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from derelay.formal import prove as prove_mod
from derelay.formal.prove import necessity, prove_all, prove_claims
from derelay.formal.symbolic import Outcome, base_fractions, to_fraction
from derelay.mechanism import get_mechanism
from derelay.mechanism.derelayl import t_ntr_exact
from derelay.params import MECHANISM_KEYS, PARAM_INFO, ParamValues

MECH = get_mechanism("derelayl")


@pytest.fixture(scope="module")
def result():
    return prove_all()


def _claim(result, role, prop, dev):
    (c,) = [
        c
        for c in result["claims"]
        if c["role"] == role and c["property"] == prop and c["deviation"] == dev
    ]
    return c


def test_every_table_ii_deviation_is_covered(result):
    for role in MECH.roles:
        _claim(result, role.abbr, "IR", None)
        for d in role.deviations:
            _claim(result, role.abbr, "IC", d.abbr)
            _claim(result, role.abbr, "IC_weak", d.abbr)
    for c in result["claims"]:
        assert set(c) >= {"role", "property", "deviation", "status", "witness"}
        assert c["status"] in ("proved", "counterexample", "unknown")


def test_ir_and_weak_ic_are_proved_for_every_role(result):
    for c in result["claims"]:
        if c["property"] in ("IR", "IC_weak"):
            assert c["status"] == "proved", c


def test_trainer_ic_is_proved(result):
    assert _claim(result, "T", "IC", "NTr")["status"] == "proved"
    assert _claim(result, "T", "IC", "NBr")["status"] == "proved"


@pytest.mark.parametrize(
    ("role", "dev", "repair"),
    [
        ("MO", "NTm", "q_selected > 0 and b_mo > 0"),
        ("DBM", "NPA", "c_mine > 0"),
        ("DBM", "PI", "c_mine > 0"),
        ("EBM", "NG", "c_mine > 0"),
        ("TBM", "IT", "c_mine > 0"),
        ("SBM", "IRa", "c_mine > 0"),
    ],
)
def test_strict_ic_ties_and_their_repair(result, role, dev, repair):
    c = _claim(result, role, "IC", dev)
    assert c["status"] == "counterexample"
    assert c["holds_if"] == repair
    if (role, dev) in (("DBM", "NPA"), ("DBM", "PI")):
        assert c["repairs"] == ["c_mine > 0", "r_deposit > 0"]
    w = c["witness"]
    assert w["replay"]["confirms"] and not w["replay"]["property_holds"]
    assert all(w["replay"]["conditions"].values())
    # the tie: U_N == U_dev exactly at the witness
    assert Fraction(w["replay"]["margin_exact"]) == 0
    # independent float replay of the same point
    p = ParamValues(**w["params"])
    assert MECH.ic_margin(role, dev, p) == pytest.approx(0.0, abs=1e-9)
    if repair == "c_mine > 0":
        assert w["params"]["c_mine"] == 0


def test_counterexample_witnesses_replay_exactly(result):
    for c in result["claims"]:
        if c["status"] != "counterexample":
            continue
        point = {k: Fraction(v) for k, v in c["witness"]["params_exact"].items()}
        assert {k: point[k] for k in c["witness"]["changed"]} == {
            k: Fraction(v) for k, v in c["witness"]["changed"].items()
        }
        p = ParamValues(**point)
        assert all(bool(x.holds(p)) for x in MECH.conditions)
        assert not bool(MECH.ic_against(c["role"], c["deviation"], p))


def test_nbr_ic_is_exactly_t8(result):
    t8 = result["necessity"]["T8"]
    assert t8["necessary"] == "proved"
    assert t8["equivalent_to_condition"] == "proved"
    assert t8["protects"] == {"role": "T", "property": "IC", "deviation": "NBr"}


def test_t7_sufficient_not_necessary(result):
    t7 = result["necessity"]["T7"]
    assert t7["paper_exactness"] == "sufficient"
    assert t7["necessary"] == "counterexample"
    w = t7["witness"]
    assert w["replay"]["confirms"]
    point = dict(base_fractions(None))
    point.update({k: Fraction(v) for k, v in w["changed"].items()})
    p = ParamValues(**point)
    assert not MECH.condition("T7").holds(p)
    assert MECH.ic_against("T", "NTr", p)
    # the solver's exact condition is the core's t_ntr_exact
    assert t7["equals_t_ntr_exact"] == "proved"
    assert t7["exact_condition_solved"][0].startswith("b_t > ")
    # alone it is not sufficient, with T2 and T8 it is (eq. 86)
    assert t7["sufficient_alone"] == "counterexample"
    assert t7["sufficient_with"]["status"] == "proved"
    assert "T2" in t7["sufficient_with"]["conditions"]
    robust = t7["robust_condition_at_point"]
    assert robust["exact_deposit_condition"] == "b_t >= 0"
    assert robust["t7_at_point"] == "b_t > 2"


def test_exact_conditions_t1_to_t6_are_necessary_and_equivalent(result):
    for name in ("T1", "T2", "T3", "T4", "T5", "T6"):
        e = result["necessity"][name]
        assert e["necessary"] == "proved", name
        assert e["equivalent_to_condition"] == "proved", name
        assert e["exact_condition_solved"], name
    assert result["necessity"]["T3"]["exact_condition_solved"] == [
        "r_deposit >= c_mine / q_deposit"
    ]
    assert result["necessity"]["T1"]["exact_condition_solved"][0].startswith(
        "r_cited >= (1 - beta) * "
    )


def test_domain_problems_and_paper_notes(result):
    kinds = {(d["kind"], d.get("condition"), d.get("parameter")) for d in result["domain_problems"]}
    assert ("zero_divisor", "T1", "q_selected_mo") in kinds
    assert ("zero_divisor", "T4", "q_hash_m") in kinds
    assert ("zero_divisor_excluded", "T3", "q_deposit") in kinds
    assert ("beta_boundary", None, "beta") in kinds
    eqs = {n["equation"] for n in result["paper_notes"]}
    assert "(85)" in eqs and "(99)" in eqs
    assert any("IR for EBM" in n["text"] for n in result["paper_notes"])


def test_unknown_is_never_reported_as_proved(monkeypatch):
    monkeypatch.setattr(
        prove_mod, "nice_model", lambda *a, **k: Outcome("unknown", reason="timeout")
    )
    claims = prove_claims(timeout=0.5)
    assert claims and all(c["status"] == "unknown" for c in claims)
    assert all(c["reason"] == "timeout" for c in claims)


def test_bad_timeout_is_rejected():
    from derelay.formal.symbolic import FormalError

    with pytest.raises(FormalError, match="timeout"):
        necessity(timeout=-1)


# -- hypothesis: numeric evaluation agrees with the proved claims ----------------------

_SCALE = st.floats(min_value=0.2, max_value=5.0, allow_nan=False)


@st.composite
def points(draw):
    base = base_fractions(None)
    d = {}
    for k in MECHANISM_KEYS:
        if k in ("beta", "s"):
            d[k] = Fraction(draw(st.integers(1, 99)), 100)
        elif PARAM_INFO[k].domain.lower is not None:
            d[k] = base[k] * to_fraction(round(draw(_SCALE), 3))
        else:  # pragma: no cover
            d[k] = base[k]
    if draw(st.booleans()):
        d["c_mine"] = Fraction(0)
    d["q_deposit_less"] = min(d["q_deposit_less"], d["q_deposit"] * Fraction(99, 100))
    d["v_now_t"] = min(d["v_now_t"], d["v_rec"])
    d["v_now_ebm"] = min(d["v_now_ebm"], d["v_fhem"])
    return d


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(points())
def test_proved_claims_hold_at_random_points(result, d):
    p = ParamValues(**d)
    assume(all(bool(c.holds(p)) for c in MECH.conditions))
    for c in result["claims"]:
        if c["status"] != "proved":
            continue
        if c["property"] == "IR":
            assert MECH.ir(c["role"], p)
        else:
            strict = None if c["property"] == "IC" else False
            assert MECH.ic_against(c["role"], c["deviation"], p, strict=strict)
    # the exact NTr condition agrees with the solver's verdict at every point
    assert bool(t_ntr_exact(p)) == bool(MECH.ic_against("T", "NTr", p))


def test_witnesses_stay_near_a_user_base_point():
    from derelay.params import Params

    base = Params(c_mine=0.02, r_deposit=0.002)
    claims = prove_claims(base)
    (c,) = [
        x
        for x in claims
        if x["role"] == "DBM" and x["deviation"] == "NPA" and x["property"] == "IC"
    ]
    assert c["status"] == "counterexample"
    assert set(c["witness"]["changed"]) == {"c_mine", "r_deposit"}
    assert c["witness"]["params"]["q_hash_m"] == base.q_hash_m


def test_qe_robust_deposit_condition_is_weaker_than_t7_by_the_transmission_cost():
    """forall R_Cited meeting T2: IC vs NTr  <=>  b_t + k_T |M| > gap * coin (qe tactic)."""
    from derelay.params import Params

    base = Params(p_comp=3e-7)  # training costs 30 coin: the deposit matters
    t7 = necessity(base)["T7"]["robust_condition_at_point"]
    gap_value = Fraction(2)  # (v_rec - v_now_t) * coin at the defaults
    transmit = Fraction(1, 10**6) * 10_000
    assert t7["exact_deposit_condition"] == f"b_t > {gap_value - transmit}"
    assert t7["t7_at_point"] == "b_t > 2"


@settings(max_examples=4, deadline=None)
@given(st.integers(1, 99), st.integers(1, 99), st.floats(0.5, 2.0))
def test_counterexamples_replay_from_random_base_points(beta, s, scale):
    """Whatever base point anchors the witnesses, every counterexample replays."""
    from derelay.params import Params

    base = Params(beta=beta / 100, s=s / 100, c_mine=0.01 * round(scale, 2))
    for c in prove_claims(base):
        assert c["status"] != "unknown"
        if c["status"] == "counterexample":
            w = c["witness"]
            assert w["replay"]["confirms"]
            p = ParamValues(**{k: Fraction(v) for k, v in w["params_exact"].items()})
            assert all(bool(x.holds(p)) for x in MECH.conditions)
            assert not MECH.ic_against(c["role"], c["deviation"], p)
