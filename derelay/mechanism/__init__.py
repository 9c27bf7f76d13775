"""Mechanisms as plug-ins.  ``get_mechanism("derelayl")`` is the paper's.

Declarations live in :mod:`derelay.mechanism.base`; the registry (built-ins, the
``derelay.mechanisms`` entry-point group, run-time registrations) in
:mod:`derelay.mechanism.registry`.
"""

from __future__ import annotations

from .base import (
    FAMILIES,
    FAMILY_CODE,
    Claim,
    Condition,
    Erratum,
    Evaluation,
    Funding,
    Mechanism,
    Role,
    Strategy,
)
from .derelayl import DERELAYL, DeRelayL
from .registry import (
    BUILTINS,
    ENTRY_POINT_GROUP,
    MECHANISMS,
    UnknownMechanism,
    get_mechanism,
    mechanism_names,
    register_mechanism,
)

register_mechanism(DERELAYL)

__all__ = [
    "BUILTINS",
    "Claim",
    "Condition",
    "DERELAYL",
    "DeRelayL",
    "ENTRY_POINT_GROUP",
    "Erratum",
    "Evaluation",
    "FAMILIES",
    "FAMILY_CODE",
    "Funding",
    "MECHANISMS",
    "Mechanism",
    "Role",
    "Strategy",
    "UnknownMechanism",
    "get_mechanism",
    "mechanism_names",
    "register_mechanism",
]
