"""The tutorials' ```python blocks run, in order, in a fresh directory per tutorial."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
TUTORIALS = sorted(DOCS.glob("tutorial_*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_every_kind_of_user_has_a_tutorial():
    names = {p.stem for p in TUTORIALS}
    assert {
        "tutorial_incentive_design",
        "tutorial_batch_experiment",
        "tutorial_solver_query",
        "tutorial_equilibrium_tests",
    } <= names
    assert (DOCS / "parameters.md").exists()


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_code_runs(path, tmp_path, monkeypatch):
    blocks = BLOCK.findall(path.read_text(encoding="utf-8"))
    assert blocks, f"{path.name} has no python blocks"
    monkeypatch.chdir(tmp_path)
    ns: dict = {"__name__": f"tutorial_{path.stem}"}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"{path.name}[block {i}]", "exec"), ns)
        except Exception as exc:  # pragma: no cover - the message is the point
            raise AssertionError(f"{path.name}, block {i} failed: {exc!r}\n{code}") from exc


def test_batch_tutorial_lists_every_run_kind():
    from experiments.runner import RUN_KINDS

    text = (DOCS / "tutorial_batch_experiment.md").read_text(encoding="utf-8")
    for kind in RUN_KINDS:
        assert f"| `{kind}` |" in text, f"run kind {kind!r} missing from the tutorial's table"
