"""Coinbase of a block: its miner's inclusion revenue from the mechanism core.

The paper pays each miner for what its block includes (step 3: the DB's mining
reward "depends on the included deposit smart contracts"; eqs. (40), (50), (57),
(64)).  The formulas are not re-typed here: the coinbase is the block revenue term of
the block's role from :mod:`derelay.mechanism.derelayl` (``dbm_revenue``, ...; the
same terms the ABM's settlement pays and the Table II utilities add up), with the
counts taken from the block itself:

DB  Q_Deposit = contracts packed                   -> Q * R_Deposit
EB  Q_HashM = records                              -> Q * R_HashM
TB  Q_EncryptedM = hashes, Q_Cases = cases         -> Q_E * R_E + Q_C * R_Case
SB  Q_VerifiedM = models verified, Q_Cases from the round's TB -> Q_V (R_V + Q_C R_Verify)

so an NPA block (fewer deposits) earns Q_DepositLess * R_Deposit, eq. (45), and an
invalid block earns nothing (it never reaches the ledger).  Amounts are converted to
integer nano-coins (1 coin = 10**9) so the ledger's conservation is exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from .chain_blocks import BlockKind

NANO = 10**9


class MinerRewards:
    """Inclusion revenue per block from the mechanism core's utilities."""

    def __init__(self, params: Any = None) -> None:
        from derelay.mechanism import derelayl as mech
        from derelay.params import Params, as_values

        self._free = dict(vars(as_values(params if params is not None else Params())))
        self._u = {kind: mech.BLOCK_TERMS[kind.value][0] for kind in BlockKind}

    def counts(
        self, kind: BlockKind, payload: Mapping[str, Any], context: Mapping[str, Any]
    ) -> dict[str, float]:
        if kind is BlockKind.DB:
            return {"q_deposit": len(payload.get("contracts", ()))}
        if kind is BlockKind.EB:
            return {"q_hash_m": len(payload.get("records", ()))}
        if kind is BlockKind.TB:
            return {
                "q_encrypted_m": len(payload.get("encrypted", ())),
                "q_cases": int(payload.get("n_cases", 0)),
            }
        tb = context.get("TB") or {}
        return {
            "q_verified_m": len(payload.get("performances", ())),
            "q_cases": int(tb.get("n_cases", 0)),
        }

    def coins(
        self, kind: BlockKind, payload: Mapping[str, Any], context: Mapping[str, Any]
    ) -> float:
        """Coinbase in coins for a valid block of ``kind`` with this payload."""
        p = SimpleNamespace(**self._free)
        for k, v in self.counts(kind, payload, context).items():
            setattr(p, k, float(v))
        return float(self._u[kind](p))

    def nano(self, kind: BlockKind, payload: Mapping[str, Any], context: Mapping[str, Any]) -> int:
        return max(0, round(self.coins(kind, payload, context) * NANO))
