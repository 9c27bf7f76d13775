"""One typed, validated parameter model: every symbol of Table I plus Table III.

Keys are snake_case exactly as the users' contract lists them.  Each field carries
its paper symbol, meaning, the equation(s) it appears in and its domain; the same
domain table drives pydantic validation here and the solver's domain constraints in
:mod:`derelay.formal` (one source of truth).

Defaults
--------
Table III gives the simulation settings (256 participants, 128 miners, selection
limit 4, MO budget 0.001, training success 0.9, Q_Cases = 100, s = 0.5 and a
reward base of 0.001 coins for every miner reward).  The paper gives no numbers for
the cost side of Table I; our documented defaults (see ``docs/parameters.md``) form a
point at which T1-T8 all hold, measured in units of one coin (the simulation pays
one (c) of citation reward per ancestor, so ``coin = r_cited = 1``):

* ``model_size`` |M| = 10,000 parameters; per-parameter coefficients of 1e-6
  (``k_transmit``, ``k_encrypt``) make moving a model cost 0.01 coin;
* training cost P_Comp * D * tau * |M| = 1e-9 * 1000 * 10 * 10,000 = 0.1 coin;
* the trainer's deposit follows the simulation's bidding rule
  min(coins, V_latest - V_now + 1): with a version gap of 2 the bid is 3;
* Q^MO_Selected = Q^T_Selected = s * Pr_Training * Q_Selected = 0.5 * 0.9 * 4 = 1.8;
* 64 deposits / hashes / encrypted models / verified models per round.

Domain choices (paper ambiguities, documented)
----------------------------------------------
* ``beta``: the appendix writes 0 <= beta <= 1, but eqs. (7), (8), (14) divide by
  beta and by 1 - beta; we require 0 < beta < 1.
* ``s``: Table I says 0 < s < 1 while the appendix says 0 <= s <= 1; we use the open
  interval.
* Q_DepositLess: eq. (43) states 0 < Q_DepositLess < Q_Deposit; we allow 0 (a miner
  who packs nothing) and require Q_DepositLess < Q_Deposit.
* Versions: the received model is the latest one, so V_RecM >= V_Now^T and
  V_FHEM >= V_Now^EBM (a version gap is never negative).
* Counts are non-negative reals (averages such as Q^MO_Selected need not be
  integers).  A zero count that a condition divides by is allowed here; the
  conditions are evaluated in their division-free form (see
  :mod:`derelay.mechanism`) and the formal layer reports such points.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

#: Largest magnitude of any parameter value accepted on input.  The mechanisms' closed
#: forms multiply up to about five parameters (e.g. P_Comp * D * tau * |M|, or a reward
#: times a count times a version gap), so with every |value| <= 1e50 no product reaches
#: float64's 1.8e308 and a condition can never become inf - inf = NaN (the test
#: ``test_params_strict.py::test_extreme_magnitudes_keep_the_conditions_finite`` evaluates
#: every condition with every parameter at the bound).  Beyond it a value is refused.
MAX_MAGNITUDE = 1e50
#: Largest population (``n_participants``) accepted: the simulation allocates per-agent
#: state (and, by default, one Mesa agent) for each, about 1-2 KB per participant.
MAX_PARTICIPANTS = 1_000_000


@dataclass(frozen=True)
class Domain:
    """Allowed range of a parameter: ``lower (<|<=) x (<|<=) upper``.

    ``cap``: an input limit on top of the mathematical domain (the largest value the
    simulation can represent or allocate, e.g. :data:`MAX_PARTICIPANTS`).  Like the
    global :data:`MAX_MAGNITUDE` it is enforced on input values (:meth:`contains`,
    :meth:`limit_problem`) but is not a solver constraint (:meth:`constraints`).
    """

    lower: float | None = None
    lower_strict: bool = False
    upper: float | None = None
    upper_strict: bool = False
    integer: bool = False
    cap: float | None = None

    def describe(self, name: str) -> str:
        parts = []
        if self.lower is not None:
            parts.append(f"{_fmt(self.lower)} {'<' if self.lower_strict else '<='} ")
        parts.append(name)
        if self.upper is not None:
            parts.append(f" {'<' if self.upper_strict else '<='} {_fmt(self.upper)}")
        text = "".join(parts)
        if self.integer:
            text += " (an integer)"
        if self.lower is None and self.upper is None and not self.integer:
            text = f"{name} is any finite number"
        return text

    def limit_problem(self, name: str, value: Any) -> str | None:
        """The input-limit violation of ``value`` (magnitude or cap) as one line, or None."""
        try:
            f = float(value)
        except OverflowError:  # an integer beyond float range
            f = math.inf if value > 0 else -math.inf
        else:
            if not math.isfinite(f):
                return None
        text = value if isinstance(value, float) else _short_int(value)
        if abs(f) > MAX_MAGNITUDE:
            return (
                f"parameter '{name}' = {text!r} is out of range: allowed |{name}| <= "
                f"{MAX_MAGNITUDE:g} (larger magnitudes overflow the mechanism's "
                "floating-point formulas)"
            )
        if self.cap is not None and f > self.cap:
            return (
                f"parameter '{name}' = {text!r} is out of range: allowed {name} <= "
                f"{_fmt(self.cap)} (the largest value the simulation can allocate)"
            )
        return None

    def contains(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if abs(value) > MAX_MAGNITUDE or (self.cap is not None and value > self.cap):
            return False
        if self.integer and float(value) != int(value):
            return False
        if self.lower is not None:
            if value < self.lower or (self.lower_strict and value == self.lower):
                return False
        if self.upper is not None:
            if value > self.upper or (self.upper_strict and value == self.upper):
                return False
        return True

    def constraints(self, x: Any) -> list:
        """The domain as comparisons on ``x`` (float, numpy array or z3 term)."""
        out = []
        if self.lower is not None:
            out.append(x > self.lower if self.lower_strict else x >= self.lower)
        if self.upper is not None:
            out.append(x < self.upper if self.upper_strict else x <= self.upper)
        return out


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def _short_int(value: Any) -> Any:
    """A huge integer shortened for messages (``10**400`` -> a short marker)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return _HugeInt(value)
    return value


