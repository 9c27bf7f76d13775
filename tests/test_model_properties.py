"""Property tests (hypothesis): matching invariants and ledger conservation."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derelay.model import SimConfig, run_simulation
from derelay.model.matching import match


@settings(max_examples=150, deadline=None)
@given(
    rule=st.sampled_from(["algorithm1", "authors", "sec4_text"]),
    price=st.sampled_from(["first", "second"]),
    n_owners=st.integers(0, 8),
    n_trainers=st.integers(0, 30),
    limit=st.integers(1, 5),
    seed=st.integers(0, 2**31),
)
def test_matching_invariants(rule, price, n_owners, n_trainers, limit, seed):
    rng = np.random.default_rng(seed)
    bids = rng.integers(0, 5, size=n_trainers).astype(np.int64)  # many ties
    deposits = rng.integers(0, 600, n_owners)
    m = match(
        rule, price,
        owner_perf=rng.normal(size=n_owners), owner_deposit=deposits,
        budget=1000, limit=limit, trainers=np.arange(100, 100 + n_trainers), bids=bids,
        trainer_perf=rng.normal(size=n_trainers), rng=rng,
    )  # fmt: skip
    # every trainer at most once, every owner at most `limit` trainers
    assert len(np.unique(m.trainer)) == len(m.trainer)
    assert (np.bincount(m.owner_pos, minlength=n_owners) <= limit).all()
    if rule == "algorithm1":  # line 3: floor(B / b^MO), capped by the selection limit
        caps = np.where(deposits > 0, np.minimum(limit, 1000 // np.maximum(deposits, 1)), limit)
    else:
        caps = np.full(n_owners, limit)
    assert m.q_selected.sum() == len(m.trainer) == min(n_trainers, int(caps.sum()))
    assert (m.q_selected <= caps).all()
    own = bids[m.trainer - 100]
    assert (m.t_deposit <= own).all() and (m.t_deposit >= 0).all()  # never above the bid
    if price == "first":
        assert (m.t_deposit == own).all()
    if rule != "sec4_text" and n_owners and n_trainers:
        # owners take the highest bids: no unmatched trainer outbids a matched one
        unmatched = np.setdiff1d(np.arange(n_trainers), m.trainer - 100)
        if len(unmatched):
            assert bids[unmatched].max() <= own.min()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    preset=st.sampled_from(["paper_text", "authors_code"]),
    n=st.integers(8, 48),
    miners_share=st.floats(0.2, 0.7),
    s=st.floats(0.2, 0.8),
    p_train=st.floats(0.0, 1.0),
    t_ntr=st.floats(0.0, 0.5),
    dbm_pi=st.floats(0.0, 0.6),
    forfeit=st.sampled_from(["burn", "redistribute"]),
    citation=st.sampled_from(["every_ancestor", "discounted"]),
    seed=st.integers(0, 1000),
)
def test_ledger_conserved_for_random_configurations(
    preset, n, miners_share, s, p_train, t_ntr, dbm_pi, forfeit, citation, seed
):
    cfg = SimConfig.from_preset(preset).with_updates(
        params={
            "n_participants": n,
            "n_miners": max(1, min(n - 2, int(n * miners_share))),
            "s": s,
            "p_train_success": p_train,
        },
        strategies={
            "T": {"N": 1 - t_ntr, "NTr": t_ntr},
            "DBM": {"N": 1 - dbm_pi, "PI": dbm_pi},
        },
        forfeit=forfeit,
        citation=citation,
        initial_coins=0.5,
        check_invariants=True,  # sum(coins) + escrow == minted - burned, every round
        on_no_selection="keep_owners",
    )
    res = run_simulation(cfg, rounds=15, seed=seed)
    r = res.rounds
    assert (r["total_coins_nano"] + r["escrow_nano"] == r["minted_nano"] - r["burned_nano"]).all()
    assert (res.agents["coins_nano"] >= 0).all()
    assert r["latest_version"].is_monotonic_increasing
