"""`derelay run`: --set, --replications, top-level parameters in --config, output dirs."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from derelay.cli import app


def _run(*args):
    return CliRunner().invoke(app, ["run", "--no-progress", *args])


def test_set_and_replications_layout(tmp_path):
    out = tmp_path / "o"
    r = _run("--rounds", "4", "--participants", "300", "--set", "s=0.6", "--set", "b_t=1.2",
             "--replications", "3", "--seed", "5", "--out", str(out), "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["replications"] == 3 and len(data["runs"]) == 3
    index = json.loads((out / "replications.json").read_text())
    seeds = [run["seed"] for run in index["runs"]]
    assert len(set(seeds)) == 3
    for k in range(3):
        meta = json.loads((out / f"rep-{k:03d}" / "run.json").read_text())
        assert meta["seed"] == seeds[k]
        assert meta["config"]["params"]["s"] == 0.6
    # same seed, same seeds and files
    assert _run("--rounds", "4", "--participants", "300", "--set", "s=0.6", "--set", "b_t=1.2",
              "--replications", "3", "--seed", "5", "--out", str(tmp_path / "p"), "--json").exit_code == 0  # fmt: skip
    assert json.loads((tmp_path / "p" / "replications.json").read_text()) == index
    a = pd.read_parquet(out / "rep-002" / "rounds.parquet")
    b = pd.read_parquet(tmp_path / "p" / "rep-002" / "rounds.parquet")
    pd.testing.assert_frame_equal(a, b)


def test_config_takes_top_level_parameters_like_check(tmp_path):
    top = tmp_path / "top.toml"
    top.write_text("s = 0.7\nn_participants = 300\n")
    table = tmp_path / "table.toml"
    table.write_text("[params]\ns = 0.7\nn_participants = 300\n")
    metas = []
    for f, o in ((top, "a"), (table, "b")):
        r = _run("--config", str(f), "--rounds", "3", "--out", str(tmp_path / o), "--json")
        assert r.exit_code == 0, r.output
        metas.append(json.loads((tmp_path / o / "run.json").read_text())["config"]["params"])
    assert metas[0] == metas[1] and metas[0]["s"] == 0.7
    both = tmp_path / "both.toml"
    both.write_text("s = 0.7\n[params]\ns = 0.6\n")
    r = _run("--config", str(both), "--out", str(tmp_path / "c"))
    assert r.exit_code == 2 and "'s'" in r.output and "both" in r.output
    assert not (tmp_path / "c").exists()


def test_generic_mechanism_set_and_top_level(tmp_path):
    f = tmp_path / "pot.toml"
    f.write_text('mechanism = "pot"\nn_participants = 60\n')
    r = _run("--config", str(f), "--rounds", "2", "--out", str(tmp_path / "g"), "--json")
    assert r.exit_code == 0, r.output
    meta = json.loads((tmp_path / "g" / "run.json").read_text())
    assert meta["config"]["params"]["n_participants"] == 60
    r = _run("-m", "pot", "--set", "nope=1", "--out", str(tmp_path / "h"))
    assert r.exit_code == 2 and "'nope'" in r.output and "pot" in r.output


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--seed", "-1"], "--seed"),
        (["--rounds", str(10**30)], "--rounds"),
        (["--rounds", "100000000"], "without --force"),
        (["--replications", "0"], "--replications"),
        (["--mechanism", "bogus"], "'bogus' is not a mechanism"),
        (["--utilities", "--rounds", "5", "--burn-in", "5"], "--burn-in"),
        (["--set", "s"], "KEY=VALUE"),
        (["--set", "s=nan"], "'s'"),
        (["--set", "bogus=1"], "'bogus'"),
        (["--set", "n_participants=1e400"], "n_participants"),
    ],
)
def test_bad_input_refused_before_writing(tmp_path, args, needle):
    r = _run(*args, "--out", str(tmp_path / "x"))
    assert r.exit_code == 2, r.output
    assert needle in r.output and "Traceback" not in r.output
    assert list(tmp_path.iterdir()) == []


def test_out_holds_exactly_one_run(tmp_path):
    out = tmp_path / "o"
    assert _run("--rounds", "3", "--lineage", "--out", str(out)).exit_code == 0
    assert (out / "lineage.parquet").exists()
    # an earlier run's directory is replaced whole: no stale lineage.parquet
    assert _run("--rounds", "3", "--out", str(out)).exit_code == 0
    assert not (out / "lineage.parquet").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    # a directory with other files is refused, --force replaces it whole
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    r = _run("--rounds", "3", "--out", str(mine))
    assert r.exit_code == 2 and "--force" in r.output
    assert (mine / "notes.txt").exists()
    assert _run("--rounds", "3", "--out", str(mine), "--force").exit_code == 0
    assert sorted(p.name for p in mine.iterdir())[-1] == "utilities.parquet"
    assert not (mine / "notes.txt").exists()
