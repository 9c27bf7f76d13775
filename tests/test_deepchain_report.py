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
    ]
    assert sec["tables"]["cnn_parameters"] == 252_398
    assert {e["id"] for e in sec["errata"]} >= {"DC-E1", "DC-E2", "DC-E6"}
