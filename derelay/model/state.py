"""Vectorised state of the ABM: exact ledger and per-participant arrays.

Money is integer nano-coins (``NANO`` = 10**9 units per coin, int64) so that every
transfer is exact and the supply identity

    sum(coins) + escrow == minted - burned

holds to the unit after every round (tests check it every round).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NANO = 10**9

#: Role codes used in the state arrays (``role``) and in agents.parquet.
ROLES = ("MO", "T", "DBM", "EBM", "TBM", "SBM")
ROLE_CODE = {r: i for i, r in enumerate(ROLES)}
IDLE = len(ROLES)  # candidate miner who mined nothing / trainer left unmatched
ROLE_NAMES = (*ROLES, "idle")


def to_nano(x: float) -> int:
    """Coins -> integer nano-coins (rounded to the nearest unit)."""
    return int(round(float(x) * NANO))


class LedgerError(AssertionError):
    """The conservation identity of the ledger was violated."""


@dataclass
class Ledger:
    """Exact coin ledger: balances, escrowed deposits and supply counters (nano-coins)."""

    n: int
    coins: np.ndarray = field(init=False)
    escrow: int = 0
    minted: int = 0
    burned: int = 0
    returned: int = 0
    forfeited: int = 0
    redistributed: int = 0

    def __post_init__(self) -> None:
        self.coins = np.zeros(self.n, dtype=np.int64)

    # --- primitive flows -------------------------------------------------------------
    def mint(self, idx: np.ndarray, amounts: np.ndarray) -> int:
        """Create coins for ``idx`` (repeated indices add up); returns the total."""
        amounts = np.asarray(amounts, dtype=np.int64)
        if amounts.size == 0:
            return 0
        if np.any(amounts < 0):
            raise LedgerError("cannot mint a negative amount")
        np.add.at(self.coins, np.asarray(idx, dtype=np.int64), amounts)
        total = int(amounts.sum())
        self.minted += total
        return total

    def mint_dense(self, amounts: np.ndarray) -> int:
        """Mint a full per-participant vector (length n)."""
        amounts = np.asarray(amounts, dtype=np.int64)
        if np.any(amounts < 0):
            raise LedgerError("cannot mint a negative amount")
        self.coins += amounts
        total = int(amounts.sum())
        self.minted += total
        return total

    def lock(self, idx: np.ndarray, amounts: np.ndarray) -> None:
        """Move deposits from balances into escrow (balances never go negative)."""
        idx = np.asarray(idx, dtype=np.int64)
        amounts = np.asarray(amounts, dtype=np.int64)
        if amounts.size == 0:
            return
        np.subtract.at(self.coins, idx, amounts)
        if np.any(self.coins[idx] < 0):
            bad = int(idx[np.argmax(self.coins[idx] < 0)])
            raise LedgerError(f"participant {bad} deposited more than its balance")
        self.escrow += int(amounts.sum())

    def release(self, idx: np.ndarray, amounts: np.ndarray) -> None:
        """Return escrowed deposits to their owners."""
        amounts = np.asarray(amounts, dtype=np.int64)
        if amounts.size == 0:
            return
        np.add.at(self.coins, np.asarray(idx, dtype=np.int64), amounts)
        total = int(amounts.sum())
        self.escrow -= total
        self.returned += total

    def forfeit(self, amount: int, to: np.ndarray | None = None) -> int:
        """Take ``amount`` out of escrow: redistribute equally to ``to`` or burn.

        Redistribution gives each recipient floor(amount / len(to)); the integer remainder
        is burned, so the identity stays exact.  Returns the amount burned.
        """
        amount = int(amount)
        if amount == 0:
            return 0
        self.escrow -= amount
        self.forfeited += amount
        burn = amount
        if to is not None and len(to) > 0:
            share = amount // len(to)
            if share > 0:
                np.add.at(self.coins, np.asarray(to, dtype=np.int64), share)
                paid = share * len(to)
                self.redistributed += paid
                burn = amount - paid
        self.burned += burn
        return burn

    # --- invariant ---------------------------------------------------------------------
    def total(self) -> int:
        return int(self.coins.sum())

    def check(self) -> None:
        """Raise :class:`LedgerError` unless sum(coins) + escrow == minted - burned."""
        total = self.total()
        if total + self.escrow != self.minted - self.burned:
            raise LedgerError(
                f"ledger not conserved: sum(coins) {total} + escrow {self.escrow} != "
                f"minted {self.minted} - burned {self.burned}"
            )
        if self.escrow < 0 or np.any(self.coins < 0):
            raise LedgerError("negative escrow or balance")
