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


def _conserved_every_round(r) -> None:
    """The identity on every recorded round, in exact Python ints (the columns become
    uint64 once the money supply passes 2^63 nano-coins)."""
    cols = ["total_coins_nano", "escrow_nano", "minted_nano", "burned_nano"]
    for tot, esc, mint, burn in zip(*(r[c].tolist() for c in cols), strict=True):
        assert int(tot) + int(esc) == int(mint) - int(burn)
        assert int(tot) >= 0
    assert (r["total_coins"] >= 0).all()


@pytest.mark.slow
def test_run_beyond_int64_money_supply_stays_exact():
    """Issue 21's failing size: 20,000 participants x 1,800 rounds once ended with a
    negative total (the int64 sum of balances wrapped).  Conservation is asserted by the
    ledger after every round (check_invariants) and again here on every round's row."""
    from derelay.model import SimConfig, run_simulation

    cfg = SimConfig.from_preset("paper_text").with_updates(
        params={"n_participants": 20_000},
        record_every=100_000,
        flows="aggregate",
        check_invariants=True,
        mesa_agents=False,
    )
    res = run_simulation(cfg, rounds=1800, seed=0)
    r = res.rounds
    assert len(r) == 1800
    _conserved_every_round(r)
    assert int(r["minted_nano"].iloc[-1]) > MAX_NANO  # the size really passes int64
    lg = res.model.ledger
    assert lg.total() == int(r["total_coins_nano"].iloc[-1])
    lg.check()


def test_run_with_forced_large_balances_is_conserved_every_round():
    """Fast: a small run whose participants start near the per-account limit, so the
    money supply is far beyond int64 from round 0; every round conserved exactly."""
    from derelay.model import SimConfig, run_simulation

    cfg = SimConfig.from_preset("paper_text").with_updates(
        params={"n_participants": 300, "n_miners": 100},
        initial_coins=MAX_COINS // 2,
        check_invariants=True,
    )
    res = run_simulation(cfg, rounds=30, seed=0)
    r = res.rounds
    _conserved_every_round(r)
    assert int(r["total_coins_nano"].iloc[-1]) > 100 * MAX_NANO
    res.model.ledger.check()


def test_run_that_would_overflow_an_account_stops_with_a_clear_error():
    from derelay.model import SimConfig, run_simulation

    cfg = SimConfig.from_preset("paper_text").with_updates(
        params={"n_participants": 300, "n_miners": 100, "r_cited": 1e9},
        initial_coins=MAX_COINS - 1,
    )
    with pytest.raises(LedgerOverflowError, match="limit of 9,223,372,036 coins"):
        run_simulation(cfg, rounds=30, seed=0)


def test_chain_ledger_is_exact_and_refuses_overflow():
    from derelay.chain import BlockKind, deposit_contract, deposit_payload
    from derelay.chain import Ledger as ChainLedger
    from derelay.chain import LedgerError as ChainLedgerError
    from derelay.chain.blocks import make_block

    genesis = {f"p:{i}": MAX_NANO - 5 for i in range(4)}
    led = ChainLedger(genesis, block_reward=10)
    assert led.total() == 4 * (MAX_NANO - 5)  # beyond int64, exact
    assert led.conserved()
    g = make_block(None, -1, 0, None, -1, {"genesis": True}, 0.0, 0)
    g.id = 0
    # a coinbase onto an account that would pass the limit
    led2 = ChainLedger({"miner:0": MAX_NANO - 5}, block_reward=10)
    b = make_block(BlockKind.SB, 0, 1, g, 0, {"ranking": [], "top_k": 0}, 1.0, 1)
    with pytest.raises(ChainLedgerError, match="limit"):
        led2.apply(b)
    assert led2.total() == MAX_NANO - 5 and led2.conserved() and not led2.applied
    # a deposit amount no int64 holds is refused, not cast
    led3 = ChainLedger({"p:0": 10, "p:1": 10})
    db = make_block(
        BlockKind.DB, 0, 1, g, 0, deposit_payload([deposit_contract(0, 0, 1, 2**64, 1)]), 1.0, 2
    )
    with pytest.raises(ChainLedgerError):
        led3.apply(db)
    assert led3.total() == 20 and led3.conserved()


def test_cli_run_that_would_overflow_exits_2_with_one_line(tmp_path):
    from typer.testing import CliRunner

    from derelay.cli import app

    cfg = tmp_path / "big.toml"
    cfg.write_text(
        f"preset = 'paper_text'\ninitial_coins = {MAX_COINS - 1}\n"
        "[params]\nn_participants = 300\nn_miners = 100\nr_cited = 1e9\n"
    )
    out = tmp_path / "o"
    r = CliRunner().invoke(app, ["run", "--config", str(cfg), "--rounds", "30", "--no-progress",
                                 "--out", str(out)])
    assert r.exit_code == 2, r.output
    assert "limit of 9,223,372,036 coins" in r.output and "Traceback" not in r.output
    assert not out.exists()  # nothing half-written