class _HugeInt:
    def __init__(self, value: int) -> None:
        self.digits = len(str(abs(value))) if value.bit_length() < 40_000 else None
        self.sign = "-" if value < 0 else ""

    def __repr__(self) -> str:
        if self.digits is None:
            return f"{self.sign}<an integer of more than 12,000 digits>"
        return f"{self.sign}<an integer of {self.digits:,} digits>"


NONNEG = Domain(lower=0.0)
POSITIVE = Domain(lower=0.0, lower_strict=True)
UNIT_OPEN = Domain(lower=0.0, lower_strict=True, upper=1.0, upper_strict=True)
PROB = Domain(lower=0.0, upper=1.0)
COUNT_INT_POS = Domain(lower=1.0, integer=True)
COUNT_INT = Domain(lower=0.0, integer=True)
POPULATION = Domain(lower=1.0, integer=True, cap=MAX_PARTICIPANTS)


@dataclass(frozen=True)
class ParamInfo:
    """Metadata of one parameter: paper symbol, meaning, equations, domain, group."""

    name: str
    symbol: str
    description: str
    equations: str
    domain: Domain
    group: str  # "mechanism" (Table I) or "simulation" (Table III)
    default: float
    unit: str = "coin"


def _p(name, symbol, description, equations, domain, default, group="mechanism", unit="coin"):
    return ParamInfo(name, symbol, description, equations, domain, group, default, unit)


