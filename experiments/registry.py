"""The registry of sweep run kinds (no imports of the runner, the spec or the kinds).

A run kind is ``kind(config: dict, seed: int) -> {table: DataFrame}``;
:func:`register_kind` adds one (a module-level function: spawn-safe).  The built-in
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


def register_kind(
    name: str, validator: Callable[[dict], None] | None = None, doc: str = ""
) -> Callable[[RunKind], RunKind]:
    """Decorator registering a run kind (must be a module-level function: spawn-safe)."""

    def deco(fn: RunKind) -> RunKind:
        RUN_KINDS[name] = fn
        if validator is not None:
            KIND_VALIDATORS[name] = validator
        KIND_DOCS[name] = doc or (fn.__doc__ or "").strip().splitlines()[0]
        return fn

    return deco


def builtin_kinds() -> dict[str, RunKind]:
    """The registry with the built-in kinds loaded."""
    import experiments.kinds  # noqa: F401  (registers abm, dynamics, check, ...)

    return RUN_KINDS
