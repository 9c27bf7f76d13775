"""``RunConfig``, ``run_simulation`` and ``RunResult``: one run of any mechanism.

::

    from derelay.engine import RunConfig, run_simulation
    cfg = RunConfig(mechanism="toy", params={"reward": 3.0}, types={"lazy": 0.2})
    res = run_simulation(cfg, rounds=20, seed=0)
    res.write("out/")   # rounds, agents, utilities, flows .parquet (+ the protocol's), run.json

``RunConfig`` holds the engine's settings; ``params`` are validated by the mechanism's
parameter space and ``options`` by its protocol's ``Options`` model.  A protocol may
supply ``build_model(cfg, seed, **kw)`` to build its model from a RunConfig itself
(DeRelayL maps it onto its historical ``SimConfig``).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .ledger import MAX_COINS

if TYPE_CHECKING:
    import pandas as pd

#: strict configuration models: no "1" for a number, no true for an integer, no NaN/inf,
#: no unknown keys (ints are still accepted for float fields)
STRICT_CONFIG = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class SocialGraph(BaseModel):
    """The networkx social graph used by imitation dynamics."""

    model_config = STRICT_CONFIG
    kind: Literal["watts_strogatz", "erdos_renyi", "barabasi_albert", "complete"] = "watts_strogatz"
    k: int = Field(8, ge=1, description="neighbours (watts_strogatz) or edges per node (BA)")
    p: float = Field(0.1, ge=0.0, le=1.0, description="rewiring / edge probability")


def check_types(types: dict, strategies: dict) -> None:
    """Persistent agent types: known families, shares in [0, 1] summing to at most 1, and
    not together with per-role ``strategies`` (RunConfig and DeRelayL's SimConfig)."""
    from derelay.mechanism import FAMILIES

    total = 0.0
    for fam, share in types.items():
        if fam not in FAMILIES:
            raise ValueError(f"types: unknown family {fam!r}; families are {list(FAMILIES)}")
        if not (0.0 <= float(share) <= 1.0):
            raise ValueError(f"types.{fam} = {share!r} is out of range: allowed 0 <= share <= 1")
        total += float(share) if fam != "honest" else 0.0
    if total > 1.0 + 1e-9:
        raise ValueError(f"types: deviant shares sum to {total:g}; allowed sum <= 1")
    if types and strategies:
        raise ValueError("give either types or strategies, not both")


class RunConfig(BaseModel):
    """Engine settings of one run of any mechanism (strict: see :data:`STRICT_CONFIG`)."""

    model_config = STRICT_CONFIG

    mechanism: str = "derelayl"
    name: str = "custom"
    params: dict[str, Any] = Field(default_factory=dict, description="the mechanism's space")
    options: dict[str, Any] = Field(default_factory=dict, description="the protocol's Options")
    # --- population -------------------------------------------------------------------
    types: dict[str, float] = Field(
        default_factory=dict,
        description="share of agents per deviation family (the rest honest), e.g. "
        "{'lazy': 0.1}; each agent plays its family's strategy in whatever role it holds",
    )
    strategies: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="alternatively: initial share of each strategy per role",
    )
    coalitions: int = Field(0, ge=0, description="number of coalitions (ids 0..k-1)")
    coalition_members: Literal["deviants", "all"] = "deviants"
    initial_coins: float = Field(
        0.0,
        ge=0.0,
        le=MAX_COINS,
        description="coins every participant starts with (at most the ledger's limit per "
        "account, 9,223,372,036 coins = 2^63-1 nano-coins)",
    )
    # --- dynamics -----------------------------------------------------------------------
    adaptation: Literal["fixed", "imitation", "best_response", "replicator"] = "fixed"
    adaptation_every: int = Field(1, ge=1)
    adaptation_rate: float = Field(0.1, ge=0.0, le=1.0)
    adaptation_noise: float = Field(0.1, gt=0.0)
    mutation: float = Field(0.0, ge=0.0, le=1.0)
    best_response_state: Literal["params", "own"] = "params"
    social_graph: SocialGraph = Field(default_factory=SocialGraph)
    utility_memory: float = Field(0.1, gt=0.0, le=1.0)
    # --- recording ------------------------------------------------------------------------
    record_every: int = Field(1, ge=1)
    record_sample: int | None = Field(None, ge=1)
    flows: Literal["auto", "full", "aggregate", "off"] = Field(
        "auto", description="flows.parquet detail (auto: full up to 20,000 participants)"
    )
    mesa_agents: bool = True

    @model_validator(mode="after")
    def _check_shares(self):
        check_types(self.types, self.strategies)
        return self

    def validate_for(self, mechanism) -> None:
        """Mechanism-dependent checks (roles and strategies named in ``strategies``)."""
        known = {r.abbr: [s.abbr for s in r.strategies] for r in mechanism.roles}
        for role, shares in self.strategies.items():
            if role not in known:
                raise ValueError(f"strategies: unknown role {role!r}; roles are {sorted(known)}")
            total = 0.0
            for abbr, share in shares.items():
                if abbr not in known[role]:
                    raise ValueError(
                        f"strategies.{role}: unknown strategy {abbr!r}; allowed {known[role]}"
                    )
                if not (0.0 <= float(share) <= 1.0):
                    raise ValueError(
                        f"strategies.{role}.{abbr} = {share!r} is out of range: "
                        "allowed 0 <= share <= 1"
                    )
                total += float(share)
            if abs(total - 1.0) > 1e-9:
                raise ValueError(f"strategies.{role}: shares must sum to 1 (they sum to {total:g})")


