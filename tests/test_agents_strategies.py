"""Mesa agents, declared strategy objects, their consequences and adaptation rules."""

from __future__ import annotations

import numpy as np
import pytest

from agents import (
    Participant,
    StrategyBehaviour,
    get_strategy,
    known_strategies,
    register_strategy,
    unregister_strategy,
)
from derelay.mechanism import get_mechanism
from derelay.model import DeRelayModel, SimConfig, run_simulation


def cfg_with(**kw):
    base = {"params": {"n_participants": 96, "n_miners": 48}, "check_invariants": True}
    base.update(kw)
    return SimConfig.from_preset("paper_text").with_updates(**base)


def test_strategy_sets_are_table2():
    declared = {r.abbr: {s.abbr for s in r.strategies} for r in get_mechanism("derelayl").roles}
    known = {r: set(v) for r, v in known_strategies().items()}
    for role, strategies in declared.items():
        assert strategies <= known[role]
    assert declared == {
        "MO": {"N", "NTm"},
        "T": {"N", "NTr", "NBr"},
        "DBM": {"N", "NPA", "PI"},
        "EBM": {"N", "NG"},
        "TBM": {"N", "IT"},
        "SBM": {"N", "IRa"},
    }
    assert not get_strategy("T", "NTr").trains
    assert not get_strategy("SBM", "IRa").block_valid


def test_mesa_agents_are_views_on_the_arrays():
    m = DeRelayModel(cfg_with(), seed=0)
    m.run(20)
    assert len(m.agents) == 96
    assert all(isinstance(a, Participant) for a in m.agents)
    coins = np.array([a.coins_nano for a in m.agents])
    assert np.array_equal(np.sort(coins), np.sort(m.ledger.coins))
    owners = m.agents.select(lambda a: a.role == "MO")
    assert len(owners) == int(m.recorder.rows[-1]["n_model_owners"])
    a = next(iter(m.agents))
    a.set_strategy("T", "NBr")
    assert a.strategy_for("T") == "NBr"
    with pytest.raises(ValueError, match="unknown strategy"):
        a.set_strategy("T", "XX")


def test_user_strategy_without_editing_the_model():
    calls = []

    def hook(agent, model):
        calls.append(agent.index)

    register_strategy(StrategyBehaviour("T", "LB", "Low Bid", bid_factor=0.25, hook=hook))
    try:
        cfg = cfg_with(strategies={"T": {"N": 0.5, "LB": 0.5}})
        res = run_simulation(cfg, rounds=40, seed=1)
        assert "share_T_LB" in res.rounds.columns
        t = res.agents[(res.agents["role"] == "T")]
        assert set(t["strategy"]) == {"N", "LB"}
        assert calls  # the per-agent hook ran through AgentSet.shuffle_do
        with pytest.raises(ValueError, match="already registered"):
            register_strategy(StrategyBehaviour("T", "LB"))
    finally:
        unregister_strategy("T", "LB")
    assert "LB" not in known_strategies()["T"]


def test_consequences_of_deviant_trainers():
    cfg = cfg_with(strategies={"T": {"N": 0.5, "NTr": 0.25, "NBr": 0.25}})
    res = run_simulation(cfg, rounds=120, seed=2)
    ag = res.agents
    t = ag[ag["role"] == "T"]
    # NBr trainers never broadcast: never ranked, never selected, always lose the deposit
    m = res.model
    lin_trainers = set()  # owners are selected trainers; NBr never becomes an owner
    mo = ag[ag["role"] == "MO"]
    nbr_ids = set(np.flatnonzero(m.state.strategy[:, 1] == m.role_strats["T"].index("NBr")))
    lin_trainers |= set(mo["agent_id"]) & nbr_ids
    assert not lin_trainers
    # lazy (NTr) models are submitted and ranked, but in the version-based model they
    # reach the top s only when fewer honest models than top-s slots were submitted
    rate = res.rounds["lazy_top_s_rate"].dropna()
    assert 0 < rate.mean() < 0.05
    assert (t.groupby("strategy")["cost"].mean() >= 0).all()


def test_ntm_owner_forfeits_deposits_and_trainers_get_theirs_back():
    # everyone but the genesis initiator is NTm: after round 1 no model reaches a trainer
    cfg = cfg_with(strategies={"MO": {"NTm": 1.0}}, initial_coins=1.0)
    res = run_simulation(cfg, rounds=6, seed=0)
    r = res.rounds
    assert r["n_selected"].iloc[0] > 0  # round 1: the Normal genesis owner
    later = r.iloc[1:]
    assert (later["n_submitted"] == 0).all() and (later["n_selected"] == 0).all()
    u = res.utilities
    ntm = u[(u["role"] == "MO") & (u["strategy"] == "NTm")]
    # U_NTm = -Q_Selected * b^MO (eq. 28): the whole stake is lost, nothing returned
    assert ntm["returned_sum"].sum() == 0
    assert ntm["utility_sum"].sum() == pytest.approx(-ntm["stake_sum"].sum())
    t = u[(u["role"] == "T") & (u["round"] > 1)]
    assert t["stake_sum"].sum() > 0 and t["returned_sum"].sum() == pytest.approx(
        t["stake_sum"].sum()
    )


