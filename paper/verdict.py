"""The verdict rules, written once and applied to every claim.

A claim's verdict is computed from its :class:`paper.core.Check` list only:

* ✅ **holds**: every check of the claim *as stated* (in the paper's own terms,
  magnitude included where the paper gives one) holds, and at least one of them is
  independent evidence;
* ⚠️ **partly**: not ✅, but the claim holds in part (some as-stated checks hold), or
  under a stated correction (a ``correction`` check holds), or every as-stated check
  holds but the only evidence is the closed form checked against itself;
* ❌ **fails**: no as-stated check holds and no stated correction rescues it.

Evidence that is the closed form checked against itself ("closed form vs itself") is
labelled in the report and never counts as independent confirmation.
"""

from __future__ import annotations

from collections.abc import Sequence

HOLDS, PARTLY, FAILS = "holds", "partly", "fails"
SYMBOL = {HOLDS: "✅ holds", PARTLY: "⚠️ partly", FAILS: "❌ fails"}

RULES = (
    "✅ *holds*: every check of the claim as stated (in the paper's own terms, magnitude "
    "included where the paper gives one) holds, with at least one independent piece of "
    "evidence. ⚠️ *partly*: it holds only in part, or only under a stated correction, or "
    "only the closed form checked against itself supports it. ❌ *fails*: no part of it "
    "holds and no stated correction rescues it. Evidence marked *closed form vs itself* "
    "is a consistency check and never counts as independent confirmation."
)


def judge(checks: Sequence) -> str:
    stated = [c for c in checks if c.part == "as stated"]
    corrections = [c for c in checks if c.part == "correction"]
    if stated and all(c.holds for c in stated):
        if any(c.independent for c in stated):
            return HOLDS
        return PARTLY
    if any(c.holds for c in stated) or any(c.holds for c in corrections):
        return PARTLY
    return FAILS


def criterion(checks: Sequence) -> str:
    """The rule as applied to this claim's checks (one line, for the JSON)."""
    stated = [c for c in checks if c.part == "as stated"]
    corr = [c for c in checks if c.part == "correction"]
    txt = f"holds if all {len(stated)} as-stated check(s) hold with independent evidence"
    if corr:
        txt += f"; partly if some do or the {len(corr)} stated correction(s) hold"
    else:
        txt += "; partly if some do"
    return txt + "; fails otherwise"