#: Every parameter, in the order of the users' contract (Table I), then Table III.
PARAMS: tuple[ParamInfo, ...] = (
    _p(
        "beta",
        "β",
        "discount rate on future citation rewards",
        "(7),(8),(14),(23),(30)",
        UNIT_OPEN,
        0.9,
        unit="1",
    ),
    _p(
        "s",
        "s",
        "selection rate: share of trained models ranked in the top and selected",
        "(7),(8),(14),(24),(31)",
        UNIT_OPEN,
        0.5,
        unit="1",
    ),
    _p(
        "coin",
        "©",
        "value of the knowledge gap between two adjacent model versions",
        "(8),(13),(30),(33),(50)",
        POSITIVE,
        1.0,
    ),
    _p(
        "r_cited",
        "R_Cited",
        "citation reward per selected model citing an owner",
        "(7),(8),(14),(23),(30)",
        NONNEG,
        1.0,
    ),
    _p(
        "q_selected",
        "Q_Selected",
        "deposits signed by one MO in a round (trainers it selects)",
        "(7),(24),(27)",
        NONNEG,
        4.0,
        unit="count",
    ),
    _p(
        "q_selected_mo",
        "Q^MO_Selected (overlined)",
        "expected number of the MO's trainers whose models are selected per round",
        "(7),(23)",
        NONNEG,
        1.8,
        unit="count",
    ),
    _p("b_mo", "b^MO", "MO's deposit per trainer", "(7),(24),(27)", NONNEG, 0.00025),
    _p(
        "k_transmit",
        "k_Transmit",
        "transmission cost per model parameter",
        "(7),(8),(10),(12),(14)",
        NONNEG,
        1e-6,
        unit="coin/parameter",
    ),
    _p(
        "model_size",
        "|M|",
        "number of model parameters",
        "(7),(8),(10),(12),(14)",
        NONNEG,
        10000.0,
        unit="parameters",
    ),
    _p(
        "v_rec",
        "V_RecM",
        "version of the model the trainer receives (the latest)",
        "(8),(13),(30)",
        NONNEG,
        10.0,
        unit="version",
    ),
    _p(
        "v_now_t",
        "V^T_Now",
        "version the trainer held before receiving",
        "(8),(13),(30)",
        NONNEG,
        8.0,
        unit="version",
    ),
    _p(
        "q_selected_t",
        "Q^T_Selected",
        "expected number of selected future trainers building on T's model",
        "(8),(14),(30)",
        NONNEG,
        1.8,
        unit="count",
    ),
    _p(
        "p_comp",
        "P_Comp",
        "price of computation per unit time, data volume and parameter (eq. 31 multiplies by |M|)",
        "(8),(31)",
        NONNEG,
        1e-9,
        unit="coin/(time·data·parameter)",
    ),
    _p("data_volume", "D", "training data volume", "(8),(31)", NONNEG, 1000.0, unit="data units"),
    _p("tau", "τ", "training time", "(8),(31)", NONNEG, 10.0, unit="time units"),
    _p("b_t", "b^T", "trainer's deposit (bid)", "(8),(13),(14),(31),(34)", NONNEG, 3.0),
    _p(
        "k_encrypt",
        "k_Encrypt",
        "FHE encryption cost per model parameter",
        "(8),(14),(31)",
        NONNEG,
        1e-6,
        unit="coin/parameter",
    ),
    _p(
        "q_broadcast",
        "Q_Broadcast",
        "recipients of the trainer's encrypted-model broadcast",
        "(8),(14),(31)",
        NONNEG,
        8.0,
        unit="count",
    ),
    _p(
        "k_expand",
        "k_Expand",
        "factor by which FHE expands the parameter count",
        "(8),(10),(12),(14)",
        NONNEG,
        4.0,
        unit="1",
    ),
    _p(
        "q_deposit",
        "Q_Deposit",
        "deposit contracts broadcast (and packed by a normal DBM)",
        "(9),(40)",
        NONNEG,
        64.0,
        unit="count",
    ),
    _p(
        "q_deposit_less",
        "Q_DepositLess",
        "deposits packed by a Not-Packing-All DBM",
        "(43)",
        NONNEG,
        32.0,
        unit="count",
    ),
    _p(
        "r_deposit",
        "R_Deposit",
        "reward per deposit contract packed into the DB",
        "(9),(40)",
        NONNEG,
        0.001,
    ),
    _p("c_mine", "C_Mine", "cost of mining one block", "(9)-(12),(41)", NONNEG, 0.01),
    _p(
        "q_hash_m",
        "Q_HashM",
        "model hashes packed into the EB",
        "(10),(50)",
        NONNEG,
        64.0,
        unit="count",
    ),
    _p(
        "r_hash_m",
        "R_HashM",
        "reward per model hash packed into the EB",
        "(10),(50)",
        NONNEG,
        0.001,
    ),
    _p(
        "v_fhem",
        "V_FHEM",
        "version of the model the EBM decrypts",
        "(10),(50)",
        NONNEG,
        11.0,
        unit="version",
    ),
    _p(
        "v_now_ebm",
        "V^EBM_Now",
        "version the EBM held before decrypting",
        "(10),(50)",
        NONNEG,
        8.0,
        unit="version",
    ),
    _p(
        "c_gen_fhe_key",
        "C_GenFHEKey",
        "cost of generating an FHE key pair",
        "(10),(51)",
        NONNEG,
        0.01,
    ),
    _p(
        "q_encrypted_m",
        "Q_EncryptedM",
        "encrypted-model hashes packed into the TB",
        "(11),(57)",
        NONNEG,
        64.0,
        unit="count",
    ),
    _p(
        "r_encrypted_m",
        "R_EncryptedM",
        "reward per encrypted-model hash packed into the TB",
        "(11),(57)",
        NONNEG,
        0.001,
    ),
    _p(
        "q_cases",
        "Q_Cases",
        "test cases published in the TB",
        "(11),(12),(57)",
        NONNEG,
        100.0,
        unit="count",
    ),
    _p("r_case", "R_Case", "reward per test case", "(11),(57)", NONNEG, 0.001),
    _p(
        "c_unit_gen_td_case",
        "C^Unit_GenTDCase",
        "cost of generating one test case",
        "(11),(58)",
        NONNEG,
        0.0001,
    ),
    _p(
        "q_verified_m",
        "Q_VerifiedM",
        "models verified by the SBM",
        "(12),(64)",
        NONNEG,
        64.0,
        unit="count",
    ),
    _p(
        "r_verified_m",
        "R_VerifiedM",
        "reward per verified model recorded in the SB",
        "(12),(64)",
        NONNEG,
        0.001,
    ),
    _p(
        "r_verify",
        "R_Verify",
        "reward per verified model and test case",
        "(12),(64)",
        NONNEG,
        0.001,
    ),
    _p(
        "c_unit_verify",
        "C^Unit_Verify",
        "verification cost per model and test case",
        "(12),(65)",
        NONNEG,
        0.0001,
    ),
    # --- Table III simulation settings -------------------------------------------------
    _p(
        "n_participants",
        "Q_TotalParticipants",
        "total number of participants",
        "Table III",
        POPULATION,
        256,
        group="simulation",
        unit="count",
    ),
    _p(
        "n_miners",
        "Q_Miners",
        "candidate miners in each round",
        "Table III",
        COUNT_INT,
        128,
        group="simulation",
        unit="count",
    ),
    _p(
        "selection_limit",
        "Q_SelectionLimit",
        "maximum trainers per model owner",
        "Table III",
        COUNT_INT_POS,
        4,
        group="simulation",
        unit="count",
    ),
    _p(
        "mo_budget",
        "Budget_MO",
        "model owner's deposit budget per round",
        "Table III",
        NONNEG,
        0.001,
        group="simulation",
    ),
    _p(
        "p_train_success",
        "Pr_Training",
        "probability that training succeeds",
        "Table III",
        PROB,
        0.9,
        group="simulation",
        unit="1",
    ),
)

