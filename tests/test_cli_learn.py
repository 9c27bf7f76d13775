"""`derelay learn`: bad numbers and widths refused before training; --out holds one run."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from derelay.cli import app


def _learn(*args):
    return CliRunner().invoke(app, ["learn", *args])


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--alpha", "inf"], "--alpha"),
        (["--coin-per-point", "inf"], "--coin-per-point"),
        (["--hidden", ""], "--hidden"),
        (["--hidden", "64,,32"], "--hidden"),
        (["--selection-limit", str(10**30)], "--selection-limit"),
        (["--rounds", str(10**30)], "--rounds"),
        (["--s", "1"], "--selection-share"),
        (["--selection-share", "nan"], "--selection-share"),
        (["--lr", "-inf"], "--lr"),
        (["--seed", "-1"], "--seed"),
    ],
)
def test_bad_options_exit_2(tmp_path, args, needle):
    r = _learn(*args, "--out", str(tmp_path / "o"))
    assert r.exit_code == 2, r.output
    assert needle in r.output and "Traceback" not in r.output
    assert list(tmp_path.iterdir()) == []


def test_selection_share_new_name_and_old_alias_agree(tmp_path):
    import json

    outs = []
    for flag in ("--selection-share", "--s"):
        r = _learn("--rounds", "1", "--participants", "12", "--miners", "2", "--methods", "relay",
                   flag, "0.4", "--json")  # fmt: skip
        assert r.exit_code == 0, r.output
        outs.append(json.loads(r.stdout)["meta"])
    assert outs[0]["config"]["s"] == outs[1]["config"]["s"] == 0.4


def test_out_is_swapped_whole_and_foreign_dirs_refused(tmp_path):
    out = tmp_path / "o"
    args = ["--rounds", "1", "--participants", "12", "--miners", "2", "--methods", "relay"]
    assert _learn(*args, "--out", str(out), "--json").exit_code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["learn.json", "models.parquet", "rounds.csv", "rounds.parquet"]
    (out / "stale.txt").write_text("old")
    assert _learn(*args, "--out", str(out), "--json").exit_code == 0  # a previous output
    assert not (out / "stale.txt").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "a").write_text("x")
    r = _learn(*args, "--out", str(mine))
    assert r.exit_code == 2 and "--force" in r.output and (mine / "a").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
