"""DeRelayL's state constants and the ledger (now the engine's, :mod:`derelay.engine.ledger`).

``Ledger`` keeps its historical interface on top of the generic ledger: ``forfeit(amount,
to)`` is the engine's one forfeit rule (:meth:`derelay.engine.ledger.Ledger.forfeit`, the
same one the chain's settled ledger applies) and the counters ``forfeited`` / ``returned``
are the generic ``slashed`` / ``released``.
"""

from __future__ import annotations

from derelay.engine.ledger import NANO, LedgerError, to_nano
from derelay.engine.ledger import Ledger as _EngineLedger
from derelay.mechanism.derelayl.protocol import IDLE, ROLE_CODE, ROLE_NAMES, ROLES

__all__ = ["IDLE", "NANO", "ROLES", "ROLE_CODE", "ROLE_NAMES", "Ledger", "LedgerError", "to_nano"]


class Ledger(_EngineLedger):
    """The engine ledger with DeRelayL's historical names."""

    @property
    def forfeited(self) -> int:
        return self.slashed

    @property
    def returned(self) -> int:
        return self.released