def test_dishonest_blocks_are_forked_and_npa_packs_less():
    cfg = cfg_with(strategies={"DBM": {"NPA": 0.5, "PI": 0.5}, "SBM": {"N": 0.5, "IRa": 0.5}})
    res = run_simulation(cfg, rounds=80, seed=5)
    r = res.rounds
    assert r["forks"].sum() > 40  # about one forked DB and one forked SB per round
    # the relay still advances (NPA halves the packed pairs: some rounds select nothing)
    assert r["latest_version"].iloc[-1] > 40
    assert (r["latest_version"].diff().dropna() >= 0).all()
    assert (r["n_trainers"] < r["n_matched"]).all()  # NPA: unpacked pairs do not train


def test_best_response_converges_to_normal_where_t1_t8_hold():
    from derelay.check import check_point

    p = SimConfig.from_preset("paper_text").params
    assert all(check_point(p)["ic"].values())
    cfg = cfg_with(
        strategies={
            "T": {"N": 0.4, "NTr": 0.3, "NBr": 0.3},
            "DBM": {"N": 0.4, "NPA": 0.3, "PI": 0.3},
        },
        adaptation="best_response",
        adaptation_noise=0.005,
        adaptation_rate=0.2,
    )
    r = run_simulation(cfg, rounds=60, seed=0).rounds
    assert r["share_T_N"].iloc[-1] > 0.97
    assert r["share_DBM_N"].iloc[-1] > 0.97


def test_replicator_and_imitation_run_and_move_shares():
    s = {"T": {"N": 0.5, "NTr": 0.25, "NBr": 0.25}}
    for rule in ("replicator", "imitation"):
        cfg = cfg_with(strategies=s, adaptation=rule, adaptation_rate=0.2)
        a = run_simulation(cfg, rounds=60, seed=3).rounds
        b = run_simulation(cfg, rounds=60, seed=3).rounds
        assert a.equals(b)
        shares = a[["share_T_N", "share_T_NTr", "share_T_NBr"]]
        np.testing.assert_allclose(shares.sum(axis=1), 1.0)
        assert (shares.diff().abs().sum(axis=1).iloc[1:] > 0).any()


def test_fixed_rule_keeps_initial_shares_exactly():
    cfg = cfg_with(strategies={"T": {"N": 0.75, "NTr": 0.25}})
    r = run_simulation(cfg, rounds=10, seed=0).rounds
    assert (r["share_T_NTr"] == 24 / 96).all()


def test_where_t8_fails_nbr_invades_and_the_relay_starves():
    """Broadcasting to 1,000 peers makes C_Broadcast = 40 coins, so T8 (eq. 14) fails:
    U_NBr > U_N.  Best response on Table II lets NBr take over; NBr models are never
    ranked, so after the takeover no model is selected any more."""
    from derelay.check import check_point

    cfg = cfg_with(
        params={"n_participants": 96, "n_miners": 48, "q_broadcast": 1000.0},
        adaptation="best_response",
        adaptation_noise=0.05,
        adaptation_rate=0.3,
    )
    chk = check_point(cfg.params)
    assert not chk["conditions"]["T8"] and not chk["ic"]["T"]
    r = run_simulation(cfg, rounds=40, seed=1).rounds
    assert r["share_T_NBr"].iloc[-1] > 0.95
    assert r["n_selected"].iloc[-10:].sum() <= 2
    assert r["latest_version"].iloc[-1] < 40


def test_optional_mesa_datacollector_agrees_with_tables():
    cfg = cfg_with(datacollector=True, record_every=5)
    res = run_simulation(cfg, rounds=20, seed=0)
    mv = res.model.datacollector.get_model_vars_dataframe()
    assert mv["total_coins"].tolist() == res.rounds["total_coins"].iloc[4::5].tolist()
    av = res.model.datacollector.get_agent_vars_dataframe().reset_index()
    last = av[av["Step"] == av["Step"].max()].sort_values("AgentID")
    ours = res.agents[res.agents["round"] == 20].sort_values("agent_id")
    assert last["coins"].tolist() == ours["coins"].tolist()


def test_best_response_at_own_state_exposes_ineffective_deposits():
    """beta = 0.05: at the default point (b^T = 3) Normal is the best response, but a
    trainer whose coins allow only a tiny deposit gains more from NBr (it keeps the
    model and saves encryption + broadcast); evaluated at each agent's own state the
    same Table II formulas make NBr invade and the relay starve."""
    base = {
        "strategies": {"T": {"N": 0.5, "NTr": 0.25, "NBr": 0.25}},
        "adaptation": "best_response",
        "adaptation_noise": 0.05,
        "params": {"n_participants": 96, "n_miners": 48, "beta": 0.05},
    }
    r_params = run_simulation(cfg_with(**base), rounds=60, seed=0).rounds
    r_own = run_simulation(cfg_with(**base, best_response_state="own"), rounds=60, seed=0).rounds
    assert r_params["share_T_N"].iloc[-1] > 0.95
    assert r_own["share_T_NBr"].iloc[-1] > 0.9
    assert r_own["n_selected"].iloc[-10:].sum() < r_params["n_selected"].iloc[-10:].sum()


def test_own_state_values_are_per_agent_arrays():
    from derelay.mechanism import get_mechanism
    from derelay.model.dynamics import own_state_values

    m = DeRelayModel(cfg_with(), seed=0)
    m.run(10)
    idx = np.arange(m.n)
    v = own_state_values(m, idx)
    u = get_mechanism("derelayl").role("T").strategy("N").utility(v)
    assert np.shape(u) == (m.n,)
    assert (v.b_t <= m.state.coins / 1e9 + 1e-12).all()
    assert (v.v_rec >= v.v_now_t).all()
