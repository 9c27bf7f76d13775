"""Declarative experiment specs (TOML): base config, sweep, replications, seed, outputs.

A spec file looks like::

    name = "smoke"
    kind = "dynamics"          # a key of experiments.runner.RUN_KINDS
    mechanism = "derelayl"     # optional: any registered mechanism (`derelay mechanisms`);
                               # bare axis names are then that mechanism's parameters
    replications = 2
    seed = 20250101            # root of numpy.random.SeedSequence
    seeding = "per_run"        # or "common": replication r uses the same seed at every point

    [base]                     # the run's config dict (kind specific)
    rounds = 50
    [base.params]              # DeRelayL parameters (derelay.params.Params keys)
    beta = 0.9

    [sweep]
    mode = "grid"              # grid (Cartesian) | oat (one at a time) | points
    [sweep.axes]
    beta = [0.3, 0.9]          # a bare Params key means base.params.<key>
    "learning.lr" = [0.1]      # a dotted path sets a nested config key
    # mode = "points": [[sweep.points]] tables, each a point {axis = value, ...}

    [outputs]
    tables = ["rounds"]        # tables of the run kind to keep (empty: all)
    metrics = []               # metric columns to keep (empty: all)
    every = 1                  # keep every k-th round (the last round is always kept)

    [sensitivity]              # optional, used by `derelay sensitivity`
    method = "morris"          # morris | sobol
    samples = 16               # Morris trajectories / Sobol base samples N
    outputs = ["share_N_T"]    # final-round metrics to analyse
    [sensitivity.ranges]
    beta = [0.05, 0.95]

Every run is one (point, replication) pair; ``run_id = point * replications +
replication``.  Its seed is ``SeedSequence(seed).spawn(n_runs)[run_id]`` (or
``spawn(replications)[replication]`` with ``seeding = "common"``: common random
numbers across points, which reduces the variance of between-point comparisons), so a
run's result never depends on the number of workers or the order runs finish in.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from derelay.params import PARAM_INFO, ParamsError, params_from_mapping

#: A sweep planning more runs than this is refused unless forced (``derelay sweep --force``):
#: a typo in an axis can otherwise plan work for years and memory for the plan itself.
MAX_RUNS = 100_000
#: What a spec ``name`` may be: one plain path component (it names ``runs/<name>``).
NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")


class SpecError(ValueError):
    """A bad experiment spec; ``str(exc)`` is a complete user-facing message."""


class SweepSection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["grid", "oat", "points"] = "grid"
    axes: dict[str, list[Any]] = Field(default_factory=dict)
    points: list[dict[str, Any]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_type_per_axis(self):
        """Mixed integers and floats on one axis become floats (one Parquet column type)."""

        def mixed(values) -> bool:
            nums = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            return any(isinstance(v, float) for v in nums) and any(isinstance(v, int) for v in nums)

        def fix(v):
            return float(v) if isinstance(v, int) and not isinstance(v, bool) else v

        for k, vals in self.axes.items():
            if mixed(vals):
                self.axes[k] = [fix(v) for v in vals]
        keys = {k for pt in self.points for k in pt}
        for k in keys:
            if mixed([pt[k] for pt in self.points if k in pt]):
                for pt in self.points:
                    if k in pt:
                        pt[k] = fix(pt[k])
        return self


class OutputsSection(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    tables: list[str] = Field(default_factory=list)
    metrics: list[str] = Field(default_factory=list)
    every: int = Field(1, ge=1)


class SensitivitySection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: Literal["morris", "sobol"] = "morris"
    samples: int = Field(16, ge=2, le=100_000, strict=True)
    num_levels: int = Field(4, ge=2, le=64, strict=True)
    outputs: list[str] = Field(default_factory=list)
    ranges: dict[str, tuple[float, float]] = Field(default_factory=dict)
    #: which round's value is analysed: "final" or "mean" (over all kept rounds)
    statistic: Literal["final", "mean"] = "final"
    second_order: bool = False

    @field_validator("ranges")
    @classmethod
    def _ordered(cls, v):
        for k, (lo, hi) in v.items():
            if not lo < hi:
                raise ValueError(f"range of '{k}' must have lower < upper, got [{lo}, {hi}]")
        return v


class Spec(BaseModel):
    """A validated experiment spec (see the module docstring for the format)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field("experiment", strict=True)
    description: str = Field("", strict=True)
    kind: str = Field(strict=True)
    mechanism: str = Field("derelayl", strict=True)
    replications: int = Field(1, ge=1, le=1_000_000, strict=True)
    seed: int = Field(0, ge=0, strict=True)
    seeding: Literal["per_run", "common"] = "per_run"
    base: dict[str, Any] = Field(default_factory=dict)
    sweep: SweepSection = Field(default_factory=SweepSection)
    outputs: OutputsSection = Field(default_factory=OutputsSection)
    sensitivity: SensitivitySection | None = None

    @field_validator("name")
    @classmethod
    def _confined_name(cls, v: str) -> str:
        """The name becomes the default output directory runs/<name>: one plain path part."""
        if not NAME_RE.fullmatch(v) or v in (".", ".."):
            raise ValueError(
                "must be one plain name (letters, digits, '.', '_', '-'; no '/', no '..', "
                "at most 100 characters), it names the output directory runs/<name>"
            )
        return v

    def n_runs(self) -> int:
        """The number of runs, computed without expanding the points."""
        return count_points(self.sweep) * self.replications

    # -- derived --------------------------------------------------------------------
    def digest(self) -> str:
        """Hash of everything that determines the runs (used to guard --resume)."""
        d = self.model_dump(mode="json", exclude={"description", "sensitivity", "name"})
        if d.get("mechanism") == "derelayl":  # digests of specs without the key are unchanged
            d.pop("mechanism")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]

    def points(self) -> list[dict[str, Any]]:
        return expand_points(self.sweep)

    def axis_names(self) -> list[str]:
        names: list[str] = list(self.sweep.axes)
        for pt in self.sweep.points:
            for k in pt:
                if k not in names:
                    names.append(k)
        return names

    def config_at(self, pt: Mapping[str, Any]) -> dict[str, Any]:
        """The run config at sweep point ``pt`` (``mechanism`` added unless DeRelayL)."""
        cfg = apply_point(self.base, pt, self.mechanism)
        if self.mechanism != "derelayl":
            cfg.setdefault("mechanism", self.mechanism)
        return cfg

    def runs(self) -> list[RunSpec]:
        pts = self.points()
        n = len(pts) * self.replications
        if self.seeding == "per_run":
            children = np.random.SeedSequence(self.seed).spawn(n)
        else:
            children = np.random.SeedSequence(self.seed).spawn(self.replications)
        out = []
        for i, pt in enumerate(pts):
            for r in range(self.replications):
                rid = i * self.replications + r
                ss = children[rid] if self.seeding == "per_run" else children[r]
                seed = int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
                out.append(
                    RunSpec(
                        run_id=rid,
                        point=i,
                        replication=r,
                        seed=seed,
                        values=dict(pt),
                        config=self.config_at(pt),
                    )
                )
        return out


