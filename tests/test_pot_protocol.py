"""PoT's ABM round: finalize split, commit-reveal, slashing flows, conservation (issue 12)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from derelay.engine import RunConfig, run_simulation
from derelay.engine.ledger import BURN, ESCROW, EXTERNAL, NANO
from derelay.mechanism import get_mechanism
from derelay.mechanisms.pot.protocol import accept_reveal, finalize_split

QUIET = {"sigma": 0.1}  # honest training always improves on the start model


def run(types=None, rounds=6, seed=0, params=None, **options):
    opts = {"learning_config": QUIET, **options}
    cfg = RunConfig(mechanism="pot", types=types or {}, params=params or {}, options=opts)
    return run_simulation(cfg, rounds=rounds, seed=seed)


def flows(res, reason):
    f = res.flows
    return f[f.reason == reason]


def test_finalize_split_exact_nano_coins():
    s = finalize_split(2 * NANO, 0.2, 0.02, 5, 30)
    assert s == {"winner": 1_560_000_000, "per_validator": 80_000_000, "per_seat": 1_333_333,
                 "minted": 0, "burned": 10}
    assert s["winner"] + 5 * s["per_validator"] + 30 * s["per_seat"] + s["burned"] == 2 * NANO
    three = finalize_split(2 * NANO, 0.2, 0.02, 3, 30)
    assert three["per_validator"] == 133_333_333 and three["burned"] == 11
    infl = finalize_split(2 * NANO, 0.2, 0.02, 5, 30, funding="inflation")
    assert infl["winner"] == 1_600_000_000 and infl["minted"] == 39_999_990
    assert infl["burned"] == 0
    rng = np.random.default_rng(1)
    for _ in range(200):
        r_n = int(rng.integers(1, 10**12))
        rho, tax = float(rng.uniform(0, 0.5)), float(rng.uniform(0, 0.4))
        nv, ns = int(rng.integers(0, 9)), int(rng.integers(1, 40))
        s = finalize_split(r_n, rho, tax, nv, ns)
        assert min(s.values()) >= 0
        assert s["winner"] + nv * s["per_validator"] + ns * s["per_seat"] + s["burned"] == r_n
        assert s["winner"] == int(r_n * (1 - Fraction(repr(rho)) - Fraction(repr(tax))))


def test_honest_run_pays_the_split_and_conserves():
    res = run(rounds=5)
    r = res.rounds
    assert (r.sealed == 1).all() and (r.forks == 0).all()
    win = flows(res, "winner_reward")
    assert len(win) == 5 and (win.amount == 1_560_000_000).all() and (win.src == ESCROW).all()
    val = flows(res, "validator_reward")
    assert len(val) == 25 and (val.amount == 80_000_000).all()
    tax = flows(res, "aggregator_tax")
    assert len(tax) == 5 * 30 and (tax.amount == 1_333_333).all()
    res_b = flows(res, "finalize_residue")
    assert (res_b.amount == 10).all() and (res_b.dst == BURN).all()
    order = flows(res, "order_reward")
    assert (order.src == EXTERNAL).all() and order.amount.sum() == 5 * 2 * NANO
    led = res.meta["ledger"]
    assert led["total_balances_nano"] + led["escrow_nano"] == (
        led["minted_nano"] + led["external_nano"] - led["burned_nano"]
    )
    # only the aggregator stakes stay locked between rounds
    assert led["escrow_nano"] == 30 * 10 * NANO
    assert np.allclose(r.wasted_compute_share, 7 / 8)


def test_commit_reveal_rejects_copy():
    commits = {3: "aa", 5: "bb"}
    assert accept_reveal(commits, 3, "aa")
    assert not accept_reveal(commits, 5, "aa")  # a copy of provider 3's model
    assert not accept_reveal(commits, 7, "aa")  # no commit at all
    res = run(types={"free_ride": 0.4}, rounds=8)
    u = res.utilities
    copy = u[(u.role == "P") & (u.strategy == "Copy")]
    assert copy.n.sum() > 0
    assert res.rounds.copy_rejected.sum() == copy.n.sum()  # every copy claim rejected
    assert copy.revenue_sum.sum() == 0  # a copier never wins against an honest success
    assert (res.rounds.sealed == 1).all()


def test_slashing_flows_gamma_to_challenger_rest_burned():
    res = run(types={"misreport": 0.2, "false_report": 0.1, "withhold": 0.1}, rounds=12)
    r = res.rounds
    assert r.cheat_rate.sum() > 0
    # a lone misreport disagrees with honest co-validators: always caught
    assert r.detection_rate.dropna().eq(1.0).all()
    paid = flows(res, "validation_slash_challenger")
    burn = flows(res, "validation_slash_burn")
    v = NANO // 2  # v_stake
    to_ch = paid[paid.dst >= 0].groupby("round").amount.sum()
    assert len(burn) > 0 and (burn.amount.isin([v // 2, v])).all()
    # per slash: gamma * v_stake to the challengers (equal shares), the rest burned
    n_slashes = burn.groupby("round").size()
    assert (to_ch <= n_slashes.loc[to_ch.index] * (v // 2)).all()
    total = paid.amount.sum() + burn.amount.sum()
    assert total == len(burn) * v
    fc = flows(res, "false_challenge")
    assert fc.amount.sum() == r.false_challenges.sum() * (NANO // 10)
    assert (fc.dst == BURN).all()
    wh = flows(res, "withhold_slash")
    assert wh.amount.sum() == r.withheld.sum() * NANO and (wh.dst == BURN).all()


def test_cluster_is_caught_only_by_audits_and_drain_needs_k_seats():
    res = run(types={"collude": 1.0}, rounds=6, params={"audit": 0.0})
    r = res.rounds
    # all validators collude: the scores agree, nobody audits: never caught
    assert (r.cheat_rate > 0).all() and r.detection_rate.fillna(0).eq(0).all()
    # every seat is a colluder: one coalition with >= k seats drains every order
    assert (r.drained == 1).all() and (r.sealed == 0).all()
    few = run(types={"collude": 0.05}, rounds=4, colluder_seats=17)
    assert (few.rounds.drained == 0).all()
    many = run(types={"collude": 0.1}, rounds=4, colluder_seats=18)
    assert (many.rounds.drained >= 1).any()


def test_same_seed_same_tables():
    a = run(types={"lazy": 0.2, "misreport": 0.2}, rounds=4, seed=3)
    b = run(types={"lazy": 0.2, "misreport": 0.2}, rounds=4, seed=3)
    assert a.rounds.equals(b.rounds) and a.flows.equals(b.flows)


def test_verdict_rule():
    from derelay.mechanisms.pot.report import check, judge

    assert judge([check("a", True, "solver"), check("b", True, "simulation")]) == "✅"
    assert judge([check("a", True, "closed form vs itself")]) == "⚠️"  # the closed form against itself
    assert judge([check("a", False, "solver"), check("b", True, "closed form vs itself", "correction")]) == "⚠️"
    assert judge([check("a", False, "solver"), check("b", False, "simulation")]) == "❌"


@pytest.mark.slow
def test_reproduce_quick_has_every_claim_family_and_table6():
    from derelay.mechanisms.pot.report import POT_FAMILIES, reproduce

    out = reproduce(quick=True)
    names = [c["name"] for c in out["claims"]]
    assert names == [c.name for c in get_mechanism("pot").claims]
    verdicts = {c["name"]: c["verdict"] for c in out["claims"]}
    assert verdicts["pot.audit_all"] == "❌" and verdicts["pot.multisig_10pct"] == "✅"
    assert set(POT_FAMILIES) <= set(out["abm"]["families_played"])
    assert out["tables"]["table6"][3]["gas"] == 1_609_893
    for c in out["claims"]:
        assert c["command"] and c["criterion"]
        for v in c["measured"].values():
            assert v["unit"] and v["sample"]


DEVIATIONS = [(r.abbr, s.abbr) for r in get_mechanism("pot").roles for s in r.deviations]


@pytest.mark.parametrize(("role", "strategy"), DEVIATIONS)
def test_every_strategy_conserves_the_ledger(role, strategy):
    normal = get_mechanism("pot").role(role).normal.abbr
    cfg = RunConfig(
        mechanism="pot", strategies={role: {strategy: 1.0, normal: 0.0}},
        options={"learning_config": QUIET, "client_agent": role == "C"},
    )
    res = run_simulation(cfg, rounds=3, seed=1)
    u = res.utilities
    assert u[(u.role == role) & (u.strategy == strategy)].n.sum() > 0
    led = res.meta["ledger"]
    assert led["total_balances_nano"] + led["escrow_nano"] == (
        led["minted_nano"] + led["external_nano"] - led["burned_nano"]
    )


@pytest.mark.slow
def test_torch_contest_learning_runs_and_improves():
    cfg = RunConfig(mechanism="pot", params={"n_participants": 64},
                    types={"lazy": 0.1, "poison": 0.1}, options={"learning": "torch"})
    res = run_simulation(cfg, rounds=3, seed=0)
    acc = res.rounds.best_accuracy
    assert ((acc >= 0) & (acc <= 1)).all() and acc.iloc[-1] > acc.iloc[0]
    assert (res.rounds.sealed == 1).all()
