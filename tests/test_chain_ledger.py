"""Escrow ledger: coins are conserved across reorganisations (hypothesis properties)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derelay.chain import (
    BlockKind,
    ChainConfig,
    ChainSimulator,
    Ledger,
    LedgerError,
    deposit_contract,
    deposit_payload,
)
from derelay.chain.blocks import make_block
from derelay.chain.ledger import FORFEIT_RULES

PEOPLE = 6
FUNDS = {f"p:{i}": 10**6 for i in range(PEOPLE)}


def _tree(draw_parents, draw_amounts, draw_tops):
    """A random block tree: odd heights are DBs of round (h-1)//2, even heights SBs."""
    genesis = make_block(None, -1, 0, None, -1, {"genesis": True}, 0.0, 0)
    genesis.id = 0
    blocks = [genesis]
    for i, (pidx, amounts, top) in enumerate(
        zip(draw_parents, draw_amounts, draw_tops, strict=False)
    ):
        parent = blocks[pidx % len(blocks)]
        h = parent.height + 1
        r = (h - 1) // 2
        if h % 2 == 1:
            cs = [
                deposit_contract(r, j % PEOPLE, (j + 1 + r) % PEOPLE or 1, a, b)
                for j, (a, b) in enumerate(amounts)
                if j % PEOPLE != ((j + 1 + r) % PEOPLE or 1)
            ]
            payload, kind = deposit_payload(cs), BlockKind.DB
        else:
            payload = {"performances": [], "ranking": list(range(PEOPLE)), "top_k": top}
            kind = BlockKind.SB
        b = make_block(kind, r, h, parent, i % 3, payload, float(i + 1), i)
        b.id = len(blocks)
        blocks.append(b)
    return blocks


def _chain_to(blocks, b):
    out = []
    while b.parent_id >= 0:
        out.append(b)
        b = blocks[b.parent_id]
    return out[::-1]


def _state(led):
    return ({k: v for k, v in led.balances.items() if v}, dict(led.escrow), led.minted)


amounts = st.lists(st.tuples(st.integers(1, 500), st.integers(1, 500)), min_size=0, max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parents=st.lists(st.integers(0, 10**6), min_size=1, max_size=30),
    amts=st.lists(amounts, min_size=30, max_size=30),
    tops=st.lists(st.integers(0, PEOPLE), min_size=30, max_size=30),
    switches=st.lists(st.integers(0, 10**6), min_size=1, max_size=12),
    reward=st.integers(0, 1000),
    dest=st.sampled_from(FORFEIT_RULES),
)
def test_ledger_conserves_coins_across_reorganisations(parents, amts, tops, switches, reward, dest):
    blocks = _tree(parents, amts, tops)
    led = Ledger(FUNDS, block_reward=reward, forfeit=dest)
    for s in switches:
        tip = blocks[s % len(blocks)]
        chain = _chain_to(blocks, tip)
        led.follow(chain)
        assert led.conserved()
        assert led.total() == led.genesis_total + led.minted - led.burned
        assert led.burned == 0 or dest != "treasury"
        assert led.applied == [b.hash for b in chain]
        replay = Ledger.replay(chain, FUNDS, block_reward=reward, forfeit=dest)
        assert _state(led) == _state(replay)  # incremental == from scratch
        assert led.snapshot()["refunded"] == replay.snapshot()["refunded"]
        assert led.snapshot()["forfeited"] == replay.snapshot()["forfeited"]
        assert led.burned == replay.burned
        # the forfeits went through the engine's one forfeit rule (slash out of escrow)
        assert led.engine.slashed == led.settled_forfeited


