"""The precise rule of benchmarks/count_literals.py: what it drops and what it keeps."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "count_literals", ROOT / "benchmarks/count_literals.py"
)
cl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cl)

VOCAB = {
    "derelayl": {"parameter": {"s", "beta"}, "role": {"DBM"}},
    "flchain": {"parameter": {"d", "c"}},
}
SRC = """
from dataclasses import dataclass


@dataclass
class Q:
    value: float
    unit: str = ""
    sample: str = ""
    fmt: str = ".3g"


def run(df, runs):
    a = Q(3, "rounds", "spec", "d")           # flchain d: Q.fmt -> display slot
    b = Q(2.0, "s", "criterion")              # derelayl s: Q.unit -> display slot
    c = df["s"]                               # derelayl s: a name
    d = {"beta": 1, "DBM": 2}                 # dict keys: names
    e = f"{runs} run{'s' if runs != 1 else ''}"   # plural s: text
    ax.plot(x, y, marker="d", c="c")          # keyword display slots
    fmt = "d" if runs else ".4g"              # assigned to a display name
    return [a, b, c, d, e, "c" == df.x]       # flchain c compared: scope decides
"""


def _hits(src: str, rel: str = "paper/sections/x.py") -> list[tuple[str, str, str]]:
    return [(h["mechanism"], h["word"], h["dropped"])
            for h in cl.hits_in(ast.parse(src), rel, VOCAB)]  # fmt: skip


def test_display_slots_text_and_names():
    got = _hits(SRC)
    kept = sorted((m, w) for m, w, why in got if not why)
    assert kept == [("derelayl", "DBM"), ("derelayl", "beta"), ("derelayl", "s")]
    why = {(m, w, r) for m, w, r in got if r}
    assert ("flchain", "d", "display slot Q(fmt)") in why
    assert ("derelayl", "s", "display slot Q(unit)") in why
    assert ("derelayl", "s", "text") in why
    assert ("flchain", "d", "display slot marker=") in why
    assert ("flchain", "c", "display slot c=") in why
    # the comparison is a name position; the file does not touch FLChain
    assert ("flchain", "c", "scope") in why


def test_scope_keeps_hits_in_files_that_touch_the_mechanism():
    src = 'from derelay.mechanisms.flchain import report\nx = cfg["d"]\n'
    assert _hits(src) == [("flchain", "d", "")]
    assert _hits('KEY = "flchain"\nx = cfg["c"]\n') == [("flchain", "c", "")]
    assert _hits('x = cfg["d"]\n') == [("flchain", "d", "scope")]


def test_raw_count_is_kept_and_precise_never_exceeds_it():
    res = cl.count()
    for r in res.values():
        for k, raw in r["totals"].items():
            assert 0 <= r["precise"][k] <= raw
