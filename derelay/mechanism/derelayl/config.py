"""Simulation configuration of the agent-based model (issue 5).

``SimConfig`` holds the mechanism parameters (:class:`derelay.params.Params`, Table I and
Table III) plus every simulation *choice* the paper leaves open or states twice in
different ways.  Each choice is a field with the reading we default to documented next
to it; the two presets in ``experiments/`` (``paper_text`` and ``authors_code``) pin the
two readings that matter for reproducing Figs. 3 and 4.

Paper ambiguities resolved here (see also ``docs/abm.md``)
---------------------------------------------------------
* **Matching** (``matching``): Sec. III-C1 / Algorithm 1 is a second-price deposit
  auction in which owners, in ranking order, greedily take the highest bidders; Sec.
  IV-A(3) says instead that owners rank trainers by *last-round performance* and
  trainers rank owners by *deposit*.  The authors' code ranks owners by the performance
  of their last model and trainers by bid, first price.  All three are selectable:
  ``"algorithm1"``, ``"sec4_text"``, ``"authors"``; ``deposit_price`` chooses second
  (Algorithm 1 lines 5-10 as printed: the i-th selected trainer deposits the (i+1)-th
  bid, the last one its own bid) or first price (each deposits its own bid).
* **Citation** (``citation``): Sec. IV-A(6) pays one (c) to the owner and every
  predecessor owner up to the genesis owner ("every_ancestor"); the utility model (eq.
  23) discounts future citations by beta, so ``"discounted"`` pays beta^k (c) to the
  k-th predecessor.  ``genesis_bonus`` reproduces the authors' code, whose genesis
  model also pays its owner (the genesis owner gets 2 (c) per selected model).
* **Performance** (``performance``): the authors draw parent + N(1, 1) and rank on it
  ("cumulative"); the paper assumes every version adds about one (c) of knowledge and
  same-version models perform alike ("version": honest gain exactly ``perf_mu``, a
  lazy trainer gains ``lazy_mu``; ranking sees that value plus non-heritable test noise
  N(0, ``eval_sigma``) from the Q_Cases test cases).
* **Failed training** (``failed_keeps_received``): the paper's trainer receives the
  model before training (Step 4), so it holds version V_RecM even if training fails;
  the authors' code gives it nothing.
* **Encryption-block miner** (``ebm_receives``): Step 7 / eq. 50 let the EBM decrypt the
  top-1 model ("best"); the authors' code lets it keep copies of all of the round's
  models ("all").
* **Forfeited deposits** (``forfeit``): burned (authors) or redistributed equally to the
  participants whose deposits were returned in that round (integer remainder burned).
* **No model selected** (``on_no_selection``): the paper is silent; ``"keep_owners"``
  lets the round's owners stay owners, ``"halt"`` (authors' code) ends the relay.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from derelay.engine.ledger import MAX_COINS
from derelay.engine.run import SocialGraph, read_config_file
from derelay.params import PARAM_INFO, PARAMS, Params, ParamsError, params_from_mapping

PRESETS = ("paper_text", "authors_code")


class SimConfigError(ValueError):
    """Bad simulation configuration; ``str(exc)`` is a complete user-facing message."""


class SimConfig(BaseModel):
    """Everything one ABM run needs besides the number of rounds and the seed."""

    #: strict (issue 21): no "1" for a number, no true for an integer, no NaN/inf, no
    #: unknown keys; ints are accepted for float fields
    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, strict=True, allow_inf_nan=False
    )

    name: str = "custom"
    params: Params = Field(default_factory=Params)

    # --- round logic -------------------------------------------------------------------
    mechanism: str = Field(
        "derelayl",
        description="registry name of a mechanism on DeRelayL's round protocol (DeRelayL or a "
        "variant of it); other mechanisms run with derelay.engine.RunConfig",
    )
    matching: Literal["algorithm1", "sec4_text", "authors"] = "algorithm1"
    deposit_price: Literal["second", "first"] = "second"
    citation: Literal["every_ancestor", "discounted"] = "every_ancestor"
    citation_beta: float | None = Field(
        None, gt=0.0, le=1.0, description="beta of the discounted schedule (None: params.beta)"
    )
    genesis_bonus: bool = False
    performance: Literal["cumulative", "version"] = "version"
    perf_mu: float = Field(1.0, description="mean honest gain per training (in (c))")
    perf_sigma: float = Field(0.0, ge=0.0, description="std of the honest gain")
    lazy_mu: float = Field(0.0, description="mean gain of a Not-Training (lazy) trainer")
    lazy_sigma: float = Field(0.01, ge=0.0, description="std of a lazy trainer's white noise")
    eval_sigma: float = Field(0.1, ge=0.0, description="test-set noise of measured performance")
    failed_keeps_received: bool = True
    ebm_receives: Literal["best", "all", "none"] = "best"
    bid_counts_ebm_copies: bool = True
    forfeit: Literal["burn", "redistribute"] = "burn"
    on_no_selection: Literal["keep_owners", "halt"] = "keep_owners"
    initial_coins: float = Field(
        0.0,
        ge=0.0,
        le=MAX_COINS,
        description="coins every participant starts with (at most the ledger's limit per "
        "account, 9,223,372,036 coins = 2^63-1 nano-coins)",
    )
    genesis_owner: int = Field(0, ge=0)
    genesis_normal: bool = Field(
        True, description="the genesis initiator plays Normal as model owner"
    )

    # --- components --------------------------------------------------------------------
    chain: Literal["draw", "simulated"] = "draw"
    chain_config: dict[str, Any] = Field(default_factory=dict)
    chain_contents: Literal["real", "synthetic"] = Field(
        "real",
        description="simulated chain: blocks carry the round's real contracts, model hashes, "
        "test commitment and ranking ('real'), or the chain part's small synthetic workload "
        "('synthetic': for very large populations, whose DBs would hold tens of thousands of "
        "contracts per round)",
    )
    learning: Literal["abstract", "torch"] = "abstract"
    learning_config: dict[str, Any] = Field(default_factory=dict)
    data_stream: Literal["learn", "shared"] = Field(
        "learn",
        description="where the learning data and noise come from: DeRelayL's own 'learn' "
        "stream ('learn': its historical runs, the golden files) or the engine's shared "
        "'data' stream, the same for every mechanism run with the same seed ('shared': "
        "derelay compare's common random numbers, docs/ENGINE.md sec. 6)",
    )

    # --- strategies and dynamics ---------------------------------------------------------
    types: dict[str, float] = Field(
        default_factory=dict,
        description="share of agents per deviation family (persistent types, the rest "
        "honest), e.g. {'lazy': 0.1}: each plays its family's strategy in whatever role it "
        "holds (T: NTr; MO: NTm for 'withhold', ...); the alternative to strategies",
    )
    coalitions: int = Field(0, ge=0, description="number of coalitions among typed agents")
    coalition_members: Literal["deviants", "all"] = "deviants"
    strategies: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="initial share of each strategy per role, e.g. {'T': {'N': 0.9, 'NTr': 0.1}}",
    )
    adaptation: Literal["fixed", "imitation", "best_response", "replicator"] = "fixed"
    adaptation_every: int = Field(1, ge=1)
    adaptation_rate: float = Field(0.1, ge=0.0, le=1.0, description="share revising per step")
    adaptation_noise: float = Field(
        0.1, gt=0.0, description="logit temperature (best response) / imitation noise"
    )
    mutation: float = Field(0.0, ge=0.0, le=1.0, description="replicator mutation rate")
    best_response_state: Literal["params", "own"] = Field(
        "params",
        description="best response on Table II at the run's parameters, or (T, MO) at each "
        "agent's own version gap and affordable deposit",
    )
    social_graph: SocialGraph = Field(default_factory=SocialGraph)
    utility_memory: float = Field(
        0.1, gt=0.0, le=1.0, description="EWMA weight of the latest realised utility"
    )

    # --- recording -----------------------------------------------------------------------
    record_every: int = Field(1, ge=1, description="agents.parquet: every k-th round")
    record_sample: int | None = Field(
        None,
        ge=1,
        description="agents.parquet: sampled agents (None: all, but 1,000 sampled once there "
        "are more than 20,000 participants: derelay.engine.record.AUTO_SAMPLE)",
    )
    mesa_agents: bool = Field(True, description="create one Mesa agent per participant")
    check_invariants: bool = Field(False, description="assert ledger conservation every round")
    datacollector: bool = Field(
        False,
        description="also feed a mesa.DataCollector (model and agent reporters) on recorded "
        "rounds; the parquet tables do not depend on it",
    )
    keep_lineage: bool = Field(False, description="keep every model node (lineage.parquet)")
    flows: Literal["auto", "full", "aggregate", "off"] = Field(
        "auto",
        description="flows.parquet detail: one row per ledger entry ('full'), per operation "
        "('aggregate'), none ('off'); 'auto': full up to 20,000 participants",
    )

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, v: Any) -> Any:
        if isinstance(v, Params):
            return v
        if isinstance(v, Mapping):
            return params_from_mapping(v)
        return v

    @model_validator(mode="after")
    def _cross(self):
        from .behaviour import known_strategies

        p = self.params
        for info in PARAMS:  # the ledger holds integer nano-coins (int64 per account)
            value = getattr(p, info.name)
            if info.unit == "coin" and value > MAX_COINS:
                raise ValueError(
                    f"parameter 'params.{info.name}' = {value!r} cannot be represented in the "
                    f"simulation's ledger: allowed {info.name} <= {MAX_COINS:,} coins (2^63-1 "
                    "nano-coins per account)"
                )
        if self.genesis_owner >= p.n_participants:
            raise ValueError(
                f"genesis_owner = {self.genesis_owner} is out of range: allowed "
                f"0 <= genesis_owner < n_participants = {p.n_participants}"
            )
        if self.mechanism != "derelayl":
            from derelay.mechanism import get_mechanism

            proto = get_mechanism(self.mechanism).load_protocol()
            if not hasattr(proto, "build_model") or proto.build_model.__func__ is not (
                _derelayl_build_model()
            ):
                raise ValueError(
                    f"mechanism = {self.mechanism!r} has its own round protocol; SimConfig is "
                    "DeRelayL's configuration: run it with derelay.engine.RunConfig(mechanism="
                    f"{self.mechanism!r}) or `derelay run --mechanism {self.mechanism}`"
                )
        from derelay.engine.run import check_types

        check_types(self.types, self.strategies)
        known = known_strategies(self.mechanism)
        for role, shares in self.strategies.items():
            if role not in known:
                raise ValueError(f"strategies: unknown role {role!r}; roles are {sorted(known)}")
            total = 0.0
            for abbr, share in shares.items():
                if abbr not in known[role]:
                    raise ValueError(
                        f"strategies.{role}: unknown strategy {abbr!r}; allowed {list(known[role])}"
                    )
                if not (0.0 <= float(share) <= 1.0):
                    raise ValueError(
                        f"strategies.{role}.{abbr} = {share!r} is out of range: allowed 0 <= share <= 1"
                    )
                total += float(share)
            if abs(total - 1.0) > 1e-9:
                raise ValueError(f"strategies.{role}: shares must sum to 1 (they sum to {total:g})")
        if self.chain == "simulated":
            if (
                self.chain_contents == "real"
                and self.learning == "abstract"
                and round(self.params.q_cases) < 1
            ):
                # the TB carries the test cases; a TB without any is improper (IT)
                raise ValueError(
                    f"params.q_cases = {self.params.q_cases!r} is out of range for "
                    "chain = 'simulated': allowed q_cases >= 1 (a TB without test cases "
                    "is improper, IT)"
                )
            from derelay.chain import ChainConfig, config_error_message

            try:
                ChainConfig(**self.chain_config)
            except ValidationError as exc:
                raise ValueError(f"chain_config.{config_error_message(exc)}") from None
            except ValueError as exc:
                raise ValueError(f"chain_config: {_first_line(exc)}") from None
        if self.learning == "torch" and self.learning_config:
            from derelay.learning import learning_config

            try:
                learning_config(**self.learning_config)
            except (ValueError, TypeError) as exc:  # LearningConfigError is a ValueError
                raise ValueError(f"learning_config: {_first_line(exc)}") from None
        return self

    # ---------------------------------------------------------------------------------
    @property
    def beta_citation(self) -> float:
        return float(self.citation_beta if self.citation_beta is not None else self.params.beta)

    def shares(self, role: str) -> dict[str, float]:
        """Initial shares of ``role`` (Normal only when not configured)."""
        return dict(self.strategies.get(role, {"N": 1.0}))

    def resolved(self) -> dict[str, Any]:
        """The full resolved configuration as plain JSON-able data."""
        return self.model_dump(mode="json")

    # --- constructors ----------------------------------------------------------------
    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str | None = None) -> SimConfig:
        data = dict(data)
        where = f" in {source}" if source else ""
        unknown = [k for k in data if k not in cls.model_fields]
        if unknown:
            k = unknown[0]
            close = difflib.get_close_matches(k, list(cls.model_fields), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            if k in PARAM_INFO:
                hint = f" (mechanism parameters go under [params]: params.{k})"
            raise SimConfigError(f"unknown configuration key '{k}'{where}{hint}")
        try:
            return cls(**data)
        except ParamsError as exc:
            raise SimConfigError(str(exc)) from None
        except ValidationError as exc:
            raise SimConfigError(_format_validation(exc, data, where)) from None
        except ValueError as exc:
            raise SimConfigError(f"invalid configuration{where}: {exc}") from None

    @classmethod
    def load(cls, path: str | Path) -> SimConfig:
        """Load a TOML or JSON configuration file (may name a ``preset`` to start from)."""
        path = Path(path)
        if not path.exists():
            raise SimConfigError(f"configuration file not found: {path}")
        data = read_config_file(path, SimConfigError)
        preset = data.pop("preset", None)
        if preset is not None:
            base = cls.from_preset(str(preset)).model_dump()
            data = _merge(base, data)
        return cls.from_mapping(data, source=str(path))

    @classmethod
    def from_preset(cls, name: str) -> SimConfig:
        """One of the shipped presets: ``paper_text`` or ``authors_code``."""
        if name not in PRESETS:
            raise SimConfigError(f"unknown preset {name!r}; allowed {list(PRESETS)}")
        path = Path(__file__).resolve().parents[3] / "experiments" / f"{name}.toml"
        if not path.is_file():  # installed elsewhere: use package data
            from importlib.resources import files

            path = Path(str(files("experiments") / f"{name}.toml"))
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        data.pop("preset", None)
        return cls.from_mapping(data, source=f"preset {name}")

    @staticmethod
    def population_params(
        participants: int | None = None, miners: int | None = None
    ) -> dict[str, int]:
        """The ``params`` that set the population and the number of miners (``None``:
        left as they are), e.g. from ``derelay run --participants/--miners``."""
        given = {"n_participants": participants, "n_miners": miners}
        return {k: int(v) for k, v in given.items() if v is not None}

    def with_updates(self, **changes: Any) -> SimConfig:
        """A copy with some fields (or ``params`` keys via a dict) changed, re-validated."""
        data = self.model_dump()
        data = _merge(data, changes)
        return type(self).from_mapping(data)


def _derelayl_build_model():
    from .protocol import DeRelayLProtocol

    return DeRelayLProtocol.build_model.__func__


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return " ".join(t.strip() for t in text[:3]) if text else type(exc).__name__


def _merge(base: dict, over: Mapping) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict) and k != "strategies":
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _format_validation(exc: ValidationError, data: Mapping, where: str) -> str:
    """Every problem as one line naming the key, its value and what is allowed (the
    :mod:`derelay.strict` format; model-level checks keep their own message)."""
    from derelay.strict import format_errors

    lines = []
    for err, line in zip(exc.errors(), format_errors(SimConfig, exc, data), strict=True):
        loc = ".".join(str(x) for x in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if not loc:
            lines.append(f"invalid configuration{where}: {msg}")
        elif err.get("type") == "value_error":
            lines.append(f"invalid '{loc}'{where}: {msg}")
        else:
            lines.append(f"{line}{where}")
    return (
        lines[0]
        if len(lines) == 1
        else "invalid configuration:\n" + "\n".join(f"  - {x}" for x in lines)
    )
