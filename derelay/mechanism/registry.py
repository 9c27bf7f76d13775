"""The one registry of mechanisms: built-ins, entry points and run-time registrations.

* Built-ins are imported lazily by path (:data:`BUILTINS`), so ``derelay --help`` imports
  none of them.
* Plug-ins installed with pip are found through the Python entry-point group
  ``derelay.mechanisms``: each entry point names a :class:`Mechanism` instance, or a
  class or zero-argument callable returning one.  Because discovery reads installed
  package metadata, every process sees them alike: the CLI, sweep process pools and
  Dask workers.
* :func:`register_mechanism` adds one at run time (scripts, tests).  A mechanism
  registered only in a script's ``__main__`` is invisible to fresh worker processes;
  install it as a package with an entry point (see ``docs/plugins.md``).
"""

from __future__ import annotations

import importlib
from typing import Any

from .base import Mechanism

ENTRY_POINT_GROUP = "derelay.mechanisms"

#: Mechanisms shipped with derelay: name -> "module:attribute".
BUILTINS: dict[str, str] = {
    "derelayl": "derelay.mechanism.derelayl:DERELAYL",
    "pot": "derelay.mechanisms.pot:POT",
    "brain": "derelay.mechanisms.brain:BRAIN",
    "flchain": "derelay.mechanisms.flchain:FLCHAIN",
    "deepchain": "derelay.mechanisms.deepchain:DEEPCHAIN",
}

MECHANISMS: dict[str, Mechanism] = {}
_entry_points: dict[str, Any] | None = None


class UnknownMechanism(KeyError):
    def __str__(self) -> str:  # KeyError quotes its argument; a message reads better
        return str(self.args[0])


def _discover() -> dict[str, Any]:
    global _entry_points
    if _entry_points is None:
        from importlib.metadata import entry_points

        _entry_points = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return _entry_points


def _materialise(obj: Any, name: str) -> Mechanism:
    if isinstance(obj, type) and issubclass(obj, Mechanism):
        obj = obj()
    elif not isinstance(obj, Mechanism) and callable(obj):
        obj = obj()
    if not isinstance(obj, Mechanism):
        raise TypeError(f"mechanism plug-in {name!r} did not give a Mechanism (got {obj!r})")
    return obj


def register_mechanism(mechanism: Mechanism) -> Mechanism:
    """Add (or replace) a mechanism under its ``name``; returns it."""
    MECHANISMS[mechanism.name] = mechanism
    return mechanism


def mechanism_names() -> list[str]:
    """Every mechanism that can be loaded: built-ins, entry points, registered."""
    names = list(BUILTINS)
    for n in list(_discover()) + list(MECHANISMS):
        if n not in names:
            names.append(n)
    return names


def get_mechanism(name: str = "derelayl") -> Mechanism:
    if name in MECHANISMS:
        return MECHANISMS[name]
    if name in BUILTINS:
        module, _, attr = BUILTINS[name].partition(":")
        mech = _materialise(getattr(importlib.import_module(module), attr), name)
    elif name in _discover():
        mech = _materialise(_discover()[name].load(), name)
    else:
        raise UnknownMechanism(
            f"unknown mechanism {name!r}; available: {', '.join(mechanism_names())}"
        )
    MECHANISMS[name] = mech
    return mech
