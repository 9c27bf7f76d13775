"""derelay paper: sections, graceful degradation, REPRODUCTION.md, CLI contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import paper.generate as gen
from derelay.cli import app
from paper.core import SELF, Check, Claim, Q, Section, typed_numbers
from paper.sections import SectionSpec, discover
from paper.verdict import FAILS, HOLDS, PARTLY, judge


def test_cheap_sections_produce_claims_and_figures(tmp_path):
    rep = gen.generate(
        tmp_path, quick=True, only=["proofs", "region", "feasible"], log=lambda m: None
    )
    assert [s.status for s in rep.sections] == ["ok", "ok", "ok"]
    ids = {c.id for c in rep.claims}
    assert {"C9", "C11", "C16"} <= ids
    for s in rep.sections:
        for f in s.figures:
            assert (tmp_path / f).stat().st_size > 0
    assert any(f.endswith(".pdf") for s in rep.sections for f in s.figures)
    md = (tmp_path / "REPRODUCTION.partial.md").read_text()
    assert "## Claims" in md and "## Errata and inconsistencies" in md
    assert "| C8 |" in md and "`derelay prove`" in md
    proofs = next(s for s in rep.sections if s.key == "proofs")
    assert "T7" in proofs.text and "z3 verdict" in proofs.text
    # C9: T7 is sufficient only together with T2 and T8 -> partly, and says so
    c9 = next(c for c in rep.claims if c.id == "C9")
    assert c9.verdict == PARTLY and "T2" in c9.text("summary") and "T8" in c9.text("summary")
    # C16 is the closed form against itself: never a full confirmation
    c16 = next(c for c in rep.claims if c.id == "C16")
    assert all(not ch.independent for ch in c16.checks) and c16.verdict != HOLDS


def _fake(key, fn, order):
    import types

    mod = types.SimpleNamespace(KEY=key, TITLE=key.title(), ORDER=order, run=fn)
    return SectionSpec(key, key.title(), order, mod)


def test_a_failing_section_is_reported_and_the_rest_goes_on(tmp_path, monkeypatch):
    def needs_missing(ctx):
        gen.need("derelay.not_there", "an imaginary part")

    def broken(ctx):
        raise ZeroDivisionError("boom")

    region = next(s for s in discover() if s.key == "region")
    monkeypatch.setattr(
        gen, "discover",
        lambda: [_fake("fig34", needs_missing, 1), _fake("eq21", broken, 2), region],
    )  # fmt: skip
    rep = gen.generate(tmp_path, quick=True, log=lambda m: None)
    status = {s.key: (s.status, s.note) for s in rep.sections}
    # a module of derelay that does not import is a defect, not a part to degrade without
    assert status["fig34"][0] == "failed" and "derelay.not_there" in status["fig34"][1]
    assert status["eq21"][0] == "failed" and "boom" in status["eq21"][1]
    assert status["region"][0] == "ok"
    md = (tmp_path / "REPRODUCTION.md").read_text()
    assert "Incomplete sections" in md and "ModuleNotFoundError" in md
    data = json.loads((tmp_path / "reproduction.json").read_text())
    assert [s["status"] for s in data["sections"]] == ["failed", "failed", "ok"]


def test_sections_are_discovered_in_order_with_unique_keys():
    specs = discover()
    keys = [s.key for s in specs]
    assert keys[:3] == ["settings", "fig34", "eq21"] and "sensitivity" in keys
    assert len(set(keys)) == len(keys)
    assert [s.order for s in specs] == sorted(s.order for s in specs)
    assert [k for k, _ in gen.sections()] == keys


def test_errata_each_have_a_command():
    assert len(gen.ERRATA) >= 8
    for e in gen.ERRATA:
        assert e.command.startswith("derelay "), e
        assert e.issue and e.choice and e.where
    text = " ".join(e.text("issue") for e in gen.ERRATA)
    for topic in ("matching", "β", "citation", "IR for EBM", "'>'"):
        assert topic in text, topic


def test_markdown_cells_are_escaped():
    rep = gen.Report(Path("."), True, [], 0.0)
    md = gen.render(rep)
    row = next(line for line in md.splitlines() if line.startswith("| E7 |"))
    assert "\\|M\\|" in row  # |M| does not break the table


def test_verdict_rules():
    ok, no = True, False

    def c(h, ev="simulation", part="as stated"):
        return Check("x", h, ev, part)

    assert judge([c(ok), c(ok)]) == HOLDS
    assert judge([c(ok), c(no)]) == PARTLY  # in part
    assert judge([c(no), c(ok, part="correction")]) == PARTLY  # under a correction
    assert judge([c(no), c(no, part="correction")]) == FAILS
    assert judge([c(ok, SELF)]) == PARTLY  # the closed form against itself only
    assert judge([c(ok, SELF), c(ok, "proof")]) == HOLDS


def test_claims_refuse_typed_in_numbers():
    with pytest.raises(ValueError, match="typed-in"):
        Claim("C99", "eq. (1)", "p", "mean is 3.5 coins", {}, [Check("x", True)], "derelay x")
    with pytest.raises(KeyError):
        Claim("C99", "eq. (1)", "p", "mean is {m} coins", {}, [Check("x", True)], "derelay x")
    cl = Claim("C99", "eq. (15), T1-T8, Sec. IV-A(5)", "p", "mean is {m} coins in `1 + s`",
               {"m": Q(3.25, "coins", "2 runs")}, [Check("x", True)], "derelay x")  # fmt: skip
    assert cl.text("summary") == "mean is 3.25 coins in `1 + s`"
    assert typed_numbers("E12 and T7 in eq. (21), Fig. 3, Table II") == []


def test_progress_logs_lines_when_not_a_terminal(tmp_path, monkeypatch):
    import time

    def slow(ctx):
        for i in range(3):
            ctx.step(i + 1, 3, "runs")
            time.sleep(0.12)
        return Section("slow", "Slow")

    monkeypatch.setattr(gen, "discover", lambda: [_fake("slow", slow, 1)])
    lines: list[str] = []
    gen.generate(tmp_path, quick=True, log=lines.append, progress=False, progress_every=0.05)
    beats = [m for m in lines if m.startswith("section 1/1 [slow]")]
    assert len(beats) >= 3, lines
    assert any("runs" in m and "ETA" in m for m in beats)


def test_version_stamp_ignores_generated_outputs():
    rep_dir = Path(gen.__file__).resolve().parent
    state = gen.code_state(rep_dir)
    assert state is None or not any(p.startswith("paper/figures") for p in state["changed"])


def test_cli_rejects_unknown_section(tmp_path):
    res = CliRunner().invoke(app, ["paper", "--out", str(tmp_path), "--only", "nope"])
    assert res.exit_code == 2 and "nope" in res.output


def test_committed_reproduction_is_a_complete_full_run():
    root = Path(__file__).resolve().parents[1] / "paper"
    md = (root / "REPRODUCTION.md").read_text(encoding="utf-8")
    data = json.loads((root / "reproduction.json").read_text(encoding="utf-8"))
    assert not data["quick"] and "Quick mode" not in md
    assert all(s["status"] == "ok" for s in data["sections"]), "regenerate: derelay paper"
    for s in data["sections"]:
        for f in s["figures"]:
            assert (root / f).exists(), f


def test_never_deletes_a_foreign_figures_dir(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "mine.png").write_bytes(b"user data")
    res = CliRunner().invoke(app, ["paper", "--out", str(tmp_path), "--only", "region"])
    assert res.exit_code == 2 and "not made by derelay paper" in res.output
    assert (tmp_path / "figures" / "mine.png").exists()
