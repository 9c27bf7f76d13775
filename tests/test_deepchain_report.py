"""DeepChain's report section: claims as data with verdicts, and the full reproduction."""

from __future__ import annotations

import json

import pytest

from derelay.mechanisms.deepchain import report

NAMES = [
    "deepchain.thm1_literal",
    "deepchain.thm1_intended",
    "deepchain.thm1_with_ir",
    "deepchain.tight_condition",
    "deepchain.thm2_readings",
    "deepchain.threshold_table_vs_text",
    "deepchain.packing",
]


def test_claims_are_data_with_verdicts():
    cs = report.claims(quick=True)
    assert [c["name"] for c in cs] == NAMES
    for c in cs:
        assert c["verdict"] in ("✅", "⚠️", "❌") and c["criterion"] and c["command"]
        assert c["measured"] and all(
            isinstance(m["value"], int | float) and m["unit"] and m["sample"] for m in c["measured"]
        )
    verdicts = {c["name"]: c["verdict"] for c in cs}
    assert verdicts["deepchain.thm1_literal"] == "✅"
    assert verdicts["deepchain.thm1_intended"] == "❌"
    assert verdicts["deepchain.thm2_readings"] == "⚠️"
    json.dumps(cs, default=str)


@pytest.mark.slow
def test_reproduce_quick_runs_every_family():
    sec = report.reproduce(quick=True)
    fams = [r["family"] for r in sec["abm"]["families"]]
    assert fams == [
        "honest",
        "lazy",
        "poison",
        "malformed",
        "withhold",
        "misreport",
        "lazy_eval",
        "collude",
        "misreport",
        "collude",
    ]
    assert sec["tables"]["cnn_parameters"] == 252_398
    assert {e["id"] for e in sec["errata"]} >= {"DC-E1", "DC-E2", "DC-E6"}


@pytest.mark.slow
def test_paper_section_builds_with_computed_verdicts():
    from types import SimpleNamespace

    from paper.sections import deepchain as section

    sec = section.run(SimpleNamespace(quick=True))
    ids = [c.id for c in sec.claims]
    assert ids == [f"C{i}" for i in range(230, 242)]
    assert [e.id for e in sec.errata] == [f"E{i}" for i in range(230, 240)]
    v = {c.id: c.verdict for c in sec.claims}
    assert v["C230"] == "holds" and v["C231"] == "fails" and v["C234"] == "partly"
    json.dumps([c.to_json() for c in sec.claims])
