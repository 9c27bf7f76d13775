"""Relay vs FedAvg vs centralised, calibration and the ``derelay learn`` CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from derelay.cli import app
from derelay.learning import TorchBackend, build_data, evaluate, learning_config
from derelay.learning.experiment import (
    ComparisonResult,
    Schedule,
    calibrate,
    run_comparison,
    wilson_interval,
)

torch.set_num_threads(1)

CFG = dict(hidden=(16,), tau=5, batch_size=16, lr=0.1, q_cases=50)
SCHED = Schedule(n_participants=24, n_miners=8, selection_limit=4, lazy_share=0.25)


@pytest.fixture(scope="module")
def small_run():
    cfg = learning_config(**CFG)
    return cfg, run_comparison(cfg, 5, seed=1, schedule=SCHED, keep_rounds=True)


def test_comparison_runs_all_methods_and_is_deterministic(small_run):
    cfg, res = small_run
    r = res.rounds
    assert list(r["round"]) == [1, 2, 3, 4, 5]
    for col in ("relay_best_accuracy", "fedavg_accuracy", "central_accuracy"):
        assert r[col].between(0, 1).all(), col
    assert (r["n_trainers"] <= 4 * r["n_owners"]).all()
    assert r["n_trainers"].iloc[0] == 4  # only the genesis owner in round 1
    again = run_comparison(cfg, 5, seed=1, schedule=SCHED)
    pd.testing.assert_frame_equal(r, again.rounds)
    other = run_comparison(cfg, 5, seed=2, schedule=SCHED)
    assert not r["relay_best_accuracy"].equals(other.rounds["relay_best_accuracy"])
    # all methods learn something on digits within 5 rounds
    g = res.meta["genesis_accuracy"]
    assert r["central_accuracy"].iloc[-1] > g + 0.3
    assert r["relay_best_accuracy_so_far"].iloc[-1] > g + 0.05
    s = res.summary()
    assert s["lazy_top_s_rate"] == pytest.approx(
        r["lazy_selected"].sum() / r["lazy_submitted"].sum()
    )


def test_fedavg_round_one_is_weighted_average_of_relay_round_one(small_run):
    """Round 1: every trainer starts from genesis in both methods with the same keys,
    so the FedAvg global is the shard-size weighted mean of relay's round-1 models."""
    cfg, res = small_run
    rl = res.relay_rounds[0]
    data = build_data(cfg, SCHED.n_participants, 1)
    be = TorchBackend(cfg, SCHED.n_participants, 1, data=data)
    g = be.genesis()
    again = be.train_round(1, rl.parent_ids, rl.trainer_ids, rl.lazy, rl.succeeded)
    assert again.hashes == rl.hashes
    sub = np.flatnonzero(again.submitted)
    w = data.train_sizes()[rl.trainer_ids[sub]].astype(float)
    w = torch.as_tensor(w / w.sum(), dtype=torch.float32)
    avg = (w[:, None] * torch.stack([be.parameters(again.model_ids[i]) for i in sub])).sum(0)
    acc = evaluate(be.spec, avg, data.X[data.eval_idx], data.y[data.eval_idx])[0][0]
    assert acc == pytest.approx(res.rounds["fedavg_accuracy"].iloc[0], abs=1e-6)
    assert g == 0


def _fake(rows):
    return ComparisonResult(rounds=pd.DataFrame(rows))


