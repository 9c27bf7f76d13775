"""BRAIN's reproduction as data (issue 13/17): claims, tables, errata, the ABM table."""

from __future__ import annotations

import json

import pytest

from derelay.mechanisms.brain import report


@pytest.fixture(scope="module")
def small_abm():
    return report.abm(
        quick=True,
        families=("lazy", "withhold", "lazy_eval", "poison+collude"),
        shares=[0.2],
        rounds=6,
    )


def test_abm_rows_pair_with_the_honest_run(small_abm):
    rows = small_abm["rows"]
    assert [r["family"] for r in rows] == [
        "honest",
        "lazy",
        "withhold",
        "lazy_eval",
        "poison+collude",
    ]
    for r in rows[1:]:
        assert r["share"] == 0.2 and r["models_identical"]
        assert isinstance(r["gain_per_round"], float)
        assert isinstance(r["closed_form_ic_margin"], float)
    w = next(r for r in rows if r["family"] == "withhold")
    assert w["gain_per_round"] < 0 and w["deviant_detected_share"] == 1.0
    assert set(report.FAMILY_STRATEGY) >= {
        "lazy",
        "poison",
        "lazy_eval",
        "collude",
        "misreport",
        "withhold",
        "malformed",
        "censor",
    }


def test_claims_are_data_with_verdicts_and_commands(small_abm):
    cl = report.claims(quick=True, abm_table=small_abm)
    assert [c["name"] for c in cl] == [
        "brain.median_robust",
        "brain.reveal_ic",
        "brain.honest_scoring_ic",
        "brain.commit_reveal_no_freeride",
        "brain.proposer_ic",
    ]
    v = {c["name"]: c["verdict"] for c in cl}
    assert v["brain.commit_reveal_no_freeride"] == "✅"
    assert v["brain.honest_scoring_ic"] == "❌"
    assert v["brain.reveal_ic"] == "⚠️" and v["brain.median_robust"] == "⚠️"
    for c in cl:
        assert c["command"].startswith("python -m derelay.mechanisms.brain.report --claim ")
        assert c["command"].endswith(" --quick")
        assert c["criterion"] and c["measured"]
        for k, q in c["measured"].items():
            if k != "sample":
                assert set(q) == {"value", "unit"} and q["unit"]
    json.dumps(cl, ensure_ascii=False)


def test_tables_and_errata():
    t = report.tables()
    assert t["table_ii"]["mismatches"] == []
    assert t["alg1_vs_window"] == {
        **t["alg1_vs_window"],
        "n2_recursion_M2": "3/4",
        "n2_window_M2": "1",
        "agree": False,
    }
    assert all(v["agrees"] for v in t["latency"].values())
    ids = [e["id"] for e in report.errata()]
    assert ids == ["E1", "E2", "E3", "E4", "E5", "E6"]


def test_cli_one_claim_and_bad_name(capsys):
    assert report.main(["--claim", "brain.median_robust"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "proved" and out["verdict"] == "⚠️"
    assert report.main(["--claim", "brain.nope"]) == 2
    assert "unknown claim 'brain.nope'" in capsys.readouterr().err


@pytest.mark.slow
def test_torch_spot_check():
    pytest.importorskip("torch")
    out = report.torch_check(rounds=3)
    assert [r["family"] for r in out["rows"]] == ["lazy", "poison"]
    assert all(r["models_identical"] for r in out["rows"])
    assert out["rows"][0]["pi_l"] is not None
