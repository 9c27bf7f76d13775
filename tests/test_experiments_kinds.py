"""Run kinds wired to the other parts: closed form, solver, ABM, chain (and agreement)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.stats import gini
from derelay.check import check_point
from derelay.params import Params
from experiments.runner import KIND_VALIDATORS, RUN_KINDS
from experiments.spec import SpecError, spec_from_mapping


def test_check_kind_is_check_point():
    row = RUN_KINDS["check"]({"params": {"beta": 0.3}}, 0)["rounds"].iloc[0]
    ref = check_point(Params(beta=0.3))
    assert row["u_T_N"] == ref["utilities"]["T"]["N"]
    assert bool(row["T8"]) == ref["conditions"]["T8"]
    assert bool(row["normal_ir_ic_all"])


@pytest.mark.parametrize(
    "params", [{}, {"beta": 0.2, "s": 0.3}, {"c_mine": 0.05, "k_transmit": 5e-6}]
)
def test_feasible_lp_agrees_with_the_exact_solver(params):
    lp = RUN_KINDS["feasible"]({"params": params, "solver": "lp"}, 0)["rounds"].iloc[0]
    z3 = RUN_KINDS["feasible"]({"params": params, "solver": "z3"}, 0)["rounds"].iloc[0]
    assert lp["feasible"] and z3["feasible"]
    assert lp["min_issuance"] == pytest.approx(z3["min_issuance"], rel=1e-6, abs=1e-8)


def test_feasible_infeasible_when_t7_fails():
    row = RUN_KINDS["feasible"]({"params": {"b_t": 1.0}, "solver": "lp"}, 0)["rounds"].iloc[0]
    assert not row["feasible"] and np.isnan(row["min_issuance"])


def test_abm_kind_adds_shares_and_gini():
    out = RUN_KINDS["abm"]({"preset": "paper_text", "rounds": 15, "keep": ["rounds", "agents"]}, 3)
    r, a = out["rounds"], out["agents"]
    assert {"share_N", "share_N_min", "gini_coins"} <= set(r.columns)
    last = a[a["round"] == a["round"].max()]["coins_nano"].to_numpy(float)
    assert r["gini_coins"].iloc[-1] == pytest.approx(gini(last))
    again = RUN_KINDS["abm"]({"preset": "paper_text", "rounds": 15}, 3)["rounds"]
    assert again.equals(r)  # same seed, same table


def test_abm_config_errors_surface_at_spec_load():
    with pytest.raises(SpecError, match="matching"):
        spec_from_mapping(
            {
                "kind": "abm",
                "base": {"preset": "paper_text"},
                "sweep": {"axes": {"matching": ["x"]}},
            }
        )
    with pytest.raises(SpecError, match="preset"):
        spec_from_mapping({"kind": "abm", "base": {"preset": "nope"}})


def test_chain_kind_metrics():
    KIND_VALIDATORS["chain"]({"blocks": 200, "adversary": 0.2})
    row = RUN_KINDS["chain"]({"blocks": 200, "adversary": 0.2, "latency": 1.0}, 1)["rounds"]
    assert row["blocks"].iloc[0] >= 200 and 0 <= row["stale_rate"].iloc[0] <= 1
    assert "seconds" not in row.columns
    with pytest.raises(ValueError, match="adversary"):
        KIND_VALIDATORS["chain"]({"adversary": 1.5})
