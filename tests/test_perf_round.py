"""The round's partial orders give exactly the full sort's result (same RNG draws, same
indices, same order), so DeRelayL's outputs are unchanged (golden files) while large rounds
sort only what they use."""

from __future__ import annotations

import numpy as np
import pytest

from derelay.mechanism.derelayl.matching import _desc_order


@pytest.mark.parametrize("kind", ["few_ints", "floats", "floats_nan", "big_ints"])
def test_partial_desc_order_equals_the_full_sort(kind):
    rs = np.random.default_rng(1)
    for trial in range(150):
        n = int(rs.integers(513, 2500))
        if kind == "few_ints":
            keys = rs.integers(0, int(rs.integers(1, 30)), n)
        elif kind == "big_ints":
            keys = rs.integers(0, 10**12, n)
        else:
            keys = rs.normal(size=n).round(int(rs.integers(0, 3)))
            if kind == "floats_nan":
                keys[rs.integers(0, n, 25)] = np.nan
        for top in (0, 1, int(rs.integers(0, n)), n - 1, n, n + 3):
            full = _desc_order(keys, np.random.default_rng(trial))[:top]
            part = _desc_order(keys, np.random.default_rng(trial), top=top)
            np.testing.assert_array_equal(full, part)


def test_partial_selection_equals_the_full_ranking():
    """settlement.select(full_order=False) (one partial sort) selects the same models in
    the same order as the full stable ranking and leaves the RNG in the same state."""
    from derelay.model import DeRelayModel, SimConfig

    S = DeRelayModel(SimConfig.from_preset("authors_code"), seed=0).settlement
    rs = np.random.default_rng(3)
    for trial in range(60):
        n = int(rs.integers(0, 3000))
        perf = rs.normal(size=n).round(int(rs.integers(0, 3)))
        perf[rs.integers(0, max(n, 1), 10 if n else 0)] = np.nan
        eligible = rs.random(n) < 0.8
        a, b = np.random.default_rng(trial), np.random.default_rng(trial)
        top_full, order = S.select(perf, eligible, a)
        top_part, head = S.select(perf, eligible, b, full_order=False)
        np.testing.assert_array_equal(top_full, top_part)
        np.testing.assert_array_equal(order[: len(head)], head)
        assert a.random() == b.random()


def _authors_match_full(owner_perf, limit, trainers, bids, rng):
    """The authors' matching with the full owner order (as before the partial sort)."""
    n_o = len(owner_perf)
    o_order = _desc_order(owner_perf, rng)
    t_order = _desc_order(bids, rng, top=limit * n_o)
    ends = np.minimum(np.cumsum(np.full(n_o, limit)), len(trainers))
    taken = ends - np.concatenate(([0], ends[:-1]))
    t_idx = t_order[: int(ends[-1])]
    q_sel = np.zeros(n_o, dtype=np.int64)
    q_sel[o_order] = taken
    return np.repeat(o_order, taken), trainers[t_idx], q_sel


@pytest.mark.parametrize("n_owners", [3, 600, 2000])
def test_authors_matching_ranks_only_the_owners_that_take_trainers(n_owners):
    from derelay.mechanism.derelayl.matching import match

    rs = np.random.default_rng(n_owners)
    for trial in range(20):
        n_t = int(rs.integers(1, 6000))
        limit = int(rs.integers(1, 6))
        perf = rs.normal(size=n_owners).round(1)
        trainers = rs.permutation(10_000)[:n_t].astype(np.int64)
        bids = rs.integers(0, 50, n_t).astype(np.int64)
        a, b = np.random.default_rng(trial), np.random.default_rng(trial)
        got = match("authors", "first", perf, None, 0, limit, trainers, bids, None, a)
        opos, tr, q_sel = _authors_match_full(perf, limit, trainers, bids, b)
        np.testing.assert_array_equal(got.owner_pos, opos)
        np.testing.assert_array_equal(got.trainer, tr)
        np.testing.assert_array_equal(got.q_selected, q_sel)
        assert a.random() == b.random()
