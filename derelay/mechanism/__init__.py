"""Mechanisms as swappable parts.  ``get_mechanism("derelayl")`` is the paper's."""

from __future__ import annotations

from .base import Condition, Evaluation, Mechanism, Role, Strategy
from .derelayl import DERELAYL, DeRelayL

MECHANISMS: dict[str, Mechanism] = {DERELAYL.name: DERELAYL}


def register_mechanism(mechanism: Mechanism) -> None:
    """Add a mechanism (e.g. a plug-in for PoT, BRAIN, FLChain, DeepChain)."""
    MECHANISMS[mechanism.name] = mechanism


def get_mechanism(name: str = "derelayl") -> Mechanism:
    try:
        return MECHANISMS[name]
    except KeyError:
        raise KeyError(f"unknown mechanism {name!r}; available: {sorted(MECHANISMS)}") from None


__all__ = [
    "Condition",
    "DERELAYL",
    "DeRelayL",
    "Evaluation",
    "MECHANISMS",
    "Mechanism",
    "Role",
    "Strategy",
    "get_mechanism",
    "register_mechanism",
]
