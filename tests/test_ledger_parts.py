"""Ledger.lock_parts / release_parts equal one lock / release per part (issue 20)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from derelay.engine.ledger import Ledger


def _state(lg: Ledger):
    return (lg.balances.copy(), lg.escrow, lg.released, lg.total(), lg.flows_frame())


@pytest.mark.parametrize("mode", ["full", "aggregate", "off"])
def test_parts_equal_separate_calls(mode):
    a = np.array([0, 2, 4], dtype=np.int64)
    b = np.array([1, 3], dtype=np.int64)
    da = np.array([5, 0, 7], dtype=np.int64)
    db = np.array([9, 11], dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    out = []
    for joined in (False, True):
        lg = Ledger(6, flows=mode)
        lg.mint(np.arange(6, dtype=np.int64), np.full(6, 100, dtype=np.int64))
        if joined:
            lg.lock_parts(((a, da), (b, db), (empty, empty)))
            lg.release_parts(((b, db), (a[:1], da[:1])))
        else:
            lg.lock(a, da)
            lg.lock(b, db)
            lg.release(b, db)
            lg.release(a[:1], da[:1])
        out.append(_state(lg))
    for x, y in zip(out[0][:4], out[1][:4], strict=True):
        assert np.array_equal(x, y)
    pd.testing.assert_frame_equal(out[0][4], out[1][4], check_exact=True)


def test_parts_overdraft_and_escrow_checks():
    lg = Ledger(2)
    lg.mint(np.arange(2, dtype=np.int64), np.array([5, 5], dtype=np.int64))
    one = np.array([0], dtype=np.int64)
    with pytest.raises(AssertionError):
        lg.lock_parts(((one, np.array([3], dtype=np.int64)), (one, np.array([3], dtype=np.int64))))
    assert lg.balances[0] == 5 and lg.escrow == 0
    with pytest.raises(AssertionError):
        lg.release_parts(((one, np.array([1], dtype=np.int64)),))


@pytest.mark.parametrize("density", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_dense_mints_log_the_flows_of_one_mint_per_account(density):
    """mint_dense logs a mostly non-zero vector whole (its zeros dropped by flows_frame)
    and a sparse one by its non-zero entries: either way the flows of one mint of each
    non-zero entry, in account order; later writes to the caller's vector change nothing."""
    rng = np.random.default_rng(int(density * 10))
    n = 40
    a = np.where(rng.random(n) < density, rng.integers(1, 10**12, n), 0).astype(np.int64)
    dense, one = Ledger(n), Ledger(n)
    dense.round = one.round = 3
    dense.mint_dense(a, "citation")
    a_copy = a.copy()
    a[:] = 7  # the caller reuses its array
    for i in np.flatnonzero(a_copy).tolist():
        one.mint(i, int(a_copy[i]), "citation")
    assert np.array_equal(dense.balances, one.balances) and dense.minted == one.minted
    pd.testing.assert_frame_equal(dense.flows_frame(), one.flows_frame(), check_exact=True)


def test_long_debit_refuses_an_overdraft_and_ignores_other_negative_accounts():
    lg = Ledger(4)
    lg.mint(np.arange(4, dtype=np.int64), np.array([10, 10, 10, 10], dtype=np.int64))
    before = lg.balances.copy()
    with pytest.raises(Exception, match="account 2 would go negative"):
        lg.lock(np.array([0, 1, 2], dtype=np.int64), np.array([5, 5, 11], dtype=np.int64))
    assert np.array_equal(lg.balances, before) and lg.escrow == 0  # all or nothing
    lg.coins[3] = -1  # a direct write elsewhere is not this debit's overdraft
    lg.rebound()
    assert lg.lock(np.array([0, 1, 2], dtype=np.int64), np.array([5, 5, 10], dtype=np.int64))
    assert list(lg.coins) == [5, 5, 0, -1]