PARAM_INFO: dict[str, ParamInfo] = {p.name: p for p in PARAMS}
MECHANISM_KEYS: tuple[str, ...] = tuple(p.name for p in PARAMS if p.group == "mechanism")
SIMULATION_KEYS: tuple[str, ...] = tuple(p.name for p in PARAMS if p.group == "simulation")
REWARD_KEYS: tuple[str, ...] = (
    "r_cited",
    "r_deposit",
    "r_hash_m",
    "r_encrypted_m",
    "r_case",
    "r_verified_m",
    "r_verify",
)

#: Cross-parameter constraints: (name, description, generic predicate).
CROSS_CONSTRAINTS: tuple[tuple[str, str, Any], ...] = (
    (
        "q_deposit_less",
        "q_deposit_less < q_deposit (eq. 43)",
        lambda p: p.q_deposit_less < p.q_deposit,
    ),
    (
        "v_now_t",
        "v_now_t <= v_rec (the received model is the latest)",
        lambda p: p.v_now_t <= p.v_rec,
    ),
    (
        "v_now_ebm",
        "v_now_ebm <= v_fhem (the decrypted model is the newest)",
        lambda p: p.v_now_ebm <= p.v_fhem,
    ),
    (
        "n_miners",
        "n_miners < n_participants (someone must train)",
        lambda p: p.n_miners < p.n_participants,
    ),
)


