"""Parameter spaces: what a mechanism's parameters are, and everything derived from that.

A :class:`ParamSpace` is a list of :class:`ParamSpec` (symbol, meaning, paper source,
domain, default and where the default comes from, unit, group, kind, reward lever) plus
cross-parameter constraints.  Validation, JSON/TOML loading, numpy grids, exact
(:class:`~fractions.Fraction`) and symbolic (z3) points, the domain as solver constraints
and the Markdown reference all come from the space, so each mechanism declares its
parameters once.

Every space may inherit :data:`COMMON_SPACE`, the parameters every mechanism shares so that
mechanisms can be compared in one currency: population, currency unit, and the costs of one
training job, one evaluation, one transfer and one mined block, plus the probability that a
training job succeeds.  DeRelayL keeps :class:`derelay.params.Params` as its space
(:data:`DERELAYL_SPACE` is built from the same table), with its own names.

Strictness: NaN and infinities, bools given for numbers, strings given for numbers,
integers too large for a float, non-integers for integer parameters, unknown keys (with a
did-you-mean) and, for JSON files, duplicate keys are all refused with one line naming the
key, the value and the allowed range.
"""

from __future__ import annotations

import difflib
import json
import math
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from derelay.params import (
    NONNEG,
    POPULATION,
    POSITIVE,
    PROB,
    Domain,
    ParamsError,
    ParamValues,
    _fmt,
)