class RunConfigError(ValueError):
    """A bad run configuration; ``str(exc)`` is one complete user-facing line."""


def validation_line(model, exc, data, where: str = "") -> str:
    """The first problem of a pydantic ``exc`` as one line naming the key, its value and
    what is allowed (the :mod:`derelay.strict` format); a model-level check's message
    as it is."""
    from derelay.strict import format_errors

    err = exc.errors()[0]
    if not err.get("loc"):
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        return f"invalid configuration{where}: {msg.splitlines()[0] if msg else msg}"
    line = format_errors(model, exc, data)[0]
    if err.get("type") == "value_error" and where:
        return f"{line} ({where.strip()})"
    return f"{line}{where}" if where else line


def read_config_file(path, error=None) -> dict[str, Any]:
    """A configuration table from a TOML or JSON file: a regular, size-limited UTF-8 file
    (:func:`derelay.space.read_table_file`), duplicate JSON keys refused, deep nesting and
    huge integer literals refused; problems raise ``error`` (default
    :class:`RunConfigError`) with one line."""
    import tomllib

    from derelay.params import ParamsError
    from derelay.space import read_table_file

    error = error or RunConfigError
    try:
        text, fmt, source = read_table_file(path)
    except ParamsError as exc:
        raise error(str(exc).replace("invalid parameters in", "cannot read")) from None
    suffix = Path(path).suffix.lower()
    fmt = "json" if suffix == ".json" else "toml" if suffix == ".toml" else fmt

    def no_duplicates(pairs):
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                raise error(f"cannot parse {source}: duplicate key '{k}' in JSON")
            out[k] = v
        return out

    try:
        if fmt == "json":
            data = json.loads(text, object_pairs_hook=no_duplicates)
        else:
            data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise error(f"cannot parse {source}: {str(exc).splitlines()[0]}") from None
    except (RecursionError, ValueError) as exc:  # deep nesting, huge integer literals
        if isinstance(exc, error):
            raise
        raise error(
            f"cannot parse {source}: unreadable {fmt.upper()} ({type(exc).__name__})"
        ) from None
    if not isinstance(data, dict):
        raise error(f"{source}: the configuration must be a table/object")
    return data


