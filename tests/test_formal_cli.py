"""``derelay prove | feasible | deviations``: JSON contracts and exit codes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from derelay.cli import app

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, list(args))


def _json(r):
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_prove_json_contract():
    out = _json(_run("prove", "--json", "--timeout", "10"))
    assert {"claims", "necessity"} <= set(out)
    assert set(out["necessity"]) == {f"T{i}" for i in range(1, 9)}
    c = out["claims"][0]
    assert set(c) >= {"role", "property", "deviation", "status", "witness"}
    assert "domain_problems" in out and "seconds" in out


def test_prove_human_output():
    r = _run("prove")
    assert r.exit_code == 0, r.output
    assert "Claims" in r.stdout and "Necessity" in r.stdout


def test_feasible_json_contract(tmp_path):
    out = _json(_run("feasible", "--json", "--minimize", "issuance"))
    assert set(out) >= {"feasible", "rewards", "rewards_exact", "issuance", "conflict"}
    assert out["feasible"] is True
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"b_t": 1.0}))
    out = _json(_run("feasible", "--params", str(f), "--json"))
    assert out["feasible"] is False and out["conflict"][0].startswith("T7:")


def test_feasible_region_written(tmp_path):
    target = tmp_path / "region.csv"
    out = _json(
        _run(
            "feasible",
            "--region",
            "beta,s",
            "--points",
            "6",
            "--max-reward",
            "r_cited=0.001",
            "--out",
            str(target),
            "--json",
        )
    )
    assert out["region"]["points"] == 36 and target.exists()
    assert len(out["rows"]) == 36


def test_deviations_json_contract():
    out = _json(_run("deviations", "--scope", "lazy", "--json", "--lazy-p", "0.8"))
    (d,) = out["deviations"]
    assert set(d) >= {"kind", "roles", "gain", "witness", "replayed_gain"}
    assert d["kind"] == "lazy"
    out = _json(_run("deviations", "--scope", "coalition", "--json"))
    assert out["deviations"][0]["kind"] == "coalition"


@pytest.mark.parametrize(
    "args",
    [
        ("deviations", "--scope", "bogus"),
        ("deviations", "--lazy-p", "2"),
        ("deviations", "--bidders", "1", "--scope", "auction"),
        ("prove", "--timeout", "-1"),
        ("feasible", "--timeout", "0"),
        ("feasible", "--minimize", "coins"),
        ("feasible", "--epsilon", "-1"),
        ("feasible", "--region", "beta"),
        ("feasible", "--region", "beta,nope"),
        ("feasible", "--max-reward", "r_cited"),
        ("feasible", "--max-reward", "r_bogus=1"),
        ("feasible", "--params", "/nonexistent/params.json"),
        ("deviations", "--params", "/nonexistent/params.json"),
    ],
)
def test_bad_input_exits_2(args):
    r = _run(*args)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output


def test_bad_params_file_content(tmp_path):
    f = tmp_path / "bad.json"
    f.write_text('{"beta": 1.5}')
    r = _run("feasible", "--params", str(f), "--json")
    assert r.exit_code == 2
    assert "beta" in r.output


def test_issuance_undefined_without_model_owners(tmp_path):
    f = tmp_path / "q0.json"
    f.write_text('{"q_selected": 0}')
    r = _run("feasible", "--params", str(f))
    assert r.exit_code == 2 and "q_selected" in r.output
    out = _json(_run("feasible", "--params", str(f), "--minimize", "none", "--json"))
    assert out["feasible"] is True and out["issuance"] is None


def test_tiny_timeout_reports_unknowns_not_proofs():
    out = _json(_run("prove", "--json", "--timeout", "0.001"))
    statuses = {c["status"] for c in out["claims"]}
    assert statuses <= {"proved", "counterexample", "unknown"}
    for c in out["claims"]:
        if c["status"] == "unknown":
            assert c["witness"] is None and c.get("reason")


def test_prove_json_without_timings_is_a_function_of_the_inputs():
    """Issue 17: with --no-timings the JSON has no wall-clock field, and two fresh processes
    (whatever the machine's load) give the same bytes.  Every query runs in a z3 context of
    its own, so a run inside a process with a history gives them too
    (tests/test_formal_determinism.py)."""
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "derelay", "prove", "--json", "--no-timings"]
    a = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert '"seconds"' not in a
    b = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert a == b
