"""The out-of-tree example plug-in, installed with pip, is found through its entry point.

``examples/derelay_toy`` is installed into a temporary directory (``pip install --no-deps
--no-build-isolation --target``) and a fresh interpreter with that directory on
``PYTHONPATH`` runs it through ``derelay mechanisms``, ``check``, ``prove``, ``run`` and
a 2-worker ``sweep``: nothing registers it by hand, so the CLI and every worker process
find it through the ``derelay.mechanisms`` entry point alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "derelay_toy"

SCRIPT = r"""
import json, sys
from typer.testing import CliRunner
from derelay.cli import app

out = {}
r = CliRunner()

def call(*args):
    res = r.invoke(app, list(args))
    assert res.exit_code == 0, (args, res.output)
    return json.loads(res.output) if "--json" in args else res.output

tmp = sys.argv[1]
out["mechanisms"] = [m["name"] for m in call("mechanisms", "--json")["mechanisms"]]
out["check"] = call("check", "--mechanism", "toy", "--json")
out["prove"] = call("prove", "--mechanism", "toy", "--json")
out["run"] = call("run", "--mechanism", "toy", "--rounds", "5", "--out", tmp + "/run", "--json")
out["sweep"] = call("sweep", tmp + "/spec.toml", "--workers", "2", "--out", tmp + "/sweep",
                    "--json", "--no-progress")
bad = r.invoke(app, ["check", "--mechanism", "toy", "--params", tmp + "/bad.toml"])
out["bad"] = [bad.exit_code, bad.output]
print("RESULT " + json.dumps(out))
"""

SPEC = """
name = "toy_plugin"
kind = "abm"
mechanism = "toy"
replications = 2
seed = 3
[base]
rounds = 6
initial_coins = 2.0
types = {lazy = 0.5}
[base.params]
n_participants = 20
[sweep.axes]
p_detect = [0.1, 0.9]
[outputs]
tables = ["rounds"]
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plugin")
    src = tmp / "src"
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    site = tmp / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--no-index",
            "--target",
            str(site),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert (site / "derelay_toy").is_dir()
    return tmp, site


def test_installed_plugin_runs_through_the_cli_and_worker_processes(installed):
    tmp, site = installed
    (tmp / "spec.toml").write_text(SPEC)
    (tmp / "bad.toml").write_text("p_detect = 1.5\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(site)]))
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp)],
        env=env,
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line.removeprefix("RESULT "))
    assert "toy" in out["mechanisms"] and "derelayl" in out["mechanisms"]
    assert out["check"]["ic"] == {"W": True, "A": False}  # the auditor's IC fails: a finding
    claims = {c["name"]: c["status"] for c in out["prove"]["claims"]}
    assert claims == {"toy.audit_deters_laziness": "proved"}
    assert out["run"]["mechanism"] == "toy" and out["run"]["flows"] > 0
    assert (tmp / "run" / "flows.parquet").is_file()
    assert out["sweep"]["ok"] == out["sweep"]["runs"] == 4
    code, msg = out["bad"]
    assert code == 2 and "p_detect" in msg and "1.5" in msg and len(msg.strip().splitlines()) == 1
