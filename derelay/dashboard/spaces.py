"""The one place the dashboard reads a mechanism's declared parameters.

A mechanism that declares ``space`` (a :class:`derelay.space.ParamSpace`) is read through
it: its :class:`~derelay.space.ParamSpec` list gives every widget (name, symbol, meaning,
domain, default, unit, group, kind, choices, lever), ``space.validate`` checks a point and
``space.grid`` / ``space.domain_constraints`` build the region map.  A mechanism without
``space`` (DeRelayL before the generic spaces landed) is read through
:data:`derelay.params.PARAM_INFO` and :class:`~derelay.params.Params`, which hold the same
facts.  Nothing else in the dashboard touches either, so a new mechanism gets its page with
no dashboard code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from derelay.params import Domain, ParamsError, ParamValues


@dataclass(frozen=True)
class Knob:
    """What a widget needs to know about one parameter (a ParamSpec's fields)."""

    name: str
    symbol: str
    meaning: str
    domain: Domain
    default: Any
    unit: str
    group: str
    kind: str = "real"  # real | int | bool | choice | list
    choices: tuple[str, ...] = ()
    lever: bool = False

    @property
    def numeric(self) -> bool:
        return self.kind in ("real", "int")

    def slider_range(self) -> tuple[float, float, float]:
        """(start, end, step) of the slider: the domain where it is bounded, else a span
        around the default (the number box beside the slider takes any allowed value and
        widens the slider when needed)."""
        d = self.domain
        default = float(self.default)
        if d.lower is not None and d.upper is not None:
            lo, hi = float(d.lower), float(d.upper)
        elif d.lower is not None:
            lo = float(d.lower)
            width = 4.0 * abs(default - lo)
            hi = lo + (width if width > 0 else 1.0)
        elif d.upper is not None:
            hi = float(d.upper)
            width = 4.0 * abs(hi - default)
            lo = hi - (width if width > 0 else 1.0)
        else:
            width = max(4.0 * abs(default), 1.0)
            lo, hi = default - width, default + width
        if self.kind == "int":
            lo, hi = float(math.ceil(lo)), float(math.floor(hi))
            return lo, max(hi, lo + 4.0), 1.0
        step = (hi - lo) / 400.0
        if d.lower is not None and d.lower_strict:
            lo += step
        if d.upper is not None and d.upper_strict:
            hi -= step
        return lo, hi, step


def _knob_from_spec(spec: Any) -> Knob:
    return Knob(
        name=spec.name,
        symbol=getattr(spec, "symbol", spec.name),
        meaning=getattr(spec, "meaning", ""),
        domain=spec.domain,
        default=spec.default,
        unit=getattr(spec, "unit", ""),
        group=getattr(spec, "group", "mechanism"),
        kind=getattr(spec, "kind", "real"),
        choices=tuple(getattr(spec, "choices", ()) or ()),
        lever=bool(getattr(spec, "lever", False)),
    )


def _space(mechanism: Any) -> Any | None:
    return getattr(mechanism, "space", None)


def _space_specs(space: Any) -> list[Any]:
    specs = getattr(space, "specs", None)
    if specs is not None:
        return list(specs.values()) if isinstance(specs, Mapping) else list(specs)
    return [space.spec(k) for k in space.keys]


def knobs(mechanism: Any) -> list[Knob]:
    """Every parameter of ``mechanism`` in declaration order."""
    space = _space(mechanism)
    if space is not None:
        return [_knob_from_spec(s) for s in _space_specs(space)]
    from derelay.params import PARAMS, REWARD_KEYS

    return [
        Knob(
            name=p.name,
            symbol=p.symbol,
            meaning=p.description,
            domain=p.domain,
            default=p.default,
            unit=p.unit,
            group=p.group,
            kind="int" if p.domain.integer else "real",
            lever=p.name in REWARD_KEYS,
        )
        for p in PARAMS
    ]


def defaults(mechanism: Any) -> dict[str, Any]:
    return {k.name: k.default for k in knobs(mechanism)}


def validate(mechanism: Any, values: Mapping[str, Any]) -> ParamValues:
    """The point as a float :class:`ParamValues`; :class:`ParamsError` (one line per
    problem, naming the parameter, its value and the allowed range) when invalid."""
    space = _space(mechanism)
    if space is not None:
        return space.values(space.validate(dict(values)))
    from derelay.params import as_values, params_from_mapping

    return as_values(params_from_mapping(dict(values)))


def validated_model(mechanism: Any, values: Mapping[str, Any]) -> Any:
    """The validated point in the mechanism's own type (``Params`` or a space ``Point``)."""
    space = _space(mechanism)
    if space is not None:
        return space.validate(dict(values))
    from derelay.params import params_from_mapping

    return params_from_mapping(dict(values))


def grid(mechanism: Any, base: Mapping[str, Any], axes: Mapping[str, np.ndarray]) -> ParamValues:
    """Product grid over ``axes`` with every other key at ``base`` (numpy arrays)."""
    space = _space(mechanism)
    if space is not None:
        return space.grid(space.validate(dict(base)), mode="product", **axes)
    from derelay.params import grid as params_grid
    from derelay.params import params_from_mapping

    return params_grid(params_from_mapping(dict(base)), mode="product", **axes)


def in_domain(mechanism: Any, p: ParamValues, shape: tuple[int, ...]) -> np.ndarray:
    """Boolean mask of the grid points inside every domain and cross-constraint."""
    space = _space(mechanism)
    if space is not None:
        cons = space.domain_constraints(p)
    else:
        from derelay.params import PARAM_INFO, domain_constraints

        cons = domain_constraints(p, keys=tuple(PARAM_INFO))
    ok = np.ones(shape, dtype=bool)
    for c in cons:
        ok &= np.broadcast_to(np.asarray(c, dtype=bool), shape)
    return ok


def mechanism_names() -> list[str]:
    """Registered mechanisms (the registry's list once it lands, else the built-in dict)."""
    import derelay.mechanism as m

    names = getattr(m, "mechanism_names", None)
    if callable(names):
        return list(names())
    return sorted(m.MECHANISMS)


def get(name: str) -> Any:
    from derelay.mechanism import get_mechanism

    return get_mechanism(name)


__all__ = [
    "Knob",
    "ParamsError",
    "defaults",
    "get",
    "grid",
    "in_domain",
    "knobs",
    "mechanism_names",
    "validate",
    "validated_model",
]