class ParamsError(ValueError):
    """Bad parameter input; ``str(exc)`` is a complete, user-facing message."""

    def __init__(self, problems: list[str], source: str | None = None):
        self.problems = list(problems)
        self.source = source
        head = f"invalid parameters in {source}" if source else "invalid parameters"
        if len(self.problems) == 1:
            msg = f"{head}: {self.problems[0]}"
        else:
            msg = head + ":\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(msg)


if TYPE_CHECKING:  # the pydantic model is built on first use (:func:`_build_model`)
    from pydantic import BaseModel as Params


def _build_model() -> type:
    """Build the pydantic model :class:`Params` (on first use: importing pydantic and
    building the model's validator costs more than the rest of ``derelay check``)."""
    from pydantic import BaseModel, ConfigDict, Field, model_validator

    def field(info: ParamInfo) -> Any:
        return Field(
            default=info.default,
            description=info.description,
            json_schema_extra={"symbol": info.symbol, "equations": info.equations},
        )

    class _ParamsBase(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=False)

        @model_validator(mode="after")
        def _check_domains(self):
            problems = []
            for info in PARAMS:
                value = getattr(self, info.name)
                if not info.domain.contains(float(value)):
                    problems.append(
                        f"parameter '{info.name}' = {value!r} is out of range: "
                        f"allowed {info.domain.describe(info.name)}"
                    )
            for name, text, pred in CROSS_CONSTRAINTS:
                if not pred(self):
                    problems.append(
                        f"parameter '{name}' = {getattr(self, name)!r} violates {text}"
                    )
            if problems:
                raise ValueError("\n".join(problems))
            return self

    _ParamsBase.__module__ = __name__
    _ParamsBase.__qualname__ = "_ParamsBase"
    model = type(
        "Params",
        (_ParamsBase,),
        {
            "__annotations__": {p.name: (int if p.domain.integer else float) for p in PARAMS},
            "__doc__": "Validated DeRelayL parameters (Table I symbols and Table III settings).",
            "__module__": __name__,
            **{p.name: field(p) for p in PARAMS},
        },
    )
    globals().update(Params=model, _ParamsBase=_ParamsBase)
    return model


def _model() -> type:
    """:class:`Params` (built on first use)."""
    return globals().get("Params") or _build_model()


