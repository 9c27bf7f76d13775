"""Generic claim proving: proved, counterexample (replayed), unknown; deterministic."""

from __future__ import annotations

import json

import z3

from derelay.formal.claims import prove_claim, prove_claims
from derelay.mechanism import Claim, Mechanism, Role, Strategy
from derelay.mechanism.ops import ite
from derelay.params import Domain
from derelay.space import COMMON_SPACE, ParamSpace, ParamSpec

SPACE = ParamSpace(
    "claimtoy",
    [
        ParamSpec("reward", "R", "reward", "", Domain(0.0, True), 2.0, lever=True),
        ParamSpec("k", "K", "workers", "", Domain(1.0), 3, kind="int"),
        ParamSpec("rho", "ρ", "share", "", Domain(0.0, False, 1.0, False), 0.2),
    ],
    inherits=COMMON_SPACE,
)


def _u(p):
    return (1 - p.rho) * p.reward / p.k - p.c_train


class ClaimToy(Mechanism):
    name = "claimtoy"
    space = SPACE
    roles = (
        Role(
            "W",
            "Worker",
            "",
            (
                Strategy("W", "N", "Normal", "", "", _u, family="honest"),
                Strategy("W", "L", "Lazy", "", "", lambda p: 0 * p.reward, family="lazy"),
            ),
        ),
    )
    claims = (
        Claim(
            "toy.share_majority",
            "Sec. 1",
            "rho < 1/2 implies the worker keeps a majority",
            "over rho only",
            hypotheses=lambda p, v: [p.rho < 0.5],
            conclusion=lambda p, v: 1 - p.rho > 0.5,
            free=("rho",),
        ),
        Claim(
            "toy.ir",
            "Sec. 2",
            "a positive reward makes work pay (false: costs)",
            "over reward, k, c_train",
            hypotheses=lambda p, v: [p.reward > 0],
            conclusion=lambda p, v: _u(p) >= 0,
            free=("reward", "k", "c_train"),
        ),
        Claim(
            "toy.bound",
            "Sec. 3",
            "for every q in [0, 1], ite(q > 1/2, R, 0) <= R",
            "q bound",
            hypotheses=lambda p, v: [],
            conclusion=lambda p, v: ite(v.q > 0.5, p.reward, 0) <= p.reward,
            bound={"q": Domain(0.0, False, 1.0, False)},
            free=("reward",),
        ),
        Claim(
            "toy.table",
            "Table 1",
            "a combinatorial check",
            "enumeration",
            evaluate=lambda p, **o: {"status": "proved", "checked": int(p.k)},
        ),
    )


MECH = ClaimToy()


def test_proved_counterexample_and_evaluate():
    res = {r["name"]: r for r in prove_claims(MECH)}
    assert res["toy.share_majority"]["status"] == "proved"
    assert res["toy.bound"]["status"] == "proved"
    cx = res["toy.ir"]
    assert cx["status"] == "counterexample"
    assert cx["witness"]["replayed"] is True
    # the witness moved only what it had to, and k stays an integer
    vals = cx["witness"]["values"]
    assert float(vals.get("k", 3)).is_integer()
    assert res["toy.table"] == {
        "name": "toy.table",
        "source": "Table 1",
        "statement": "a combinatorial check",
        "encoding": "enumeration",
        "status": "proved",
        "checked": 3,
        "witness": None,
    }
    json.dumps(res)


def test_base_point_and_determinism():
    # at a base point with a cost above the reward share, even k = base fails at once
    a = prove_claim(MECH, "toy.ir", base={"c_train": 5.0})
    b = prove_claim(MECH, "toy.ir", base={"c_train": 5.0})
    assert a == b and a["status"] == "counterexample"
    # some unrelated solving in the global context does not change the answer
    s = z3.Solver()
    s.add(z3.Real("reward") * z3.Real("reward") == 2)
    s.check()
    assert prove_claim(MECH, "toy.ir", base={"c_train": 5.0}) == a


def test_resource_limit_gives_unknown_never_proved():
    res = prove_claim(MECH, "toy.ir", rlimit=1)
    assert res["status"] in ("unknown", "counterexample")
    assert res["status"] != "proved"


def test_a_ground_claim_with_no_free_parameter():
    """free=() leaves everything at the base point: a ground check, still in its context."""
    claim = Claim(
        "toy.ground",
        "Sec. 4",
        "at the defaults the worker keeps a majority",
        "ground",
        hypotheses=lambda p, v: [],
        conclusion=lambda p, v: 1 - p.rho > 0.5,
        free=(),
    )
    assert prove_claim(MECH, claim)["status"] == "proved"
    assert prove_claim(MECH, claim, base={"rho": 0.6})["status"] == "counterexample"
