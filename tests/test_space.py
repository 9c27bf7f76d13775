"""The declaration API: parameter spaces, families, claims, ops and the registry."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
import z3

from derelay.mechanism import (
    FAMILIES,
    Claim,
    Mechanism,
    Role,
    Strategy,
    UnknownMechanism,
    get_mechanism,
    mechanism_names,
    register_mechanism,
)
from derelay.mechanism.ops import ite, maximum, minimum
from derelay.params import Domain, Params, ParamsError
from derelay.space import (
    COMMON_SPACE,
    DERELAYL_SPACE,
    MAX_GRID_POINTS,
    CrossConstraint,
    ParamSpace,
    ParamSpec,
)

TOY = ParamSpace(
    "toy",
    [
        ParamSpec("reward", "R", "reward", "Sec. 1", Domain(0.0, True), 2.0, lever=True),
        ParamSpec("k", "K", "count", "Sec. 2", Domain(1.0), 3, kind="int", unit="agents"),
        ParamSpec("mode", "-", "a reading", "", kind="choice", choices=("a", "b"), default="a"),
        ParamSpec("flag", "-", "a switch", "", kind="bool", default=False),
        ParamSpec("rely", "RELY", "per-agent values", "", Domain(0.0), (1.0, 1.0), kind="list"),
    ],
    constraints=[CrossConstraint("reward", "reward > c_train", lambda p: p.reward > p.c_train)],
    inherits=COMMON_SPACE,
)


def test_inherits_common_space_first_and_keeps_levers():
    assert TOY.keys[: len(COMMON_SPACE.keys)] == COMMON_SPACE.keys
    assert TOY.levers == ("reward",)
    d = TOY.defaults()
    assert d.reward == 2.0 and d.k == 3 and d.rely == (1.0, 1.0) and d.n_participants == 256


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"reward": float("nan")}, "parameter 'reward' = nan is out of range: allowed 0 < reward"),
        ({"reward": float("inf")}, "'reward' = inf is out of range"),
        ({"reward": True}, "'reward' = True has the wrong type (bool)"),
        ({"reward": "1"}, "'reward' = '1' has the wrong type (str)"),
        ({"k": 2.5}, "'k' = 2.5 is out of range"),
        ({"k": 10**400}, "'k' = 1000000000"),
        ({"k": float("inf")}, "'k' = inf is out of range"),
        ({"mode": "c"}, "'mode' = 'c' is not allowed"),
        ({"flag": 1}, "'flag' = 1 has the wrong type (int): expected true or false"),
        ({"rely": []}, "'rely' = [] has the wrong type"),
        ({"rely": [1.0, -1.0]}, "'rely[1]' = -1.0 is out of range"),
        ({"rewrd": 1.0}, "unknown parameter 'rewrd' (did you mean 'reward'?)"),
        ({"reward": 0.05}, "parameter 'reward' = 0.05 violates reward > c_train"),
    ],
)
def test_bad_values_are_one_clear_line(data, needle):
    with pytest.raises(ParamsError) as exc:
        TOY.validate(data)
    assert needle in str(exc.value)
    assert len(str(exc.value).splitlines()) == 1


def test_point_is_read_only_and_replace_validates():
    p = TOY.validate({"reward": 3})
    assert p.reward == 3.0 and isinstance(p.reward, float)
    with pytest.raises(AttributeError):
        p.reward = 1.0
    assert p.replace(k=5).k == 5
    with pytest.raises(ParamsError):
        p.replace(k=0)


def test_files_json_toml_params_table_duplicates(tmp_path):
    a = tmp_path / "a.toml"
    a.write_text("[params]\nreward = 4.0\nk = 2\n")
    assert TOY.load(a).reward == 4.0
    b = tmp_path / "b.json"
    b.write_text('{"reward": 1.0, "reward": 2.0}')
    with pytest.raises(ParamsError, match="duplicate key 'reward'"):
        TOY.load(b)
    c = tmp_path / "c.json"
    c.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ParamsError, match="not a UTF-8 text file"):
        TOY.load(c)
    d = tmp_path / "d.json"
    d.write_text("[" * 100000)
    with pytest.raises(ParamsError, match="in .*d.json"):
        TOY.load(d)
    with pytest.raises(ParamsError, match="is a directory"):
        TOY.load(tmp_path)
    with pytest.raises(ParamsError, match="is not a regular file"):
        TOY.load("/dev/null")


def test_backends_exact_symbolic_grid():
    ex = TOY.exact(TOY.validate({"reward": 0.3}))
    assert ex.reward == Fraction(3, 10) and ex.rely == (Fraction(1), Fraction(1))
    z = TOY.symbolic(["reward"])
    assert isinstance(z.reward, z3.ArithRef) and z.k == 3
    s = z3.Solver()
    s.add(*TOY.domain_constraints(z, ["reward"]), z.reward < Fraction(1, 20))
    assert s.check() == z3.unsat  # the cross constraint reward > c_train = 0.1
    g = TOY.grid(reward=[1.0, 2.0], k=[1, 2, 3])
    assert g.reward.shape == (6,) and g.c_train == 0.1
    with pytest.raises(ParamsError, match="out-of-range grid value"):
        TOY.grid(reward=[0.0, 1.0])
    with pytest.raises(ParamsError, match="too large"):
        n = int(MAX_GRID_POINTS**0.5) + 2
        TOY.grid(reward=np.linspace(1, 2, n), c_eval=np.linspace(0, 1, n))


def test_derelayl_space_matches_params():
    assert DERELAYL_SPACE.keys == tuple(Params.model_fields)
    assert DERELAYL_SPACE.defaults().to_dict() == Params().model_dump()
    mech = get_mechanism("derelayl")
    assert mech.space is DERELAYL_SPACE
    a = mech.evaluate(DERELAYL_SPACE.defaults())
    b = mech.evaluate(Params())
    assert a.ic == b.ic and a.conditions == b.conditions
    assert "r_cited" in DERELAYL_SPACE.levers
    md = DERELAYL_SPACE.reference_markdown()
    assert "| `beta` | β |" in md


def test_ops_on_every_backend():
    x = z3.Real("x")
    assert ite(True, 1, 2) == 1 and ite(False, Fraction(1, 3), 2) == 2
    assert list(ite(np.array([True, False]), 1, 2)) == [1, 2]
    assert z3.is_expr(ite(x > 0, x, -x))
    assert maximum(Fraction(1, 3), Fraction(1, 2)) == Fraction(1, 2)
    assert minimum(2, 3) == 2
    assert list(maximum(np.array([1.0, 5.0]), 3.0)) == [3.0, 5.0]
    assert list(minimum(np.array([1.0, 5.0]), 3.0)) == [1.0, 3.0]
    s = z3.Solver()
    s.add(maximum(x, 1) < 1)
    assert s.check() == z3.unsat
    s = z3.Solver()
    s.add(minimum(x, 1) > 1)
    assert s.check() == z3.unsat


def _toy_mechanism(name="toy_space_test"):
    w = Role(
        "W",
        "Worker",
        "works",
        (
            Strategy("W", "N", "Normal", "", "", lambda p: p.reward - p.c_train, family="honest"),
            Strategy("W", "Lazy", "Lazy", "", "", lambda p: 0 * p.reward, family="lazy"),
        ),
    )

    class Toy(Mechanism):
        pass

    Toy.name = name
    Toy.space = TOY
    Toy.roles = (w,)
    Toy.claims = (
        Claim(
            "toy.ir",
            "Sec. 1",
            "reward > c_train makes work pay",
            "over all rewards",
            hypotheses=lambda p, v: [p.reward > p.c_train],
            conclusion=lambda p, v: p.reward - p.c_train > 0,
        ),
    )
    return Toy()


def test_families_roles_claims_and_registry():
    assert FAMILIES[0] == "honest" and "censor" in FAMILIES and len(FAMILIES) == 13
    with pytest.raises(ValueError, match="unknown family"):
        Strategy("W", "X", "X", "", "", lambda p: 0, family="sloth")
    with pytest.raises(ValueError, match="exactly one honest"):
        Role("W", "W", "", (Strategy("W", "X", "X", "", "", lambda p: 0, family="lazy"),))
    with pytest.raises(ValueError, match="not both"):
        Claim(
            "c",
            "",
            "",
            "",
            evaluate=lambda p: {},
            hypotheses=lambda p, v: [],
            conclusion=lambda p, v: True,
        )
    mech = register_mechanism(_toy_mechanism())
    assert get_mechanism("toy_space_test") is mech
    assert "toy_space_test" in mechanism_names()
    role = mech.role("W")
    assert role.normal.abbr == "N" and role.for_family("lazy").abbr == "Lazy"
    assert role.for_family("poison").abbr == "N" and not role.has_family("poison")
    ev = mech.evaluate(TOY.defaults())
    assert ev.ir["W"] and ev.ic["W"]
    desc = json.loads(json.dumps(mech.describe()))
    assert desc["roles"][0]["strategies"][1] == {"abbr": "Lazy", "name": "Lazy", "family": "lazy"}
    assert desc["claims"] == [{"name": "toy.ir", "source": "Sec. 1"}]
    with pytest.raises(UnknownMechanism, match="unknown mechanism 'nope'; available: derelayl"):
        get_mechanism("nope")
    t = get_mechanism("derelayl").role("T")
    assert [s.deviation_family for s in t.strategies] == ["honest", "lazy", "withhold"]
