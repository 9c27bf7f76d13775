"""BRAIN (issue 13): space, Alg. 1, the median, commit-reveal rules, closed form, claims."""

from __future__ import annotations

import json
from fractions import Fraction as F

import numpy as np
import pytest
import z3

from derelay.formal.claims import prove_claim
from derelay.mechanism import get_mechanism
from derelay.mechanisms.brain import gas
from derelay.mechanisms.brain.claims import adversarial_majority, commit_quorum_probability
from derelay.mechanisms.brain.rules import (
    WMA,
    Request,
    accept,
    commitment,
    median,
    wma_sequence,
)
from derelay.mechanisms.brain.space import BRAIN_SPACE
from derelay.params import ParamsError

MECH = get_mechanism("brain")

ISSUE_KEYS = (
    "n_nodes q_commit q_reveal p_elect epoch_blocks t_commit t_reveal finality_f fallback "
    "window score_mode epsilon score_th r_c r_r r_u r_s p_c p_r p_s deposit gas_price_gwei "
    "eth_usd pi_n pi_l pi_p"
).split()


def test_space_has_the_issue_keys_and_defaults():
    for k in ISSUE_KEYS:
        assert k in BRAIN_SPACE, k
    d = BRAIN_SPACE.defaults()
    assert (d.n_nodes, d.q_commit, d.q_reveal, d.p_elect) == (21, 11, 11, 0.5)
    assert (d.epoch_blocks, d.t_commit, d.t_reveal, d.finality_f, d.window) == (8, 20, 20, 2, 5)
    assert (d.fallback, d.score_mode, d.epsilon) == ("b-I", "relative", 0.02)
    assert (d.r_c, d.r_r, d.r_u, d.r_s) == (0.0, 0.01, 0.01, 0.5)
    assert (d.p_c, d.p_r, d.p_s, d.deposit) == (0.1, 0.1, 0.5, 10.0)
    assert d.gas_verify_fast == 150715 and d.gas_pop_prior == 100861 and d.gas_price_gwei == 14
    assert set(BRAIN_SPACE.levers) == {"r_c", "r_r", "r_u", "r_s"}
    assert BRAIN_SPACE.info["r_c"].default_source == "paper"
    assert BRAIN_SPACE.info["r_s"].default_source == "derelay"


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"window": 1}, "parameter 'window' = 1 is out of range"),
        ({"fallback": "b-III"}, "parameter 'fallback' = 'b-III' is not allowed"),
        ({"q_reveal": 12}, "parameter 'q_reveal' = 12 violates q_reveal <= q_commit"),
        ({"q_commit": 21, "q_reveal": 5}, "q_commit <= n_nodes - 1"),
        ({"p_elect": 0.0}, "parameter 'p_elect' = 0.0 is out of range"),
    ],
)
def test_bad_input_is_one_line(data, needle):
    with pytest.raises(ParamsError) as exc:
        BRAIN_SPACE.validate(data)
    assert needle in str(exc.value) and len(str(exc.value).splitlines()) == 1


# -- Alg. 1 ------------------------------------------------------------------------------


def test_alg1_values_by_hand():
    # n = 3, a_0 = 1, M_0 = 0; accepted (1, 1/2), (2, 1/2), (3, 1), (4, 1/2):
    # r=1 < n-1: alpha = (1/2)/(1 + 1/2) = 1/3            -> M̄_1 = 1/3
    # r=2 = n-1: alpha = (1/2)/(a_0+a_1+a_2 = 2) = 1/4     -> M̄_2 = 3/4*1/3 + 1/4*2 = 3/4
    # r=3:       alpha = 1/(a_1+a_2+a_3 = 2) = 1/2         -> M̄_3 = 3/8 + 3/2 = 15/8
    # r=4:       alpha = (1/2)/(a_2+a_3+a_4 = 2) = 1/4     -> M̄_4 = 45/32 + 1 = 77/32
    pairs = [(F(1), F(1, 2)), (F(2), F(1, 2)), (F(3), F(1)), (F(4), F(1, 2))]
    assert wma_sequence(F(0), pairs, 3) == [F(0), F(1, 3), F(3, 4), F(15, 8), F(77, 32)]
    w = WMA(3)
    assert [w.push(a) for _, a in pairs] == [F(1, 3), F(1, 4), F(1, 2), F(1, 4)]
    assert w.r == 4
    # n = 2, equal scores: alpha = 1/2 from r = 1 on (r >= n - 1); not a window average (E1)
    assert wma_sequence(F(0), [(F(1), F(1)), (F(1), F(1))], 2) == [F(0), F(1, 2), F(3, 4)]
    with pytest.raises(ValueError, match="n >= 2"):
        WMA(1)
    z = WMA(2)
    z.push(F(0))  # a_0 = 1 keeps the first window positive
    assert z.push(F(0)) == 0  # a window of zeros: alpha = 0 (the model stays as it is)