def test_settlement_refunds_top_k_and_forfeits_the_rest():
    g = make_block(None, -1, 0, None, -1, {}, 0.0, 0)
    g.id = 0
    cs = [deposit_contract(0, 0, 1, 10, 20), deposit_contract(0, 2, 3, 30, 40)]
    db = make_block(BlockKind.DB, 0, 1, g, 9, deposit_payload(cs), 1.0, 1)
    sb = make_block(
        BlockKind.SB, 0, 2, db, 9, {"performances": [], "ranking": [1, 3], "top_k": 1}, 2.0, 2
    )
    led = Ledger({f"p:{i}": 100 for i in range(4)}, block_reward=5)
    led.apply(db)
    assert led.balance("p:0") == 90 and led.balance("p:3") == 60 and len(led.escrow) == 2
    led.apply(sb)
    assert led.balance("p:0") == 100 and led.balance("p:1") == 100  # trainer 1 ranked top-1
    assert led.balance("p:2") == 70 and led.balance("treasury") == 70  # trainer 3 was not
    assert led.balance("miner:9") == 10 and led.conserved()
    led.undo()
    led.undo()
    assert _state(led) == _state(Ledger({f"p:{i}": 100 for i in range(4)}))


@pytest.mark.parametrize("dest", ["burn", "redistribute"])
def test_forfeit_destination_is_a_parameter_of_the_one_rule(dest):
    """burn: the ABM's default; redistribute: equal shares to the refunded pairs (the ABM's
    selected pairs), the integer remainder burned - exactly the engine's slash."""
    g = make_block(None, -1, 0, None, -1, {}, 0.0, 0)
    g.id = 0
    cs = [deposit_contract(0, 0, 1, 10, 20), deposit_contract(0, 2, 3, 30, 41)]
    db = make_block(BlockKind.DB, 0, 1, g, 9, deposit_payload(cs), 1.0, 1)
    sb = make_block(
        BlockKind.SB, 0, 2, db, 9, {"performances": [], "ranking": [1, 3], "top_k": 1}, 2.0, 2
    )
    funds = {f"p:{i}": 100 for i in range(4)}
    led = Ledger(funds, forfeit=dest)
    led.apply(db)
    led.apply(sb)
    assert led.balance("treasury") == 0 and led.settled_forfeited == 71
    if dest == "burn":
        assert led.burned == 71 and led.balance("p:0") == 100 and led.balance("p:1") == 100
    else:  # 71 // 2 = 35 each to owner 0 and trainer 1, 1 burned
        assert led.balance("p:0") == 135 and led.balance("p:1") == 135 and led.burned == 1
    assert led.balance("p:2") == 70 and led.balance("p:3") == 59 and led.conserved()
    led.undo()
    led.undo()
    assert _state(led) == _state(Ledger(funds)) and led.burned == 0


def test_overdraft_and_duplicate_escrow_are_rejected_atomically():
    g = make_block(None, -1, 0, None, -1, {}, 0.0, 0)
    g.id = 0
    c = deposit_contract(0, 0, 1, 10, 20)
    poor = Ledger({"p:0": 100, "p:1": 5})
    db = make_block(BlockKind.DB, 0, 1, g, 0, deposit_payload([c]), 1.0, 1)
    before = _state(poor)
    with pytest.raises(LedgerError, match="negative"):
        poor.apply(db)
    assert _state(poor) == before and poor.applied == []
    rich = Ledger({"p:0": 100, "p:1": 100})
    rich.apply(db)
    with pytest.raises(LedgerError, match="already escrowed"):
        rich.apply(db)
    assert rich.conserved()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31),
    latency=st.sampled_from([0.5, 2.0, 5.0]),
    policy=st.sampled_from(["invalid", "withhold"]),
    alpha=st.sampled_from([0.0, 0.3, 0.45]),
)
def test_ledger_follows_a_forking_simulation(seed, latency, policy, alpha):
    """Follow the simulator's main chain as it reorganises; coins stay conserved."""
    cfg = ChainConfig(
        n_nodes=20, latency=latency, interval=5.0, adversary=alpha, policy=policy, block_reward=7
    )
    sim = ChainSimulator(cfg, rng=np.random.default_rng(seed))
    led = Ledger(block_reward=7, allow_overdraft=True)
    reorgs = 0
    for _ in range(12):
        sim.run(25)
        chain = [sim.blocks[i] for i in sim.main_chain()[1:]]
        reorgs += led.follow(chain) > 0
        assert led.conserved()
        assert _state(led) == _state(Ledger.replay(chain, block_reward=7, allow_overdraft=True))
    m = sim.metrics()
    assert m["ledger_conserved"]
    if latency >= 2.0 and alpha == 0.0:
        assert m["double_spend_conflicts"] > 0  # rival DBs packed the same deposits
