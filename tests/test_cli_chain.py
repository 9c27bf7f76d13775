"""`derelay chain`: nano-coin keys, the double-spend count's clear name, --degree, --out."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from derelay.cli import app


def _chain(*args):
    return CliRunner().invoke(app, ["chain", *args])


def test_nano_keys_and_clear_names(tmp_path):
    r = _chain("--blocks", "120", "--nodes", "8", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    for key in ("settled_minted", "settled_refunded", "settled_forfeited", "open_escrow"):
        assert d[f"{key}_nano"] == d[key] and isinstance(d[key], int)
    assert d["block_reward_nano"] == d["config"]["block_reward"] == d["config"]["block_reward_nano"]
    assert d["deposit_contracts_packed_on_two_branches"] == d["double_spend_conflicts"]
    # the default degree is min(8, nodes - 1): said in --help, no silent clip
    assert d["network"]["mean_degree"] == 7.0


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--nodes", "8", "--degree", "8"], "--degree' = 8"),
        (["--blocks", str(10**30)], "--blocks"),
        (["--blocks", "20000000"], "without --force"),
        (["--jitter", "1e308"], "--jitter"),
        (["--give-up", str(10**30)], "--give-up"),
        (["--latency", "nan"], "--latency"),
        (["--seed", "-1"], "--seed"),
        (["--topology", "[/]"], "[/]"),
    ],
)
def test_bad_input(tmp_path, args, needle):
    r = _chain(*args, "--out", str(tmp_path / "o"))
    assert r.exit_code == 2 and needle in r.output and "Traceback" not in r.output, r.output
    assert list(tmp_path.iterdir()) == []


def test_out_holds_one_run(tmp_path):
    out = tmp_path / "o"
    assert _chain("--blocks", "60", "--nodes", "8", "--out", str(out)).exit_code == 0
    assert (out / "blocks.parquet").exists()
    r = _chain("--blocks", "60", "--nodes", "8", "--replicates", "2", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "replicates.parquet"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "a.txt").write_text("x")
    r = _chain("--blocks", "60", "--nodes", "8", "--out", str(mine))
    assert r.exit_code == 2 and "--force" in r.output and (mine / "a.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
