"""Pruning by finality: frozen blocks keep header + hash, the pruned chain verifies end to
end, tampering is detected, and nothing a run reports changes (issue 20)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from derelay.chain.blocks import BlockStore, PrunedPayload
from derelay.chain.ledger import Ledger, LedgerError
from derelay.mechanism.derelayl.chainsim import KEEP_ROUNDS, PRUNE_EVERY
from derelay.model import DeRelayModel, SimConfig

SMALL = {"n_participants": 40, "n_miners": 20}
DEVIANTS = {"DBM": {"N": 0.8, "PI": 0.1, "NPA": 0.1}, "EBM": {"N": 0.9, "NG": 0.1}}
ROUNDS = 2 * PRUNE_EVERY + 3


def _run(prune: bool) -> DeRelayModel:
    cfg = SimConfig.from_preset("authors_code").with_updates(
        chain="simulated", params=SMALL, strategies=DEVIANTS
    )
    m = DeRelayModel(cfg, seed=11)
    m.protocol.chain.prune = prune
    m.run(ROUNDS)
    return m


@pytest.fixture(scope="module")
def runs():
    return _run(True), _run(False)


def test_frozen_blocks_equal_the_originals(runs):
    a, b = (m.protocol.chain.sim for m in runs)
    store = a.blocks
    assert isinstance(store, BlockStore)
    assert store.n_frozen > 2 * PRUNE_EVERY  # most blocks of the pruned rounds
    frozen = [i for i in range(len(store)) if store.frozen(i)]
    assert max(store.round_of(i) for i in frozen) < ROUNDS - KEEP_ROUNDS
    assert any(not store[i].valid for i in frozen)  # invalid (forked-away) blocks too
    fields = (
        "kind round height parent miner valid hash timestamp id parent_id nonce "
        "honest_miner violations npa reward"
    ).split()
    for i in frozen:
        x, y = store[i], b.blocks[i]
        assert isinstance(x.payload, PrunedPayload)
        assert {f: getattr(x, f) for f in fields} == {f: getattr(y, f) for f in fields}
        assert x.header() == y.header()
    assert not any(b.blocks.frozen(i) for i in range(len(b.blocks)))


def test_pruned_chain_verifies_end_to_end(runs):
    a, _ = (m.protocol.chain.sim for m in runs)
    a.blocks.verify()  # every header re-hashed, every parent link checked
    main = a.main_chain()
    for j, i in zip(main[1:], main[:-1], strict=True):
        assert a.blocks[j].parent == a.blocks.hash_of(i)


def _first_frozen(store) -> int:
    return next(i for i in range(1, len(store)) if store.frozen(i))


@pytest.mark.parametrize("what", ["nonce", "payload_digest", "hash", "round", "miner"])
def test_tampering_with_a_frozen_block_is_detected(runs, what):
    store = runs[0].protocol.chain.sim.blocks
    i = _first_frozen(store)
    if what in ("payload_digest", "hash"):
        arr, at = (store._pdig, (i, 0)) if what == "payload_digest" else (store._hash, (i, 5))
    else:
        arr, at = store._col[what], i
    saved = arr[at]
    arr[at] = saved ^ 1 if arr.dtype == np.uint8 else saved + 1
    try:
        with pytest.raises(ValueError, match=f"block {i}"):
            store.verify()
    finally:
        arr[at] = saved
    store.verify()


def test_tampering_with_a_live_payload_is_detected(runs):
    store = runs[0].protocol.chain.sim.blocks
    i = len(store) - 1
    blk = store[i]
    assert not store.frozen(i)
    saved = blk.payload
    blk.payload = {**saved, "tampered": True}
    try:
        with pytest.raises(ValueError, match=f"block {i}"):
            store.verify()
    finally:
        blk.payload = saved
    store.verify()


def test_outputs_and_metrics_unchanged(runs):
    a, b = runs
    np.testing.assert_array_equal(a.ledger.balances, b.ledger.balances)
    pd.testing.assert_frame_equal(pd.DataFrame(a.recorder.rows), pd.DataFrame(b.recorder.rows))
    ma, mb = a.protocol.chain.sim.metrics(), b.protocol.chain.sim.metrics()
    for k in ma.keys() - {"seconds"}:
        assert ma[k] == mb[k] or (ma[k] != ma[k] and mb[k] != mb[k]), k
    sa, sb = a.protocol.chain.sim, b.protocol.chain.sim
    la, lb = sa.settled_ledger(), sb.settled_ledger()
    assert la.n_final > 0 and lb.n_final == 0
    assert la.applied == lb.applied and la.snapshot() == lb.snapshot()
    assert la.balances == lb.balances


def test_compacted_ledger_refuses_a_reorg_below_its_final_blocks(runs):
    sim = runs[0].protocol.chain.sim
    led = sim.settled_ledger()
    n = led.n_final
    chain = [sim.blocks[i] for i in sim.main_chain()[1 : n + 1]]
    fork = list(chain)
    fork[-1] = sim.blocks[0]  # any other block in the final block's place
    with pytest.raises(LedgerError, match="final"):
        led.follow(fork)
    other = runs[1].protocol.chain.sim  # unpruned: its payloads can be replayed
    fresh = Ledger(allow_overdraft=True)
    fresh.follow([other.blocks[i] for i in other.main_chain()[1:9]])
    fresh.compact(keep=0)
    with pytest.raises(LedgerError, match="compacted"):
        fresh.undo()
