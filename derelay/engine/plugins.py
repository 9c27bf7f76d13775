"""Carrying run-time registrations into worker processes.

Plug-ins installed with pip are found by every process through the entry-point group
``derelay.mechanisms`` (:mod:`derelay.mechanism.registry`).  A mechanism registered at run
time with :func:`~derelay.mechanism.register_mechanism` - or a DeRelayL strategy behaviour
registered with :func:`agents.strategies.register_strategy` - exists only in the process
that registered it, e.g. inside a script's ``if __name__ == "__main__":`` guard, which a
fresh ``spawn`` worker never runs.  :func:`snapshot` serialises those registrations with
``cloudpickle`` (by value for objects defined in ``__main__``, by reference otherwise) and
:func:`restore` re-registers them in a worker; the sweep runner ships the snapshot with
every run (process pools and Dask alike), so a registered mechanism or strategy works with
``--workers 2`` exactly as with ``--workers 1``.
"""

from __future__ import annotations

import hashlib

_restored: set[str] = set()


def _runtime_mechanisms() -> dict:
    from derelay.mechanism import registry

    eps = registry._discover()
    out = {}
    for name, mech in registry.MECHANISMS.items():
        if name in registry.BUILTINS or name in eps:
            continue
        out[name] = mech
    return out


def _user_behaviours() -> list:
    from derelay.mechanism.derelayl import behaviour

    out = []
    for mech_name, roles in behaviour._REGISTRY.items():
        try:
            from derelay.mechanism import get_mechanism

            declared = get_mechanism(mech_name).strategies
        except KeyError:
            declared = {}
        for role, per in roles.items():
            if role == "_declared":
                continue
            for abbr, beh in per.items():
                if abbr not in declared.get(role, ()):
                    out.append((mech_name, beh))
    return out


def snapshot() -> bytes | None:
    """The run-time registrations of this process (``None``: there are none)."""
    mechs, behs = _runtime_mechanisms(), _user_behaviours()
    if not mechs and not behs:
        return None
    import cloudpickle

    return cloudpickle.dumps({"mechanisms": list(mechs.values()), "behaviours": behs})


def restore(blob: bytes | None) -> None:
    """Register a snapshot's mechanisms and behaviours here (once per process)."""
    if not blob:
        return
    key = hashlib.sha256(blob).hexdigest()
    if key in _restored:
        return
    import pickle

    from derelay.mechanism import register_mechanism
    from derelay.mechanism.derelayl.behaviour import register_strategy

    data = pickle.loads(blob)
    for mech in data["mechanisms"]:
        register_mechanism(mech)
    for mech_name, beh in data["behaviours"]:
        register_strategy(beh, mechanism=mech_name, replace=True)
    _restored.add(key)
