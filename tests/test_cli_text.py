"""Human output without Python reprs: check, feasible (--region, cross-check), deviations,
params (units and equations); sufficient-only conditions explained in words."""

from __future__ import annotations

from typer.testing import CliRunner

from derelay.cli import app


def _cli(*args):
    return CliRunner().invoke(app, list(args))


def _no_repr(text: str) -> None:
    assert "['" not in text and "{'" not in text and "': " not in text, text


def test_check_names_failing_conditions_in_words(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text("b_t = 1.5\n")
    r = _cli("check", "-p", str(f))
    assert r.exit_code == 0, r.output
    _no_repr(r.output)
    assert "conditions: T7; IR fails for: none; IC fails for: none" in r.output
    assert "sufficient condition, not a necessary one" in " ".join(r.output.split())


def test_feasible_explains_sufficient_only_conflict(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text("b_t = 1.5\n")
    r = _cli("feasible", "-p", str(f))
    assert r.exit_code == 0, r.output
    flat = " ".join(r.output.split())
    assert "infeasible" in flat and "IC of T against NTr, holds" in flat
    r = _cli("feasible")
    assert r.exit_code == 0 and "scipy linprog cross-check: agrees" in r.output
    _no_repr(r.output)


def test_feasible_region_text_and_out(tmp_path):
    out = tmp_path / "r.csv"
    r = _cli("feasible", "--region", "beta,s", "--points", "3", "--out", str(out))
    assert r.exit_code == 0, r.output
    _no_repr(r.output)
    assert "9 of 9 grid points" in r.output and out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]  # no temporaries left
    r = _cli("feasible", "--out", str(tmp_path / "x.csv"))
    assert r.exit_code == 2 and "needs --region" in r.output
    assert not (tmp_path / "x.csv").exists()


def test_deviations_text_lists_unknown_searches():
    r = _cli("deviations", "--scope", "lazy")
    assert r.exit_code == 0, r.output
    _no_repr(r.output)
    assert "searches that ended unknown: none" in r.output
    assert "lazy trainers" in r.output


def test_params_shows_units_and_equations():
    r = CliRunner().invoke(app, ["params"], terminal_width=250)
    assert r.exit_code == 0
    assert "unit" in r.output and "equations" in r.output and "coin" in r.output


def test_help_has_no_C4_C8_and_shows_defaults():
    r = _cli("deviations", "--help")
    assert "(C4)" not in r.output and "(C8)" not in r.output
    assert "[default: 5.0]" in r.output
    for cmd in ("run", "learn"):
        assert "[default:" in _cli(cmd, "--help").output


def test_every_subcommand_help_is_plain_text():
    top = _cli("--help").output
    commands = [ln.split()[0] for ln in top.split("Commands:")[1].splitlines() if ln.strip()]
    assert {"run", "plot", "design", "chain", "learn", "paper"} <= set(commands)
    for cmd in commands:
        r = _cli(cmd, "--help")
        assert r.exit_code == 0, (cmd, r.output)
        assert "<bool>" not in r.output and "\\[" not in r.output, cmd
    assert "[sensitivity]" in _cli("sensitivity", "--help").output
    assert "[learning]" in _cli("learn", "--help").output