KINDS = ("real", "int", "bool", "choice", "list")
#: Largest grid :meth:`ParamSpace.grid` builds (points); beyond it the grid is refused.
MAX_GRID_POINTS = 20_000_000
#: Largest parameter file read (bytes).
MAX_FILE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a mechanism."""

    name: str
    symbol: str
    meaning: str
    source: str = ""
    domain: Domain = NONNEG
    default: Any = 0.0
    default_source: str = "paper"  # "paper" or "derelay" (the paper gives no value)
    unit: str = "coin"
    group: str = "mechanism"
    kind: str = "real"
    choices: tuple[str, ...] = ()
    lever: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"ParamSpec {self.name}: kind must be one of {KINDS}")
        if self.kind == "choice" and self.default not in self.choices:
            raise ValueError(f"ParamSpec {self.name}: default {self.default!r} not in choices")

    @property
    def numeric(self) -> bool:
        return self.kind in ("real", "int")

    def allowed(self) -> str:
        """The allowed values in words (used in every error message)."""
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        dom = self.domain
        if self.kind == "int" and not dom.integer:
            dom = Domain(dom.lower, dom.lower_strict, dom.upper, dom.upper_strict, True)
        text = dom.describe(self.name if self.kind != "list" else f"each {self.name}[i]")
        return ("a list where " + text) if self.kind == "list" else text

    # -- validation of one value ------------------------------------------------------
    def check(self, value: Any) -> tuple[Any, str | None]:
        """(clean value, None) or (None, problem text)."""
        name = self.name
        if self.kind == "bool":
            if isinstance(value, bool):
                return value, None
            return None, self._wrong(value, "true or false")
        if self.kind == "choice":
            if isinstance(value, str) and value in self.choices:
                return value, None
            if isinstance(value, str):
                close = difflib.get_close_matches(value, list(self.choices), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                return (
                    None,
                    f"parameter '{name}' = {value!r} is not allowed{hint}: allowed {self.allowed()}",
                )
            return None, self._wrong(value, "a string")
        if self.kind == "list":
            if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
                return None, self._wrong(value, "a non-empty list of numbers")
            out = []
            for i, v in enumerate(value):
                x, err = self._number(v, f"{name}[{i}]", integer=False)
                if err:
                    return None, err
                out.append(x)
            return tuple(out), None
        return self._number(value, name, integer=self.kind == "int" or self.domain.integer)

    def _wrong(self, value: Any, expected: str) -> str:
        return (
            f"parameter '{self.name}' = {_short(value)} has the wrong type "
            f"({type(value).__name__}): expected {expected}; allowed {self.allowed()}"
        )

    def _number(self, value: Any, label: str, integer: bool) -> tuple[Any, str | None]:
        if isinstance(value, bool) or not isinstance(value, int | float | Fraction):
            expected = "an integer" if integer else "a number"
            return None, (
                f"parameter '{label}' = {_short(value)} has the wrong type "
                f"({type(value).__name__}): expected {expected}; allowed {self.allowed()}"
            )
        out_of_range = (
            f"parameter '{label}' = {_short(value)} is out of range: allowed {self.allowed()}"
        )
        try:
            f = float(value)
        except OverflowError:
            return None, out_of_range
        if not math.isfinite(f):
            return None, out_of_range
        if integer:
            if isinstance(value, float | Fraction) and f != int(f):
                return None, out_of_range
            value = int(value)
        limit = getattr(self.domain, "limit_problem", None)
        msg = limit(label, value) if limit is not None else None
        if msg:  # the input limits (magnitude, population cap) of derelay.params
            return None, msg
        if not self.domain.contains(f):
            return None, out_of_range
        return (value if integer else f), None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class CrossConstraint:
    """A constraint between parameters, ``holds(p)`` on any backend."""

    name: str  # the parameter an error message names
    description: str
    holds: Callable[[Any], Any] = field(repr=False, compare=False)


class Point(Mapping):
    """A validated point of a space: read-only, attribute and key access."""

    __slots__ = ("_values", "_space")

    def __init__(self, space: ParamSpace, values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_space", space)
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"{self._space.name} has no parameter {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a parameter point is read-only; use space.validate({...})")

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Point({self._space.name}, {self._values!r})"

    @property
    def space(self) -> ParamSpace:
        return self._space

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self._values.items()}

    model_dump = to_dict

    def replace(self, **changes: Any) -> Point:
        """A new validated point with some values changed."""
        return self._space.validate({**self._values, **changes})


class ParamSpace:
    """The declared parameters of one mechanism (see the module docstring)."""

    def __init__(
        self,
        name: str,
        specs: Iterable[ParamSpec],
        constraints: Iterable[CrossConstraint] = (),
        inherits: ParamSpace | None = None,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        own = list(specs)
        inherited: list[ParamSpec] = []
        if inherits is not None:
            names = {s.name for s in own}
            for s in inherits.specs:
                if s.name in names:
                    continue
                changes = dict((overrides or {}).get(s.name, {}))
                inherited.append(_replace(s, **changes) if changes else s)
        all_specs = inherited + own
        seen: set[str] = set()
        for s in all_specs:
            if s.name in seen:
                raise ValueError(f"space {name}: parameter {s.name!r} declared twice")
            seen.add(s.name)
        self.name = name
        self.specs: tuple[ParamSpec, ...] = tuple(all_specs)
        self.info: dict[str, ParamSpec] = {s.name: s for s in self.specs}
        self.constraints: tuple[CrossConstraint, ...] = (
            *(inherits.constraints if inherits is not None else ()),
            *constraints,
        )
        self._defaults: Point | None = None

    # -- description -------------------------------------------------------------------
    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.specs)

    @property
    def numeric_keys(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.specs if s.numeric)

    @property
    def levers(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.specs if s.lever)

    def __contains__(self, key: str) -> bool:
        return key in self.info

    def __repr__(self) -> str:
        return f"ParamSpace({self.name!r}, {len(self.specs)} parameters)"

    def did_you_mean(self, key: str) -> str:
        close = difflib.get_close_matches(str(key), list(self.info), n=1, cutoff=0.6)
        return f" (did you mean '{close[0]}'?)" if close else ""

    # -- validation --------------------------------------------------------------------
    def defaults(self) -> Point:
        if self._defaults is None:
            self._defaults = self.validate({})
        return self._defaults

    def validate(self, data: Mapping[str, Any] | None = None, source: str | None = None) -> Point:
        """A validated :class:`Point`; missing keys take their defaults."""
        data = {} if data is None else data
        if isinstance(data, Point):
            data = data._values
        if not isinstance(data, Mapping):
            raise ParamsError(
                [f"expected a table of parameters, got {type(data).__name__}"], source
            )
        problems: list[str] = []
        clean: dict[str, Any] = {}
        for key, value in data.items():
            spec = self.info.get(key) if isinstance(key, str) else None
            if spec is None:
                problems.append(f"unknown parameter '{key}'{self.did_you_mean(str(key))}")
                continue
            x, err = spec.check(value)
            if err:
                problems.append(err)
            else:
                clean[key] = x
        if problems:
            raise ParamsError(problems, source)
        values = {s.name: clean.get(s.name, s.default) for s in self.specs}
        point = Point(self, values)
        for c in self.constraints:
            try:
                ok = bool(c.holds(point))
            except (ArithmeticError, TypeError, ValueError):
                ok = False
            if not ok:
                problems.append(
                    f"parameter '{c.name}' = {_short(values.get(c.name))} violates {c.description}"
                )
        if problems:
            raise ParamsError(problems, source)
        return point

    def parse(self, text: str, fmt: str, source: str | None = None) -> Point:
        """Parse JSON or TOML text; keys at top level or inside one ``[params]`` table."""
        return self.validate(parse_table(text, fmt, source), source)

    def load(self, path: str | Path) -> Point:
        text, fmt, source = read_table_file(path)
        return self.parse(text, fmt, source)

    # -- backends ------------------------------------------------------------------------
    def values(self, point: Mapping[str, Any] | None = None) -> ParamValues:
        point = self.defaults() if point is None else point
        return ParamValues(**dict(point))

    def exact(self, point: Mapping[str, Any] | None = None) -> ParamValues:
        """The point with every number as an exact :class:`~fractions.Fraction`."""
        point = self.defaults() if point is None else point
        out: dict[str, Any] = {}
        for k, v in dict(point).items():
            spec = self.info.get(k)
            if spec is not None and spec.kind == "list":
                out[k] = tuple(to_fraction(x) for x in v)
            elif spec is not None and spec.numeric:
                out[k] = to_fraction(v)
            else:
                out[k] = v
        return ParamValues(**out)

    def symbolic(
        self,
        keys: Iterable[str] | None = None,
        base: Mapping[str, Any] | None = None,
        ctx: Any = None,
    ) -> ParamValues:
        """z3 Reals for ``keys`` (default: every numeric key); the rest exact from ``base``.

        Integer parameters are Reals too (so ``/`` stays real division);
        :meth:`domain_constraints` adds ``IsInt`` for them.  ``ctx``: a z3 context (a
        fresh one per query keeps verdicts independent of what ran before).
        """
        import z3

        keys = self.numeric_keys if keys is None else tuple(keys)
        vals = dict(vars(self.exact(base)))
        for k in keys:
            if k not in self.info or not self.info[k].numeric:
                raise ParamsError([f"parameter '{k}' cannot be symbolic (not a number)"])
            vals[k] = z3.Real(k, ctx)
        return ParamValues(**vals)

    def domain_constraints(self, p: Any, keys: Iterable[str] | None = None) -> list:
        """Domains (of ``keys``, default all numeric) and cross constraints on any backend."""
        keys = self.numeric_keys if keys is None else tuple(keys)
        out: list = []
        for k in keys:
            spec = self.info[k]
            if spec.numeric:
                x = getattr(p, k)
                out.extend(spec.domain.constraints(x))
                if (spec.kind == "int" or spec.domain.integer) and _is_z3(x):
                    import z3

                    out.append(z3.IsInt(x))
        for c in self.constraints:
            out.append(c.holds(p))
        return out

    def grid(
        self, base: Mapping[str, Any] | None = None, mode: str = "product", **axes: Any
    ) -> ParamValues:
        """Numpy grid over ``axes`` (name -> 1-D values); other keys from ``base``."""
        import numpy as np

        base = self.defaults() if base is None else base
        values = dict(base)
        problems = []
        for k in axes:
            if k not in self.info:
                problems.append(f"unknown parameter '{k}'{self.did_you_mean(k)}")
            elif not self.info[k].numeric:
                problems.append(f"parameter '{k}' cannot be a grid axis (not a number)")
        if problems:
            raise ParamsError(problems)
        arrays = {k: np.asarray(v, dtype=float).ravel() for k, v in axes.items()}
        if mode == "product":
            size = math.prod(len(a) for a in arrays.values()) if arrays else 1
            if size > MAX_GRID_POINTS:
                raise ParamsError(
                    [f"grid of {size:,} points is too large: allowed at most {MAX_GRID_POINTS:,}"]
                )
            mesh = np.meshgrid(*arrays.values(), indexing="ij") if arrays else []
            arrays = {k: m.ravel() for k, m in zip(arrays, mesh, strict=True)}
        elif mode == "zip":
            lengths = {len(a) for a in arrays.values()}
            if len(lengths) > 1:
                raise ParamsError(
                    [f"zip grid needs equally long axes, got lengths {sorted(lengths)}"]
                )
        else:
            raise ParamsError([f"unknown grid mode '{mode}': use product or zip"])
        for k, a in arrays.items():
            spec = self.info[k]
            ok = np.isfinite(a)
            for c in spec.domain.constraints(a):
                ok &= c
            if spec.kind == "int":
                ok &= a == np.round(a)
            if not ok.all():
                problems.append(
                    f"parameter '{k}' has out-of-range grid value {a[~ok][0]!r}: "
                    f"allowed {spec.allowed()}"
                )
        if problems:
            raise ParamsError(problems)
        values.update(arrays)
        return ParamValues(**values)

    # -- documentation -------------------------------------------------------------------
    def reference_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "key": s.name,
                "symbol": s.symbol,
                "meaning": s.meaning,
                "source": s.source,
                "allowed": s.allowed(),
                "default": list(s.default) if isinstance(s.default, tuple) else s.default,
                "default_source": s.default_source,
                "unit": s.unit,
                "group": s.group,
                "kind": s.kind,
                "lever": s.lever,
            }
            for s in self.specs
        ]

    def reference_markdown(self, title: str | None = None) -> str:
        lines = [
            f"# Parameters of `{self.name}`" if title is None else title,
            "",
            "Keys accepted in JSON/TOML parameter files (top level or inside `[params]`).",
            "A default marked (derelay) is ours: the paper gives no value.",
            "",
        ]
        groups: list[str] = []
        for s in self.specs:
            if s.group not in groups:
                groups.append(s.group)
        for g in groups:
            lines += [
                f"## {g}",
                "",
                "| key | symbol | meaning | source | allowed | default | unit | lever |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for s in self.specs:
                if s.group != g:
                    continue
                d = s.default
                dtxt = (
                    _fmt(d)
                    if isinstance(d, int | float) and not isinstance(d, bool)
                    else json.dumps(list(d) if isinstance(d, tuple) else d)
                )
                if s.default_source != "paper":
                    dtxt += f" ({s.default_source})"
                lines.append(
                    f"| `{s.name}` | {s.symbol} | {s.meaning} | {s.source} | {s.allowed()} | "
                    f"{dtxt} | {s.unit} | {'yes' if s.lever else ''} |"
                )
            lines.append("")
        if self.constraints:
            lines += ["## Cross-parameter constraints", ""]
            lines += [f"- {c.description}" for c in self.constraints]
            lines.append("")
        return "\n".join(lines)


def _is_z3(x: Any) -> bool:
    return type(x).__module__.startswith("z3")


def _replace(spec: ParamSpec, **changes: Any) -> ParamSpec:
    from dataclasses import replace

    return replace(spec, **changes)


def to_fraction(x: Any) -> Fraction:
    """Exact value of a number as written (0.1 -> 1/10, not the binary double)."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, bool):
        return Fraction(int(x))
    if isinstance(x, int):
        return Fraction(x)
    return Fraction(repr(float(x)))


