"""docs/tutorial_design.md: three design questions, each block run with its output
compared by tests/test_docs.py (which runs every docs/tutorial_*.md); here: the tutorial
exists, asks the three questions and shows an output for every block."""

from __future__ import annotations

import re
from pathlib import Path

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial_design.md"


def test_design_tutorial_has_three_questions_with_outputs():
    text = TUTORIAL.read_text(encoding="utf-8")
    heads = re.findall(r"^## (\d)\. ", text, re.M)
    assert heads == ["1", "2", "3"]
    blocks = re.findall(r"^```python\n.*?^```\n(\s*^```output\n)?", text, re.S | re.M)
    assert len(blocks) >= 4 and all(b for b in blocks[1:])  # the set-up block prints nothing
    assert "no b_t satisfies both" in text and "-m pot" in text and "--minimize" in text
