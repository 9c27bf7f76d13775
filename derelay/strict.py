"""Strict configuration models: one base, one error format, for every configuration surface.

Run configs, run-kind configs and sweep specs subclass :class:`StrictModel`: unknown keys
are refused (with a did-you-mean), types are strict (no ``"1"`` for a number, no ``true``
for an integer), NaN and infinities are refused, and every problem becomes one line

    parameter 'perf_mu' = nan is out of range: allowed a finite number

naming the key, its value and what is allowed -- the same shape as the parameter-file
errors of :mod:`derelay.space`.  :func:`validate` returns the model or raises
:class:`ConfigError` with all problems at once.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """Bad configuration; ``str(exc)`` is a complete user-facing message."""

    def __init__(self, problems: list[str], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        head = f"invalid configuration in {source}" if source else "invalid configuration"
        if len(self.problems) == 1:
            msg = f"{head}: {self.problems[0]}"
        else:
            msg = head + ":\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(msg)


class StrictModel(BaseModel):
    """Base of every configuration model (see the module docstring)."""

    model_config = ConfigDict(
        extra="forbid", strict=True, allow_inf_nan=False, frozen=True, validate_default=True
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed(model: type[BaseModel], loc: tuple) -> str:
    field = None
    cls: Any = model
    for part in loc:
        if isinstance(part, int) or cls is None or not hasattr(cls, "model_fields"):
            break
        field = cls.model_fields.get(part)
        ann = getattr(field, "annotation", None)
        cls = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    if field is None:
        return ""
    bits = []
    for m in field.metadata:
        for name, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            v = getattr(m, name, None)
            if v is not None:
                bits.append(f"{sym} {v}")
    ann = field.annotation
    kind = getattr(ann, "__name__", str(ann)).replace("typing.", "")
    text = f"{kind}" + (f" {' and '.join(bits)}" if bits else "")
    return text


def format_errors(model: type[BaseModel], exc: ValidationError, data: Any) -> list[str]:
    """pydantic errors -> one line each: key, value, what is allowed."""
    out = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        key = ".".join(str(x) for x in loc) or "(config)"
        etype = err.get("type", "")
        value = err.get("input")
        if etype == "extra_forbidden":
            names = list(getattr(model, "model_fields", {}))
            close = difflib.get_close_matches(str(loc[-1]), names, n=1) if loc else []
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            out.append(f"unknown key '{key}'{hint}")
            continue
        allowed = _allowed(model, loc)
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        if etype in ("finite_number",):
            out.append(
                f"parameter '{key}' = {_short(value)} is out of range: allowed a finite number"
            )
        elif etype.endswith("_type") or etype in ("bool_parsing", "int_from_float"):
            out.append(
                f"parameter '{key}' = {_short(value)} has the wrong type "
                f"({type(value).__name__}): {msg.lower()}"
                + (f"; allowed {allowed}" if allowed else "")
            )
        elif etype == "missing":
            out.append(
                f"parameter '{key}' is missing" + (f": expected {allowed}" if allowed else "")
            )
        else:
            out.append(f"parameter '{key}' = {_short(value)} is not allowed: {msg}")
    return out


def validate(model: type[M], data: Mapping[str, Any] | None, source: str | None = None) -> M:
    """``model(**data)`` strictly, or :class:`ConfigError` listing every problem."""
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise ConfigError([f"expected a table, got {type(data).__name__}"], source)
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(format_errors(model, exc, data), source) from None
