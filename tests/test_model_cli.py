"""``derelay run``: files, JSON summary, identical output for the same seed, exit 2."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from derelay.cli import app

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, ["run", *args, "--no-progress"])


def test_run_writes_contract_files_and_is_reproducible(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    r1 = _run("--rounds", "30", "--seed", "7", "--out", str(a), "--preset", "authors_code")
    r2 = _run("--rounds", "30", "--seed", "7", "--out", str(b), "--preset", "authors_code")
    assert r1.exit_code == 0, r1.output
    assert r2.exit_code == 0
    for f in ("rounds.parquet", "agents.parquet", "utilities.parquet"):
        assert (a / f).read_bytes() == (b / f).read_bytes()
    rounds = pd.read_parquet(a / "rounds.parquet")
    assert len(rounds) == 30 and "share_latest_10" in rounds
    agents = pd.read_parquet(a / "agents.parquet")
    assert len(agents) == 30 * 256
    meta = json.loads((a / "run.json").read_text())
    assert meta["seed"] == 7 and meta["config"]["matching"] == "authors"
    assert {"setup_s", "rounds_s"} <= set(meta["timings"])


def test_json_summary_and_config_file(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        'preset = "paper_text"\nrecord_every = 5\n[params]\nn_participants = 40\nn_miners = 20\n'
        "[strategies.T]\nN = 0.5\nNTr = 0.5\n"
    )
    r = _run("--config", str(cfg), "--rounds", "10", "--out", str(tmp_path / "o"), "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["rounds"] == 10 and data["latest_version"] >= 1
    agents = pd.read_parquet(tmp_path / "o" / "agents.parquet")
    assert sorted(agents["round"].unique()) == [5, 10]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--rounds", "0"], "rounds"),
        (["--preset", "nope"], "preset"),
        (["--learning", "quantum"], "learning"),
        (["--participants", "0"], "n_participants"),
        (["--participants", "10", "--miners", "10"], "n_miners"),
        (["--record-every", "0"], "record_every"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(tmp_path, args, needle):
    r = _run(*args, "--out", str(tmp_path / "x"))
    assert r.exit_code == 2, r.output
    assert needle in r.output
    assert "Traceback" not in r.output
    assert not (tmp_path / "x").exists()  # nothing half-written


def test_bad_config_file_exits_2(tmp_path):
    for text, needle in [
        ("matchin = 'authors'\n", "matching"),
        ("[params]\ns = 1.5\n", "0 < s < 1"),
        ("this is not toml", "cannot parse"),
    ]:
        f = tmp_path / "bad.toml"
        f.write_text(text)
        r = _run("--config", str(f), "--out", str(tmp_path / "y"))
        assert r.exit_code == 2 and needle in r.output, r.output
    r = _run("--config", str(tmp_path / "missing.toml"))
    assert r.exit_code == 2 and "not found" in r.output


def test_simulated_chain_and_torch_learning(tmp_path):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from derelay.model import SimConfig, run_simulation

    cfg = SimConfig.from_preset("paper_text").with_updates(
        chain="simulated",
        learning="torch",
        params={"n_participants": 24, "n_miners": 12},
        strategies={"T": {"N": 0.75, "NTr": 0.25}, "SBM": {"N": 0.75, "IRa": 0.25}},
        check_invariants=True,
    )
    res = run_simulation(cfg, rounds=4, seed=0)
    r = res.rounds
    assert {"best_accuracy", "mean_gain", "lazy_top_s_rate"} <= set(r.columns)
    assert r["best_accuracy"].notna().any()
    assert res.meta["chain"] == "simulated"


def test_component_configs_are_validated_up_front(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('chain = "simulated"\n[chain_config]\nn_nodes = 1\n')
    r = _run("--config", str(f), "--out", str(tmp_path / "o"))
    assert r.exit_code == 2 and "chain_config.n_nodes" in r.output
    f.write_text('learning = "torch"\n[learning_config]\nlr = -1\n')
    r = _run("--config", str(f), "--out", str(tmp_path / "o"))
    assert r.exit_code == 2 and "learning_config" in r.output and "lr" in r.output


def test_utilities_comparison_option(tmp_path):
    r = _run("--rounds", "40", "--out", str(tmp_path / "u"), "--utilities", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    rows = {(u["role"], u["strategy"]): u for u in data["utilities"]}
    assert ("T", "N") in rows and ("MO", "N") in rows and ("SBM", "N") in rows
    assert rows[("DBM", "N")]["agrees"]
    assert (tmp_path / "u" / "utilities_vs_table2.csv").is_file()


def test_lineage_option(tmp_path):
    r = _run("--rounds", "10", "--out", str(tmp_path / "l"), "--lineage", "--participants", "40",
             "--miners", "20")  # fmt: skip
    assert r.exit_code == 0, r.output
    lin = pd.read_parquet(tmp_path / "l" / "lineage.parquet")
    assert {"model_id", "parent", "recipient", "trainer", "depth", "selected"} <= set(lin.columns)
    assert lin["parent"].iloc[0] == -1 and (lin["depth"].iloc[1:] >= 1).all()
    # every selected model's parent is a selected model of the previous depth (or genesis)
    sel = lin[lin["selected"]].set_index("model_id")
    kids = sel[sel["parent"] >= 0]
    assert kids["parent"].isin(sel.index).all()


def test_parallel_runs_equal_serial_runs():
    from concurrent.futures import ProcessPoolExecutor

    from derelay.model import abm_run_kind

    cfg = {"preset": "paper_text", "rounds": 15, "params": {"n_participants": 48, "n_miners": 24}}
    serial = [abm_run_kind(cfg, s)["rounds"] for s in (1, 2)]
    with ProcessPoolExecutor(max_workers=2) as ex:
        par = list(ex.map(abm_run_kind, [cfg, cfg], [1, 2]))
    for a, b in zip(serial, par, strict=True):
        pd.testing.assert_frame_equal(a, b["rounds"])
