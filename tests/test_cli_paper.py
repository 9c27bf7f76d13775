"""`derelay paper --out`: never deletes what it did not make; replaces its own outputs whole."""

from __future__ import annotations

from typer.testing import CliRunner

from derelay.cli import app


def _paper(*args):
    return CliRunner().invoke(app, ["paper", "--no-progress", "--workers", "1", *args])


def test_help_lists_sections():
    from paper.sections import discover

    r = CliRunner().invoke(app, ["paper", "--help"], terminal_width=400)
    flat = " ".join(r.output.split())
    for s in discover():
        assert s.key in flat


def test_foreign_non_empty_dir_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    r = _paper("--quick", "--only", "settings", "--out", str(tmp_path))
    assert r.exit_code == 2 and "not made by derelay paper" in r.output
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_previous_output_replaced_and_user_files_kept(tmp_path):
    out = tmp_path / "rep"
    assert _paper("--quick", "--only", "settings", "--out", str(out)).exit_code == 0
    (out / "figures" / "stale.png").write_bytes(b"old")
    (out / "my_notes.txt").write_text("keep")
    r = _paper("--quick", "--only", "settings", "--out", str(out))
    assert r.exit_code == 0, r.output
    # --only keeps the other sections' outputs (a full run replaces them whole)
    assert (out / "figures" / "stale.png").exists()
    assert (out / "my_notes.txt").read_text() == "keep"  # never made by it: untouched
    assert "derelay-tmp" not in (out / "REPRODUCTION.partial.md").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_json_names_the_out_dir_not_the_temporary(tmp_path):
    out = tmp_path / "j"
    r = _paper("--quick", "--only", "settings", "--out", str(out), "--json")
    assert r.exit_code == 0, r.output
    assert "derelay-tmp" not in r.stdout
