"""The README's quick tour works: its example files answer as the README says."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from derelay.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
runner = CliRunner()


def _tour() -> list[str]:
    block = README.split("## Quick tour", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    cmds = []
    for line in block.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("derelay "):
            cmds.append(line)
    return cmds


FAST = ("check", "params", "mechanisms", "design", "feasible", "--help")


@pytest.mark.parametrize("cmd", [c for c in _tour() if c.split()[1] in FAST], ids=lambda c: c[:60])
def test_fast_quick_tour_commands_run(cmd):
    r = runner.invoke(app, cmd.split()[1:])
    assert r.exit_code == 0, r.output
    assert "Traceback" not in r.output


def test_example_point_is_feasible_and_design_names_the_conflict():
    r = runner.invoke(app, ["feasible", "--params", "examples/params/point.toml", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["status"] != "infeasible"
    r = runner.invoke(
        app,
        [
            "design",
            "--params",
            "examples/params/no_deposit_works.toml",
            "--free",
            "b_t",
            "--role",
            "T",
        ],
    )
    assert r.exit_code == 0
    promised = re.search(r"#   -> (.*)", README).group(1)
    assert promised in r.output.replace("\n", " ")


def test_python_example_runs():
    code = README.split("In Python, the same formulas", 1)[1].split("```python", 1)[1]
    code = code.split("```", 1)[0]
    exec(compile(code, "README.md", "exec"), {})
