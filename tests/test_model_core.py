"""Core ABM tests: exact ledger, determinism, citation fast path, matching, config."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from derelay.model import (
    CitationEngine,
    Ledger,
    LedgerError,
    Lineage,
    SimConfig,
    SimConfigError,
    naive_citations,
    run_simulation,
)
from derelay.model.matching import match

DEVIANT = {
    "MO": {"N": 0.8, "NTm": 0.2},
    "T": {"N": 0.6, "NTr": 0.2, "NBr": 0.2},
    "DBM": {"N": 0.6, "NPA": 0.2, "PI": 0.2},
    "EBM": {"N": 0.8, "NG": 0.2},
    "TBM": {"N": 0.8, "IT": 0.2},
    "SBM": {"N": 0.8, "IRa": 0.2},
}


def small(preset="paper_text", **kw):
    cfg = SimConfig.from_preset(preset)
    base = {"params": {"n_participants": 64, "n_miners": 32}, "check_invariants": True}
    base.update(kw)
    return cfg.with_updates(**base)


# --- ledger --------------------------------------------------------------------------
def test_ledger_flows_are_exact_and_checked():
    lg = Ledger(4)
    lg.mint(np.array([0, 0, 1]), np.array([5, 7, 3]))
    assert lg.coins.tolist() == [12, 3, 0, 0]
    lg.lock(np.array([0, 1]), np.array([10, 3]))
    assert lg.escrow == 13
    lg.release(np.array([1]), np.array([3]))
    burned = lg.forfeit(10, to=np.array([2, 3, 3]))  # 3 each, remainder 1 burned
    assert burned == 1 and lg.coins.tolist() == [2, 3, 3, 6]
    lg.check()
    with pytest.raises(LedgerError):
        lg.lock(np.array([0]), np.array([3]))  # more than its balance
    lg2 = Ledger(2)
    lg2.coins[0] = 5  # a coin out of nowhere
    with pytest.raises(LedgerError):
        lg2.check()


def test_interval_citations_with_compaction_match_naive_walk():
    """keep_all=False: the lineage compacts whenever its storage half fills (interval
    mode), and the weights still equal the naive walk over the full history."""
    rng = np.random.default_rng(5)
    n_part = 20
    full, g, par, rec, pays, rounds = _random_relay(rng, 200, 12, n_part, True)
    lin = Lineage(capacity=16, keep_all=False)
    lin.add(parent=-1, recipient=0, trainer=0, depth=0, pays=True)
    eng = CitationEngine(lin, n_part, g, mode="interval")
    done = 1
    for d, sel in enumerate(rounds, start=1):
        ids = np.arange(done, done + int((full.col("depth", np.arange(full.n)) == d).sum()))
        lin.add(**{k: full.col(k, ids) for k in ("parent", "recipient", "trainer", "depth")},
                pays=True)  # fmt: skip
        done += len(ids)
        assert np.array_equal(eng.weights(sel), naive_citations(par, rec, pays, sel, n_part))
    assert lin.base > 0 and lin.n < 64  # compacted, bounded


def test_interval_citations_refuse_a_parent_that_is_not_live():
    lin = Lineage(capacity=16)
    g = int(lin.add(parent=-1, recipient=0, trainer=0, depth=0, pays=True)[0])
    eng = CitationEngine(lin, 4, g, mode="interval")
    a = lin.add(parent=g, recipient=np.array([1, 2]), trainer=1, depth=1, pays=True)
    eng.weights(a[:1])  # a[1] is not selected: not live from here on
    for parent in (int(a[1]), g, int(a[1]) + 5):  # dead, an ancestor, beyond every id
        child = lin.add(parent=parent, recipient=3, trainer=3, depth=2, pays=True)
        with pytest.raises(ValueError, match="not live"):
            eng.weights(child)


@pytest.mark.parametrize("preset", ["paper_text", "authors_code"])
@pytest.mark.parametrize("forfeit", ["burn", "redistribute"])
def test_conservation_every_round_with_deviants(preset, forfeit):
    cfg = small(
        preset,
        strategies=DEVIANT,
        forfeit=forfeit,
        on_no_selection="keep_owners",
        initial_coins=1.0,
    )
    res = run_simulation(cfg, rounds=60, seed=11)  # check_invariants asserts every round
    r = res.rounds
    assert (r["total_coins_nano"] + r["escrow_nano"] == r["minted_nano"] - r["burned_nano"]).all()
    assert (r["escrow_nano"] == 0).all()  # every deposit is settled within its round
    assert r["forfeited"].iloc[-1] > 0
    assert r["forks"].sum() > 0  # PI/NG/IT/IRa blocks were forked away
    assert (res.agents["coins_nano"] >= 0).all()


# --- determinism -----------------------------------------------------------------------
def test_same_seed_same_tables_other_seed_differs(tmp_path):
    cfg = small(strategies=DEVIANT, adaptation="imitation")
    a = run_simulation(cfg, rounds=40, seed=5)
    b = run_simulation(cfg, rounds=40, seed=5)
    c = run_simulation(cfg, rounds=40, seed=6)
    pd.testing.assert_frame_equal(a.rounds, b.rounds)
    pd.testing.assert_frame_equal(a.agents, b.agents)
    pd.testing.assert_frame_equal(a.utilities, b.utilities)
    assert not a.rounds["total_coins"].equals(c.rounds["total_coins"])
    a.write(tmp_path / "a")
    b.write(tmp_path / "b")
    for f in ("rounds.parquet", "agents.parquet", "utilities.parquet"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    meta = (tmp_path / "a" / "run.json").read_text()
    assert '"seed": 5' in meta and '"timings"' in meta and '"version"' in meta


def test_contract_columns():
    res = run_simulation(small(), rounds=5, seed=0)
    need = [
        "round", "n_model_owners", "n_trainers", "n_selected", "latest_version",
        "total_coins", "minted", "forfeited", "forks", "stale_blocks",
        *[f"share_latest_{k}" for k in range(11)], "share_older", "share_none",
        "share_T_NTr", "share_MO_N",
    ]  # fmt: skip
    assert set(need) <= set(res.rounds.columns)
    assert {"round", "agent_id", "role", "strategy", "coins", "version"} <= set(res.agents.columns)
    shares = res.rounds[[f"share_latest_{k}" for k in range(11)] + ["share_older", "share_none"]]
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    assert res.rounds["round"].tolist() == [1, 2, 3, 4, 5]
    assert res.rounds["n_model_owners"].iloc[0] == 1  # the genesis initiator alone


def test_record_every_and_sample():
    res = run_simulation(small(record_every=5, record_sample=10), rounds=20, seed=1)
    assert sorted(res.agents["round"].unique()) == [5, 10, 15, 20]
    assert res.agents.groupby("round").size().eq(10).all()


# --- citation fast path vs naive walk ----------------------------------------------------
def _random_relay(rng, rounds, width, n_part, genesis_bonus):
    lin = Lineage(capacity=16, keep_all=True)
    g = int(lin.add(parent=-1, recipient=0, trainer=0, depth=0, pays=genesis_bonus)[0])
    live = np.array([g])
    parents = [-1]
    recips = [0]
    pays = [genesis_bonus]
    per_round = []
    for d in range(1, rounds + 1):
        k = int(rng.integers(1, width + 1))
        par = rng.choice(live, size=k)
        rec = rng.integers(0, n_part, size=k)
        ids = lin.add(parent=par, recipient=rec, trainer=rec, depth=d, pays=True)
        parents += par.tolist()
        recips += rec.tolist()
        pays += [True] * k
        sel = rng.choice(ids, size=int(rng.integers(1, k + 1)), replace=False)
        per_round.append(np.sort(sel))
        live = np.sort(sel)
    return lin, g, np.array(parents), np.array(recips), np.array(pays), per_round


@pytest.mark.parametrize("mode", ["interval", "walk", "dense"])
@pytest.mark.parametrize("schedule", ["every_ancestor", "discounted"])
@pytest.mark.parametrize("genesis_bonus", [False, True])
def test_citation_engine_matches_naive_walk(schedule, genesis_bonus, mode):
    rng = np.random.default_rng(3)
    n_part = 20
    lin, g, par, rec, pays, rounds = _random_relay(rng, 120, 12, n_part, genesis_bonus)
    beta = 0.9
    eng = CitationEngine(lin, n_part, g, schedule=schedule, beta=beta, mode=mode)
    disc = schedule == "discounted"
    for sel in rounds:
        fast = eng.weights(sel)
        slow = naive_citations(par, rec, pays, sel, n_part, discounted=disc, beta=beta)
        if disc:
            np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12)
        else:
            assert np.array_equal(fast, slow)
    if mode == "walk":
        assert eng.top != g  # the trunk advanced


@pytest.mark.parametrize("preset", ["paper_text", "authors_code"])
def test_model_citations_equal_naive_walk(preset):
    cfg = small(preset, keep_lineage=True, on_no_selection="keep_owners")
    res = run_simulation(cfg, rounds=80, seed=2)
    lin = res.lineage
    par, rec, pays = lin["parent"].to_numpy(), lin["recipient"].to_numpy(), lin["pays"].to_numpy()
    total = np.zeros(64, dtype=np.int64)
    for _, grp in lin[lin["selected"] & (lin["round"] > 0)].groupby("round"):
        total += naive_citations(par, rec, pays, grp["model_id"].to_numpy(), 64)
    assert np.array_equal(total * 10**9, res.model.state.cited)


def test_authors_citation_pays_version_plus_one():
    # authors' code: a selected model of version v pays v + 1 coins (genesis owner twice)
    cfg = small("authors_code", keep_lineage=True, on_no_selection="keep_owners")
    res = run_simulation(cfg, rounds=30, seed=4)
    lin = res.lineage
    sel = lin[lin["selected"] & (lin["round"] > 0)]
    per_round = sel.groupby("round")["depth"].sum() + sel.groupby("round").size()
    got = res.rounds.set_index("round")["citation_minted"]
    np.testing.assert_allclose(got.loc[per_round.index], per_round.astype(float))


# --- matching ------------------------------------------------------------------------------
def test_algorithm1_second_price_as_printed():
    rng = np.random.default_rng(0)
    m = match(
        "algorithm1", "second",
        owner_perf=np.array([1.0, 2.0]), owner_deposit=np.array([250, 250]),
        budget=1000, limit=4, trainers=np.arange(10, 16),
        bids=np.array([5, 9, 7, 3, 8, 1]), trainer_perf=np.zeros(6), rng=rng,
    )  # fmt: skip
    # owner 1 (better) takes bids 9, 8, 7, 5 and deposits 8, 7, 5, 5 (last: own bid)
    first = m.owner_pos == 1
    assert m.trainer[first].tolist() == [11, 14, 12, 10]
    assert m.t_deposit[first].tolist() == [8, 7, 5, 5]
    assert m.trainer[~first].tolist() == [13, 15]
    assert m.t_deposit[~first].tolist() == [1, 1]
    assert m.q_selected.tolist() == [2, 4]


def test_authors_first_price_and_sec4_rule():
    rng = np.random.default_rng(0)
    kw = dict(owner_perf=np.array([1.0, 2.0]), budget=1000, limit=2, trainers=np.arange(4),
              bids=np.array([4, 3, 2, 1]), trainer_perf=np.array([0.0, 9.0, 5.0, -np.inf]), rng=rng)  # fmt: skip
    a = match("authors", "first", owner_deposit=np.array([250, 250]), **kw)
    assert a.trainer[a.owner_pos == 1].tolist() == [0, 1]
    assert a.t_deposit[a.owner_pos == 1].tolist() == [4, 3]
    s = match("sec4_text", "first", owner_deposit=np.array([300, 100]), **kw)
    # trainers ranked by last performance, owners by deposit: owner 0 goes first
    assert s.trainer[s.owner_pos == 0].tolist() == [1, 2]


# --- config -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data, needle",
    [
        ({"matchin": "algorithm1"}, "matching"),
        ({"s": 0.5}, "params.s"),
        ({"params": {"s": 1.5}}, "0 < s < 1"),
        ({"record_every": 0}, "record_every"),
        ({"matching": "lottery"}, "matching"),
        ({"strategies": {"T": {"N": 0.5}}}, "sum to 1"),
        ({"strategies": {"T": {"N": 0.5, "XX": 0.5}}}, "unknown strategy"),
        ({"strategies": {"ZZ": {"N": 1.0}}}, "unknown role"),
        ({"genesis_owner": 999}, "genesis_owner"),
    ],
)
def test_config_errors_name_the_key(data, needle):
    with pytest.raises(SimConfigError, match=needle):
        SimConfig.from_mapping(data)


def test_presets_load_and_differ():
    a, b = SimConfig.from_preset("paper_text"), SimConfig.from_preset("authors_code")
    assert a.matching == "algorithm1" and a.deposit_price == "second" and not a.genesis_bonus
    assert b.matching == "authors" and b.deposit_price == "first" and b.genesis_bonus
    assert b.forfeit == "burn" and b.ebm_receives == "all" and not b.failed_keeps_received
    with pytest.raises(SimConfigError):
        SimConfig.from_preset("nope")


def test_sweep_adapter_and_halting():
    from derelay.model import abm_run_kind

    t = abm_run_kind(
        {"preset": "authors_code", "rounds": 5, "params": {"n_participants": 32, "n_miners": 16}},
        seed=0,
    )
    assert set(t) == {"rounds", "agents", "utilities"} and len(t["rounds"]) == 5
    # a relay whose owners produce nothing: "halt" (authors' code) stops it for good
    cfg = small(
        "authors_code", params={"n_participants": 32, "n_miners": 16, "p_train_success": 0.0}
    )
    r = run_simulation(cfg, rounds=6, seed=0).rounds
    assert r["halted"].iloc[1:].all() and not r["halted"].iloc[0]
    assert (r["n_model_owners"].iloc[1:] == 0).all()
    k = run_simulation(cfg.with_updates(on_no_selection="keep_owners"), rounds=6, seed=0).rounds
    assert not k["halted"].any() and (k["n_model_owners"] == 1).all()


@pytest.mark.parametrize("matching", ["sec4_text", "authors", "algorithm1"])
def test_discounted_citations_in_the_model_equal_naive_walk(matching):
    cfg = small(keep_lineage=True, citation="discounted", citation_beta=0.8, matching=matching)
    res = run_simulation(cfg, rounds=60, seed=9)
    lin = res.lineage
    par, rec, pays = lin["parent"].to_numpy(), lin["recipient"].to_numpy(), lin["pays"].to_numpy()
    total = np.zeros(64, dtype=np.int64)
    for _, grp in lin[lin["selected"] & (lin["round"] > 0)].groupby("round"):
        w = naive_citations(par, rec, pays, grp["model_id"].to_numpy(), 64, True, 0.8)
        total += np.rint(w * 10**9).astype(np.int64)
    assert np.abs(total - res.model.state.cited).max() <= 60  # <= 1 nano-coin per round


def test_block_log_matches_rewards_and_forks():
    cfg = small(strategies={"DBM": {"N": 0.5, "PI": 0.5}, "TBM": {"N": 0.7, "IT": 0.3}})
    res = run_simulation(cfg, rounds=30, seed=8)
    b, r = res.blocks, res.rounds
    assert (~b["valid"]).sum() == r["forks"].sum()
    assert set(b.loc[~b["valid"], "kind"]) <= {"DB", "TB"}
    valid = b[b["valid"]]
    assert (valid.groupby("round").size() == 4).all()  # DB, EB, TB, SB every round
    # miner rewards + citations = everything minted
    minted = valid["reward_nano"].sum() + (r["citation_minted"] * 10**9).round().sum()
    assert minted == r["minted_nano"].iloc[-1]
    assert (
        valid.loc[valid["kind"] == "DB", "items"].to_numpy() == r["n_trainers"].to_numpy()
    ).all()
