"""Human text for the commands' results: no Python reprs (no ``['T7']``, no ``{...}``).

:func:`words` renders any JSON-like value as plain text (``key value, key value``; nested
tables in parentheses; floats to 4 significant digits); :func:`names` joins a list, or
says ``none``; :func:`sufficient_notes` explains, in words, a failing condition that is
sufficient but not necessary while the property it protects holds.
"""

from __future__ import annotations

import math
from typing import Any


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        return f"{v:.4g}"
    if v is None:
        return "-"
    return str(v)


def words(obj: Any, sep: str = ", ") -> str:
    """Plain text of a JSON-like value."""
    if isinstance(obj, dict):
        parts = []
        for k, v in obj.items():
            key = str(k).replace("_", " ")
            if isinstance(v, dict):
                parts.append(f"{key} ({words(v)})")
            elif isinstance(v, list | tuple):
                parts.append(f"{key} {words(v)}")
            else:
                parts.append(f"{key} {_scalar(v)}")
        return sep.join(parts)
    if isinstance(obj, list | tuple):
        if not obj:
            return "none"
        if all(not isinstance(x, dict | list | tuple) for x in obj):
            return ", ".join(_scalar(x) for x in obj)
        return "; ".join(words(x) for x in obj)
    return _scalar(obj)


def names(items: Any) -> str:
    """``T7, T8`` (or ``none``)."""
    items = list(items or [])
    return ", ".join(str(x) for x in items) if items else "none"


def sufficient_notes(mech, failing: list[str], ir: dict, ic_dev: dict) -> list[str]:
    """One sentence per failing condition that is only sufficient while the property it
    protects (IR of its role, or IC of its role against its deviation) holds."""
    out = []
    by_name = {c.name: c for c in mech.conditions}
    for name in failing or []:
        c = by_name.get(name)
        if c is None or getattr(c, "exactness", "exact") != "sufficient":
            continue
        if c.protects == "IR":
            holds = bool(ir.get(c.role))
            prop = f"IR of {c.role}"
        elif c.protects == "IC" and c.deviation:
            holds = bool((ic_dev.get(c.role) or {}).get(c.deviation))
            prop = f"IC of {c.role} against {c.deviation}"
        else:
            continue
        if holds:
            out.append(
                f"{name} fails, but it is a sufficient condition, not a necessary one: the "
                f"property it protects, {prop}, holds at this point (computed on the utilities "
                "themselves). `derelay design` answers on the utilities, not on the conditions."
            )
    return out
