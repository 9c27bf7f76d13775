"""FLChain closed form, conditions, claims and Alg. 1 (issue 14)."""

from __future__ import annotations

import json
from fractions import Fraction as F

import numpy as np
import pytest
import z3

from derelay.mechanism import get_mechanism
from derelay.mechanisms.flchain import FLCHAIN, alg1
from derelay.mechanisms.flchain import closed_form as cf
from derelay.mechanisms.flchain.claims import prove, prove_all
from derelay.mechanisms.flchain.space import FLCHAIN_SPACE
from derelay.params import ParamsError

ISSUE_KEYS = (
    "fed_capacity flm_lifetime rely0 rely_eta remark p_flm k_sales c d f1 r1 f2 r2 f_auth "
    "f_ci f_flm block_reward q_crypto audit c_audit leader period q_sem rely"
).split()


def point(**kw):
    return FLCHAIN_SPACE.exact(FLCHAIN_SPACE.validate(kw))


def test_registry_space_and_keys():
    assert get_mechanism("flchain") is FLCHAIN
    for k in ISSUE_KEYS:
        assert k in FLCHAIN_SPACE, k
    assert FLCHAIN_SPACE.info["rely"].kind == "list"
    assert FLCHAIN_SPACE.info["remark"].choices == ("proof_only", "contribution")
    assert FLCHAIN_SPACE.info["leader"].choices == ("max_rely", "random_top")
    roles = {r.abbr: [(s.abbr, s.deviation_family) for s in r.strategies] for r in FLCHAIN.roles}
    assert roles["DP"] == [
        ("N", "honest"),
        ("EarlyAbort", "lazy"),
        ("Poison", "poison"),
        ("MalformedCipher", "malformed"),
        ("BadUnmaskShare", "malformed"),
        ("Unqualified", "biased_data"),
        ("Abort", "withhold"),
    ]
    assert roles["Node"] == [("CorrectAgg", "honest"), ("WrongAgg", "misreport")]
    assert roles["RP"] == [
        ("Audit&Report", "honest"),
        ("Ignore", "skip_audit"),
        ("FalseReport", "false_report"),
    ]
    json.dumps(FLCHAIN.describe())


def test_bad_input_is_one_line():
    with pytest.raises(ParamsError, match="len\\(rely\\) <= fed_capacity"):
        FLCHAIN_SPACE.validate({"rely": [1.0] * 5})
    with pytest.raises(ParamsError, match="'rely\\[1\\]' = -1"):
        FLCHAIN_SPACE.validate({"rely": [1.0, -1.0]})
    with pytest.raises(ParamsError, match="'leader' = 'best'"):
        FLCHAIN_SPACE.validate({"leader": "best"})


def test_hand_computed_shares_and_table_iv():
    # RELY = (1, 1/2, 3/2), N = 3: shares 1/3, 1/12, 3/4 (sum 7/6: over-allocated)
    p = point(rely=[1, 0.5, 1.5], p_flm=12, k_sales=2, c=1, d=50, f1=1, r1=4, f2=2, r2=6, f_auth=1)
    assert cf.shares(p) == [F(1, 3), F(1, 12), F(3, 4)]
    assert cf.p_j(p) == [F(4), F(1), F(9)]
    assert cf.share_total(p) == F(7, 6)
    assert cf.residue(p) == 2 * 12 * (1 - F(7, 6)) == F(-4)
    # focal DP = the least reliable one (index 1): P = 2 * 1 = 2
    assert cf.focal_index(p) == 1 and cf.focal_income(p) == 2
    t = cf.table_iv(p)
    assert t["HDP"] == {"well_train": 1, "unrep": -1, "rep": 0, "dishonest_rep": 0}
    assert t["MDP"]["rep"] == -50 and t["UQDP"]["rep"] == -51
    # PAC: (f1 - r1) + d - sum cp over the others (4 + 9)
    assert t["PAC_misbehaviour"]["rep"] == 1 - 4 + 50 - 13 == 34
    assert t["PAC_unqualified"]["rep"] == 2 - 6 + 50 - 13 - 1 == 32
    o = cf.outcomes(p)
    assert set(o) == set(cf.SCENARIOS)
    rep = o["misbehaving_dp_reported"]
    assert rep["HDP"] == [3, None, 8] and rep["MDP"] == -50 and rep["RP"] == 3
    assert rep["PAC"] == 1 and rep["FED"] == 50 - 4 - 13
    # separate accounts add up to Table IV's lumped PAC cell
    assert rep["PAC"] + rep["FED"] == rep["table_iv"]["PAC"]
    uq = o["unqualified_dp_reported"]
    assert uq["UQDP"] == -51 and uq["AUTH"] == 1 and uq["PAC"] + uq["FED"] + uq["AUTH"] == 33
    assert o["all_honest"]["residue"] == -4 and o["all_honest"]["FED"] == -4


