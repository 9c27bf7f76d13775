"""``derelay chain`` command line: JSON contract and input validation."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from derelay.cli import app

runner = CliRunner()
KEYS = {
    "stale_rate",
    "mean_reorg_depth",
    "max_reorg_depth",
    "invalid_final_blocks",
    "dishonest_orphan_rate",
    "blocks",
    "seconds",
}


def _run(*args):
    return runner.invoke(app, ["chain", *args])


def test_json_contract_and_determinism():
    args = [
        "--blocks",
        "300",
        "--nodes",
        "20",
        "--latency",
        "1.0",
        "--adversary",
        "0.2",
        "--seed",
        "3",
        "--json",
    ]
    r1, r2 = _run(*args), _run(*args)
    assert r1.exit_code == 0, r1.output
    d1, d2 = json.loads(r1.stdout), json.loads(r2.stdout)
    assert KEYS <= set(d1)
    assert d1["blocks"] == 300 and d1["dishonest_blocks"] > 0
    d1.pop("seconds"), d2.pop("seconds")
    assert d1 == d2


@pytest.mark.parametrize("topology", ["small_world", "scale_free", "complete"])
def test_topologies_and_policies(topology):
    r = _run(
        "--blocks",
        "200",
        "--nodes",
        "12",
        "--topology",
        topology,
        "--policy",
        "withhold",
        "--adversary",
        "0.3",
        "--json",
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["network"]["topology"] == topology


def test_staged_mode_and_table_output():
    r = _run("--blocks", "100", "--nodes", "10", "--mode", "staged", "--adversary", "0.3")
    assert r.exit_code == 0, r.output
    assert "stale rate" in r.stdout and "dishonest-block orphan rate" in r.stdout


def test_user_graph(tmp_path):
    p = tmp_path / "net.edges"
    p.write_text("0 1 0.2\n1 2 0.2\n2 3 0.2\n3 0 0.2\n")
    r = _run("--blocks", "100", "--graph", str(p), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["network"]["nodes"] == 4


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--adversary", "1.0"], "--adversary must be in [0, 1)"),
        (["--adversary", "-0.1"], "--adversary"),
        (["--nodes", "1"], "--nodes must be in [2, 10000]"),
        (["--nodes", "20000"], "--nodes must be in [2, 10000]"),
        (["--latency", "-1"], "--latency must be >= 0"),
        (["--interval", "0"], "--interval must be > 0"),
        (["--blocks", "0"], "--blocks must be >= 1"),
        (["--topology", "ring"], "--topology must be one of"),
        (["--policy", "steal"], "--policy must be one of"),
        (["--topology", "file"], "--graph"),
        (["--graph", "/no/such/file.txt"], "does not exist"),
        (["--nodes", "4", "--adversary", "0.3", "--adversary-nodes", "4"], "--adversary-nodes"),
        (["--mode", "staged", "--policy", "withhold", "--adversary", "0.2"], "continuous"),
        (["--latency", "nan"], "--latency"),
        (["--hash-skew", "-1"], "--hash-skew must be >= 0"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args, needle):
    r = _run(*args)
    assert r.exit_code == 2
    assert needle in r.output.replace("\n", "")
    assert "Traceback" not in r.output


def test_out_directory_writes_metrics_and_blocks(tmp_path):
    import pandas as pd

    out = tmp_path / "run"
    r = _run("--blocks", "120", "--nodes", "8", "--adversary", "0.25", "--out", str(out), "--json")
    assert r.exit_code == 0, r.output
    d = json.loads((out / "metrics.json").read_text())
    blocks = pd.read_parquet(out / "blocks.parquet")
    assert len(blocks) == d["blocks"] + 1  # genesis included
    assert int((~blocks["valid"] & blocks["final"]).sum()) == d["invalid_final_blocks"]
    assert sorted(p.name for p in out.iterdir()) == ["blocks.parquet", "metrics.json"]
    f = tmp_path / "afile"
    f.write_text("x")
    r2 = _run("--blocks", "10", "--out", str(f))
    assert r2.exit_code == 2 and "directory" in r2.output


def test_params_file_sets_coinbases(tmp_path):
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"r_deposit": 0.002}))
    base = ["--blocks", "60", "--nodes", "6", "--latency", "0", "--json", "--seed", "1"]
    d1 = json.loads(_run(*base).stdout)
    d2 = json.loads(_run(*base, "--params", str(p)).stdout)
    assert d2["settled_minted"] > d1["settled_minted"]  # DBs pay twice as much per deposit
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"r_deposit": -1}))
    r = _run(*base, "--params", str(bad))
    assert r.exit_code == 2 and "r_deposit" in r.output
    r2 = _run(*base, "--rewards", "gold")
    assert r2.exit_code == 2 and "--rewards" in r2.output


def test_replicates_report_means_and_intervals(tmp_path):
    import pandas as pd

    args = ["--blocks", "300", "--nodes", "12", "--latency", "1.5", "--replicates", "3", "--json"]
    r = _run(*args, "--out", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert KEYS <= set(d) and d["replicates"] == 3 and d["blocks"] == 300
    per = [x["stale_rate"] for x in d["per_replicate"]]
    assert d["stale_rate"] == pytest.approx(sum(per) / 3)
    lo, hi = d["ci95"]["stale_rate"]
    assert lo <= d["stale_rate"] <= hi
    assert len(set(per)) > 1  # independent seeds
    table = pd.read_parquet(tmp_path / "o" / "replicates.parquet")
    assert list(table["replicate"]) == [0, 1, 2]

    def strip(x):
        x = json.loads(x)
        x.pop("seconds"), x["ci95"].pop("seconds", None)
        for row in x["per_replicate"]:
            row.pop("seconds")
        return x

    assert strip(_run(*args).stdout) == strip(_run(*args).stdout)  # seeded, timings aside
    table_out = _run("--blocks", "100", "--nodes", "8", "--replicates", "2")
    assert table_out.exit_code == 0 and "95% interval" in table_out.stdout
    r0 = _run("--replicates", "0")
    assert r0.exit_code == 2 and "--replicates" in r0.output