# ----------------------------------------------------------------------------------------
# Reading parameter files (shared by every space)
# ----------------------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ParamsError([f"duplicate key '{k}' in JSON"])
        out[k] = v
    return out


def parse_table(text: str, fmt: str, source: str | None = None) -> Mapping[str, Any]:
    """JSON or TOML text -> a mapping; a single ``[params]`` table is unwrapped."""
    try:
        if fmt == "json":
            data = json.loads(text, object_pairs_hook=_no_duplicates)
        elif fmt == "toml":
            data = tomllib.loads(text)
        else:
            raise ParamsError([f"unknown format '{fmt}': use json or toml"], source)
    except ParamsError as exc:
        raise ParamsError(exc.problems, source) from None
    except json.JSONDecodeError as exc:
        raise ParamsError(
            [f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"], source
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ParamsError([f"malformed TOML: {exc}"], source) from None
    except (RecursionError, ValueError) as exc:  # deep nesting, huge integer literals
        raise ParamsError([f"unreadable {fmt.upper()}: {type(exc).__name__}"], source) from None
    if (
        isinstance(data, Mapping)
        and set(data) == {"params"}
        and isinstance(data["params"], Mapping)
    ):
        data = data["params"]
    return data


def read_table_file(path: str | Path) -> tuple[str, str, str]:
    """(text, format, source) of a regular, size-limited UTF-8 parameter file."""
    path = Path(path)
    source = str(path)
    try:
        if not path.exists():
            raise ParamsError(["file not found"], source)
        if path.is_dir():
            raise ParamsError(["is a directory, expected a JSON or TOML file"], source)
        if not path.is_file():
            raise ParamsError(["is not a regular file"], source)
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ParamsError(
                [f"file is {size:,} bytes: allowed at most {MAX_FILE_BYTES:,}"], source
            )
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ParamsError(["is not a UTF-8 text file"], source) from None
    except OSError as exc:
        raise ParamsError([f"cannot read file: {exc.strerror or exc}"], source) from None
    suffix = path.suffix.lower()
    if suffix in (".json", ".toml"):
        return text, suffix[1:], source
    return text, ("json" if text.lstrip().startswith("{") else "toml"), source


# ----------------------------------------------------------------------------------------
# The common space and DeRelayL's space
# ----------------------------------------------------------------------------------------

COMMON_SPACE = ParamSpace(
    "common",
    [
        ParamSpec(
            "n_participants",
            "N",
            "population (agents in the ABM)",
            "common",
            POPULATION,
            256,
            "derelay",
            unit="agents",
            group="common",
            kind="int",
        ),
        ParamSpec(
            "coin",
            "(c)",
            "value of one coin (currency unit; 1 coin = 1 accuracy point)",
            "common",
            POSITIVE,
            1.0,
            "derelay",
            unit="coin",
            group="common",
        ),
        ParamSpec(
            "c_train",
            "C_train",
            "compute cost of one training job",
            "common",
            NONNEG,
            0.1,
            "derelay",
            group="common",
        ),
        ParamSpec(
            "c_eval",
            "C_eval",
            "cost of evaluating one model",
            "common",
            NONNEG,
            0.01,
            "derelay",
            group="common",
        ),
        ParamSpec(
            "c_tx",
            "C_tx",
            "cost of one transfer or transaction",
            "common",
            NONNEG,
            0.01,
            "derelay",
            group="common",
        ),
        ParamSpec(
            "c_mine",
            "C_Mine",
            "cost of mining or sealing one block",
            "common",
            NONNEG,
            0.01,
            "derelay",
            group="common",
        ),
        ParamSpec(
            "p_train_success",
            "π_s",
            "probability that a training job succeeds",
            "common",
            PROB,
            0.9,
            "derelay",
            unit="probability",
            group="common",
        ),
    ],
)


def _derelayl_space() -> ParamSpace:
    from derelay.params import CROSS_CONSTRAINTS, PARAMS, REWARD_KEYS

    specs = [
        ParamSpec(
            p.name,
            p.symbol,
            p.description,
            f"eqs. {p.equations}" if p.equations else "Table III",
            p.domain,
            p.default,
            "derelay",
            unit=p.unit,
            group=p.group,
            kind="int" if p.domain.integer else "real",
            lever=p.name in REWARD_KEYS,
        )
        for p in PARAMS
    ]
    constraints = [CrossConstraint(n, t, f) for n, t, f in CROSS_CONSTRAINTS]
    return ParamSpace("derelayl", specs, constraints)


#: DeRelayL's space, from the same table as :class:`derelay.params.Params`.
DERELAYL_SPACE = _derelayl_space()