def test_alg1_counts_accepted_updates_only():
    # a rejected suggestion never reaches Alg. 1: the sequence of accepted pairs is the input
    full = wma_sequence(0.0, [(1.0, 0.5), (2.0, 0.5)], 5)
    assert full[-1] == pytest.approx(wma_sequence(0.0, [(1.0, 0.5)], 5)[-1] * 0.75 + 0.5)


def test_alg1_with_the_mix_primitive_on_one_element_models():
    # the abstract backend's models are 1-element values; mode="version" makes
    # train() add exactly mu = 1, so M_r = r and Alg. 1 must give the hand values
    from derelay.learning import make_learning

    b = make_learning("abstract", {"mode": "version", "mu": 1.0}, n_participants=2, seed_seq=0)
    g = b.genesis()
    models, m = [], g
    for _ in range(4):
        m = int(b.train([m], [0])[0])
        models.append(m)
    assert list(b.eval_accuracy(models)) == [1.0, 2.0, 3.0, 4.0]
    w, bar, out = WMA(3), g, []
    for mid, a in zip(models, [0.5, 0.5, 1.0, 0.5], strict=True):
        bar = int(b.mix([bar], [mid], float(w.push(a)))[0])
        out.append(float(b.eval_accuracy([bar])[0]))
    assert out == pytest.approx([1 / 3, 3 / 4, 15 / 8, 77 / 32], abs=1e-12)


def test_alg1_with_torch_mix_on_constant_tensors():
    torch = pytest.importorskip("torch")
    from derelay.learning import make_learning

    # every parameter of M_r equals r: each element is a 1-element model of its own
    b = make_learning("torch", None, n_participants=2, seed_seq=0)
    g = b.genesis()
    const = [b.add_model(torch.full((b.n_params,), float(v)), g) for v in range(5)]
    w, bar, out = WMA(3), const[0], []
    for mid, a in zip(const[1:], [0.5, 0.5, 1.0, 0.5], strict=True):
        bar = int(b.mix([bar], [mid], float(w.push(a)))[0])
        x = b.parameters(bar)
        assert float(x.min()) == float(x.max())  # elementwise, the same everywhere
        out.append(float(x[0]))
    assert out == pytest.approx([1 / 3, 3 / 4, 15 / 8, 77 / 32], abs=1e-6)  # float32 storage


# -- median and acceptance -------------------------------------------------------------


def test_median_even_count_is_mean_of_two_middle_values():
    assert median([F(1, 5), F(4, 5), F(3, 5), F(2, 5)]) == F(1, 2)
    assert median([3, 1, 2]) == 2
    assert median([0.1, 0.9]) == pytest.approx(0.5)
    vals = np.random.default_rng(0).random(10)
    assert median(list(vals)) == pytest.approx(float(np.median(vals)))
    with pytest.raises(ValueError):
        median([])


def test_acceptance_rules():
    p = BRAIN_SPACE.defaults()
    assert accept([0.72, 0.73], [0.73, 0.75], p)  # 0.725 >= 0.74 - 0.02
    assert not accept([0.70, 0.71], [0.73, 0.75], p)  # 0.705 < 0.72
    q = p.replace(score_mode="fixed", score_th=0.6)
    assert accept([0.6, 0.9, 0.1], None, q) and not accept([0.59, 0.1, 0.9], None, q)


# -- commit-reveal rules -----------------------------------------------------------------


def _req(q=3, qr=3):
    return Request(proposer=9, h_start=10, q_commit=q, q_reveal=qr, t_commit=5, t_reveal=4)


def test_commit_rules():
    r = _req()
    assert not r.commit(9, b"h", 11, True)  # the proposer is excluded
    assert not r.commit(1, b"h", 11, False)  # not elected (VRF)
    assert r.commit(1, commitment(0.5, 1, b"n1"), 11, True)
    assert not r.commit(1, commitment(0.5, 1, b"n1"), 11, True)  # once per member
    assert not r.commit(2, b"h", 16, True)  # h - h_start > T_C
    assert r.expire_commit(16) and r.phase == "cancelled"  # a-fallback


