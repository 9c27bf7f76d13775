"""z3 verdicts and witnesses are functions of their inputs (issue 17, point 10).

Every DeRelayL query (prove, necessity, domain checks, feasible, deviations, the auction
searches) builds its terms in a z3 context of its own under a deterministic resource
limit.  Shown here in one process: z3's global context is never touched, a second
``prove_all()`` after other queries gives the same JSON as the first, and the in-process
answers equal those of a fresh process.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import z3
import z3.z3 as z3_module

from derelay.params import Params


def _without_seconds(obj):
    if isinstance(obj, dict):
        return {k: _without_seconds(v) for k, v in obj.items() if not k.startswith("seconds")}
    if isinstance(obj, list):
        return [_without_seconds(v) for v in obj]
    return obj


def _dump(obj) -> str:
    return json.dumps(_without_seconds(obj), sort_keys=True, default=str)


_AUCTION = (
    "import json\n"
    "from derelay.formal.deviations import search\n"
    "res = search(scope='auction')\n"
    "print(json.dumps([(d['gain_exact'], d['witness']['gaps'],\n"
    "                   d['witness'].get('deviating_bid_exact')) for d in res['deviations']]))\n"
)


def _auction_key(res) -> list:
    return [
        [d["gain_exact"], d["witness"]["gaps"], d["witness"].get("deviating_bid_exact")]
        for d in res["deviations"]
    ]


@pytest.fixture(scope="module")
def history():
    """prove_all(), then other queries (the history that used to move the witnesses:
    another base point and the feasible region), then prove_all() again -- all with z3's
    global context disabled, so any implicit use of it fails."""
    from derelay.formal import feasible_region, feasible_rewards, search
    from derelay.formal.prove import prove_all

    def no_global_context():
        raise AssertionError("a formal query used z3's global context")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(z3_module, "main_ctx", no_global_context)
        first = prove_all()
        prove_all(Params(beta=0.5, s=0.3, r_cited=2.0))
        feasible_region(points=8)
        feasible_rewards()
        auction = search(scope="auction")
        second = prove_all()
    z3.Solver().check(z3.Real("x") > 1)  # and some history in the global context
    return {"first": first, "second": second, "auction": auction}


def test_prove_all_is_the_same_after_other_queries(history):
    assert _dump(history["first"]) == _dump(history["second"])
    # the counterexamples carry witnesses (the part that used to move)
    assert any(c["witness"] for c in history["first"]["claims"])


def test_auction_search_after_other_queries_equals_a_fresh_process(history):
    fresh = subprocess.run(
        [sys.executable, "-c", _AUCTION], capture_output=True, text=True, check=True
    ).stdout
    assert _auction_key(history["auction"]) == json.loads(fresh)
    # both auction deviations are found (none lost to a limit)
    assert [d["kind"] for d in history["auction"]["deviations"]] == ["auction", "auction"]


def test_prove_cli_in_process_equals_a_fresh_process(history):
    from typer.testing import CliRunner

    from derelay.cli import app

    cmd = ["prove", "--json", "--no-timings"]
    here = CliRunner().invoke(app, cmd)
    assert here.exit_code == 0, here.output
    fresh = subprocess.run(
        [sys.executable, "-m", "derelay", *cmd], capture_output=True, text=True, check=True
    ).stdout
    assert here.stdout == fresh


def test_quantifier_elimination_is_bounded_by_the_resource_limit():
    """The T7 elimination gives up on the deterministic budget, not on the clock."""
    from derelay.mechanism import get_mechanism
    from derelay.mechanism.derelayl.formal.prove import _qe_t7

    mech = get_mechanism("derelayl")
    tiny = _qe_t7(mech, None, timeout=1e-6)
    assert tiny["status"] == "unknown" and "resource limit" in tiny["reason"]
    full = _qe_t7(mech, None, timeout=5.0)
    assert full["exact_deposit_condition"] == "b_t >= 0"