def __getattr__(name: str) -> Any:
    # ``Params`` is built lazily: ``from derelay.params import Params`` builds it, while
    # ``derelay check`` with default parameters never imports pydantic
    if name in ("Params", "_ParamsBase"):
        _model()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def default_values() -> dict[str, Any]:
    """The default point as ``Params().model_dump()`` gives it (without building the
    pydantic model: the defaults are valid by construction, which a test checks)."""
    return {p.name: p.default for p in PARAMS}


def _did_you_mean(key: str) -> str:
    close = difflib.get_close_matches(key, list(PARAM_INFO), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _type_name(value: Any) -> str:
    return type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def params_from_mapping(data: Mapping[str, Any], source: str | None = None) -> Params:
    """Validate a mapping of parameter values; raise :class:`ParamsError` on bad input."""
    if not isinstance(data, Mapping):
        raise ParamsError([f"expected a table of parameters, got {_type_name(data)}"], source)
    problems: list[str] = []
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if key not in PARAM_INFO:
            problems.append(f"unknown parameter '{key}'{_did_you_mean(str(key))}")
            continue
        info = PARAM_INFO[key]
        dom = info.domain
        if isinstance(value, bool) or not isinstance(value, int | float):
            expected = "an integer" if dom.integer else "a number"
            problems.append(
                f"parameter '{key}' = {_short(value)} has the wrong type ({_type_name(value)}): "
                f"expected {expected}; allowed {dom.describe(key)}"
            )
            continue
        out_of_range = (
            f"parameter '{key}' = {_short_int(value)!r} is out of range: "
            f"allowed {dom.describe(key)}"
        )
        limit = dom.limit_problem(key, value)
        if limit:
            problems.append(limit)
            continue
        try:
            f = float(value)
        except OverflowError:  # an int beyond float range: caught by limit_problem
            problems.append(out_of_range)
            continue
        # NaN / +-inf (and 1e309, read as inf) first: int() of them would raise
        if not math.isfinite(f) or (dom.integer and not f.is_integer()):
            problems.append(out_of_range)
            continue
        if not dom.contains(f):
            problems.append(out_of_range)
            continue
        clean[key] = int(value) if dom.integer else f
    if problems:
        raise ParamsError(problems, source)
    from pydantic import ValidationError

    model = _model()
    try:
        return model(**clean)
    except ValidationError as exc:
        msgs = []
        for err in exc.errors():
            text = str(err.get("msg", ""))
            text = text.removeprefix("Value error, ")
            msgs.extend(line for line in text.splitlines() if line.strip())
        raise ParamsError(msgs or [str(exc)], source) from None


def parse_params_text(text: str, fmt: str, source: str | None = None) -> Params:
    """Parse JSON or TOML text (``fmt`` in {"json", "toml"}) into :class:`Params`.

    Read with :func:`derelay.space.parse_table`: duplicate JSON keys, malformed text,
    deep nesting and huge integer literals are refused with one line."""
    from derelay.space import parse_table

    return params_from_mapping(parse_table(text, fmt, source), source)


def load_params(path: str | Path) -> Params:
    """Load parameters from a ``.json`` or ``.toml`` file (other suffixes: sniffed).

    A file may hold the keys at top level or inside a single ``params`` table.
    Missing keys take their defaults.  Only regular, size-limited UTF-8 files are read
    (:func:`derelay.space.read_table_file`).
    """
    from derelay.space import read_table_file

    text, fmt, source = read_table_file(path)
    return parse_params_text(text, fmt, source)


def defaults() -> Params:
    return _model()()


# ----------------------------------------------------------------------------------------
# Backends: the same attribute-access interface for floats, numpy grids and z3 terms.
# ----------------------------------------------------------------------------------------


class ParamValues(SimpleNamespace):
    """Attribute bag of parameter values of any number type (float, ndarray, z3 term).

    The mechanism's formulas only use attribute access, so a :class:`Params`, a
    :class:`ParamValues` of numpy arrays and one of z3 Reals are interchangeable.
    """

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def as_values(params: Params | Mapping[str, Any] | ParamValues) -> ParamValues:
    if isinstance(params, ParamValues):
        return params
    if not isinstance(params, Mapping) and hasattr(params, "model_dump"):  # a pydantic model
        return ParamValues(**params.model_dump())
    return ParamValues(**dict(params))


def grid(base: Params | None = None, mode: str = "product", **axes: Any) -> ParamValues:
    """Numpy parameter grid over ``axes`` (name -> 1-D values), other keys from ``base``.

    ``mode="product"`` forms the Cartesian product (each axis broadcast along its own
    dimension, then flattened); ``mode="zip"`` pairs equally long axes point by point.
    Values are validated against each parameter's domain (vectorised), the input limits
    (:data:`MAX_MAGNITUDE`, ``Domain.cap``) and integrality; a grid of more than
    :data:`derelay.space.MAX_GRID_POINTS` points (the memory budget shared with
    :meth:`derelay.space.ParamSpace.grid`) is refused before anything is allocated.
    """
    import numpy as np

    base = base or _model()()
    values = base.model_dump()
    for name in axes:
        if name not in PARAM_INFO:
            raise ParamsError([f"unknown parameter '{name}'{_did_you_mean(name)}"])
    from derelay.space import MAX_GRID_POINTS

    arrays = {}
    for k, v in axes.items():
        try:
            arrays[k] = np.asarray(v, dtype=float).ravel()
        except (TypeError, ValueError, OverflowError):
            raise ParamsError([f"parameter '{k}': grid values must be numbers"]) from None
    if mode == "product":
        size = math.prod(len(a) for a in arrays.values()) if arrays else 1
        if size > MAX_GRID_POINTS:
            raise ParamsError(
                [
                    f"grid of {size:,} points is too large: allowed at most "
                    f"{MAX_GRID_POINTS:,} points (about {8 * MAX_GRID_POINTS * max(1, len(arrays)) // 2**20:,} MiB "
                    "of axis arrays); split it or use a coarser grid"
                ]
            )
        mesh = np.meshgrid(*arrays.values(), indexing="ij") if arrays else []
        arrays = {k: m.ravel() for k, m in zip(arrays, mesh, strict=True)}
    elif mode == "zip":
        lengths = {len(a) for a in arrays.values()}
        if len(lengths) > 1:
            raise ParamsError([f"zip grid needs equally long axes, got lengths {sorted(lengths)}"])
        size = lengths.pop() if lengths else 1
        if size > MAX_GRID_POINTS:
            raise ParamsError(
                [f"grid of {size:,} points is too large: allowed at most {MAX_GRID_POINTS:,}"]
            )
    else:
        raise ParamsError([f"unknown grid mode '{mode}': use product or zip"])
    problems = []
    for k, a in arrays.items():
        dom = PARAM_INFO[k].domain
        ok = np.isfinite(a) & (np.abs(a) <= MAX_MAGNITUDE)
        for c in dom.constraints(a):
            ok &= c
        if dom.integer:
            ok &= a == np.round(a)
        if dom.cap is not None:
            ok &= a <= dom.cap
        if not ok.all():
            bad = a[~ok][0]
            limit = dom.limit_problem(k, float(bad))
            problems.append(
                f"parameter '{k}' has out-of-range grid value {bad!r}: "
                + (limit.split(": ", 1)[1] if limit else f"allowed {dom.describe(k)}")
            )
    if problems:
        raise ParamsError(problems)
    values.update(arrays)
    return ParamValues(**values)


def random_grid(
    n: int, base: Params | None = None, seed: int = 0, spread: float = 0.5, keys=None
) -> ParamValues:
    """``n`` random parameter points around ``base`` (for benchmarks and tests).

    Each mechanism parameter is scaled by a log-uniform factor in
    [1/(1+spread), 1+spread]; ``beta`` and ``s`` are drawn uniformly in (0.01, 0.99);
    cross constraints are kept (q_deposit_less < q_deposit, versions ordered).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    base = base or _model()()
    keys = tuple(keys) if keys is not None else MECHANISM_KEYS
    values = base.model_dump()
    lo, hi = np.log(1 / (1 + spread)), np.log(1 + spread)
    for k in keys:
        if k in ("beta", "s"):
            values[k] = rng.uniform(0.01, 0.99, n)
        else:
            values[k] = values[k] * np.exp(rng.uniform(lo, hi, n))
    if "q_deposit_less" in keys or "q_deposit" in keys:
        values["q_deposit_less"] = np.minimum(values["q_deposit_less"], values["q_deposit"] * 0.99)
    if "v_now_t" in keys or "v_rec" in keys:
        values["v_now_t"] = np.minimum(values["v_now_t"], values["v_rec"])
    if "v_now_ebm" in keys or "v_fhem" in keys:
        values["v_now_ebm"] = np.minimum(values["v_now_ebm"], values["v_fhem"])
    return ParamValues(**values)


def domain_constraints(p: Any, keys=None) -> list:
    """Every domain and cross constraint as comparisons on ``p`` (any backend)."""
    keys = MECHANISM_KEYS if keys is None else keys
    out: list = []
    for k in keys:
        out.extend(PARAM_INFO[k].domain.constraints(getattr(p, k)))
    for name, _text, pred in CROSS_CONSTRAINTS:
        if name in keys:
            out.append(pred(p))
    return out


def reference_markdown() -> str:
    """The parameter reference (``docs/parameters.md``), generated from :data:`PARAMS`."""
    lines = [
        "# Parameter reference",
        "",
        "Generated from `derelay.params.PARAMS` (`derelay params --markdown`); do not edit by hand.",
        "Keys are the snake_case names accepted in JSON/TOML parameter files (top level or",
        "inside a `[params]` table). Equation numbers refer to DeRelayL (IEEE TMC 2025).",
        "",
    ]
    for group, title in (
        ("mechanism", "Table I: mechanism symbols"),
        ("simulation", "Table III: simulation settings"),
    ):
        lines += [
            f"## {title}",
            "",
            "| key | symbol | meaning | equations | allowed | default | unit |",
            "|---|---|---|---|---|---|---|",
        ]
        for p in PARAMS:
            if p.group != group:
                continue
            lines.append(
                f"| `{p.name}` | {p.symbol} | {p.description} | {p.equations} | "
                f"{p.domain.describe(p.name)} | {_fmt(p.default)} | {p.unit} |"
            )
        lines.append("")
    lines += ["## Cross-parameter constraints", ""]
    lines += [f"- {text}" for _name, text, _pred in CROSS_CONSTRAINTS]
    lines += [
        "",
        "## Input limits",
        "",
        f"- Every value must be finite with magnitude at most {MAX_MAGNITUDE:g}: the closed",
        "  forms multiply up to about five parameters, and below this bound no product reaches",
        "  float64's 1.8e308 (so no condition can turn into inf - inf). Larger values are refused.",
        f"- `n_participants` <= {MAX_PARTICIPANTS:,} (the largest population the simulation",
        "  allocates).",
        "- In a simulation (`derelay run`), every coin-valued parameter and `initial_coins` is at",
        "  most 9,223,372,036 coins: the ledger holds integer nano-coins, 2^63-1 per account. Sums",
        "  over accounts are exact at any size; a flow that would take one account beyond the",
        "  limit stops the run with a `LedgerOverflowError` naming the account and the round.",
    ]
    lines += [
        "",
        "## Readings of the paper",
        "",
        "See the module docstrings of `derelay.params` (defaults, domains) and",
        "`derelay.mechanism.derelayl` (training-cost term, overlined Q^MO_Selected, beta domain,",
        "division-free conditions, strict IC, T5's relation).",
        "",
    ]
    return "\n".join(lines)