def run_config(data: dict[str, Any], source: str | None = None) -> RunConfig:
    """A validated RunConfig (mechanism-dependent checks included) or one clear line."""
    from pydantic import ValidationError

    from derelay.mechanism import get_mechanism
    from derelay.params import ParamsError

    where = f" in {source}" if source else ""
    if not isinstance(data, dict):
        raise RunConfigError(f"invalid configuration{where}: expected a table")
    try:
        cfg = RunConfig(**data)
    except ValidationError as exc:
        raise RunConfigError(validation_line(RunConfig, exc, data, where)) from None
    try:
        mech = get_mechanism(cfg.mechanism)
        proto = mech.load_protocol()
        if not hasattr(proto, "build_model"):
            cfg.validate_for(mech)
            population_limit(mech.space.validate(cfg.params, source=source), source)
            protocol_options(proto, cfg, mech.name)
    except ParamsError as exc:
        raise RunConfigError(str(exc)) from None
    except KeyError as exc:
        raise RunConfigError(f"'mechanism'{where}: {exc}") from None
    except ValueError as exc:
        raise RunConfigError(f"invalid configuration{where}: {exc}") from None
    return cfg


def load_run_config(path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """A RunConfig from a TOML or JSON file (keys of :class:`RunConfig`) plus overrides."""
    data = read_config_file(path)
    for k, v in (overrides or {}).items():
        if isinstance(v, dict):
            data[k] = {**dict(data.get(k) or {}), **v}
        else:
            data[k] = v
    return run_config(data, source=str(path))


def protocol_options(proto, cfg: RunConfig, name: str):
    """The protocol's ``Options`` from ``cfg.options``, validated strictly
    (:func:`derelay.strict.validate`): :class:`RunConfigError` with one line per problem
    naming ``options.<key>``, its value and what is allowed."""
    if proto.Options is None:
        if cfg.options:
            raise RunConfigError(f"mechanism {name} takes no options (got {sorted(cfg.options)})")
        return None
    from derelay.strict import ConfigError, validate

    try:
        return validate(proto.Options, cfg.options)
    except ConfigError as exc:
        raise RunConfigError(
            "; ".join(
                p.replace("parameter '", "parameter 'options.", 1).replace(
                    "unknown key '", "unknown key 'options.", 1
                )
                for p in exc.problems
            )
        ) from None


def population_limit(point, source: str | None = None) -> None:
    """Refuse, before anything is allocated, a population beyond
    :data:`derelay.params.MAX_PARTICIPANTS` (any mechanism's ``n_participants``)."""
    from derelay.params import MAX_PARTICIPANTS, ParamsError

    n = point.get("n_participants") if hasattr(point, "get") else None
    if n is not None and n > MAX_PARTICIPANTS:
        raise ParamsError(
            [
                f"parameter 'n_participants' = {n!r} is out of range: allowed "
                f"n_participants <= {MAX_PARTICIPANTS} (the largest population the "
                "simulation allocates)"
            ],
            source,
        )


def build_model(cfg: RunConfig, seed: int = 0, **kwargs):
    """The model of ``cfg``'s mechanism (its protocol's ``build_model`` if it has one)."""
    from derelay.mechanism import get_mechanism

    from .model import MechanismModel

    mech = get_mechanism(cfg.mechanism)
    proto = mech.load_protocol()
    if hasattr(proto, "build_model"):
        return proto.build_model(cfg, seed=seed, **kwargs)
    cfg.validate_for(mech)
    point = mech.space.validate(cfg.params, source="params")
    population_limit(point, "params")
    p = mech.space.values(point)
    options = protocol_options(proto, cfg, mech.name)
    return MechanismModel(cfg, mech, proto, p, options, seed=seed, point=point, **kwargs)


def _empty_frame() -> pd.DataFrame:
    import pandas as pd  # only when tables are made: configuring a run needs no pandas

    return pd.DataFrame()


@dataclass
class RunResult:
    """Tables of one run.

    ``rounds``: one row per round; ``agents``: one row per participant per recorded
    round; ``utilities``: realised utility sums per round and (role, strategy);
    ``lineage``, ``blocks``: DeRelayL's extra tables; ``flows``: every ledger flow;
    ``tables``: a protocol's other tables; ``meta``: resolved configuration, seed,
    package version, ledger totals and timings.
    """

    rounds: pd.DataFrame
    agents: pd.DataFrame
    meta: dict[str, Any]
    utilities: pd.DataFrame = field(default_factory=_empty_frame)
    lineage: pd.DataFrame | None = None
    blocks: pd.DataFrame = field(default_factory=_empty_frame)
    model: Any = field(default=None, repr=False, compare=False)
    flows: pd.DataFrame | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __getstate__(self) -> dict:  # the live model stays out of pickles (dask sweeps)
        state = dict(self.__dict__)
        state["model"] = None
        return state

    def write(self, out_dir: str | Path) -> Path:
        """Write rounds, agents, utilities, flows (and lineage, blocks, the protocol's
        tables) as Parquet plus run.json; temporary names are renamed at the end, so a
        failure leaves nothing half-written."""
        from .jsonable import to_jsonable

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files = {
            "rounds.parquet": self.rounds,
            "agents.parquet": self.agents,
            "utilities.parquet": self.utilities,
        }
        if self.lineage is not None:
            files["lineage.parquet"] = self.lineage
        if self.blocks is not None and len(self.blocks):
            files["blocks.parquet"] = self.blocks
        if self.flows is not None:
            files["flows.parquet"] = self.flows
        for name, df in self.tables.items():
            files[f"{name}.parquet"] = df
        tmp_paths = []
        try:
            for name, df in files.items():
                fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=out)
                os.close(fd)
                df.to_parquet(tmp, index=False, engine="pyarrow", compression="zstd")
                tmp_paths.append((tmp, out / name))
            fd, tmp = tempfile.mkstemp(prefix=".run.json.", dir=out)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(to_jsonable(self.meta), fh, indent=2, sort_keys=True, default=str)
                fh.write("\n")
            tmp_paths.append((tmp, out / "run.json"))
        except BaseException:
            for tmp, _ in tmp_paths:
                Path(tmp).unlink(missing_ok=True)
            raise
        for tmp, final in tmp_paths:
            os.chmod(tmp, 0o644)  # mkstemp creates 0600 files
            os.replace(tmp, final)
        return out


