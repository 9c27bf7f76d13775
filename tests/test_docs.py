"""The tutorials' ```python blocks run, in order, in a fresh directory per tutorial, and
print what the ```output block after them shows (so the printed values cannot go stale).

Output comparison: lines must match after stripping trailing blanks; ``...`` in an
expected line matches any text (timings); numbers agree to 6 significant digits.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
TUTORIALS = sorted(DOCS.glob("tutorial_*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```\n(?:\s*^```output\n(.*?)^```)?", re.S | re.M)
NUM = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")


def _compare(expected: str, got: str) -> bool:
    """``expected`` (with ``...`` wildcards) against ``got``; numbers to 6 digits."""
    group = r"(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)"
    pieces = expected.split("...")
    rx = ".*?".join(group.join(re.escape(t) for t in NUM.split(p)) for p in pieces)
    m = re.fullmatch(rx, got)
    if not m:
        return False
    want = [float(x) for p in pieces for x in NUM.findall(p)]
    have = [float(x) for x in m.groups()]
    return len(want) == len(have) and all(
        w == h or abs(w - h) <= 1e-6 * max(abs(w), abs(h)) for w, h in zip(want, have, strict=True)
    )


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
    for i, (code, expected) in enumerate(blocks):
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf):
                exec(compile(code, f"{path.name}[block {i}]", "exec"), ns)
        except Exception as exc:  # pragma: no cover - the message is the point
            raise AssertionError(f"{path.name}, block {i} failed: {exc!r}\n{code}") from exc
        got = [ln.rstrip() for ln in buf.getvalue().rstrip("\n").splitlines()]
        if not expected:
            assert not got, f"{path.name}, block {i} prints but has no ```output block:\n{got}"
            continue
        want = [ln.rstrip() for ln in expected.rstrip("\n").splitlines()]
        assert len(got) == len(want) and all(
            _compare(w, g) for w, g in zip(want, got, strict=True)
        ), f"{path.name}, block {i}: printed\n" + "\n".join(got) + "\nexpected\n" + "\n".join(want)


def test_batch_tutorial_lists_every_run_kind():
    from experiments.runner import RUN_KINDS

    text = (DOCS / "tutorial_batch_experiment.md").read_text(encoding="utf-8")
    for kind in RUN_KINDS:
        assert f"| `{kind}` |" in text, f"run kind {kind!r} missing from the tutorial's table"
