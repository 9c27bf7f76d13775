"""Backend-generic logical helpers so one formula serves floats, numpy and z3.

Arithmetic (+, -, *, /) and comparisons already work the same on Python floats,
numpy arrays and z3 arithmetic terms; only the boolean connectives differ.
"""

from __future__ import annotations

import sys
from typing import Any


def _ndarray() -> type | tuple:
    """``numpy.ndarray``, or ``()`` (no class) while numpy is not imported: no value can
    be an array then, so float-only callers (``derelay check``) never import numpy."""
    np = sys.modules.get("numpy")
    return () if np is None else np.ndarray


def _has_array(xs) -> bool:
    arr = _ndarray()
    return any(isinstance(x, arr) for x in xs)


def is_z3(x: Any) -> bool:
    return type(x).__module__.startswith("z3")


def _any_z3(xs) -> bool:
    return any(is_z3(x) for x in xs)


def _ctx(xs):
    """The z3 context of the first z3 term among ``xs`` (terms may live in fresh contexts)."""
    for x in xs:
        if is_z3(x):
            return x.ctx
    return None


def all_of(*xs: Any) -> Any:
    """Logical AND of any number of conditions (bool, ndarray of bool, z3 BoolRef)."""
    if not xs:
        return True
    if _any_z3(xs):
        import z3

        ctx = _ctx(xs)
        return z3.And(*[x if is_z3(x) else z3.BoolVal(bool(x), ctx) for x in xs])
    if _has_array(xs):
        import numpy as np

        out = np.asarray(xs[0], dtype=bool)
        for x in xs[1:]:
            out = np.logical_and(out, x)
        return out
    return all(bool(x) for x in xs)


def any_of(*xs: Any) -> Any:
    if not xs:
        return False
    if _any_z3(xs):
        import z3

        ctx = _ctx(xs)
        return z3.Or(*[x if is_z3(x) else z3.BoolVal(bool(x), ctx) for x in xs])
    if _has_array(xs):
        import numpy as np

        out = np.asarray(xs[0], dtype=bool)
        for x in xs[1:]:
            out = np.logical_or(out, x)
        return out
    return any(bool(x) for x in xs)


def negate(x: Any) -> Any:
    if is_z3(x):
        import z3

        return z3.Not(x)
    if _has_array((x,)):
        import numpy as np

        return np.logical_not(x)
    return not bool(x)


def implies(a: Any, b: Any) -> Any:
    if is_z3(a) or is_z3(b):
        import z3

        ctx = _ctx((a, b))
        a = a if is_z3(a) else z3.BoolVal(bool(a), ctx)
        b = b if is_z3(b) else z3.BoolVal(bool(b), ctx)
        return z3.Implies(a, b)
    return any_of(negate(a), b)


def ite(cond: Any, a: Any, b: Any) -> Any:
    """``a if cond else b`` on any backend: ``z3.If``, ``numpy.where`` or Python ``if``."""
    if is_z3(cond) or is_z3(a) or is_z3(b):
        import z3

        ctx = _ctx((cond, a, b))
        c = cond if is_z3(cond) else z3.BoolVal(bool(cond), ctx)
        return z3.If(c, a, b, ctx)
    if _has_array((cond, a, b)):
        import numpy as np

        return np.where(cond, a, b)
    return a if cond else b


def maximum(a: Any, b: Any) -> Any:
    """max(a, b) on any backend (Fractions stay exact)."""
    if is_z3(a) or is_z3(b) or _has_array((a, b)):
        if not (is_z3(a) or is_z3(b)):
            import numpy as np

            return np.maximum(a, b)
        return ite(a >= b, a, b)
    return a if a >= b else b


def minimum(a: Any, b: Any) -> Any:
    """min(a, b) on any backend (Fractions stay exact)."""
    if is_z3(a) or is_z3(b) or _has_array((a, b)):
        if not (is_z3(a) or is_z3(b)):
            import numpy as np

            return np.minimum(a, b)
        return ite(a <= b, a, b)
    return a if a <= b else b
