"""The simulated chain prunes what finality makes unnecessary: results are unchanged, the
hash chain still verifies, and memory stays constant in rounds (peak RSS is measured by
benchmarks/bench_memory.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from derelay.chain.blocks import PrunedPayload
from derelay.mechanism.derelayl.chainsim import KEEP_ROUNDS, PRUNE_EVERY
from derelay.model import DeRelayModel, SimConfig

SMALL = {"n_participants": 48, "n_miners": 24}
DEVIANTS = {"DBM": {"N": 0.8, "PI": 0.2}, "SBM": {"N": 0.9, "IRa": 0.1}}
ROUNDS = 2 * PRUNE_EVERY + 5


def _model(prune: bool, **over) -> DeRelayModel:
    cfg = SimConfig.from_preset("authors_code").with_updates(
        chain="simulated", params=SMALL, **over
    )
    m = DeRelayModel(cfg, seed=3)
    m.protocol.chain.prune = prune
    m.run(ROUNDS)
    return m


@pytest.mark.parametrize("over", [{}, {"strategies": DEVIANTS}], ids=["honest", "deviants"])
def test_pruning_changes_no_result_and_keeps_the_hash_chain(over):
    a, b = _model(True, **over), _model(False, **over)
    pd.testing.assert_frame_equal(pd.DataFrame(a.recorder.rows), pd.DataFrame(b.recorder.rows))
    np.testing.assert_array_equal(a.ledger.balances, b.ledger.balances)
    sa, sb = a.protocol.chain.sim, b.protocol.chain.sim
    ma, mb = sa.metrics(), sb.metrics()
    assert ma.keys() == mb.keys()
    for k in ma.keys() - {"seconds", "wall_seconds", "blocks_per_second"}:
        assert ma[k] == mb[k] or (ma[k] != ma[k] and mb[k] != mb[k]), k  # NaN == NaN
    pd.testing.assert_frame_equal(sa.blocks_frame(), sb.blocks_frame())
    pruned = [blk for blk in sa.blocks if isinstance(blk.payload, PrunedPayload)]
    assert len(pruned) > 4 * PRUNE_EVERY // 2
    assert max(blk.round for blk in pruned) < ROUNDS - KEEP_ROUNDS
    by_hash = {blk.hash: blk for blk in sa.blocks}
    for blk in sa.blocks:  # every header still hashes to the block's hash, links intact
        assert blk.compute_hash() == blk.hash
        if blk.parent is not None:
            assert by_hash[blk.parent].id == blk.parent_id
    for blk, ref in zip(sa.blocks, sb.blocks, strict=True):
        assert blk.hash == ref.hash


def test_pruned_payload_reads_raise():
    p = PrunedPayload(7, "ab" * 32)
    with pytest.raises(KeyError, match="pruned"):
        p.get("contracts", [])
    with pytest.raises(KeyError, match="pruned"):
        p["ranking"]
