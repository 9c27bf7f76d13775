"""Escrow ledger in integer nano-coins that follows a chain through reorganisations.

* Every valid block mints its coinbase ``Block.reward`` (or the flat ``block_reward``
  when the block carries none) to its miner (account ``"miner:<node>"``).
* A DB locks each contract's ``owner_amount`` from ``"p:<owner>"`` and
  ``trainer_amount`` from ``"p:<trainer>"`` into escrow under the contract id.
* The SB of the same round settles every escrowed contract of that round: both
  deposits return to their payers when the trainer is ranked in the top-``top_k``
  (step 11, part 3); otherwise both are forfeited to ``"treasury"`` (the paper says
  the deposits "will not be returned" without naming a recipient; keeping them in a
  treasury account makes conservation checkable - burning is the alternative).
* Invalid blocks never touch the ledger.

``apply``/``undo`` are exact inverses, so a ledger switched between branches with
:meth:`Ledger.switch` equals a ledger replayed from genesis on the new branch, and
``total() == genesis + minted`` always (the conservation law checked by the tests).
Escrow is *settled only on the final chain*: :meth:`ChainSimulator.settled_ledger`
replays blocks at least ``confirmation_depth`` deep.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .blocks import Block, BlockKind


class LedgerError(ValueError):
    """A block that cannot be applied (insufficient funds, unknown contract)."""


@dataclass
class _Undo:
    block_hash: str
    balances: dict[str, int] = field(default_factory=dict)  # account -> delta applied
    locked: list[str] = field(default_factory=list)
    settled: list[tuple[str, dict, bool]] = field(default_factory=list)
    minted: int = 0


class Ledger:
    """Balances, escrow and treasury of one chain (integer nano-coins)."""

    def __init__(
        self,
        genesis: Mapping[str, int] | None = None,
        block_reward: int = 0,
        allow_overdraft: bool = False,
    ) -> None:
        self.balances: dict[str, int] = {k: int(v) for k, v in (genesis or {}).items()}
        self.genesis_total = sum(self.balances.values())
        self.escrow: dict[str, dict] = {}
        self.minted = 0
        self.block_reward = int(block_reward)
        self.allow_overdraft = allow_overdraft
        self.settled_refunded = 0
        self.settled_forfeited = 0
        self._undo: list[_Undo] = []

    # --------------------------------------------------------------- queries
    def total(self) -> int:
        """All coins: balances (treasury included) plus escrow."""
        return sum(self.balances.values()) + sum(
            c["owner_amount"] + c["trainer_amount"] for c in self.escrow.values()
        )

    def conserved(self) -> bool:
        return self.total() == self.genesis_total + self.minted

    @property
    def applied(self) -> list[str]:
        return [u.block_hash for u in self._undo]

    def balance(self, account: str) -> int:
        return self.balances.get(account, 0)

    # --------------------------------------------------------------- mutation
    def _move(self, undo: _Undo, account: str, delta: int) -> None:
        if not delta:  # zero deposits (a trainer without coins) move nothing
            return
        new = self.balances.get(account, 0) + delta
        if new < 0 and not self.allow_overdraft:
            raise LedgerError(f"account {account} would go negative ({new})")
        self.balances[account] = new
        undo.balances[account] = undo.balances.get(account, 0) + delta

    def apply(self, block: Block) -> None:
        """Apply one valid block on top of the current state (atomic: all or nothing)."""
        undo = _Undo(block.hash)
        if not block.valid or block.kind is None:
            self._undo.append(undo)
            return
        try:
            reward = self.block_reward if block.reward < 0 else int(block.reward)
            if reward:
                self._move(undo, f"miner:{block.miner}", reward)
                self.minted += reward
                undo.minted = reward
            if block.kind is BlockKind.DB:
                escrow, move, locked = self.escrow, self._move, undo.locked
                for c in block.payload.get("contracts", []):
                    cid = c["id"]
                    if cid in escrow:
                        raise LedgerError(f"contract {cid} already escrowed on this chain")
                    move(undo, f"p:{c['owner']}", -int(c["owner_amount"]))
                    move(undo, f"p:{c['trainer']}", -int(c["trainer_amount"]))
                    escrow[cid] = c  # block payloads are immutable: no copy needed
                    locked.append(cid)
            elif block.kind is BlockKind.SB:
                top = set(block.payload.get("ranking", [])[: int(block.payload.get("top_k", 0))])
                for cid in [k for k, c in self.escrow.items() if c["round"] == block.round]:
                    c = self.escrow.pop(cid)
                    amount = int(c["owner_amount"]) + int(c["trainer_amount"])
                    refund = int(c["trainer"]) in top
                    undo.settled.append((cid, c, refund))
                    if refund:
                        self._move(undo, f"p:{c['owner']}", int(c["owner_amount"]))
                        self._move(undo, f"p:{c['trainer']}", int(c["trainer_amount"]))
                        self.settled_refunded += amount
                    else:
                        self._move(undo, "treasury", amount)
                        self.settled_forfeited += amount
        except Exception:
            self._rollback(undo)
            raise
        self._undo.append(undo)

    def _rollback(self, undo: _Undo) -> None:
        for acct, delta in undo.balances.items():
            self.balances[acct] -= delta
        for cid in undo.locked:
            self.escrow.pop(cid, None)
        for cid, c, refund in undo.settled:
            self.escrow[cid] = c
            amount = int(c["owner_amount"]) + int(c["trainer_amount"])
            if refund:
                self.settled_refunded -= amount
            else:
                self.settled_forfeited -= amount
        self.minted -= undo.minted

    def undo(self) -> str:
        """Undo the last applied block; returns its hash."""
        if not self._undo:
            raise LedgerError("nothing to undo")
        u = self._undo.pop()
        self._rollback(u)
        return u.block_hash

    def switch(self, common: int, new_blocks: Iterable[Block]) -> int:
        """Reorganise: undo down to ``common`` applied blocks, then apply ``new_blocks``.

        Returns the number of blocks undone (the reorganisation depth).
        """
        depth = 0
        while len(self._undo) > common:
            self.undo()
            depth += 1
        for b in new_blocks:
            self.apply(b)
        return depth

    def follow(self, chain: list[Block]) -> int:
        """Make the ledger follow ``chain`` (genesis excluded, oldest first) with the
        fewest undo/apply steps; returns the reorganisation depth.

        The common prefix is found from the end (reorganisations are shallow), so a
        call costs O(depth + new blocks), not O(chain length).
        """
        applied = self._undo
        common = min(len(applied), len(chain))
        while common > 0 and applied[common - 1].block_hash != chain[common - 1].hash:
            common -= 1
        return self.switch(common, chain[common:])

    @classmethod
    def replay(
        cls,
        chain: Iterable[Block],
        genesis: Mapping[str, int] | None = None,
        block_reward: int = 0,
        allow_overdraft: bool = False,
    ) -> Ledger:
        led = cls(genesis, block_reward, allow_overdraft)
        for b in chain:
            led.apply(b)
        return led

    def snapshot(self) -> dict:
        return {
            "total": self.total(),
            "genesis": self.genesis_total,
            "minted": self.minted,
            "escrow": sum(c["owner_amount"] + c["trainer_amount"] for c in self.escrow.values()),
            "open_contracts": len(self.escrow),
            "treasury": self.balances.get("treasury", 0),
            "refunded": self.settled_refunded,
            "forfeited": self.settled_forfeited,
            "conserved": self.conserved(),
        }
