"""``derelay check``: the JSON contract, exit codes, readable output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from derelay.cli import app

runner = CliRunner()
ROLES = {
    "MO": {"N", "NTm"},
    "T": {"N", "NTr", "NBr"},
    "DBM": {"N", "NPA", "PI"},
    "EBM": {"N", "NG"},
    "TBM": {"N", "IT"},
    "SBM": {"N", "IRa"},
}


def _run(*args):
    return runner.invoke(app, list(args))


def test_json_contract_on_defaults():
    r = _run("check", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert {k: set(v) for k, v in out["utilities"].items()} == ROLES
    assert set(out["conditions"]) == {f"T{i}" for i in range(1, 9)}
    assert set(out["ir"]) == set(ROLES) and set(out["ic"]) == set(ROLES)
    assert all(isinstance(v, bool) for v in out["conditions"].values())
    assert all(out["conditions"].values()) and all(out["ir"].values()) and all(out["ic"].values())


def test_failing_verdicts_still_exit_zero(tmp_path):
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"b_t": 1.0, "r_deposit": 0.0}))  # T7 fails, T3 fails
    r = _run("check", "--params", str(f), "--json")
    assert r.exit_code == 0
    out = json.loads(r.stdout)
    assert out["conditions"]["T7"] is False and out["conditions"]["T3"] is False
    assert out["ir"]["DBM"] is False
    assert out["ic"]["DBM"] is False  # R_Deposit = 0: N and NPA tie, strict IC fails
    assert out["ic"]["T"] is True  # T7 fails but IC vs NTr holds (T7 only sufficient)
    text = _run("check", "--params", str(f))
    assert text.exit_code == 0
    assert "Failing" in text.stdout and "T7" in text.stdout


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"beta": 1.5}', "'beta' = 1.5 is out of range"),
        ('{"bta": 0.5}', "did you mean 'beta'"),
        ('{"s": "x"}', "wrong type"),
        ("{oops", "malformed JSON"),
    ],
)
def test_bad_input_exits_2_with_message_and_no_traceback(tmp_path, content, fragment):
    f = tmp_path / "p.json"
    f.write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "derelay", "check", "--params", str(f), "--json"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_missing_file_exits_2(tmp_path):
    r = _run("check", "--params", str(tmp_path / "none.json"))
    assert r.exit_code == 2


def test_help_explains_subcommands():
    r = _run("--help")
    assert r.exit_code == 0 and "check" in r.stdout
