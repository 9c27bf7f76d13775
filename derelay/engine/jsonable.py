"""JSON-friendly conversion of run metadata (numpy scalars/arrays, paths).

Lives below the CLI so that writing a run's ``run.json`` imports nothing of the CLI.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays and paths into JSON-friendly values
    (non-finite floats become ``null``, ``"inf"`` or ``"-inf"``).  numpy is not imported
    here: while it is not loaded, no value can be a numpy one."""
    np = sys.modules.get("numpy")
    return _convert(obj, (np.generic, np.ndarray) if np is not None else ((), ()))


def _convert(obj: Any, numpy_types: tuple) -> Any:
    generic, ndarray = numpy_types
    if isinstance(obj, dict):
        return {str(k): _convert(v, numpy_types) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_convert(v, numpy_types) for v in obj]
    if isinstance(obj, generic):
        return _convert(obj.item(), numpy_types)
    if isinstance(obj, ndarray):
        return _convert(obj.tolist(), numpy_types)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, Path):
        return str(obj)
    return obj
