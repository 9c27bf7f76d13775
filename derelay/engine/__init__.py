"""The generic engine every mechanism's ABM runs on (issue 10).

* :mod:`derelay.engine.ledger`: one exact ledger in integer nano-coins (participants,
  named system accounts, ``EXTERNAL``, ``BURN``, escrow), every flow logged;
* :mod:`derelay.engine.model`: :class:`MechanismModel` (Mesa 3), persistent agent types,
  named RNG streams;
* :mod:`derelay.engine.protocol`: :class:`Protocol` (a mechanism's round, in named
  stages) and :class:`RoundContext`;
* :mod:`derelay.engine.record`: realised utilities per (role, strategy), rounds and
  agents tables;
* :mod:`derelay.engine.dynamics`: imitation, logit best response, replicator;
* :mod:`derelay.engine.run`: :class:`RunConfig`, :func:`run_simulation`,
  :class:`RunResult` (``flows.parquet`` included);
* :mod:`derelay.engine.finality`: final-consensus models for mechanisms without forks.

The names below are imported lazily (``import derelay.engine`` pulls in neither mesa nor
pandas).
"""

from __future__ import annotations

from derelay._lazy import lazy_exports

_EXPORTS = {
    "Ledger": "ledger",
    "LedgerError": "ledger",
    "NANO": "ledger",
    "to_nano": "ledger",
    "MechanismModel": "model",
    "Protocol": "protocol",
    "RoundContext": "protocol",
    "Recorder": "record",
    "RunConfig": "run",
    "RunResult": "run",
    "run_simulation": "run",
    "build_model": "run",
    "Streams": "streams",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
