"""``derelay design``: exact regions, conflicts, optima, for every registered mechanism."""

from __future__ import annotations

import json
from fractions import Fraction

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from derelay.cli import app
from derelay.formal.design import DesignError, design, objective
from derelay.mechanism import get_mechanism, mechanism_names
from derelay.mechanism.derelayl import DERELAYL

runner = CliRunner()
#: At this point no trainer deposit works: IR caps b_t, IC against NTr floors it.
CONFLICT = {"beta": 0.8, "s": 0.5, "p_comp": 2.5e-8, "r_cited": 0.1}


def _u(p, role, strat):
    return DERELAYL.role(role).strategy(strat).utility(p)


def test_deposit_question_names_the_conflict_exactly():
    res = design("derelayl", CONFLICT, ["b_t"], roles=["T"])
    assert res["status"] == "empty" and res["region"]["intervals"] == []
    names = [c["property"] for c in res["conflict"]["properties"]]
    assert names == ["T IR", "T IC vs NTr"]  # irreducible: NBr's IC is not part of it
    assert res["conflict"]["text"] == (
        "T IR needs b_t <= 1.76; T IC vs NTr needs b_t > 2.22; no b_t satisfies both"
    )
    # the bounds are exact: at 44/25 T's IR margin is exactly zero, at 111/50 the IC margin
    p = DERELAYL.space.exact(DERELAYL.space.validate({**CONFLICT, "b_t": Fraction(44, 25)}))
    assert _u(p, "T", "N") == 0
    q = DERELAYL.space.exact(DERELAYL.space.validate({**CONFLICT, "b_t": Fraction(111, 50)}))
    assert _u(q, "T", "N") - _u(q, "T", "NTr") == 0


def test_region_open_and_closed_ends_and_minimum():
    res = design("derelayl", CONFLICT, ["beta"], roles=["T"])
    assert res["status"] == "region"
    (iv,) = res["region"]["intervals"]
    assert iv["lower"]["exact"] == "67/76" and iv["lower_closed"] is True
    assert iv["upper"]["exact"] == "1" and iv["upper_closed"] is False  # beta < 1
    needs = {b["property"]: b["needs"] for b in res["bounds"]}
    assert needs["T IC vs NTr"] == "beta > 0.647059"
    res = design(
        "derelayl", CONFLICT, ["r_cited"], want=["ir", "ic", "conditions"], minimize="issuance"
    )
    assert res["optimum"]["status"] == "optimum" and res["optimum"]["attained"] is True
    assert res["optimum"]["at"]["exact"] == "67/360"
    lo = Fraction(res["region"]["intervals"][0]["lower"]["exact"])
    assert lo == Fraction(67, 360)


def test_two_free_parameters_witness_optimum_and_map(tmp_path):
    res = design("derelayl", CONFLICT, ["b_t", "r_cited"], roles=["T"], minimize="r_cited")
    assert res["status"] == "region"
    w = {k: Fraction(v["exact"]) for k, v in res["region"]["witness"].items()}
    p = DERELAYL.space.exact(DERELAYL.space.validate({**CONFLICT, **w}))
    assert _u(p, "T", "N") >= 0 and _u(p, "T", "N") > _u(p, "T", "NTr")
    assert res["optimum"]["attained"] is False  # the IC bound is strict
    out = tmp_path / "region.parquet"
    f = tmp_path / "c.toml"
    f.write_text("\n".join(f"{k} = {v}" for k, v in CONFLICT.items()))
    r = runner.invoke(
        app,
        [
            "design",
            "--params",
            str(f),
            "--free",
            "b_t,r_cited",
            "--role",
            "T",
            "--out",
            str(out),
            "--points",
            "5",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["map"]["points"] == 25
    table = pq.read_table(out)
    meta = table.schema.metadata
    assert meta[b"derelay.mechanism"] == b"derelayl"
    assert json.loads(meta[b"derelay.base"])["p_comp"] == 2.5e-8
    assert set(table.column_names) >= {"b_t", "r_cited", "T IR", "all"}


def test_cli_conflict_in_words_and_bad_input(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("\n".join(f"{k} = {v}" for k, v in CONFLICT.items()))
    r = runner.invoke(app, ["design", "--params", str(f), "--free", "b_t", "--role", "T"])
    assert r.exit_code == 0
    assert "no b_t satisfies both" in r.output and "{" not in r.output
    for args, needle in [
        (["--free", "b_tt"], "did you mean 'b_t'"),
        (["--free", "b_t", "--want", "ir,foo"], "'--want' = 'foo'"),
        (["--free", "b_t", "--role", "X"], "'--role' = 'X'"),
        (["--free", "b_t", "--minimize", "b_t ** 2"], "only + - * /"),
        (["--free", "b_t", "--minimize", "__import__('os')"], "--minimize"),
        (["--free", "b_t", "--mechanism", "bogus"], "unknown mechanism 'bogus'"),
        (["--free", "b_t", "--out", str(tmp_path / "x.parquet")], "exactly two"),
    ]:
        r = runner.invoke(app, ["design", "--params", str(f), *args])
        assert r.exit_code == 2, (args, r.output)
        assert needle in r.output and "Traceback" not in r.output
    assert not (tmp_path / "x.parquet").exists()


def test_objective_is_a_safe_expression():
    f = objective(DERELAYL, "r_cited + 2 * b_t - 1")
    p = DERELAYL.space.exact()
    assert f(p) == p.r_cited + 2 * p.b_t - 1
    with pytest.raises(DesignError):
        objective(DERELAYL, "p.__class__")


@pytest.mark.parametrize("name", mechanism_names())
def test_a_one_lever_question_for_every_mechanism(name):
    mech = get_mechanism(name)
    lever = mech.space.levers[0]
    res = design(mech, None, [lever])
    assert res["status"] in ("region", "empty", "unknown")
    assert res["free"] == [lever]
    json.dumps(res)