@dataclass
class RunSpec:
    """One run: its id, sweep point, replication, seed and full config dict."""

    run_id: int
    point: int
    replication: int
    seed: int
    values: dict[str, Any]
    config: dict[str, Any] = field(repr=False)

    def as_record(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "point": self.point,
            "replication": self.replication,
            "seed": self.seed,
            "values": self.values,
            "config": self.config,
        }


def _param_keys(mechanism: str) -> Any:
    if mechanism == "derelayl":
        return PARAM_INFO
    from derelay.mechanism import get_mechanism

    return get_mechanism(mechanism).space.info


def config_path(name: str, mechanism: str = "derelayl") -> tuple[str, ...]:
    """Where an axis name lands in the config dict: bare parameter names of the
    mechanism's space go under params."""
    if "." in name:
        return tuple(name.split("."))
    if name in _param_keys(mechanism):
        return ("params", name)
    return (name,)


def apply_point(
    base: Mapping[str, Any], point: Mapping[str, Any], mechanism: str = "derelayl"
) -> dict[str, Any]:
    cfg = copy.deepcopy(dict(base))
    for name, value in point.items():
        path = config_path(name, mechanism)
        node = cfg
        for key in path[:-1]:
            nxt = node.get(key)
            if not isinstance(nxt, dict):
                nxt = {}
                node[key] = nxt
            node = nxt
        node[path[-1]] = value
    return cfg


def count_points(sweep: SweepSection) -> int:
    """How many points :func:`expand_points` gives, without expanding them."""
    if sweep.mode == "points":
        return max(1, len(sweep.points))
    if sweep.mode == "grid":
        return math.prod(len(v) for v in sweep.axes.values()) if sweep.axes else 1
    return max(1, sum(len(v) for v in sweep.axes.values()))


def expand_points(sweep: SweepSection) -> list[dict[str, Any]]:
    """The sweep's points, in a deterministic order."""
    if sweep.mode == "points":
        if sweep.axes:
            raise SpecError("sweep.mode = 'points' takes [[sweep.points]], not sweep.axes")
        return [dict(p) for p in sweep.points] or [{}]
    if sweep.points:
        raise SpecError(f"sweep.mode = '{sweep.mode}' takes sweep.axes, not [[sweep.points]]")
    for k, vals in sweep.axes.items():
        if len(vals) == 0:
            raise SpecError(f"sweep axis '{k}' has no values")
    if sweep.mode == "grid":
        names = list(sweep.axes)
        return [
            dict(zip(names, combo, strict=True))
            for combo in itertools.product(*sweep.axes.values())
        ] or [{}]
    # one at a time: every axis value on its own, everything else at the base value
    out: list[dict[str, Any]] = []
    for k, vals in sweep.axes.items():
        for v in vals:
            out.append({k: v})
    return out or [{}]


