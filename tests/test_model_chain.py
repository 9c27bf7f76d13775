"""The ABM on the simulated chain: blocks carry the round's real contents (issue 5).

With ``chain = "simulated"`` the DB packs the round's matched deposit contracts, the EB
the submitted models' hashes, the TB the test commitment and encrypted hashes, the SB
the performances and the ranking the settlement uses; PI/NG/IT/IRa payloads are made
invalid by the chain's own corruptors and forked away by its validity rules.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from derelay.chain import BlockKind, validate_payload
from derelay.chain.rules import DEVIATION_OF_KIND, ranking_of
from derelay.model import DeRelayModel, SimConfig, run_simulation


def _cfg(preset="paper_text", n=64, miners=32, **kw):
    base = {
        "chain": "simulated",
        "params": {"n_participants": n, "n_miners": miners},
        "check_invariants": True,
    }
    base.update(kw)
    return SimConfig.from_preset(preset).with_updates(**base)


def _round_blocks(sim, r: int) -> dict:
    """The main-chain blocks of round ``r`` (walking back from the tip)."""
    out = {}
    b = sim.tip
    while b.kind is not None and b.round >= r:
        if b.round == r:
            out[b.kind.value] = b
        b = sim.blocks[b.parent_id]
    return out


class _Spy:
    """Records the model's escrow locks and the learning backend's round results."""

    def __init__(self, model: DeRelayModel) -> None:
        self.locks: list[tuple[np.ndarray, np.ndarray]] = []
        self.learn = None
        lock, train = model.ledger.lock, model.backend.train_round
        lock_parts = model.ledger.lock_parts

        def spy_lock(idx, amounts):
            self.locks.append((np.array(idx), np.array(amounts)))
            return lock(idx, amounts)

        def spy_lock_parts(parts, *a, **k):  # one call locking several parts, in order
            self.locks.extend((np.array(i), np.array(x)) for i, x in parts)
            return lock_parts(parts, *a, **k)

        def spy_train(*a, **k):
            self.learn = train(*a, **k)
            return self.learn

        model.ledger.lock = spy_lock
        model.ledger.lock_parts = spy_lock_parts
        model.backend.train_round = spy_train

    def reset(self) -> None:
        self.locks, self.learn = [], None


def _check_round(model: DeRelayModel, spy: _Spy, row, npa_share: float | None = None) -> None:
    lg = model.ledger
    assert int(lg.coins.sum()) + lg.escrow == lg.minted - lg.burned  # conservation
    blocks = _round_blocks(model.chain.sim, model.round - 1)
    assert set(blocks) == {"DB", "EB", "TB", "SB"}
    assert all(b.valid for b in blocks.values())
    db, eb, tb, sb = (blocks[k].payload for k in ("DB", "EB", "TB", "SB"))

    # DB: the matched pairs' contracts, amounts = the escrow the ledger locked
    (own_i, own_a), (tr_i, tr_a) = spy.locks[:2]  # owners' then trainers' deposits
    terms = (own_i.tolist(), tr_i.tolist(), own_a.tolist(), tr_a.tolist())
    locked = Counter(zip(*terms, strict=True))
    packed = Counter(
        (c["owner"], c["trainer"], c["owner_amount"], c["trainer_amount"]) for c in db["contracts"]
    )
    assert db["broadcast"] == row.n_matched == sum(locked.values())
    assert len(db["contracts"]) == row.n_trainers
    assert not packed - locked  # every packed contract is a locked deposit pair
    if npa_share is None:
        assert packed == locked
    else:
        assert len(db["contracts"]) == int(np.floor(npa_share * row.n_matched))

    # EB: the submitted models' hashes (parent -> new) from the learning backend
    res = spy.learn
    trainers = np.asarray(res.trainer_ids).tolist()
    pos = {t: i for i, t in enumerate(trainers)}
    assert len(eb["records"]) == row.n_submitted
    for rec in eb["records"]:
        i = pos[rec["trainer"]]
        assert rec["new_hash"] == res.hashes[i] and rec["prev_hash"] == res.parent_hashes[i]
        assert len(rec["new_hash"]) == 64 and rec["new_hash"] != rec["prev_hash"]

    # TB and SB: committed to the EB's models; the SB ranking is what was settled
    assert {e["trainer"] for e in tb["encrypted"]} == {r["trainer"] for r in eb["records"]}
    assert sb["ranking"] == ranking_of(sb["performances"])
    assert row.n_selected == len(sb["ranking"][: sb["top_k"]])
    if row.n_selected:
        assert model.owners.tolist() == sb["ranking"][: sb["top_k"]]
        perf = {r["trainer"]: r["performance"] for r in sb["performances"]}
        assert model.owner_perf.tolist() == [perf[t] for t in model.owners.tolist()]


@pytest.mark.parametrize(
    ("preset", "dbm", "npa"),
    [
        ("paper_text", {"N": 1.0}, None),
        ("authors_code", {"N": 1.0}, None),
        ("paper_text", {"NPA": 1.0}, 0.5),
    ],
)
def test_main_chain_blocks_hold_the_rounds_real_contents(preset, dbm, npa):
    q = {"q_deposit": 2.0, "q_deposit_less": 1.0} if npa else {}
    cfg = _cfg(
        preset,
        params={"n_participants": 64, "n_miners": 32, **q},
        strategies={"DBM": dbm},
        chain_config={"latency": 2.0},  # frequent natural forks
    )
    model = DeRelayModel(cfg, seed=4)
    spy = _Spy(model)
    zero_bids = 0
    for _ in range(30):
        spy.reset()
        model.step()
        row = model.recorder.rounds_frame().iloc[-1]
        _check_round(model, spy, row, npa)
        zero_bids += int((spy.locks[1][1] == 0).sum())
    r = model.recorder.rounds_frame()
    assert zero_bids > 0  # trainers without coins bid 0: their contracts are proper
    assert r["n_selected"].sum() > 0 and r["stale_blocks"].sum() > 0
    if npa:
        assert all(b.npa for b in model.chain.sim.blocks if b.kind is BlockKind.DB)


def test_deviant_miners_blocks_are_orphaned_by_the_rules_and_earn_nothing():
    bad = {"DB": "PI", "EB": "NG", "TB": "IT", "SB": "IRa"}  # per block kind
    cfg = _cfg(
        strategies={
            "DBM": {"N": 0.6, "NPA": 0.1, "PI": 0.3},
            "EBM": {"N": 0.7, "NG": 0.3},
            "TBM": {"N": 0.7, "IT": 0.3},
            "SBM": {"N": 0.7, "IRa": 0.3},
        },
    )
    res = run_simulation(cfg, rounds=40, seed=2)  # check_invariants: conserved every round
    model = res.model
    sim = model.chain.sim
    main = set(sim.main_chain().tolist())
    invalid = [b for b in sim.blocks[1:] if not b.valid]
    kinds = Counter(b.kind.value for b in invalid)
    assert set(kinds) == {"DB", "EB", "TB", "SB"}
    for b in invalid:
        # the chain's own rules found the deviation in the payload ...
        assert b.violations == (DEVIATION_OF_KIND[b.kind],)
        ctx = {k: v.payload for k, v in _round_blocks(sim, b.round).items()}
        assert validate_payload(b.kind, b.round, b.payload, ctx)[0] == b.violations
        assert b.id not in main and not b.honest_miner  # ... and forked it away
    assert all(sim.blocks[i].valid for i in main)
    # the recorded invalid blocks are the chain's, mined by the deviants, unpaid
    blk = res.blocks
    inv = blk[~blk["valid"]]
    assert len(inv) == len(invalid) and (inv["reward_nano"] == 0).all()
    role = {"DB": "DBM", "EB": "EBM", "TB": "TBM", "SB": "SBM"}
    for row in inv.itertuples():
        assert model.strategy_for(row.miner, role[row.kind]) == bad[row.kind]
    # every paid block is a main-chain block and its miner is honest for that kind
    ok = blk[blk["valid"]]
    assert len(ok) == 4 * 40
    for row in ok.itertuples():
        assert model.strategy_for(row.miner, role[row.kind]) != bad[row.kind]
    r = res.rounds
    assert (r["total_coins_nano"] + r["escrow_nano"] == r["minted_nano"] - r["burned_nano"]).all()
    assert r["forks"].sum() >= len(invalid)
    assert res.meta["chain_metrics"]["dishonest_orphan_rate"] == 1.0


def test_simulated_chain_is_deterministic_and_settles_the_sb_ranking():
    cfg = _cfg(strategies={"T": {"N": 0.8, "NTr": 0.1, "NBr": 0.1}})
    a = run_simulation(cfg, rounds=25, seed=9)
    b = run_simulation(cfg, rounds=25, seed=9)
    assert a.rounds.equals(b.rounds) and a.blocks.equals(b.blocks) and a.agents.equals(b.agents)
    ha = [blk.hash for blk in a.model.chain.sim.blocks]
    assert ha == [blk.hash for blk in b.model.chain.sim.blocks]
    # the miners were paid for what their main-chain blocks contain
    sim = a.model.chain.sim
    paid = a.blocks[a.blocks["valid"]].reset_index(drop=True)
    items = {"DB": "contracts", "EB": "records", "TB": "encrypted", "SB": "performances"}
    main = [sim.blocks[i] for i in sim.main_chain()[1:]]
    assert len(main) == len(paid)
    for blk, row in zip(main, paid.itertuples(), strict=True):
        assert (blk.kind.value, blk.round + 1) == (row.kind, row.round)
        assert len(blk.payload[items[row.kind]]) == row.items
        assert blk.reward == row.reward_nano  # the chain's coinbase = the ABM's Table II pay
    k = sim.config.confirmation_depth  # the chain's settled ledger mints the same
    assert a.meta["chain_metrics"]["settled_minted"] == int(paid["reward_nano"][:-k].sum())


def test_torch_models_hashes_go_into_the_eb():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    cfg = _cfg(n=24, miners=12, learning="torch")
    model = DeRelayModel(cfg, seed=0)
    spy = _Spy(model)
    for _ in range(3):
        spy.reset()
        model.step()
        _check_round(model, spy, model.recorder.rounds_frame().iloc[-1])
        eb = _round_blocks(model.chain.sim, model.round - 1)["EB"].payload
        for rec in eb["records"]:  # the torch backend's SHA-256 of the real parameters
            mids = spy.learn.model_ids[np.asarray(spy.learn.trainer_ids) == rec["trainer"]]
            assert rec["new_hash"] == model.backend.model_hash(int(mids[0]))


def test_simulated_chain_needs_test_cases():
    with pytest.raises(ValueError, match="q_cases"):
        _cfg(params={"q_cases": 0.0})


def test_synthetic_contents_for_large_populations():
    """``chain_contents = "synthetic"``: the chain part's small workload races instead."""
    res = run_simulation(_cfg(chain_contents="synthetic"), rounds=10, seed=0)
    sim = res.model.chain.sim
    db = _round_blocks(sim, 9)["DB"].payload
    assert len(db["contracts"]) == sim.workload.n_contracts  # not the round's pairs
    assert res.rounds["n_selected"].sum() > 0


def test_zero_deposit_contracts_settle_exactly():
    """Round 1: every trainer has no coins and bids 0; the owner deposits 0 too."""
    model = DeRelayModel(_cfg(), seed=1)
    spy = _Spy(model)
    model.step()
    db = _round_blocks(model.chain.sim, 0)["DB"].payload
    assert db["contracts"] and all(c["trainer_amount"] == 0 for c in db["contracts"])
    assert all(c["owner_amount"] == 0 for c in db["contracts"])  # genesis owner: no coins
    assert spy.locks[1][1].tolist() == [c["trainer_amount"] for c in db["contracts"]]
    lg = model.ledger
    assert int(lg.coins.sum()) + lg.escrow == lg.minted - lg.burned and lg.minted > 0
