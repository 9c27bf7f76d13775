"""Recorder.play_many equals one Recorder.play per role, bit for bit (issue 20)."""

from __future__ import annotations

import numpy as np
import pytest

from derelay.engine import record
from derelay.model import DeRelayModel, SimConfig


@pytest.fixture(scope="module")
def recorder():
    cfg = SimConfig.from_preset("paper_text").with_updates(
        params={"n_participants": 32, "n_miners": 16}
    )
    m = DeRelayModel(cfg, seed=0)
    m.run(1)
    return m.recorder


def _plays(rng, recorder, roles):
    out = []
    for role in roles:
        k = int(rng.integers(0, 6))
        codes = rng.integers(0, len(recorder.m.role_strats[role]), size=k)
        u = rng.normal(size=k) * 1e3
        rev = rng.random(k) * 7.1
        stats = {"stake": rng.random(k), "count": rng.random(k) > 0.5, "gap": 2.5}
        out.append((role, codes, u, rev, None if k % 2 else rev - u, stats))
    return out


@pytest.mark.parametrize("fuse_max", [2048, 2])
@pytest.mark.parametrize("roles", [("MO", "T"), ("T", "MO", "DBM"), ("T", "T"), ("MO",)])
def test_play_many_equals_plays(recorder, roles, fuse_max, monkeypatch):
    """Also with fusing off (FUSE_MAX = 2: one bincount per column)."""
    monkeypatch.setattr(record, "FUSE_MAX", fuse_max)
    rng = np.random.default_rng(len(roles))
    for _ in range(20):
        plays = _plays(rng, recorder, roles)
        recorder.begin_round()
        recorder._cur += rng.random(recorder._cur.shape)  # earlier plays of the round
        start = recorder._cur.copy()
        for role, codes, u, rev, c, stats in plays:
            recorder.play(role, codes, u, rev, c, **stats)
        one_by_one = recorder._cur.copy()
        recorder._cur = start.copy()
        recorder.play_many(plays)
        assert np.array_equal(recorder._cur, one_by_one)


def test_fused_and_per_column_sums_equal(recorder, monkeypatch):
    rng = np.random.default_rng(7)
    plays = _plays(rng, recorder, ("MO", "T", "DBM"))
    out = []
    for fuse_max in (2048, 0):
        monkeypatch.setattr(record, "FUSE_MAX", fuse_max)
        recorder.begin_round()
        for role, codes, u, rev, c, stats in plays:
            recorder.play(role, codes, u, rev, c, **stats)
        out.append(recorder._cur.copy())
    assert np.array_equal(out[0], out[1])


def test_misaligned_column_is_refused(recorder):
    recorder.begin_round()
    with pytest.raises(ValueError, match="expected"):
        recorder.play("T", np.array([0, 1, 0]), np.ones(3), stake=np.ones(2))


def test_one_player_plays_equal_play_one(recorder):
    """One-player plays given as (role, int code, scalars) - the miners' - fused with
    array plays equal play() for the arrays and play_one() for each player."""
    rng = np.random.default_rng(11)
    for _ in range(20):
        plays = _plays(rng, recorder, ("MO", "T"))
        for role in ("DBM", "EBM", "SBM"):
            u, c = float(rng.normal() * 50), float(rng.random())
            stats = {"count": float(rng.integers(0, 9)), "gap": float(rng.random() > 0.5)}
            plays.append((role, int(rng.integers(0, 2)), u, u + c, c, stats))
        recorder.begin_round()
        recorder._cur += rng.random(recorder._cur.shape)
        start = recorder._cur.copy()
        for role, codes, u, rev, c, stats in plays:
            if type(codes) is int:
                recorder.play_one(role, codes, u, rev, c, **stats)
            else:
                recorder.play(role, codes, u, rev, c, **stats)
        one_by_one = recorder._cur.copy()
        recorder._cur = start.copy()
        recorder.play_many(plays)
        assert np.array_equal(recorder._cur, one_by_one)


def test_play_many_refuses_a_misaligned_column(recorder):
    recorder.begin_round()
    plays = [("T", np.array([0, 1, 0]), np.ones(3), np.ones(3), None, {"stake": np.ones(2)})]
    with pytest.raises(ValueError, match=r"shape \(2,\), expected \(3,\)"):
        recorder.play_many(plays)
    plays = [("T", np.array([0, 1, 0]), np.ones(3), np.ones(2), None, {})]
    with pytest.raises(ValueError):
        recorder.play_many(plays)


def test_play_many_with_scalar_utilities_equals_play(recorder):
    rng = np.random.default_rng(4)
    plays = [("MO", np.array([0, 1, 1]), 2.5, 3.0, None, {"stake": rng.random(3)}),
             ("T", rng.integers(0, 2, 4), rng.random(4), None, None, {"gap": 1.5})]  # fmt: skip
    recorder.begin_round()
    for role, codes, u, rev, c, stats in plays:
        recorder.play(role, codes, u, rev, c, **stats)
    one = recorder._cur.copy()
    recorder.begin_round()
    recorder.play_many(plays)
    assert np.array_equal(recorder._cur, one)