def _format_validation(exc: ValidationError, source: str) -> str:
    msgs = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ())) or "spec"
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            msg = "unknown key"
        inp = err.get("input")
        shown = "" if isinstance(inp, dict | list) else f" (got {inp!r})"
        msgs.append(f"'{loc}': {msg}{shown}")
    head = f"invalid experiment spec {source}"
    return head + ": " + msgs[0] if len(msgs) == 1 else head + ":\n  - " + "\n  - ".join(msgs)


def spec_from_mapping(data: Mapping[str, Any], source: str = "", force: bool = False) -> Spec:
    """Validate a spec; more than :data:`MAX_RUNS` runs are refused unless ``force``."""
    try:
        spec = Spec.model_validate(dict(data))
    except ValidationError as exc:
        raise SpecError(_format_validation(exc, source)) from None
    n = spec.n_runs()
    if n > MAX_RUNS and not force:
        where = f" {source}" if source else ""
        raise SpecError(
            f"experiment spec{where} plans {n:,} runs ({count_points(spec.sweep):,} points x "
            f"{spec.replications} replications), above the limit of {MAX_RUNS:,} runs; "
            "pass --force to run it anyway"
        )
    validate_spec(spec, source)
    return spec


def load_spec(path: str | Path, force: bool = False) -> Spec:
    """Load and validate a spec; raises :class:`SpecError` with a clear message."""
    from derelay.params import ParamsError
    from derelay.space import parse_table, read_table_file

    path = Path(path)
    try:
        if not path.exists():
            raise SpecError(f"experiment spec {path} not found")
        if path.is_dir():
            raise SpecError(f"experiment spec {path} is a directory, expected a TOML file")
    except OSError as exc:  # a name too long for the file system, ...
        raise SpecError(f"experiment spec {str(path)[:80]}: {exc.strerror or exc}") from None
    try:
        # regular files only (a FIFO or /dev/zero is refused at once), size-limited, UTF-8;
        # huge integer literals and deep nesting are one-line errors
        text, _fmt, source = read_table_file(path)
        data = parse_table(text, "toml", source)
    except ParamsError as exc:
        raise SpecError(str(exc).replace("invalid parameters", "invalid experiment spec", 1)) from None
    return spec_from_mapping(data, str(path), force=force)


def validate_spec(spec: Spec, source: str = "") -> None:
    """Check the kind, every point's parameters, and the kind's own validator."""
    from .registry import KIND_VALIDATORS, builtin_kinds

    RUN_KINDS = builtin_kinds()

    where = f" in {source}" if source else ""
    if spec.kind not in RUN_KINDS:
        raise SpecError(
            f"unknown run kind 'kind' = {spec.kind!r}{where}: available {sorted(RUN_KINDS)}"
        )
    from derelay.mechanism import get_mechanism

    try:
        mech = get_mechanism(spec.mechanism)
    except KeyError as exc:
        raise SpecError(f"'mechanism' = {spec.mechanism!r}{where}: {exc}") from None
    if spec.base.get("mechanism", spec.mechanism) != spec.mechanism:
        raise SpecError(
            f"'base.mechanism' = {spec.base['mechanism']!r} contradicts 'mechanism' = "
            f"{spec.mechanism!r}{where}"
        )
    try:
        points = spec.points()
    except SpecError as exc:
        raise SpecError(f"{exc}{where}") from None
    base_params = spec.base.get("params", {})
    if not isinstance(base_params, Mapping):
        raise SpecError(f"'base.params' must be a table of parameters{where}")
    seen_ok: set[str] = set()
    validator = KIND_VALIDATORS.get(spec.kind)
    for pt in points:
        cfg = spec.config_at(pt)
        key = json.dumps(cfg.get("params", {}), sort_keys=True, default=str)
        if key not in seen_ok:
            try:
                if spec.mechanism == "derelayl":
                    params_from_mapping(cfg.get("params", {}), source=f"sweep point {pt}")
                else:
                    mech.space.validate(cfg.get("params", {}), source=f"sweep point {pt}")
            except ParamsError as exc:
                raise SpecError(f"{exc}{where}") from None
            seen_ok.add(key)
        if validator is not None:
            try:
                validator(cfg)
            except (ValueError, TypeError, KeyError) as exc:
                raise SpecError(
                    f"invalid config for kind '{spec.kind}' at point {pt}{where}: {exc}"
                ) from None
    if spec.sensitivity is not None:
        for k in spec.sensitivity.ranges:
            path = config_path(k, spec.mechanism)
            if path[0] == "params" and path[-1] not in _param_keys(spec.mechanism):
                raise SpecError(f"sensitivity range of unknown parameter '{k}'{where}")
