"""Proof of Training: space, derived utilities, conditions, claims, settlement (issue 12)."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
import z3

from derelay.formal.claims import prove_claim
from derelay.mechanism import get_mechanism
from derelay.mechanisms.pot.closed import settlement
from derelay.params import ParamsError

POT = get_mechanism("pot")
SPACE = POT.space

ISSUE_DEFAULTS = {
    "reward": 2, "rho": 0.2, "tax": 0.02, "n_providers": 8, "n_validators": 5,
    "n_verifiers": 5, "audit": 0.2, "provider_stake": 1, "withhold_slash": 1, "v_stake": 0.5,
    "c_stake": 0.1, "gamma": 0.5, "misreport_gain": 0.5, "delta": 0.1, "n_aggregators": 30,
    "k_multisig": 18, "agg_supply_share": 0.2, "agg_stake": 10, "gas_propose": 86875,
    "gas_confirm": 45371, "gas_execute": 161888, "confirmations": 30, "gas_price_gwei": 4.562,
    "token_usd": 246.2, "funding": "tax",
}


def decide(claim, base=None):
    """Local z3 decision of a symbolic claim (the test's own oracle): proved/counterexample."""
    keys = claim.free if claim.free is not None else SPACE.numeric_keys
    z = SPACE.symbolic(keys, base)
    v = type("V", (), {})()
    cons = list(SPACE.domain_constraints(z, keys))
    for name, dom in claim.bound.items():
        setattr(v, name, z3.Real(name))
        cons += dom.constraints(getattr(v, name))
    s = z3.Solver()
    s.add(*cons, *claim.hypotheses(z, v), z3.Not(claim.conclusion(z, v)))
    r = s.check()
    if r == z3.unsat:
        return "proved", None
    return ("counterexample", s.model()) if r == z3.sat else ("unknown", None)


def test_space_has_the_issue_keys_and_defaults():
    d = SPACE.defaults()
    for k, v in ISSUE_DEFAULTS.items():
        assert d[k] == v, k
    for k in ("p_train_success", "c_train", "c_tx", "c_eval", "c_ver", "gas_price_coin"):
        assert k in SPACE
    assert set(SPACE.info["funding"].choices) == {"tax", "inflation"}
    assert SPACE.info["tax"].default_source == "derelay"
    assert SPACE.info["gas_propose"].default_source == "paper"


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"rho": 0.9, "tax": 0.2}, "rho + tax < 1"),
        ({"k_multisig": 31}, "k_multisig <= n_aggregators"),
        ({"withhold_slash": 2}, "withhold_slash <= provider_stake"),
        ({"funding": "mint"}, "'funding' = 'mint' is not allowed"),
        ({"n_providers": 0}, "'n_providers' = 0 is out of range"),
    ],
)
def test_bad_values_one_line(data, needle):
    with pytest.raises(ParamsError) as exc:
        SPACE.validate(data)
    assert needle in str(exc.value) and len(str(exc.value).splitlines()) == 1


def test_provider_utility_is_the_issue_reading_exactly():
    p = SPACE.exact()
    w_h = (1 - (1 - F(9, 10)) ** 8) / 8
    assert POT.utility("P", "N", p) == (1 - F(1, 5) - F(1, 50)) * 2 * w_h - F(1, 10) - F(1, 100)
    # Lazy and Copy win only when no honest provider succeeded
    none = F(1, 10) ** 7
    assert POT.utility("P", "Lazy", p) == F(39, 50) * 2 * none - F(1, 100)
    assert POT.utility("P", "Copy", p) == F(39, 50) * 2 * none - F(1, 100) - F(1, 100) * (1 - none)
    assert POT.utility("P", "Withhold", p) == -F(1, 100) - 1
    # w_H is the exact tie-broken win probability against K - 1 symmetric honest rivals
    from math import comb

    pi, k = F(9, 10), 8
    direct = sum(
        comb(k - 1, j) * pi ** j * (1 - pi) ** (k - 1 - j) * pi / (j + 1) for j in range(k)
    )
    assert direct == w_h


def test_hand_computed_validator_verifier_aggregator_points():
    p = SPACE.exact()
    s = 1 - F(1, 10) ** 8
    share = F(1, 5) * 2 / 5
    m = 8 * F(9, 10)
    assert POT.utility("V", "N", p) == s * share - m * F(1, 100) - F(1, 100)
    assert POT.utility("V", "Inflate", p) == F(1, 2) - F(1, 2) - m * F(1, 100) - F(1, 100)
    q = 1 - F(4, 5) ** 5
    assert POT.utility("V", "Cluster", p) == (
        F(1, 2) + s * F(2, 5) * (1 - q**5) / 5 - q * F(1, 2) - m * F(1, 100) - F(1, 100)
    )
    # the standing members' expected share, term by term (X ~ Bin(4, 1 - q) others standing)
    from math import comb

    direct = sum(comb(4, j) * (1 - q) ** j * q ** (4 - j) * (1 - q) / (j + 1) for j in range(5))
    assert direct * F(2, 5) == F(2, 5) * (1 - q**5) / 5
    assert POT.utility("X", "Audit", p) == -F(1, 5) * 5 * m * F(1, 100)
    gas = 86875 + 30 * 45371 + 161888
    assert POT.utility("A", "N", p) == s * (F(1, 50) * 2 - gas * F("4.562e-9")) / 30
    assert POT.utility("A", "Drain", p) == F(2, 18) - 10


