"""The registry of sweep run kinds (no imports of the runner, the spec or the kinds).

A run kind is ``kind(config: dict, seed: int) -> {table: DataFrame}``;
:func:`register_kind` adds one (a module-level function: spawn-safe), optionally with the
modules its runs import (``preload``): a parallel sweep imports them once in its warm worker
processes (and in this process before its first run), so no run pays for them.  The built-in
kinds register themselves in :mod:`experiments.kinds`; :func:`builtin_kinds` imports them.
``experiments.runner`` re-exports everything here (its historical home).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

RunKind = Callable[[dict, int], Any]

#: Registered run kinds: name -> function(config, seed) -> {table name: DataFrame}.
RUN_KINDS: dict[str, RunKind] = {}
#: Optional validators: name -> function(config) raising ValueError on bad config.
KIND_VALIDATORS: dict[str, Callable[[dict], None]] = {}
#: One-line description of every kind (for --help and docs).
KIND_DOCS: dict[str, str] = {}
#: Thread-count variables of the numerical libraries (OpenMP, OpenBLAS, MKL, Accelerate,
#: numexpr; torch reads OMP_NUM_THREADS): pool workers set each to 1 before importing them.
THREAD_VARS: tuple[str, ...] = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)  # fmt: skip
#: Modules every sweep's runs import (writing the Parquet outputs).
OUTPUT_MODULES: tuple[str, ...] = ("pyarrow", "pyarrow.parquet")
#: Modules a kind's runs import lazily (name -> module names), imported once by warm sweep
#: workers.  The built-in kinds' lists live here (their module imports them lazily, on use).
KIND_PRELOAD: dict[str, tuple[str, ...]] = {
    "abm": ("mesa", "derelay.model", "derelay.engine.run", "analysis.stats"),
    "chain": ("derelay.chain.experiment",),
    "learning": ("torch", "derelay.learning.experiment"),
    "check": ("derelay.check", "derelay.mechanism"),
    "dynamics": ("derelay.mechanism",),
    "feasible": ("scipy.optimize", "derelay.mechanism"),
}


def register_kind(
    name: str,
    validator: Callable[[dict], None] | None = None,
    doc: str = "",
    preload: tuple[str, ...] | list[str] | None = None,
) -> Callable[[RunKind], RunKind]:
    """Decorator registering a run kind (must be a module-level function: spawn-safe).

    ``preload``: modules the kind's runs import lazily (see :data:`KIND_PRELOAD`).
    """

    def deco(fn: RunKind) -> RunKind:
        RUN_KINDS[name] = fn
        if validator is not None:
            KIND_VALIDATORS[name] = validator
        if preload is not None:
            KIND_PRELOAD[name] = tuple(preload)
        KIND_DOCS[name] = doc or (fn.__doc__ or "").strip().splitlines()[0]
        return fn

    return deco


def builtin_kinds() -> dict[str, RunKind]:
    """The registry with the built-in kinds loaded."""
    import experiments.kinds  # noqa: F401  (registers abm, dynamics, check, ...)

    return RUN_KINDS


def preload_modules(kind: str) -> tuple[str, ...]:
    """The modules a warm worker imports for runs of ``kind`` (outputs included)."""
    return (*OUTPUT_MODULES, *KIND_PRELOAD.get(kind, ()))
