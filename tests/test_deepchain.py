"""DeepChain (issue 15): Value(p), strategies, claims, Table 2, packing, timing, lottery."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
import z3

from derelay.formal.claims import prove_claim
from derelay.mechanism import get_mechanism
from derelay.mechanisms.deepchain import DEEPCHAIN, closed, crypto, lottery, timing
from derelay.params import ParamsError

SPACE = DEEPCHAIN.space


def test_registered_and_keys():
    assert get_mechanism("deepchain") is DEEPCHAIN
    for key in (
        "n_parties",
        "n_workers",
        "deposit",
        "f_w",
        "pi_p",
        "omega_p",
        "pr_v",
        "pr_v_crypto",
        "pr_v_sem",
        "theta",
        "epsilon",
        "block_reward",
        "fee_total",
        "validity",
        "initial_coins_expire",
        "committee_threshold",
        "period",
        "threshold",
    ):
        assert key in SPACE
    d = SPACE.defaults()
    assert (d.n_parties, d.n_workers, d.deposit, d.f_w, d.period) == (4, 8, 5.0, 1.0, 15)
    assert d.committee_threshold == pytest.approx(2 / 3)
    with pytest.raises(ParamsError, match="'threshold' = 'tabel' is not allowed"):
        SPACE.validate({"threshold": "tabel"})
    with pytest.raises(ParamsError, match="'n_parties' = 3 is out of range"):
        SPACE.validate({"n_parties": 3})


@pytest.mark.parametrize(
    ("p", "pi", "f", "omega", "pr_v", "expected"),
    [
        # Value(1) = π - ω
        (F(1), F(3), F(5), F(1), F(1), F(2)),
        # Value(0), Pr_v = 1: -f
        (F(0), F(3), F(5), F(1), F(1), F(-5)),
        # p = 1/2, Pr_v = 1/2: x = 1/4; 3*3/4 - 5/4 - 1/2 = 9/4 - 5/4 - 2/4 = 1/2
        (F(1, 2), F(3), F(5), F(1), F(1, 2), F(1, 2)),
        # Pr_v = 0: π - ω p
        (F(1, 3), F(2), F(5), F(3), F(0), F(1)),
        # p = 1/4, Pr_v = 2/5: x = 3/10; 1*7/10 - 10*3/10 - 2/4 = 7/10 - 3 - 1/2 = -14/5
        (F(1, 4), F(1), F(10), F(2), F(2, 5), F(-14, 5)),
    ],
)
def test_value_hand_computed(p, pi, f, omega, pr_v, expected):
    assert closed.value(p, pi, f, omega, pr_v) == expected


def test_value_is_affine_in_p_on_every_backend():
    pt = SPACE.exact(SPACE.validate({"pi_p": 2.0, "deposit": 3.0, "omega_p": 4.0, "pr_v": 0.5}))
    v = [closed.party_value(pt, F(i, 7)) for i in range(8)]
    diffs = {b - a for a, b in zip(v, v[1:], strict=False)}
    assert len(diffs) == 1
    assert diffs.pop() * 7 == closed.value_slope(pt) == F(-3, 2)
    # numpy grid and z3 agree with the exact value
    g = SPACE.grid(pi_p=[2.0], deposit=[3.0], omega_p=[4.0], pr_v=[0.5])
    assert np.allclose(closed.party_value(g, 0.25), float(closed.party_value(pt, F(1, 4))))
    z = SPACE.symbolic(["pi_p"], SPACE.validate({"deposit": 3.0, "omega_p": 4.0, "pr_v": 0.5}))
    q = z3.Real("q")
    s = z3.Solver()
    # d²Value/dp² = 0: Value(q) - Value(0) == q (Value(1) - Value(0)) for every π, q
    lhs = closed.party_value(z, q) - closed.party_value(z, 0)
    rhs = q * (closed.party_value(z, 1) - closed.party_value(z, 0))
    s.add(lhs != rhs)
    assert s.check() == z3.unsat


def test_strategies_backends_agree():
    pt = SPACE.defaults()
    fl = DEEPCHAIN.utilities(SPACE.values(pt))
    ex = DEEPCHAIN.utilities(SPACE.exact(pt))
    g = DEEPCHAIN.utilities(SPACE.grid(deposit=[5.0, 6.0]))
    for r in fl:
        for s in fl[r]:
            assert fl[r][s] == pytest.approx(float(ex[r][s]))
            assert np.asarray(g[r][s]).ravel()[0] == pytest.approx(fl[r][s])
    # z3: the party's IC margin against a crypto fault equals the tight slope
    z = SPACE.symbolic(["deposit", "pi_p", "omega_p"])
    solver = z3.Solver()
    margin = DEEPCHAIN.ic_margin("P", "Malformed", z)
    solver.add(margin != (z.pi_p + z.deposit) * z.pr_v_crypto - z.omega_p)
    assert solver.check() == z3.unsat


def test_default_findings():
    ev = DEEPCHAIN.evaluate(SPACE.exact(SPACE.defaults()))
    u = ev.utilities
    assert u["P"]["Malformed"] == u["P"]["Late"] == -5 - closed.party_fee(SPACE.exact())
    assert u["P"]["Lazy"] > u["P"]["N"]  # semantic faults are never verified
    assert u["W"]["IdleCopy"] > u["W"]["Correct"]  # copying a correct result pays
    assert ev.conditions["P_IC_crypto"] and not ev.conditions["P_IC_sem"]
    assert not ev.conditions["liveness_committee"]  # 3 of 8 workers > 1/3


def test_fee_shares_inverse_to_data():
    s = closed.fee_shares([F(100), F(200), F(400)], F(7))
    assert s == [F(4), F(2), F(1)] and sum(s) == 7


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("deepchain.thm1_literal", "proved"),
        ("deepchain.thm1_intended", "counterexample"),
        ("deepchain.thm1_with_ir", "proved"),
        ("deepchain.tight_condition", "proved"),
        ("deepchain.thm2_readings", "counterexample"),
        ("deepchain.threshold_table_vs_text", "counterexample"),
        ("deepchain.packing", "counterexample"),
    ],
)
def test_claims(name, status):
    res = prove_claim(DEEPCHAIN, DEEPCHAIN.claim(name))
    assert res["status"] == status
    if status == "counterexample" and DEEPCHAIN.claim(name).symbolic:
        assert res["witness"]["replayed"] is True


def test_thm1_intended_witness_by_hand():
    # premise holds, yet Value(0) > Value(θ) and Value(0) > Value(1): optimum p = 0 < θ
    pt = SPACE.exact(
        SPACE.validate({"pi_p": 1.0, "deposit": 5.0, "omega_p": 10.0, "pr_v": 1.0, "theta": 0.5})
    )
    assert closed.thm1_premise(pt)
    v0, vt, v1 = (closed.party_value(pt, q) for q in (0, F(1, 2), 1))
    assert (v0, vt, v1) == (-5, F(-7), -9)


def test_thm2_implications():
    res = prove_claim(DEEPCHAIN, DEEPCHAIN.claim("deepchain.thm2_readings"))
    imp = {(i["from"], i["to"]): i["status"] for i in res["implications"]}
    assert imp[("a", "c")] == imp[("c", "b")] == imp[("a", "b")] == "proved"
    assert imp[("c", "a")] == imp[("b", "c")] == imp[("b", "a")] == "counterexample"
    assert res["fails_under"] == ["b"] and res["holds_under"] == ["a", "c"]
    assert all(
        c["status"] == "counterexample" and c["replayed"]
        for c in res["cells"]
        if c["conclusion"] == "intended"
    )


def test_table_2_and_thresholds():
    assert all(r["matches"] for r in crypto.table_2_reproduced())
    rows = {r["n"]: r for r in crypto.threshold_comparison()}
    assert [n for n, r in rows.items() if not r["agree"]] == [6, 9]
    assert rows[10]["table_t_min"] == 4 and rows[6]["text_t_min"] == 3


def test_packing_and_cnn():
    assert crypto.cnn_parameter_count() == 252_398
    assert crypto.max_packed(4, 1, 1024) == 440  # 5^440 < 2^1023 < 5^441
    assert 5**440 - 1 < 2**1023 <= 5**441 - 1
    alpha = crypto.super_increasing(4, 7, 6)
    assert crypto.packing_conditions_hold(alpha, 4, 7, 2**1023)
    vals = [[7, 0, 3, 1, 2, 7], [7, 7, 7, 7, 7, 7], [0, 1, 2, 3, 4, 5], [1, 1, 1, 1, 1, 1]]
    total = sum(crypto.pack(v, alpha) for v in vals)
    assert crypto.unpack(total, alpha) == [sum(c) for c in zip(*vals, strict=True)]


def test_time_model_against_fig9():
    t = timing.TimeVars(10, 1000, 2, 3, 4, 5, 6, 1000)
    a, b = timing.affine_coefficients(t)
    assert a == 100 * 10 + 100 * (1000 + 2 + 5 + 1000) and b == 100 * (3 + 4 + 6)
    assert timing.total_time(4, t) == a + 4 * b
    chk = timing.check_model_against_fig9()
    assert chk["fit"]["decreasing_steps"] == [(6, 7)]
    assert chk["max_relative_deviation"] < 0.002
    assert chk["fit"]["break_even_upper_bound_parties"] < timing.BREAK_EVEN_TEXT


def test_lottery_with_expiry_tiny_deterministic_case():
    # 3 workers, genesis 2 coins each (expiring after validity = 2 rounds), reward 4
    lot = lottery.LeaderLottery(3, initial=2, validity=2, initial_expire=True)
    assert list(lot.weights()) == [2, 2, 2]
    lot.end_round([4, 0, 0])  # round 0: worker 0 led
    assert list(lot.weights()) == [6, 2, 2]
    assert lot.probabilities().tolist() == [0.6, 0.2, 0.2]
    lot.end_round([0, 4, 0])  # round 1: worker 1 led; genesis expires now (round 2)
    assert list(lot.weights()) == [4, 4, 0]
    lot.end_round([0, -1, 0])  # round 2: worker 1 lost 1 coin of stake; round-0 coins expire
    assert list(lot.weights()) == [0, 3, 0]
    assert lot.probabilities(exclude=[1]).tolist() == [0.5, 0.0, 0.5]  # nobody valid: uniform
    lot.end_round([0, 0, 0])
    lot.end_round([0, 0, 0])
    assert list(lot.weights()) == [0, 0, 0]
    assert lot.probabilities().tolist() == pytest.approx([1 / 3] * 3)
    # inf validity keeps everything; non-expiring genesis keeps 2
    inf = lottery.LeaderLottery(2, initial=2, validity=0, initial_expire=True)
    for _ in range(5):
        inf.end_round([1, 0])
    assert list(inf.weights()) == [7, 2]
    keep = lottery.LeaderLottery(2, initial=2, validity=1, initial_expire=False)
    keep.end_round([3, 0])
    keep.end_round([0, 0])
    assert list(keep.weights()) == [2, 2]


def test_lottery_literal_validity_locks_in_first_leader():
    r = lottery.simulate_lottery(
        8, 50, validity=1, initial=10, reward=1, initial_expire=True, seed=3
    )
    assert len(set(r["leaders"].tolist())) == 1 and r["richest_win_share"] == 1.0
    a = lottery.simulate_lottery(8, 50, 5, 10, 1, False, seed=3)
    b = lottery.simulate_lottery(8, 50, 5, 10, 1, False, seed=3)
    assert (a["leaders"] == b["leaders"]).all()
    assert lottery.gini([1, 1, 1]) == 0.0 and lottery.gini([0, 0, 3]) == pytest.approx(2 / 3)


def test_extras_json_ready():
    import json

    ex = DEEPCHAIN.extras(SPACE.values())
    json.dumps(ex)
    assert ex["value"]["value"][-1] == pytest.approx(0.5)
    assert ex["threshold"]["t_min"] == 2


def test_every_utility_agrees_on_z3_at_the_default_point():
    z = SPACE.symbolic()
    ex = SPACE.exact()
    subs = [(getattr(z, k), z3.RealVal(str(getattr(ex, k)))) for k in SPACE.numeric_keys]
    uz, ue = DEEPCHAIN.utilities(z), DEEPCHAIN.utilities(ex)
    for r in uz:
        for s in uz[r]:
            val = z3.simplify(
                z3.substitute(z3.ToReal(uz[r][s]) if z3.is_int(uz[r][s]) else uz[r][s], *subs)
            )
            assert F(val.as_fraction()) == ue[r][s], (r, s)