def test_conditions_at_defaults_and_findings():
    ev = POT.evaluate(SPACE.exact())
    c = ev.conditions
    assert c["P_IR_free_entry"] and c["winner_majority"] and c["multisig_safety"]
    assert c["A_tax_covers_settlement"]
    assert not c["V_IC_cluster"]  # q = 0.672 < 0.904 needed: a cluster collusion pays
    assert not c["X_participation"]  # the verifier's dilemma
    # each condition's division-free form agrees with its printed form
    for cond in POT.conditions:
        lhs, rel, rhs = cond.paper_form(SPACE.exact())
        printed = {">=": lhs >= rhs, ">": lhs > rhs, "<": lhs < rhs}[rel]
        assert bool(cond.holds(SPACE.exact())) == printed, cond.name


def test_backends_agree_float_fraction_numpy_z3():
    ex = SPACE.exact()
    fl = SPACE.values()
    grid = SPACE.grid(reward=[1.0, 2.0, 4.0])
    z = SPACE.symbolic()
    subs = [(getattr(z, k), z3.RealVal(str(getattr(ex, k)))) for k in SPACE.numeric_keys]
    for role in POT.roles:
        for st in role.strategies:
            exact = st.utility(ex)
            assert float(st.utility(fl)) == pytest.approx(float(exact), rel=1e-9, abs=1e-12)
            g = np.asarray(st.utility(grid), dtype=float) * np.ones(3)
            assert g[1] == pytest.approx(float(exact), rel=1e-9, abs=1e-12)
            val = z3.simplify(z3.substitute(z3.RealVal(0) + st.utility(z), *subs))
            assert F(val.as_fraction()) == exact, (role.abbr, st.abbr)
    for cond in POT.conditions:
        val = z3.simplify(z3.substitute(cond.holds(z), *subs))
        assert z3.is_true(val) == bool(cond.holds(ex)), cond.name


def test_funding_and_inflation_reading():
    p = SPACE.exact(SPACE.validate({"funding": "inflation"}))
    assert POT.funding.minted(p) == (1 - F(1, 10) ** 8) * F(1, 50) * 2
    assert POT.funding.minted(SPACE.exact()) == 0
    assert POT.funding.external(SPACE.exact()) == 2
    w_h = (1 - F(1, 10) ** 8) / 8
    assert POT.utility("P", "N", p) == F(4, 5) * 2 * w_h - F(11, 100)


def test_claims_have_the_issue_names_and_verdicts():
    names = [c.name for c in POT.claims]
    assert names == [
        "pot.audit_all", "pot.challenge_deters", "pot.multisig_10pct",
        "pot.tax_covers_settlement", "pot.winner_majority",
    ]
    status = {c.name: decide(c)[0] if c.symbolic else prove_claim(POT, c)["status"]
              for c in POT.claims}
    assert status == {c.name: prove_claim(POT, c)["status"] for c in POT.claims}
    assert status == {
        "pot.audit_all": "counterexample",
        "pot.challenge_deters": "counterexample",
        "pot.multisig_10pct": "proved",
        "pot.tax_covers_settlement": "proved",
        "pot.winner_majority": "proved",
    }
    # challenge_deters' witnesses replay: a bribe above the stake plus the share pays
    _, model = decide(POT.claim("pot.challenge_deters"))
    vals = {k: F(model[z3.Real(k)].as_fraction()) for k in POT.claim("pot.challenge_deters").free
            if model[z3.Real(k)] is not None}
    p = SPACE.exact(SPACE.defaults())
    pt = type(p)(**{**vars(p), **vals})
    assert not (POT.utility("V", "N", pt) > POT.utility("V", "Inflate", pt)
                and POT.utility("V", "N", pt) > POT.utility("V", "Random", pt))


def test_tax_claim_fails_when_the_reward_is_below_break_even():
    base = SPACE.validate({"reward": 0.3})
    res = prove_claim(POT, "pot.tax_covers_settlement", base)
    assert res["status"] == "counterexample" and res["break_even_reward"] == pytest.approx(
        1_609_893 * 4.562e-9 / 0.02
    )
    assert decide(POT.claim("pot.winner_majority"), SPACE.validate({"rho": 0.45, "tax": 0.1}))[
        0
    ] == "counterexample"


def test_settlement_extras_table6_and_errata():
    s = settlement(SPACE.defaults())
    assert s["gas_total"] == 86875 + 30 * 45371 + 161888 == 1_609_893
    assert s["bnb"] == pytest.approx(1_609_893 * 4.562e-9)
    assert s["usd"] == pytest.approx(1_609_893 * 4.562e-9 * 246.2)
    assert all(r["bnb_rounds_to_printed"] and r["usd_rounds_to_printed"] for r in s["rows"])
    assert s["printed_total_bnb"] == 0.007582 and round(s["bnb"], 6) != 0.007582
    assert s["with_k_confirmations"]["gas_total"] == 86875 + 18 * 45371 + 161888
    assert {e.id for e in POT.errata} >= {"PoT-E1", "PoT-E2"}
    ms = POT.extras(SPACE.defaults())["multisig"]
    assert ms["attack_share_exact"] == "3/25"
    assert SPACE.validate({"gas_price_coin": 0}) and settlement(
        SPACE.validate({"gas_price_coin": 0})
    )["coin"] == 0