def collect(model, cfg_dump: dict, rounds: int, seed: int, timings: dict) -> RunResult:
    """The RunResult of a finished model (generic part; protocols add ``meta``/tables)."""
    from derelay import __version__

    rec, lg = model.recorder, model.ledger
    t2 = time.perf_counter()
    rounds_df = rec.rounds_frame()
    agents_df = rec.agents_frame()
    util_df = rec.utilities_frame()
    flows_df = lg.flows_frame()
    t3 = time.perf_counter()
    meta = {
        "config": cfg_dump,
        "mechanism": model.mechanism.name,
        "seed": int(seed),
        "rounds": int(rounds),
        "package": "derelay",
        "version": __version__,
        "ledger": lg.totals(),
        "accounts": {str(k): v for k, v in lg.account_names().items()},
        "flows": lg.flow_mode,
        "agents_recorded": None if rec.sample is None else int(len(rec.sample)),
        "timings": {**timings, "tables_s": t3 - t2},
    }
    meta.update(model.protocol.meta())
    tables = dict(model.protocol.tables())
    lineage = tables.pop("lineage", None)
    blocks = tables.pop("blocks") if "blocks" in tables else _empty_frame()
    return RunResult(rounds_df, agents_df, meta, util_df, lineage, blocks, model, flows_df, tables)


def run_simulation(
    cfg: RunConfig, rounds: int = 100, seed: int = 0, progress: bool = False, **kwargs
) -> RunResult:
    """Run ``rounds`` rounds of ``cfg`` with ``seed`` (same inputs, same tables)."""
    rounds = int(rounds)
    if rounds < 1:
        raise ValueError(f"rounds = {rounds} is out of range: allowed rounds >= 1")
    t0 = time.perf_counter()
    model = build_model(cfg, seed=seed, **kwargs)
    t1 = time.perf_counter()
    model.run(rounds, progress=progress)
    t2 = time.perf_counter()
    timings = {"setup_s": t1 - t0, "rounds_s": t2 - t1, "per_round_ms": 1000 * (t2 - t1) / rounds}
    return collect(model, cfg.model_dump(mode="json"), rounds, seed, timings)