def test_calibrate_maps_gain_to_coin_and_pools_lazy_rate():
    rows = [
        dict(
            round=1,
            n_selected=2,
            mean_eval_gain=0.02,
            mean_gain=0.03,
            lazy_selected=1,
            lazy_submitted=4,
            honest_selected=1,
            honest_submitted=4,
        ),
        dict(
            round=2,
            n_selected=6,
            mean_eval_gain=0.01,
            mean_gain=0.01,
            lazy_selected=0,
            lazy_submitted=6,
            honest_selected=6,
            honest_submitted=8,
        ),
        dict(
            round=3,
            n_selected=0,
            mean_eval_gain=float("nan"),
            mean_gain=float("nan"),
            lazy_selected=0,
            lazy_submitted=0,
            honest_selected=0,
            honest_submitted=0,
        ),
    ]
    c = calibrate(_fake(rows), coin_per_point=2.0)
    gain_pp = 100 * (2 * 0.02 + 6 * 0.01) / 8
    assert c["gain_per_step_pp"] == pytest.approx(gain_pp)
    assert c["coin"] == pytest.approx(2.0 * gain_pp)
    assert c["lazy_top_s_rate"] == pytest.approx(1 / 10)
    assert c["honest_top_s_rate"] == pytest.approx(7 / 12)
    lo, hi = c["lazy_top_s_ci95"]
    assert lo < 0.1 < hi
    assert c["params"]["coin"] == pytest.approx(c["coin"])
    assert set(c["check"]) == {"failing", "ir", "ic"}
    assert c["lazy_top_s_rate_by_half"] == [pytest.approx(0.25), pytest.approx(0.0)]
    cf = c["closed_form_lazy"]
    if cf is not None:  # the formal part is present
        from derelay.formal.deviations import lazy_gain
        from derelay.params import as_values

        pv = as_values(c["params"])
        sc = cf["scaled"]
        assert sc["lazy_gain_at_p"] == pytest.approx(float(lazy_gain(pv, 0.1, "scaled")))
        if sc["p_star"] is not None:
            assert float(lazy_gain(pv, sc["p_star"], "scaled")) == pytest.approx(0, abs=1e-9)
    fake = _fake(rows)
    fake.meta["n_params"] = 1234
    sized = calibrate(fake, model_size_from_net=True)
    assert sized["params"]["model_size"] == 1234 and sized["n_params"] == 1234
    assert calibrate(fake)["params"]["model_size"] == 10000
    skipped = calibrate(_fake(rows), skip_rounds=1)
    assert skipped["gain_per_step_pp"] == pytest.approx(1.0)
    neg = calibrate(_fake([{**rows[0], "mean_eval_gain": -0.01}]))
    assert neg["coin"] < 0 and neg["params"] is None and "not positive" in neg["params_error"]
    with pytest.raises(ValueError, match="skip_rounds"):
        calibrate(_fake(rows), skip_rounds=3)


def test_wilson_interval():
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(1 - hi)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_schedule_validation():
    with pytest.raises(ValueError, match="n_miners"):
        Schedule(n_participants=10, n_miners=9).validate()
    with pytest.raises(ValueError, match="lazy_share"):
        Schedule(lazy_share=1.5).validate()


ARGS = [
    "learn",
    "-n",
    "3",
    "--participants",
    "16",
    "--miners",
    "4",
    "--hidden",
    "16",
    "--tau",
    "4",
    "--q-cases",
    "40",
]


def test_cli_json_calibrate_contract():
    runner = CliRunner()
    res = runner.invoke(app, [*ARGS, "--json", "--calibrate"])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    for key in (
        "coin",
        "lazy_top_s_rate",
        "gain_per_step_pp",
        "params",
        "summary",
        "meta",
        "rounds",
    ):
        assert key in obj
    assert len(obj["rounds"]) == 3
    row = obj["rounds"][0]
    for key in (
        "relay_best_accuracy",
        "fedavg_accuracy",
        "central_accuracy",
        "mean_gain",
        "lazy_top_s_rate",
    ):
        assert key in row
    again = json.loads(runner.invoke(app, [*ARGS, "--json", "--calibrate"]).stdout)
    assert again["rounds"] == obj["rounds"] and again["coin"] == obj["coin"]


def test_cli_tables_and_out(tmp_path):
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            *ARGS,
            "--methods",
            "relay,fedavg",
            "--out",
            str(tmp_path / "o"),
            "--plot",
            str(tmp_path / "acc.png"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "Lazy-but-lucky rate" in res.output and "FedAvg" in res.output
    df = pd.read_parquet(tmp_path / "o" / "rounds.parquet")
    assert len(df) == 3 and "central_accuracy" not in df
    models = pd.read_parquet(tmp_path / "o" / "models.parquet")
    assert set(models["round"]) == {1, 2, 3}
    per_round = models.groupby("round")["selected"].sum()
    assert (per_round.to_numpy() == df["n_selected"].to_numpy()).all()
    assert (models.loc[models["model"] < 0, "hash"] == "").all()
    assert (tmp_path / "acc.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "o" / "learn.json").read_text())["summary"]["rounds"] == 3


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--tau", "0"], "tau"),
        (["--data", "cifar"], "dataset"),
        (["--methods", "relay,sgd"], "--methods"),
        (["--lazy-share", "2"], "lazy_share"),
        (["--q-cases", "100000"], "q_cases"),
        (["--alpha", "0"], "alpha"),
        (["--rounds", "0"], "--rounds"),
        (["--plot", "x.jpg"], "--plot"),
        (["--config", "/nonexistent.toml"], "cannot read"),
        (["--calibrate", "--skip-rounds", "3"], "--skip-rounds"),
    ],
)
def test_cli_bad_input_exits_2(extra, needle):
    res = CliRunner().invoke(app, [*ARGS, *extra])
    assert res.exit_code == 2, res.output
    assert needle in res.output
    assert "Traceback" not in res.output


