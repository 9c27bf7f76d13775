"""DeepChain's ABM round on the engine: flows, closed-form agreement, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from derelay.engine import RunConfig, run_simulation
from derelay.engine.ledger import BURN, ESCROW, NANO
from derelay.mechanisms.deepchain import DEEPCHAIN

PARAMS = {"n_participants": 40, "initial_coins": 1000.0}


def _run(types=None, rounds=30, seed=0, params=None, **kw):
    cfg = RunConfig(
        mechanism="deepchain", params={**PARAMS, **(params or {})}, types=types or {}, **kw
    )
    return run_simulation(cfg, rounds=rounds, seed=seed)


def _means(res):
    u = res.utilities.groupby(["role", "strategy"])[["n", "utility_sum"]].sum()
    return (u.utility_sum / u.n).to_dict()


def _closed(params=None):
    sp = DEEPCHAIN.space
    return DEEPCHAIN.utilities(sp.values(sp.validate({**PARAMS, **(params or {})})))


@pytest.mark.parametrize(
    "types", [{}, {"lazy": 0.3}, {"poison": 0.3}, {"malformed": 0.3}, {"withhold": 0.3}]
)
def test_party_utilities_match_closed_form(types):
    res = _run(types)
    cf = _closed()
    for (role, strat), mean in _means(res).items():
        if role == "P" and (strat != "N" or not types):
            assert mean == pytest.approx(cf["P"][strat], abs=1e-9), (role, strat)
    assert res.rounds.block_valid.all()


def test_honesty_level_realises_value_in_expectation():
    # each play is Value's two outcomes: Normal (π - ω - fee, plus forfeits of others) with
    # probability p, else caught (-f - fee); net of forfeits received its mean is Value(p)
    res = _run({"malformed": 0.5}, rounds=150, params={"honesty": 0.5})
    ag = res.agents.query("role == 'P' and strategy == 'Malformed'")
    fl = res.flows.query("reason == 'forfeit'").groupby(["round", "dst"]).amount.sum() / NANO
    got = np.array([fl.get((r, a), 0.0) for r, a in zip(ag["round"], ag.agent_id, strict=True)])
    net = ag.utility.to_numpy() - got
    cf = _closed({"honesty": 0.5})["P"]
    assert set(np.round(net, 9)) == {round(cf["N"], 9), round(cf["Malformed"] * 2 - cf["N"], 9)}
    se = net.std(ddof=1) / np.sqrt(net.size)
    assert abs(net.mean() - cf["Malformed"]) < 4 * se  # Value(1/2) - fee


def test_forfeit_flows_go_to_honest_parties_of_the_group():
    res = _run({"malformed": 0.3}, rounds=20)
    flows, parties = res.flows, res.tables["parties"]
    forfeit = flows[flows.reason == "forfeit"]
    dep = DEEPCHAIN.space.defaults().deposit
    assert len(forfeit) > 0 and (forfeit.src == ESCROW).all()
    for rnd, fl in forfeit.groupby("round"):
        pr = parties[parties["round"] == rnd - 1]
        caught = pr[pr.caught]
        honest = pr[(pr.realised == "N") & ~pr.caught]
        paid = fl[fl.dst != BURN]
        assert set(paid.dst) <= set(honest.party)
        assert fl.amount.sum() == len(caught) * int(dep * NANO)
        if len(honest):
            assert paid.amount.max() - paid.amount.min() <= 1
    # no forfeited deposit comes back; everyone else's does
    refunds = flows[flows.reason == "deposit_refund"]
    assert len(refunds) == int((~parties.caught).sum())
    # the ledger: genesis + block rewards minted, nothing external, remainders burned
    r = res.rounds.iloc[-1]
    assert r.external == 0 and r.escrow == 0
    assert r.minted == pytest.approx(40 * 1000.0 + 20 * 1.0)


def test_wrong_leader_loses_stake_and_is_redrawn():
    res = _run({"misreport": 0.5}, rounds=60, seed=5)
    lead = res.tables["leaders"]
    n_wrong = int(
        (res.agents.query("round == 1 and role == 'W'").strategy == "WrongAggregate").sum()
    )
    assert n_wrong > 0 and (lead.attempts > 1).any()
    # the committee (the workers) signs only with more than 2/3 matching results
    assert lead.valid.all() == (8 - n_wrong > 16 / 3) and lead.valid.any() == lead.valid.all()
    lost = res.flows[res.flows.reason == "worker_stake_forfeit"]
    n_failed = lead.failed.map(lambda t: len(t.split(",")) if t else 0)
    assert lost.amount.sum() == n_failed.sum() * int(1.0 * NANO)
    assert (n_failed == lead.attempts - (lead.leader >= 0)).all()
    m = _means(res)
    assert m[("W", "WrongAggregate")] <= m[("W", "Correct")] + 1e-9


def test_coalition_over_a_third_empties_blocks():
    res = _run({"collude": 0.9}, rounds=20, coalitions=1, seed=2)
    n_col = int((res.agents.query("round == 1 and role == 'W'").strategy == "Coalition").sum())
    valid = res.rounds.block_valid.mean()
    if 1 / 3 < n_col / 8 <= 2 / 3:
        assert valid == 0.0
    assert 0.0 <= valid <= 1.0


def test_same_seed_same_run_and_metrics():
    a = _run({"lazy": 0.2, "lazy_eval": 0.2}, rounds=15, seed=3)
    b = _run({"lazy": 0.2, "lazy_eval": 0.2}, rounds=15, seed=3)
    assert a.rounds.equals(b.rounds) and a.flows.equals(b.flows)
    for col in (
        "global_accuracy",
        "party_gain_vs_solo",
        "leader",
        "gini_worker_coins",
        "richest_worker_win_share",
    ):
        assert col in a.rounds


def test_literal_validity_with_expiring_genesis_locks_in_the_leader():
    res = _run(rounds=25, params={"validity": 1, "initial_coins_expire": True})
    assert res.tables["leaders"].leader.nunique() == 1
    assert res.rounds.richest_worker_win_share.iloc[-1] == 1.0


def test_too_small_population_is_one_clear_error():
    with pytest.raises(ValueError, match="n_participants = 10 is too small"):
        _run(params={"n_participants": 10})


def test_bad_decryption_shares_fail_decryption_below_the_threshold():
    # 3 of 4 parties with bad shares (caught): 1 good share < t = 2 (table) -> no update
    res = _run(
        rounds=12, seed=1, strategies={"P": {"N": 0.25, "BadDecShare": 0.75}, "W": {"Correct": 1.0}}
    )
    pt = res.tables["parties"]
    bad = pt.groupby("round").realised.apply(lambda s: int((s == "BadDecShare").sum()))
    failed = res.rounds.decrypt_failed.to_numpy()
    assert ((bad.to_numpy() >= 3) == (failed == 1)).all()
    assert (res.rounds.accuracy.diff().fillna(res.rounds.accuracy)[failed == 1] == 0).all()


def test_measured_pi_is_the_accuracy_gain_over_the_solo_model():
    res = _run(rounds=5, params={"pi_p_source": "measured"})
    pt = res.tables["parties"]
    assert np.allclose(pt.pi, pt.gain_points)  # abstract values are in coins already
    assert np.allclose(pt.gain_points, pt.accuracy - pt.solo_accuracy)


def test_solo_baseline_can_be_skipped_but_not_for_measured_pi():
    res = _run(rounds=3, options={"solo_baseline": False})
    assert res.rounds.solo_accuracy_mean.isna().all()
    with pytest.raises(ValueError, match="needs the solo baseline"):
        _run(rounds=1, params={"pi_p_source": "measured"}, options={"solo_baseline": False})


def test_measured_params_feed_the_closed_form():
    from derelay.engine import build_model

    cfg = RunConfig(mechanism="deepchain", params={**PARAMS, "pi_p_source": "measured"})
    m = build_model(cfg, seed=0)
    assert m.protocol.measured_params() == {}
    m.run(5)
    mp = m.protocol.measured_params()
    pt = m.protocol.tables()["parties"]
    assert mp["pi_p_source"] == "given"
    assert mp["pi_p"] == pytest.approx(max(pt.pi[~pt.caught].mean(), 0.0))
    DEEPCHAIN.space.validate({**PARAMS, **mp})


def test_fees_inverse_to_data_size_with_torch_shards():
    res = _run(rounds=2, params={"n_participants": 20}, options={"learning": "torch"})
    m = res.model
    sizes = m.protocol.data_sizes
    fees = res.flows[res.flows.reason == "fee"]
    total = int(DEEPCHAIN.space.defaults().fee_total * 15 * NANO)
    for _rnd, fl in fees.groupby("round"):
        d = sizes[fl.src.to_numpy()]
        assert abs(int(fl.amount.sum()) - total) <= len(fl)
        assert np.allclose(fl.amount.to_numpy() * d, (fl.amount.to_numpy() * d)[0], rtol=1e-6)
    assert len(set(sizes.tolist())) > 1


@pytest.mark.parametrize("learning", ["abstract", "torch"])
def test_unverified_malformed_ciphertexts_enter_the_average_as_garbage(learning):
    res = _run(
        {"malformed": 0.5},
        rounds=3,
        params={"pr_v_crypto": 0.0, "n_participants": 24},
        options={"learning": learning},
    )
    pt = res.tables["parties"]
    assert not pt.caught.any() and (pt.realised == "Malformed").any()
    assert res.rounds.block_valid.all()


def test_bad_options_are_one_line_naming_key_value_and_range():
    from derelay.engine.run import RunConfigError

    with pytest.raises(RunConfigError) as exc:
        _run(rounds=1, options={"groups": 0, "learning": "tensorflow", "grups": 2})
    msg = str(exc.value)
    assert len(msg.splitlines()) == 1
    assert "'options.groups' = 0" in msg and "'options.learning'" in msg and "grups" in msg