def test_outcomes_in_check_json():
    ex = FLCHAIN.extras(FLCHAIN_SPACE.values())
    text = json.dumps(ex)
    o = json.loads(text)["outcomes"]
    for s in (
        "all_honest",
        "misbehaving_dp_reported",
        "dishonest_report",
        "unqualified_dp_reported",
    ):
        for party in ("HDP", "MDP", "RP", "UQDP", "AUTH", "PAC", "FED", "residue"):
            assert party in o[s]
    assert o["all_honest"]["HDP"] == [10.5] * 4


def test_backends_agree():
    fp = FLCHAIN_SPACE.values(FLCHAIN_SPACE.validate({"rely": [1, 0.8, 0.6]}))
    ex = FLCHAIN_SPACE.exact(FLCHAIN_SPACE.validate({"rely": [1, 0.8, 0.6]}))
    uf = FLCHAIN.utilities(fp)
    ue = FLCHAIN.utilities(ex)
    g = FLCHAIN_SPACE.grid(
        FLCHAIN_SPACE.validate({"rely": [1, 0.8, 0.6]}), p_flm=[5.0, 10.0, 20.0], q_sem=[0.0, 0.5]
    )
    ug = FLCHAIN.utilities(g)
    zs = FLCHAIN_SPACE.symbolic(
        ["p_flm", "q_sem", "c"], FLCHAIN_SPACE.validate({"rely": [1, 0.8, 0.6]})
    )
    uz = FLCHAIN.utilities(zs)
    for r in uf:
        for s in uf[r]:
            assert uf[r][s] == pytest.approx(float(ue[r][s]))
            assert isinstance(ue[r][s], F | int)
            assert np.asarray(ug[r][s]).shape in ((6,), ())
            z = uz[r][s]
            if z3.is_expr(z):
                sub = z3.substitute(
                    z, (zs.p_flm, z3.RealVal(10)), (zs.q_sem, z3.RealVal(0)), (zs.c, z3.RealVal(2))
                )
                v = z3.simplify(sub)
                assert float(F(v.as_fraction())) == pytest.approx(uf[r][s])
    i = 2  # grid point p_flm = 10, q_sem = 0
    assert float(np.asarray(ug["DP"]["N"])[i]) == pytest.approx(uf["DP"]["N"])
    conds_f = {c.name: c.holds(fp) for c in FLCHAIN.conditions}
    conds_e = {c.name: c.holds(ex) for c in FLCHAIN.conditions}
    assert conds_f == conds_e


def test_conditions_at_defaults_and_paper_forms():
    p = FLCHAIN_SPACE.exact()
    held = {c.name: bool(c.holds(p)) for c in FLCHAIN.conditions}
    assert held["DP_IR"] and held["RP_reporting_pays"] and held["PAC_solvent"]
    assert held["DP_crypto_deters_malformed"] and held["shares_within_sale"]
    # the proofs verify the masking, not the work: EarlyAbort pays when q_sem = 0
    assert not held["DP_semantic_deters_early_abort"]
    assert bool(FLCHAIN.condition("DP_semantic_deters_early_abort").holds(point(q_sem=0.5)))
    for c in FLCHAIN.conditions:
        lhs, rel, rhs = c.paper_form(p)
        assert rel in (">=", ">", "<=")
    # squared IR: K p RELY^2 / N >= c, exactly at the boundary
    q = point(rely=[1, 1, 1, 0.5], k_sales=1, p_flm=16, c=1)
    assert bool(cf.ir_all(q))  # 16 * 1/4 / 4 = 1 >= 1
    assert not bool(cf.ir_all(point(rely=[1, 1, 1, 0.5], k_sales=1, p_flm=15.9, c=1)))


def test_claims_verdicts():
    res = prove_all()
    want = {
        "flchain.pflm_gt_c_is_ir": "counterexample",
        "flchain.shares_sum_to_one": "counterexample",
        "flchain.greedy_optimal": "counterexample",
        "flchain.false_report_unprofitable": "counterexample",
        "flchain.pac_matches_flows": "counterexample",
        "flchain.pac_matches_flows_repaired": "proved",
        "flchain.false_report_unprofitable_repaired": "proved",
    }
    assert {k: v["status"] for k, v in res.items()} == want
    assert [c.name for c in FLCHAIN.claims] == list(want)[:5]
    for k, v in res.items():
        if v["status"] == "counterexample" and k != "flchain.greedy_optimal":
            assert v["witness"]["replayed"]
    g = res["flchain.greedy_optimal"]
    assert g["witness"]["optimum_total"] > g["witness"]["greedy_total"]
    # with RELY != 1 the repaired PAC reading fails too: a sale residue stays in FED
    r = prove("flchain.pac_matches_flows_repaired", {"rely": [1, 0.5]})
    assert r["status"] == "counterexample"


