"""Coinbase of a block: the inclusion revenue of its miner's Table II utility.

The paper pays each miner for what its block includes (step 3: the DB's mining
reward "depends on the included deposit smart contracts"; eqs. (42), (52), (59),
(66)).  The formulas are not re-typed here: the coinbase is the Normal utility of
the block's role from :mod:`derelay.mechanism.derelayl`, evaluated on a *cost-free*
copy of the parameters (C_Mine, transfer, key generation, case generation and
verification costs zeroed, version gap closed) with the counts taken from the block
itself:

DB  u_dbm_n with Q_Deposit = contracts packed          -> Q * R_Deposit
EB  u_ebm_n with Q_HashM = records                     -> Q * R_HashM
TB  u_tbm_n with Q_EncryptedM = hashes, Q_Cases = cases -> Q_E * R_E + Q_C * R_Case
SB  u_sbm_n with Q_VerifiedM = models verified, Q_Cases from the round's TB

so an NPA block (fewer deposits) earns Q_DepositLess * R_Deposit, eq. (45), and an
invalid block earns nothing (it never reaches the ledger).  Amounts are converted to
integer nano-coins (1 coin = 10**9) so the ledger's conservation is exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from .blocks import BlockKind

NANO = 10**9
_COSTS_ZERO = ("c_mine", "k_transmit", "c_gen_fhe_key", "c_unit_gen_td_case", "c_unit_verify")


class MinerRewards:
    """Inclusion revenue per block from the mechanism core's utilities."""

    def __init__(self, params: Any = None) -> None:
        from derelay.mechanism import derelayl as mech
        from derelay.params import Params, as_values

        base = as_values(params if params is not None else Params())
        free = dict(vars(base))
        for k in _COSTS_ZERO:
            free[k] = 0.0
        free["v_fhem"] = free["v_now_ebm"]  # the EBM's model value is not a coinbase
        self._free = free
        self._u = {
            BlockKind.DB: mech.u_dbm_n,
            BlockKind.EB: mech.u_ebm_n,
            BlockKind.TB: mech.u_tbm_n,
            BlockKind.SB: mech.u_sbm_n,
        }

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