def test_reveal_rules_quorum_executor_and_bad_reveals():
    r = _req(q=3, qr=2)
    for a in (1, 2, 3):
        assert r.commit(a, commitment((0.5, 0.6), a, bytes([a]) * 4), 11, True)
    assert r.phase == "reveal" and r.h_c == 11
    assert not r.commit(4, commitment(0.5, 4, b"x"), 11, True)  # 2-a is over
    assert not r.reveal(1, (0.5, 0.6), b"\x01" * 4, 11)  # not in the block that ended 2-a
    assert not r.reveal(2, (0.9, 0.6), b"\x02" * 4, 12)  # does not open the commitment
    assert r.rejected == [2]
    assert r.reveal(1, (0.5, 0.6), b"\x01" * 4, 12)
    assert r.reveal(3, (0.5, 0.6), b"\x03" * 4, 12)
    assert r.phase == "done" and r.executor == 3 and r.withheld == []
    r2 = _req(q=2, qr=2)
    r2.commit(1, commitment(0.1, 1, b"a"), 11, True)
    r2.commit(2, commitment(0.2, 2, b"b"), 11, True)
    assert r2.reveal(1, 0.1, b"a", 13)
    assert not r2.expire_reveal(15) and r2.expire_reveal(16)  # T_R = 4 after h_c = 11
    assert r2.phase == "timeout" and r2.withheld == [2]
    assert not r2.reveal(2, 0.2, b"b", 16)


# -- closed form ---------------------------------------------------------------------------


def _exact(**kw):
    return BRAIN_SPACE.exact(BRAIN_SPACE.validate(kw))


def test_utilities_by_hand():
    p = _exact()
    u = MECH.utilities(p)
    # P: pi_q(pi r_s - (1-pi) p_s) - c_train - c_tx = 0.9*0.5 - 0.1*0.5 - 0.1 - 0.01
    assert u["P"]["N"] == F(29, 100)
    assert u["P"]["Lazy"] == F(1, 2) * F(1, 2) - F(1, 2) * F(1, 2) - F(1, 100)
    # C: r_c + r_r + r_u/Q_C - 2 c_eval - 2 c_tx (relative mode evaluates two models)
    assert u["C"]["N"] == F(1, 100) + F(1, 1100) - F(4, 100)
    assert u["C"]["RandomScore"] - u["C"]["N"] == 2 * F(1, 100)
    assert u["C"]["Withhold"] == -F(11, 100) and u["C"]["BadReveal"] == -F(12, 100)
    assert u["A"]["CorrectAgg"] == F(49, 1000) and u["A"]["OmitUpdates"] == 0
    pf = _exact(score_mode="fixed")
    assert MECH.utilities(pf)["C"]["N"] == F(1, 100) + F(1, 1100) - F(3, 100)


def test_backends_agree():
    pf = BRAIN_SPACE.values()
    pe = BRAIN_SPACE.exact()
    grid = BRAIN_SPACE.grid(r_r=[0.01, 0.05], p_s=[0.5, 1.0])
    zs = BRAIN_SPACE.symbolic(["r_r", "p_s"])
    for role in MECH.roles:
        for s in role.strategies:
            a, b = s.utility(pf), s.utility(pe)
            assert float(b) == pytest.approx(a)
            g = s.utility(grid)
            assert np.asarray(g).reshape(-1)[0] == pytest.approx(a)
            z = z3.simplify(
                z3.substitute(
                    s.utility(zs) + 0 * zs.r_r,
                    (zs.r_r, z3.RealVal("1/100")),
                    (zs.p_s, z3.RealVal("1/2")),
                )
            )
            assert F(z.as_fraction()) == b
    for c in MECH.conditions:
        assert bool(c.holds(pf)) == bool(c.holds(pe))


def test_conditions_match_ic_margins():
    for kw in ({}, {"r_r": 0.05}, {"pi_l": 0.85}, {"c_eval": 0.0}, {"p_r": 0.0}):
        p = _exact(**kw)
        ev = MECH.evaluate(p)
        assert ev.conditions["P_IC_Lazy"] == ev.ic_deviations["P"]["Lazy"]
        assert ev.conditions["C_IC_Withhold"] == ev.ic_deviations["C"]["Withhold"]
        assert ev.conditions["C_IC_BadReveal"] == ev.ic_deviations["C"]["BadReveal"]
        assert ev.conditions["C_IC_RandomScore"] == ev.ic_deviations["C"]["RandomScore"]
        assert ev.conditions["C_IR"] == ev.ir["C"]


