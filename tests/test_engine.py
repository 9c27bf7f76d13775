"""The generic engine: ledger, streams, types, protocol, recorder, flows (issue 10)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from derelay.engine.ledger import BURN, ESCROW, EXTERNAL, MANY, MINT, Ledger, LedgerError
from derelay.engine.streams import Streams

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "derelay_toy"


@pytest.fixture(scope="module")
def toy():
    sys.path.insert(0, str(EXAMPLE))
    try:
        from derelay_toy import TOY

        from derelay.mechanism import register_mechanism

        register_mechanism(TOY)
        yield TOY
    finally:
        sys.path.remove(str(EXAMPLE))


# --- ledger ---------------------------------------------------------------------------
def test_ledger_operations_conserve_and_log_every_flow():
    lg = Ledger(3, system=("CLIENT", "AGG"))
    c = lg.account("CLIENT")
    assert c == 3 and lg.account("AGG") == 4
    lg.round = 1
    lg.mint([0, 0, 1], [5, 7, 3], "reward")
    lg.external(c, 20, "payment")
    lg.transfer(c, [1, 2], 4, "fee")  # 4 each
    lg.lock([0, 1], [10, 3], "deposit")
    lg.release([1], [3], "refund")
    burned = lg.slash(10, to=[2, 2, 1], reason="forfeit")  # 3 each, remainder 1 burned
    assert burned == 1
    lg.burn([2], [2], "fee_burn")
    lg.check()
    assert lg.coins.tolist() == [2, 3 + 4 + 3, 4 + 6 - 2]
    assert lg.balances[c] == 12
    assert (lg.minted, lg.external_in, lg.burned, lg.escrow) == (15, 20, 3, 0)
    assert lg.total() + lg.escrow == lg.minted + lg.external_in - lg.burned
    f = lg.flows_frame()
    assert list(f.columns) == ["round", "reason", "src", "dst", "amount"]
    assert (f["round"] == 1).all()
    # every flow conserves: sources minus sinks per account reproduce the balances
    bal = np.zeros(5, dtype=np.int64)
    for row in f.itertuples():
        if row.src >= 0:
            bal[row.src] -= row.amount
        if row.dst >= 0:
            bal[row.dst] += row.amount
    assert bal.tolist() == lg.balances.tolist()
    assert set(f.loc[f.reason == "forfeit", "dst"]) == {2, 1, BURN}
    assert f.loc[f.reason == "payment", "src"].tolist() == [EXTERNAL]
    assert f.loc[f.reason == "reward", "src"].unique().tolist() == [MINT]
    assert f.loc[f.reason == "deposit", "dst"].unique().tolist() == [ESCROW]


def test_ledger_rejects_overdrafts_and_negative_amounts_all_or_nothing():
    lg = Ledger(2)
    lg.mint([0, 1], [5, 1])
    with pytest.raises(LedgerError, match="negative"):
        lg.lock([0, 1], [3, 2])  # participant 1 has only 1
    assert lg.coins.tolist() == [5, 1] and lg.escrow == 0
    with pytest.raises(LedgerError):
        lg.mint([0], [-1])
    with pytest.raises(LedgerError):
        lg.release([0], [1])  # more than the escrow
    lg.coins[0] += 1  # a coin out of nowhere
    with pytest.raises(LedgerError, match="not conserved"):
        lg.check()


def test_ledger_aggregates_are_python_ints_that_never_wrap():
    lg = Ledger(2)
    big = 2**62
    for _ in range(4):
        lg.mint([0], [big])
        lg.burn([0], [big])
    assert lg.minted == 4 * big and isinstance(lg.minted, int)
    lg.check()


def test_weighted_slash_and_flow_modes():
    lg = Ledger(3, flows="aggregate")
    lg.mint([0, 1, 2], [10, 10, 10])
    lg.lock([0, 1], [10, 10])
    lg.slash(20, to=[1, 2], shares=[1, 2])  # 6 and 13, remainder 1 burned
    assert lg.coins.tolist() == [0, 6, 23] and lg.burned == 1
    f = lg.flows_frame()
    assert len(f) == 4 and f["dst"].tolist()[0] == MANY
    off = Ledger(2, flows="off")
    off.mint([0], [1])
    assert len(off.flows_frame()) == 0 and off.minted == 1
    with pytest.raises(ValueError, match="flows"):
        Ledger(1, flows="some")


def test_streams_depend_on_seed_and_position_only():
    a = Streams(5, ("x", "y", "adapt"))
    b = Streams(5, ("x", "y", "adapt"))
    b.rng("y").random(10)  # using one stream leaves the others alone
    assert a.rng("adapt").random() == b.rng("adapt").random()
    assert a.rng("x").random() != Streams(6, ("x",)).rng("x").random()
    with pytest.raises(KeyError, match="unknown random stream"):
        a.rng("z")


# --- a whole run of an out-of-tree mechanism ------------------------------------------
def _cfg(**kw):
    from derelay.engine import RunConfig

    base = {"mechanism": "toy", "params": {"n_participants": 40}, "initial_coins": 2.0}
    base.update(kw)
    return RunConfig(**base)


def test_types_play_their_familys_strategy_in_every_role(toy):
    from derelay.engine import build_model

    m = build_model(_cfg(types={"lazy": 0.25, "skip_audit": 0.5}, coalitions=2), seed=3)
    fam = m.types.family
    from derelay.mechanism import FAMILY_CODE

    assert (fam == FAMILY_CODE["lazy"]).sum() == 10 and (
        fam == FAMILY_CODE["skip_audit"]
    ).sum() == 20
    lazy_code = m.strategy_code("W", "Lazy")
    assert (
        (m.state.strategy[:, m.role_code("W")] == lazy_code) == (fam == FAMILY_CODE["lazy"])
    ).all()
    # a lazy agent has no lazy auditor strategy: it audits normally
    assert (m.strategy_of("A", np.flatnonzero(fam == FAMILY_CODE["lazy"])) == 0).all()
    assert set(m.types.coalition[fam != 0]) == {0, 1} and (m.types.coalition[fam == 0] == -1).all()
    agent = next(iter(m.agents))
    assert agent.family in ("honest", "lazy", "skip_audit")


def test_run_is_conserved_recorded_and_reproducible(toy, tmp_path):
    from derelay.engine import run_simulation

    cfg = _cfg(types={"lazy": 0.3})
    a = run_simulation(cfg, rounds=15, seed=1)
    b = run_simulation(cfg, rounds=15, seed=1)
    for t in ("rounds", "agents", "utilities", "flows"):
        pd.testing.assert_frame_equal(getattr(a, t), getattr(b, t))
    r = a.rounds
    assert (
        r["total_coins_nano"] + r["escrow_nano"]
        == r["minted_nano"] + r["external_nano"] - r["burned_nano"]
    ).all()
    # flows: per account, the flow log reproduces the final balances
    f = a.flows
    lg = a.model.ledger
    net = np.zeros(len(lg.balances), dtype=np.int64)
    np.add.at(net, f.loc[f.dst >= 0, "dst"], f.loc[f.dst >= 0, "amount"])
    np.subtract.at(net, f.loc[f.src >= 0, "src"], f.loc[f.src >= 0, "amount"])
    assert net.tolist() == lg.balances.tolist()
    # honest auditors only: realised means equal the closed form exactly for workers' N
    mu = a.model.recorder.mean_utilities().set_index(["role", "strategy"])
    u = toy.utilities(toy.space.values(toy.space.validate(cfg.params)))
    assert mu.loc[("W", "N"), "mean"] == pytest.approx(u["W"]["N"])
    assert mu.loc[("A", "N"), "mean"] == pytest.approx(u["A"]["N"])
    lazy = mu.loc[("W", "Lazy")]
    assert abs(lazy["mean"] - u["W"]["Lazy"]) < 4 * lazy["se"] + 1e-9
    a.write(tmp_path)
    assert {"rounds.parquet", "agents.parquet", "flows.parquet", "run.json"} <= {
        p.name for p in tmp_path.iterdir()
    }
    assert pd.read_parquet(tmp_path / "flows.parquet")["amount"].sum() == f["amount"].sum()


@pytest.mark.parametrize("rule", ["imitation", "best_response", "replicator"])
def test_adaptation_dynamics_work_over_any_mechanisms_roles(toy, rule):
    from derelay.engine import run_simulation

    res = run_simulation(
        _cfg(types={"lazy": 0.5, "skip_audit": 0.3}, adaptation=rule, adaptation_rate=0.5),
        rounds=25,
        seed=2,
    )
    first, last = res.rounds.iloc[0], res.rounds.iloc[-1]
    # the closed form and the realised utilities both make auditing unattractive (Skip
    # saves c_eval); laziness is deterred at the defaults (W_IC holds)
    assert last["share_A_Skip"] >= first["share_A_Skip"]
    assert last["share_W_Lazy"] <= first["share_W_Lazy"]


def test_bad_run_config_is_one_clear_line(toy):
    from derelay.engine import RunConfig, build_model

    with pytest.raises(ValueError, match="unknown family 'lazzy'"):
        RunConfig(mechanism="toy", types={"lazzy": 0.1})
    with pytest.raises(ValueError, match="unknown strategy 'Bad'"):
        build_model(RunConfig(mechanism="toy", strategies={"W": {"N": 0.5, "Bad": 0.5}}))
    from derelay.params import ParamsError

    with pytest.raises(ParamsError, match="p_detect"):
        build_model(RunConfig(mechanism="toy", params={"p_detect": 2.0}))