def test_cli_write_params_feeds_derelay_check(tmp_path):
    out = tmp_path / "cal.json"
    res = CliRunner().invoke(
        app, [*ARGS, "--methods", "relay", "--calibrate", "--json", "--write-params", str(out)]
    )
    assert res.exit_code == 0, res.output
    coin = json.loads(res.stdout)["coin"]
    if coin > 0:
        assert json.loads(out.read_text())["coin"] == pytest.approx(coin)
        chk = CliRunner().invoke(app, ["check", "--params", str(out), "--json"])
        assert chk.exit_code == 0
    bad = CliRunner().invoke(app, [*ARGS, "--write-params", str(out)])
    assert bad.exit_code == 2 and "--calibrate" in bad.output


def test_cli_config_file(tmp_path):
    cfg = tmp_path / "l.toml"
    cfg.write_text('[learning]\nhidden = [8]\ntau = 2\noptimizer = "adam"\nlr = 0.01\n')
    base = ["learn", "-n", "2", "--participants", "16", "--miners", "4", "--q-cases", "40"]
    res = CliRunner().invoke(app, [*base, "--config", str(cfg), "--json", "--methods", "relay"])
    assert res.exit_code == 0, res.output
    meta = json.loads(res.stdout)["meta"]
    assert meta["config"]["hidden"] == [8] and meta["config"]["optimizer"] == "adam"
    assert meta["config"]["tau"] == 2
    bad = tmp_path / "b.toml"
    bad.write_text("[learning]\ntaus = 3\n")
    res = CliRunner().invoke(app, [*ARGS, "--config", str(bad)])
    assert res.exit_code == 2 and "unknown learning option 'taus'" in res.output


def test_cli_noise_sweep_json():
    res = CliRunner().invoke(
        app, [*ARGS, "--lazy-share", "0.5", "--noise-sweep", "0,0.5", "--json"]
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["noise_sweep"]
    assert [r["lazy_noise"] for r in rows] == [0.0, 0.5]
    # zero noise: the lazy model's hash equals its parent's, the EB check (step 7) drops it
    assert rows[0]["lazy_top_s_rate"] == 0.0 or rows[0]["lazy_submitted"] == 0
    bad = CliRunner().invoke(app, [*ARGS, "--noise-sweep", "a,b"])
    assert bad.exit_code == 2 and "--noise-sweep" in bad.output


@pytest.mark.slow
def test_paper_setting_relay_learns_and_large_noise_is_caught():
    """Table III setting, 40 rounds: relay learning improves a lot; with noise 0.1 the
    top-s ranking filters lazy trainers far more often than honest ones."""
    cfg = learning_config(lazy_noise=0.1)
    res = run_comparison(cfg, 40, seed=0, schedule=Schedule(lazy_share=0.2), methods=("relay",))
    s = res.summary()
    assert s["mean_trainers"] > 60
    assert s["max_relay_best_accuracy"] > res.meta["genesis_accuracy"] + 0.5
    assert s["lazy_top_s_rate"] < 0.5 * s["honest_top_s_rate"]


def test_abm_drives_torch_backend():
    """The ABM (issue 5) runs on this backend through the INTERFACES.md contract."""
    from derelay import model

    cfg = model.SimConfig(learning="torch", learning_config={"hidden": [16], "tau": 2})
    res = model.run_simulation(cfg, rounds=4, seed=0, progress=False)
    r = res.rounds
    for col in ("best_accuracy", "mean_gain", "lazy_top_s_rate"):
        assert col in r
    acc = r["best_accuracy"].dropna()
    assert len(acc) and acc.between(0, 1).all()
