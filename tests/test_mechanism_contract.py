"""The mechanism contract: every registered mechanism passes these tests (issue 10).

:class:`MechanismContract` is an inheritable test base (Axelrod-style): this module runs
it once for every mechanism :func:`derelay.mechanism.mechanism_names` lists (built-ins,
entry points, and the example plug-in ``examples/derelay_toy``), so a new mechanism gets
the suite by registering.  A plug-in's own test suite can run it too::

    from tests.test_mechanism_contract import MechanismContract

    class TestMine(MechanismContract):
        @pytest.fixture(scope="class")
        def mech(self):
            return get_mechanism("mine")

A mechanism may give hints as a class attribute ``contract`` (a dict): ``params`` and
``options`` of a small run, ``rounds``, and ``closed_form``: a list of ``{role,
strategy, run, rounds, tolerance}`` - runs (RunConfig overrides) in which the realised
mean utility of (role, strategy) equals the closed form at the run's parameters (the
mechanism's own assumptions met); ``tolerance`` is absolute, or ``"4se"`` (within four
Monte Carlo standard errors).

The contract:

1. every utility and condition agrees on floats, Fractions, numpy arrays and z3 terms;
2. the ledger is conserved every round under every strategy of every role (the engine
   checks it after each round) and the flow log reproduces every balance;
3. the same seed gives the same tables with 1 worker and in a 2-process pool;
4. realised mean utilities agree with the closed form where the mechanism says its
   assumptions meet;
5. every claim gets a verdict at the defaults, and every counterexample replays.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import z3

from derelay.engine import RunConfig, run_simulation
from derelay.mechanism import get_mechanism, mechanism_names, register_mechanism
from derelay.params import ParamValues

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "derelay_toy"
#: z3 resource limit per query in the contract (a verdict may be "unknown"; it must exist)
CONTRACT_RLIMIT = 2_000_000


def _with_example() -> list[str]:
    """Every registered mechanism plus the example plug-in (registered here from source)."""
    if str(EXAMPLE) not in sys.path:
        sys.path.insert(0, str(EXAMPLE))
    from derelay_toy import TOY

    register_mechanism(TOY)
    return [n for n in mechanism_names() if _has_protocol(n)]


def _has_protocol(name: str) -> bool:
    """A registered mechanism that fails to load is a defect: the error propagates."""
    return get_mechanism(name).protocol is not None


MECHANISMS = _with_example()


def _hints(mech) -> dict:
    return dict(getattr(mech, "contract", {}) or {})


def _run_cfg(mech, **over) -> RunConfig:
    h = _hints(mech)
    data = {"mechanism": mech.name, "params": dict(h.get("params", {})), "mesa_agents": False}
    if h.get("options"):
        data["options"] = dict(h["options"])
    for k, v in over.items():
        if k == "params":
            data["params"] = {**data["params"], **v}
        else:
            data[k] = v
    return RunConfig(**data)


def _close(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    return float(a) == pytest.approx(float(b), rel=1e-9, abs=1e-12)


class MechanismContract:
    """The contract; subclasses provide a ``mech`` fixture."""

    # --- 1. one formula, four backends ------------------------------------------------
    def test_formulas_agree_on_every_backend(self, mech):
        space = mech.space
        point = space.defaults()
        pf = space.values(point)
        px = space.exact(point)
        keys = [k for k in space.numeric_keys if isinstance(getattr(pf, k), float | int)]
        grid = ParamValues(**{k: np.array([v, v]) if k in keys else v for k, v in vars(pf).items()})
        zs = space.symbolic()
        subst = [(getattr(zs, k), z3.RealVal(str(getattr(px, k)))) for k in space.numeric_keys]

        def z3_value(e):
            if isinstance(e, bool | int | float | Fraction):
                return e
            v = z3.simplify(z3.substitute(e, *subst))
            if z3.is_true(v) or z3.is_false(v):
                return z3.is_true(v)
            return Fraction(v.numerator_as_long(), v.denominator_as_long())

        formulas = [(f"{r.abbr}.{s.abbr}", s.utility) for r in mech.roles for s in r.strategies]
        formulas += [(f"condition {c.name}", c.holds) for c in mech.conditions]
        for name, f in formulas:
            fl, ex, gr, zv = f(pf), f(px), f(grid), z3_value(f(zs))
            assert _close(fl, ex), (name, fl, ex)
            assert np.shape(gr) in ((), (2,)), name
            assert all(_close(g, fl) for g in np.broadcast_to(gr, (2,))), (name, gr, fl)
            if isinstance(ex, Fraction | int):
                assert zv == ex, (name, zv, ex)  # exact: z3 and Fractions agree to the unit
            else:
                assert bool(zv) == bool(ex), (name, zv, ex)

    # --- 2. conservation under every strategy ---------------------------------------------
    def test_ledger_conserved_under_every_strategy(self, mech):
        rounds = int(_hints(mech).get("rounds", 6))
        for role in mech.roles:
            for dev in role.deviations:
                cfg = _run_cfg(
                    mech,
                    strategies={role.abbr: {role.normal.abbr: 0.5, dev.abbr: 0.5}},
                    initial_coins=1.0,
                )
                res = run_simulation(cfg, rounds=rounds, seed=1)  # checked every round
                lg = res.model.ledger
                lg.check()
                f = res.flows
                net = np.zeros(len(lg.balances), dtype=object)
                for col, sign in (("dst", 1), ("src", -1)):
                    sub = f[f[col] >= 0]
                    sums = sub.groupby(col)["amount"].sum()
                    for acct, amount in sums.items():
                        net[int(acct)] += sign * int(amount)
                assert [int(x) for x in net] == lg.balances.tolist(), (role.abbr, dev.abbr)
                assert len(res.rounds) == rounds

    # --- 3. same seed, same files, 1 or 2 workers -------------------------------------------
    def test_same_seed_same_tables_serial_and_in_worker_processes(self, mech, pool, tmp_path):
        from derelay.engine.plugins import snapshot
        from experiments.runner import execute_run

        rounds = int(_hints(mech).get("rounds", 6))
        cfg = _run_cfg(mech, initial_coins=1.0).model_dump()
        config = {**cfg, "rounds": rounds, "keep": ["rounds", "agents", "utilities"]}
        config.pop("mesa_agents")
        runs = [
            {
                "run_id": i,
                "point": 0,
                "replication": i,
                "seed": 11 + i,
                "values": {},
                "config": config,
            }
            for i in range(2)
        ]
        blob = snapshot()
        serial, parallel = tmp_path / "w1", tmp_path / "w2"
        args = (["rounds", "agents", "utilities"], [], 1, blob)
        recs = [execute_run("abm", r, str(serial), *args) for r in runs]
        futs = [pool.submit(execute_run, "abm", r, str(parallel), *args) for r in runs]
        recs2 = [f.result() for f in futs]
        for a, b in zip(recs, recs2, strict=True):
            assert a["status"] == b["status"] == "ok", (a.get("error"), b.get("error"))
            assert a["files"] == b["files"]
            for rel in a["files"]:
                pd.testing.assert_frame_equal(
                    pd.read_parquet(serial / rel), pd.read_parquet(parallel / rel)
                )

    # --- 4. simulation against the closed form --------------------------------------------------
    def test_realised_utilities_agree_with_the_closed_form(self, mech):
        for check in _hints(mech).get("closed_form", []):
            cfg = _run_cfg(mech, **check.get("run", {}))
            res = run_simulation(cfg, rounds=int(check.get("rounds", 50)), seed=5)
            mu = res.model.recorder.mean_utilities().set_index(["role", "strategy"])
            row = mu.loc[(check["role"], check["strategy"])]
            closed = float(mech.utility(check["role"], check["strategy"], res.model.p))
            tol = check.get("tolerance", 1e-9)
            bound = 4 * row["se"] + 1e-9 if tol == "4se" else float(tol)
            assert row["plays"] > 0, check
            assert abs(row["mean"] - closed) <= bound, (check, row.to_dict(), closed)

    # --- 5. claims ------------------------------------------------------------------------------
    def test_every_claim_has_a_verdict_and_counterexamples_replay(self, mech):
        from derelay.formal.generic import evaluate_claim, replay_claim

        for claim in mech.claims:
            res = evaluate_claim(mech, claim, rlimit=CONTRACT_RLIMIT)
            assert res["status"] in ("proved", "counterexample", "unknown"), res
            if res["status"] == "counterexample" and claim.symbolic:
                assert res["witness"]["replayed"]
                assert replay_claim(mech, claim, res["witness"])

    def test_property_witnesses_replay(self, mech):
        from derelay.formal.generic import check_mechanism, prove_mechanism

        res = check_mechanism(mech)
        assert set(res["ir"]) == {r.abbr for r in mech.roles}
        if not _hints(mech).get("prove", False):  # opt-in: whole-space IR/IC queries
            return
        out = prove_mechanism(mech, rlimit=CONTRACT_RLIMIT)
        for prop in out["properties"]:
            if prop["status"] == "counterexample":
                assert prop["witness"]["replayed"], prop


@pytest.fixture(scope="module")
def pool():
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=2, mp_context=mp.get_context("spawn")) as ex:
        yield ex


class TestEveryRegisteredMechanism(MechanismContract):
    @pytest.fixture(scope="class", params=MECHANISMS)
    def mech(self, request):
        return get_mechanism(request.param)


def test_a_strategy_registered_at_run_time_reaches_worker_processes(pool, tmp_path):
    """Issue 10: a strategy registered in a script (not installed) worked with one worker
    and failed with two; the runner now ships the registration to its workers."""
    from agents.strategies import StrategyBehaviour, register_strategy, unregister_strategy
    from derelay.engine.plugins import snapshot
    from experiments.runner import execute_run

    register_strategy(StrategyBehaviour("T", "LB2", "Low bid", bid_factor=0.5, utility=lambda p: 0))
    try:
        config = {
            "preset": "paper_text",
            "rounds": 6,
            "strategies": {"T": {"N": 0.5, "LB2": 0.5}},
            "params": {"n_participants": 32, "n_miners": 16},
            "keep": ["rounds"],
        }
        run = {"run_id": 0, "point": 0, "replication": 0, "seed": 3, "values": {}, "config": config}
        args = (["rounds"], [], 1, snapshot())
        a = execute_run("abm", run, str(tmp_path / "w1"), *args)
        b = pool.submit(execute_run, "abm", run, str(tmp_path / "w2"), *args).result()
        assert a["status"] == b["status"] == "ok", b.get("error")
        ra = pd.read_parquet(tmp_path / "w1" / a["files"][0])
        rb = pd.read_parquet(tmp_path / "w2" / b["files"][0])
        pd.testing.assert_frame_equal(ra, rb)
        assert ra["share_T_LB2"].iloc[0] == 0.5
    finally:
        unregister_strategy("T", "LB2")
