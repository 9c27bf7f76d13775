"""Ledger.mint_each equals one Ledger.mint per entry (issue 20: the miners' rewards)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from derelay.engine.ledger import MAX_NANO, Ledger, LedgerError


@pytest.mark.parametrize("flows", ["full", "aggregate", "off"])
def test_mint_each_equals_one_mint_per_entry(flows):
    rng = np.random.default_rng(0)
    a, b = Ledger(6, flows=flows), Ledger(6, flows=flows)
    for r in range(30):
        a.round = b.round = r
        k = int(rng.integers(0, 5))
        to = rng.integers(0, 6, size=k).tolist()  # repeats included
        amounts = [int(x) for x in rng.integers(0, 10**12, size=k)]
        if k and r % 7 == 0:
            amounts[0] = 0
        for t, v in zip(to, amounts, strict=True):
            a.mint(t, v, "block_reward")
        assert b.mint_each(to, amounts, "block_reward") == sum(amounts)
    assert np.array_equal(a.balances, b.balances) and a.minted == b.minted
    if flows != "off":
        pd.testing.assert_frame_equal(a.flows_frame(), b.flows_frame(), check_exact=True)


def test_mint_each_refuses_bad_input_before_anything_changes():
    lg = Ledger(3)
    for to, amounts, err in (
        ([0, 1], [5], ValueError),
        ([0], [-1], LedgerError),
        ([0], [1.5], LedgerError),
        ([0], [True], LedgerError),
        ([0, 3], [1, 1], IndexError),
        ([0], [MAX_NANO + 1], LedgerError),
    ):
        with pytest.raises(err):
            lg.mint_each(to, amounts)
    assert lg.minted == 0 and not lg.balances.any()
