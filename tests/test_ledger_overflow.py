"""The ledger never wraps: exact aggregates at any size, balances refused before int64
overflow, unrepresentable amounts refused (issue 21, section 1)."""

from __future__ import annotations

import numpy as np
import pytest

from derelay.engine.ledger import (
    MAX_COINS,
    MAX_NANO,
    NANO,
    Ledger,
    LedgerError,
    LedgerOverflowError,
    exact_sum,
)


def test_exact_sum_matches_python_ints():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2**62, size=1000, dtype=np.int64)
    assert exact_sum(a) == sum(int(x) for x in a.tolist())
    assert exact_sum(a) > MAX_NANO  # a numpy sum would wrap here
    b = rng.integers(-(2**62), 2**62, size=1000, dtype=np.int64)
    assert exact_sum(b) == sum(int(x) for x in b.tolist())
    assert exact_sum(np.zeros(0, np.int64)) == 0
    assert exact_sum(np.array([-(2**63)], np.int64)) == -(2**63)
    small = np.arange(100, dtype=np.int64)
    assert exact_sum(small, bound=99) == 4950


def test_total_and_aggregates_exact_beyond_int64():
    n = 1000
    lg = Ledger(n, flows="aggregate")
    per = 2**62  # every account holds half the int64 range
    lg.mint_dense(np.full(n, per, dtype=np.int64), "big")
    assert lg.minted == n * per
    assert lg.total() == n * per
    assert int(lg.balances.sum()) != n * per  # what the old int64 sum reported
    lg.check_conserved()
    lg.check()
    # locks / releases / slashes of huge totals stay exact
    lg.lock(np.arange(n), per // 2, "lock")
    assert lg.escrow == n * (per // 2)
    lg.release(np.arange(n // 2), per // 2, "release")
    burned = lg.slash(lg.escrow, None, "slash")
    assert burned == (n - n // 2) * (per // 2)
    lg.check_conserved()
    lg.check()
    assert lg.totals()["total_balances_nano"] == lg.total()
    flows = lg.flows_frame()  # totals beyond int64 are logged as rows of <= 2^63-1
    assert flows["amount"].min() > 0
    by = {
        k: sum(int(x) for x in g.tolist())
        for k, g in flows.groupby("reason", observed=True)["amount"]
    }
    assert by == {
        "big": n * per,
        "lock": n * (per // 2),
        "release": (n // 2) * (per // 2),
        "slash": burned,
    }


def test_credit_beyond_the_limit_is_refused_and_changes_nothing():
    lg = Ledger(3)
    lg.mint(0, MAX_NANO - 10, "big")
    before = lg.balances.copy(), lg.mark()
    with pytest.raises(LedgerOverflowError, match="limit of 9,223,372,036 coins"):
        lg.mint(0, 11, "one_too_many")
    assert (lg.balances == before[0]).all() and lg.mark() == before[1]
    lg.mint(0, 10, "exactly_the_limit")
    assert lg.balances[0] == MAX_NANO
    lg.mint(1, MAX_NANO, "other")  # another account may hold as much
    lg.check()
    with pytest.raises(LedgerOverflowError):
        lg.mint([1, 2], [1, 1], "vector")
    with pytest.raises(LedgerOverflowError):
        lg.mint([2, 2], [MAX_NANO // 2 + 1, MAX_NANO // 2 + 1], "repeated_account")
    with pytest.raises(LedgerOverflowError):
        lg.mint_dense(np.array([1, 0, 0], np.int64), "dense")
    with pytest.raises(LedgerOverflowError):
        lg.transfer(2, 0, 0 + 1, "transfer") if lg.balances[2] else lg.external(0, 1)
    assert lg.total() == 2 * MAX_NANO
    lg.check()
    assert isinstance(LedgerOverflowError("x"), LedgerError)
    assert isinstance(LedgerOverflowError("x"), OverflowError)


def test_overdraft_ledger_refuses_negative_overflow():
    lg = Ledger(2, allow_overdraft=True)
    lg.transfer(0, 1, MAX_NANO, "t")
    assert lg.balances[0] == -MAX_NANO and lg.balances[1] == MAX_NANO
    with pytest.raises(LedgerOverflowError):
        lg.burn(0, 1, "b")
    lg.check()


def test_unrepresentable_amounts_are_refused_not_cast():
    lg = Ledger(2)
    for bad in (2.0**63, float("inf"), float("nan"), np.array([1.0, 1e30])):
        with pytest.raises(LedgerOverflowError, match="cannot be represented"):
            lg.mint([0, 1] if np.ndim(bad) else 0, bad, "bad")
    with pytest.raises(LedgerOverflowError):
        lg.mint(0, 2**64, "python_int")
    with pytest.raises(LedgerOverflowError):
        lg.mint(0, np.array([2**64 - 1], dtype=np.uint64), "uint")
    assert lg.total() == 0 and lg.minted == 0
    lg.mint(0, np.array([3.0]), "float_ok")
    assert lg.balances[0] == 3


def test_bound_follows_rewind_and_direct_writes():
    lg = Ledger(2, allow_overdraft=True)
    m = lg.mark()
    lg.transfer(0, 1, 5, "t")
    lg.rewind(m, {0: -5, 1: 5})
    assert lg.total() == 0 and (lg.balances == 0).all()
    lg.coins[0] = MAX_NANO  # a direct write, then the documented rescan
    lg.rebound()
    with pytest.raises(LedgerOverflowError):
        lg.external(0, 1, "x")


def test_many_rounds_near_the_limit_stay_exact_and_conserved():
    """Forces large balances directly: every account close to the per-account limit
    while the money supply is far beyond int64; conservation checked every round."""
    n = 5000
    lg = Ledger(n, system=("TREASURY",), flows="aggregate")
    rng = np.random.default_rng(1)
    per_round = MAX_NANO // 100
    expected = 0
    for r in range(99):
        lg.round = r + 1
        amounts = rng.integers(per_round // 2, per_round, size=n, dtype=np.int64)
        expected += sum(int(x) for x in amounts.tolist())
        lg.mint_dense(amounts, "reward")
        lg.transfer(np.arange(10), lg.account("TREASURY"), NANO, "fee")
        lg.check_conserved()
        assert lg.total() == expected
    assert lg.total() > 1000 * MAX_NANO
    assert lg.balances.min() >= 0
    assert MAX_COINS == 9_223_372_036