def test_funding_and_extras():
    p = BRAIN_SPACE.defaults()
    assert MECH.funding.minted(p) == 0
    # K pi_q (pi_n r_s + Q_C (r_c + r_r) + r_u) = 4 (0.45 + 0.11 + 0.01)
    assert MECH.funding.external(p) == pytest.approx(2.28)
    ex = json.loads(json.dumps(MECH.extras(p)))
    exact = json.loads(json.dumps(MECH.extras(BRAIN_SPACE.exact(p))))  # the check path
    assert exact.keys() == ex.keys()
    assert exact["adversarial_majority"] == ex["adversarial_majority"]
    assert exact["external_per_round"] == pytest.approx(ex["external_per_round"])
    am = ex["adversarial_majority"]
    assert am["at"]["q_reveal"] == 11 and am["at"]["share"] == 0.1
    assert [g["share"] for g in am["grid"]][-1] == 0.6
    assert 0.99 < ex["commit_quorum_probability"] <= 1
    assert commit_quorum_probability(p.replace(p_elect=0.125)) < 0.2


def test_adversarial_majority_by_hand():
    # Q_R = 3, share 1/2: P(k >= 2) = 3/8 + 1/8
    assert adversarial_majority(3, 0.5, 21)["binomial_majority"] == pytest.approx(0.5)
    # Q_R = 2: majority needs k = 2 (1/4), the median already breaks at k = 1 (3/4)
    a = adversarial_majority(2, 0.5, 21)
    assert a["binomial_majority"] == pytest.approx(0.25)
    assert a["binomial_median_unsafe"] == pytest.approx(0.75)
    # finite population: 20 eligible, 10 adversarial, committee of 1
    assert adversarial_majority(1, 10 / 21, 21)["hypergeometric_majority"] == pytest.approx(0.5)
    assert adversarial_majority(11, 0.4, 21)["binomial_majority"] == pytest.approx(0.2465, 1e-3)


# -- claims ---------------------------------------------------------------------------------


def test_claims_have_the_issue_names_and_verdicts():
    names = [c.name for c in MECH.claims]
    assert names == [
        "brain.median_robust",
        "brain.reveal_ic",
        "brain.honest_scoring_ic",
        "brain.commit_reveal_no_freeride",
        "brain.proposer_ic",
    ]
    res = {c.name: prove_claim(MECH, c) for c in MECH.claims}
    med = res["brain.median_robust"]
    assert med["status"] == "proved" and med["even_m_fails_at_half"]
    assert res["brain.commit_reveal_no_freeride"]["status"] == "proved"
    assert res["brain.commit_reveal_no_freeride"]["rejected"] == 80
    hs = res["brain.honest_scoring_ic"]
    assert hs["status"] == "counterexample" and hs["witness"]["moved"] == []  # the defaults
    assert prove_claim(MECH, "brain.honest_scoring_ic", base={"c_eval": 0})["status"] == ("proved")
    rv = res["brain.reveal_ic"]
    assert rv["status"] == "counterexample" and rv["witness"]["replayed"]
    pr = res["brain.proposer_ic"]
    # the gap needed: pi_N - pi_L > c_train / (pi_q (r_s + p_s)) = 0.1
    assert pr["status"] == "counterexample"
    assert pr["witness"]["exact"] == {"pi_n": "3/5"}


def test_table_ii_and_latency_reproduce():
    p = BRAIN_SPACE.defaults()
    t = gas.table_ii(p)
    assert t["mismatches"] == []
    lo, hi = t["eth_usd_interval"]
    assert lo <= 1412.5 <= hi
    assert {r["phase"]: r["usd_eth"] for r in t["phases"]}["(2)-a verify"] == 5.863
    g = gas.request_gas(p)
    # 91699 + 11 (150715 + 44895) + 100861 + 11 * 47389
    assert g["inference"]["total_gas"] == 2865549
    assert g["training"]["total_gas"] == 51345 + 11 * 195610 + 29034 + 11 * 47389
    assert all(v["agrees"] for v in gas.latency().values())
