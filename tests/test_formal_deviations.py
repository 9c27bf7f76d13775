"""``derelay deviations``: break-evens, Algorithm 1, lazy trainers (C4), collusion (C8)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from derelay.formal.auction import (
    algorithm1,
    auction_search,
    brute_force_best_deviation,
    replay_outcome,
)
from derelay.formal.deviations import (
    break_even,
    coalition,
    coalition_gain,
    lazy,
    lazy_gain,
    lazy_utility,
    search,
    simulate_witness,
)
from derelay.formal.symbolic import FormalError, base_fractions, exact_point
from derelay.mechanism import derelayl as core
from derelay.mechanism import get_mechanism
from derelay.params import Params, ParamValues

MECH = get_mechanism("derelayl")


# -- Algorithm 1 -------------------------------------------------------------------------


def test_algorithm1_as_printed():
    sel, dep = algorithm1([5, 3, 4, 1], 3)
    assert sel == [0, 2, 1]
    assert dep == [4, 3, 3]  # next-highest bid, the last winner pays its own bid
    sel, dep = algorithm1([2, 2, 1], 2)  # ties by index
    assert sel == [0, 1] and dep == [2, 2]
    sel, dep = algorithm1([7], 3)
    assert sel == [0] and dep == [7]
    with pytest.raises(FormalError):
        algorithm1([1, 2], 0)


@pytest.fixture(scope="module")
def auction_default():
    return auction_search(bidders=4)


def test_auction_witnesses_replay(auction_default):
    found, info = auction_default
    assert info["bidders"] == 4 and info["slots"] == 3
    assert info["bid_deviation_search"] == "found"
    for d in found:
        assert d["kind"] == "auction" and d["gain"] > 0
        assert d["replayed_gain"] == pytest.approx(d["gain"], rel=1e-9)
    # the broken-T7 outcome exists but Normal still wins at the defaults (T7 not necessary)
    assert info["t7_break_search"] == "none"
    broken = info["t7_broken_outcome"]
    assert broken["deposit"] <= broken["model_value"]
    assert broken["ntr_gain_at_point"] < 0


def test_auction_bid_deviation_is_optimal_against_brute_force(auction_default):
    found, info = auction_default
    (d,) = [x for x in found if x["witness"]["search"] == "profitable bid deviation"]
    gaps = d["witness"]["gaps"]
    point = base_fractions(None)
    bids = sorted({(g + 1) * point["coin"] for g in gaps} | {Fraction(0)})
    cands = set(bids)
    for b in bids:
        cands |= {b - Fraction(1, 10), b + Fraction(1, 10)}
    best, _ = brute_force_best_deviation(
        point, gaps, info["slots"], [c for c in cands if c >= 0], d["witness"]["deviating_bidder"]
    )
    assert d["witness"]["deviating_bidder"] == info["deviant"] == 3
    assert Fraction(d["gain_exact"]) == best


def test_auction_finds_t7_break_when_training_is_expensive():
    found, info = auction_search(Params(p_comp=3e-7), bidders=4)
    assert info["t7_break_search"] == "found"
    (d,) = [x for x in found if x["witness"]["search"].startswith("deposit breaks T7")]
    w = d["witness"]
    assert w["deposit"] <= w["model_value"]
    # replay through Algorithm 1 and Table II
    point = base_fractions(Params(p_comp=3e-7))
    res = replay_outcome(
        point, w["gaps"], [Fraction(b).limit_denominator() for b in w["bids"]], w["slots"]
    )
    o = res[w["winner"]]
    assert o["best"] == "NTr"
    assert float(o["utilities"]["NTr"] - o["utilities"]["N"]) == pytest.approx(d["gain"])


def test_auction_bad_bidders():
    with pytest.raises(FormalError, match="bidders"):
        auction_search(bidders=1)


# -- unilateral --------------------------------------------------------------------------


def test_break_even_for_ntr_in_training_price_is_exact():
    be = break_even(None, "T", "NTr", "p_comp")
    p = exact_point(Params())
    # U_N - U_NTr = coin + R^T_Cited - C_Train + s b_T - C_Enc - C_Broadcast = 0
    rest = (
        p.coin
        + core.trainer_citation_value(p)
        + p.s * p.b_t
        - core.encrypt_cost(p)
        - core.broadcast_cost(p)
    )
    expected = rest / (p.data_volume * p.tau * p.model_size)
    assert Fraction(be["up"]["ties_at_exact"]) == expected
    assert be["up"]["pays_beyond"] and be["up"]["proof"] == "proved"
    assert be["down"]["ties_at"] is None


def test_break_even_ties_without_strict_gain():
    be = break_even(None, "DBM", "NPA", "r_deposit")
    assert be["down"]["ties_at"] == 0.0
    assert be["down"]["pays_beyond"] is False  # rewards cannot go negative


def test_break_even_independent_parameter_is_none():
    assert break_even(None, "DBM", "NPA", "beta") is None


def test_unilateral_witnesses_replay():
    out = search(scope="unilateral")
    devs = out["deviations"]
    assert devs and all(d["kind"] == "unilateral" for d in devs)
    for d in devs:
        assert d["gain"] > 0
        assert d["replayed_gain"] == pytest.approx(d["gain"], rel=1e-6, abs=1e-12)
        assert d["witness"].get("nothing_closer_pays", "proved") == "proved"


# -- lazy (C4) ---------------------------------------------------------------------------


def test_lazy_break_even_luck_and_identity():
    p = exact_point(Params())
    # U_lazy(s) - U_N = C_Train - coin under the default (scaled) reading
    assert lazy_gain(p, p.s) == core.train_cost(p) - p.coin
    found, info = lazy(Params())
    assert Fraction(info["p_star_exact"]) == Fraction(31, 59)
    assert lazy_gain(p, Fraction(31, 59)) == 0
    (d,) = found
    assert d["witness"]["lazy_p"] > info["p_star"]
    assert d["replayed_gain"] == pytest.approx(d["gain"])


def test_lazy_user_probability_and_deposit_threshold():
    found, info = lazy(Params(), lazy_p=0.1)
    assert found == []  # unlucky laziness does not pay
    (dep,) = info["deposits"]
    assert dep["p"] == 0.1 and dep["pays_when"] == "b_t < b_t_star"
    with pytest.raises(FormalError):
        lazy(Params(), lazy_p=1.5)
    with pytest.raises(FormalError):
        lazy_utility(exact_point(Params()), Fraction(1, 2), citations="bogus")


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 100), st.sampled_from(["scaled", "unscaled"]))
def test_lazy_gain_is_affine_and_float_replay_agrees(pct, reading):
    p = exact_point(Params())
    f = ParamValues(**{k: float(v) for k, v in vars(p).items()})
    prob = Fraction(pct, 100)
    g = lazy_gain(p, prob, reading)
    assert float(g) == pytest.approx(lazy_gain(f, pct / 100, reading), rel=1e-9, abs=1e-9)
    g0, g1 = lazy_gain(p, 0, reading), lazy_gain(p, 1, reading)
    assert g == g0 + prob * (g1 - g0)


# -- coalition (C8) ----------------------------------------------------------------------


def test_coalition_threshold():
    found, info = coalition(Params())
    q_star = Fraction(info["q_star_exact"])
    p = exact_point(Params())
    assert coalition_gain(p, q_star) == 0
    assert coalition_gain(p, q_star / 2) > 0 and coalition_gain(p, (1 + q_star) / 2) < 0
    assert info["nothing_above_q_star_pays"] == "proved"
    # without side payments the TBM, who saves least, is the first to defect
    per = info["per_role_without_transfers"]
    assert Fraction(per["TBM"]["q_star_exact"]) == Fraction(5, 82)
    assert min(v["q_star"] for v in per.values()) == per["TBM"]["q_star"] < info["q_star"]
    (d,) = found
    assert d["roles"] == ["TBM", "SBM", "T"]
    assert d["replayed_gain"] == pytest.approx(d["gain"])
    # a user fork probability above q* gives no profitable collusion
    found, _ = coalition(Params(), fork_q=0.9)
    assert found == []


def test_simulation_hook():
    assert simulate_witness({"kind": "coalition"})["status"] == "unavailable"
    found, _ = lazy(Params())
    out = simulate_witness(found[0], Params(), rounds=5)
    assert out["status"] in ("ok", "unavailable")
    if out["status"] == "ok":  # the ABM (issue 5) is available
        assert {"simulated_gain", "lazy_top_s_rate", "mean_utility_lazy"} <= set(out)


def test_search_bad_scope():
    with pytest.raises(FormalError, match="scope"):
        search(scope="everything")