def test_alg1_hand_worked_instance():
    inst = alg1.HAND_INSTANCE
    pft = alg1.profits(inst["rely"], inst["einc"], inst["cost"])
    assert pft == [[3, 2], [2, 0]]
    assert alg1.greedy(pft, inst["capacity"]) == [(0, 0), (1, 1)]
    best, opt = alg1.optimum(pft, inst["capacity"])
    assert best == 4 and opt == [(0, 1), (1, 0)]
    # capacity 2 in one FLM, RELY weights: PFT = RELY (EINC - COST)
    pft2 = alg1.profits([F(1, 2), 2, 1], [[5, 2, 1]], [[1, 1, 3]])
    assert pft2 == [[2, 2, -2]]
    # tie between DP0 and DP1: the later pair in scan order wins (line 10 compares >=)
    assert alg1.greedy(pft2, [2]) == [(0, 1), (0, 0)]  # the negative pair is never taken
    assert alg1.greedy([[-1, -2]], [2]) == []


def test_alg1_terminates_and_never_beats_optimum():
    rng = np.random.default_rng(3)
    for _ in range(200):
        m, n = int(rng.integers(1, 4)), int(rng.integers(1, 6))
        inst = alg1.instance(rng, m, n, 3)
        r = alg1.compare(inst)
        assert r["greedy_total"] <= r["optimum_total"]
        assert len({j for _, j in r["greedy"]}) == len(r["greedy"])
        for i in range(m):
            assert sum(1 for a, _ in r["greedy"] if a == i) <= inst["capacity"][i]
    with pytest.raises(ValueError, match="not finite"):
        alg1.greedy([[float("nan")]], [1])
    assert alg1.greedy([[1.0, 2.0]], [0]) == []  # a full FLM from the start


def test_report_claims_and_table_iv_as_data():
    from derelay.mechanisms.flchain import report

    cl = report.claims(trials=50)
    assert [c["id"] for c in cl] == [c.name for c in FLCHAIN.claims]
    verdicts = {c["id"]: c["verdict"] for c in cl}
    assert verdicts["flchain.pflm_gt_c_is_ir"] == "fails"
    assert verdicts["flchain.pac_matches_flows"] == "partly"
    for c in cl:
        assert c["command"].startswith("python -m derelay.mechanisms.flchain.report")
        assert c["criterion"] and c["checks"]
        for k, v in c["measured"].items():
            assert set(v) == {"value", "unit", "sample"}, k
    rows = report.table_iv_rows(FLCHAIN_SPACE.values())
    assert rows[0] == {
        "entity": "HDP",
        "well_train": 10.5,
        "unrep": -2.0,
        "rep": 0.5,
        "dishonest_rep": 0.0,
    }
    json.dumps(report._jsonable(cl))


@pytest.mark.slow
def test_reproduce_quick_end_to_end():
    from derelay.mechanisms.flchain.report import reproduce

    r = reproduce(quick=True)
    assert {"claims", "tables", "errata", "abm"} <= set(r)
    for n in ("4", "10"):
        t = r["tables"]["tables_v_vi"][n]
        for d in t["directions"].values():  # a direction, whichever way it comes out
            assert d["direction"] in ("higher", "lower", "equal")
            assert isinstance(d["agrees"], bool)
    assert r["abm"]["disagreements"] == []
    json.dumps(r, default=float)


def test_paper_section_claims_are_valid_report_claims():
    from derelay.mechanisms.flchain import report
    from paper.sections import flchain as section

    for i, c in enumerate(report.claims(trials=50)):
        claim = section.to_claim(c, i + 1)  # no typed-in numbers, every placeholder filled
        assert claim.verdict == c["verdict"]
        assert claim.id == f"C{section.ORDER}{i + 1:02d}" and c["id"] in claim.where
        assert claim.to_json()["command"] == c["command"]


def test_cli_check_and_prove_for_flchain():
    from typer.testing import CliRunner

    from derelay.cli import app

    res = CliRunner().invoke(app, ["check", "--mechanism", "flchain", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out["extras"]["outcomes"]) == set(cf.SCENARIOS)
    assert out["extras"]["outcomes"]["misbehaving_dp_reported"]["MDP"] == -100.0
    res = CliRunner().invoke(app, ["prove", "--mechanism", "flchain", "--json"])
    assert res.exit_code == 0, res.output
    names = [c["name"] for c in json.loads(res.stdout)["claims"]]
    assert names == [c.name for c in FLCHAIN.claims]
