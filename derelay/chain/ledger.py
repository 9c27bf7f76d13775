"""The chain's settled ledger: the engine's ledger, following a chain through reorganisations.

* Every valid block mints its coinbase ``Block.reward`` (or the flat ``block_reward``
  when the block carries none) to its miner (account ``"miner:<node>"``).
* A DB locks each contract's ``owner_amount`` from ``"p:<owner>"`` and
  ``trainer_amount`` from ``"p:<trainer>"`` into escrow under the contract id.
* The SB of the same round settles every escrowed contract of that round: both
  deposits return to their payers when the trainer is ranked in the top-``top_k``
  (step 11, part 3); otherwise both are forfeited.
* Invalid blocks never touch the ledger.

**One ledger, one forfeit rule.**  The state is a :class:`derelay.engine.ledger.Ledger`
(:attr:`Ledger.engine`) and a forfeit is the engine's :meth:`~derelay.engine.ledger.Ledger.
forfeit` - the same call the ABM's settlement makes (``slash(amount, to, "forfeit")``:
equal integer shares to ``to``, the remainder burned; everything burned without ``to``).
Only the *destination* is a parameter of the call, chosen by ``forfeit``:

* ``"treasury"`` (default of the standalone chain): to the ``"treasury"`` account (the
  paper only says the deposits "will not be returned", without naming a recipient);
* ``"burn"``: burned (the ABM's ``SimConfig.forfeit = "burn"``, the authors' reading);
* ``"redistribute"``: in equal shares to the owners and trainers of the round's refunded
  contracts (the ABM's ``SimConfig.forfeit = "redistribute"``: the selected pairs), burned
  when none was refunded.

Which deposits are forfeited is what the chain records: a trainer's deposit returns iff
the SB ranks it in the top ``top_k``.  The ABM (:mod:`derelay.mechanism.derelayl.protocol`)
also returns the deposit of a trainer whose owner never transmitted the model (NTm,
eq. 28) - off-chain knowledge a block does not carry; ``docs/ENGINE.md`` records the
difference.

This module adds what a chain needs on top of the engine ledger: string account names
(``"miner:<node>"``, ``"p:<participant>"``), escrow per contract id, and exact undo for
reorganisations (:meth:`Ledger.undo` rewinds the engine ledger to the block's mark).
The identity is the engine's, ``sum(balances) + escrow == genesis + minted - burned``
(the genesis endowment enters as ``external``).

``apply``/``undo`` are exact inverses, so a ledger switched between branches with
:meth:`Ledger.switch` equals a ledger replayed from genesis on the new branch, and
``total() == genesis + minted - burned`` always (the conservation law checked by the
tests).  Escrow is *settled only on the final chain*:
:meth:`ChainSimulator.settled_ledger` replays blocks at least ``confirmation_depth`` deep.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from derelay.engine.ledger import Ledger as EngineLedger
from derelay.engine.ledger import LedgerError as EngineLedgerError
from derelay.engine.ledger import LedgerOverflowError as EngineOverflowError

from .blocks import Block, BlockKind

#: destinations of forfeited deposits (a parameter of the one forfeit call, not a rule)
FORFEIT_RULES = ("treasury", "burn", "redistribute")


class LedgerError(ValueError):
    """A block that cannot be applied (insufficient funds, unknown contract)."""


@dataclass
class _Undo:
    block_hash: str
    mark: tuple | None = None
    balances: dict[int, int] = field(default_factory=dict)  # account index -> delta applied
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
        forfeit: str = "treasury",
    ) -> None:
        if forfeit not in FORFEIT_RULES:
            raise ValueError(f"forfeit = {forfeit!r} is invalid: allowed {list(FORFEIT_RULES)}")
        self.forfeit = forfeit
        self._lg = EngineLedger(
            0, system=("treasury",), flows="off", allow_overdraft=allow_overdraft
        )
        self._treasury = self._lg.account("treasury")
        self.allow_overdraft = allow_overdraft
        for k, v in (genesis or {}).items():
            if int(v):
                self._lg.external(self._lg.open(str(k)), int(v), "genesis")
            else:
                self._lg.open(str(k))
        self.genesis_total = self._lg.external_in
        self.escrow: dict[str, dict] = {}
        self.block_reward = int(block_reward)
        self.settled_refunded = 0
        self.settled_forfeited = 0
        self._undo: list[_Undo] = []  # the blocks applied after the final (compacted) ones
        #: SHA-256 digests (32 bytes each) of the compacted blocks, oldest first
        self._final_hashes = bytearray()

    # --------------------------------------------------------------- queries
    @property
    def minted(self) -> int:
        return self._lg.minted

    @property
    def burned(self) -> int:
        return self._lg.burned

    @property
    def engine(self) -> EngineLedger:
        """The engine ledger underneath (account indices, aggregates, identity)."""
        return self._lg

    @property
    def balances(self) -> dict[str, int]:
        """Every account's balance by name (a fresh dict)."""
        b = self._lg.balances
        return {name: int(b[i]) for name, i in self._lg._sys.items()}

    def total(self) -> int:
        """All coins: balances (treasury included) plus escrow."""
        return self._lg.total() + self._lg.escrow

    def conserved(self) -> bool:
        return self.total() == self.genesis_total + self.minted - self.burned

    @property
    def n_final(self) -> int:
        """Applied blocks that were compacted (final: they can no longer be undone)."""
        return len(self._final_hashes) // 32

    @property
    def n_applied(self) -> int:
        return self.n_final + len(self._undo)

    @property
    def applied(self) -> list[str]:
        """Hashes of the applied blocks, oldest first (compacted ones included)."""
        fh = self._final_hashes
        final = [fh[k : k + 32].hex() for k in range(0, len(fh), 32)]
        return final + [u.block_hash for u in self._undo]

    def balance(self, account: str) -> int:
        i = self._lg._sys.get(account)
        return 0 if i is None else int(self._lg.balances[i])

    # --------------------------------------------------------------- mutation
    def _note(self, undo: _Undo, idx, amounts, sign: int) -> None:
        d = undo.balances
        for i, a in zip(np.atleast_1d(idx).tolist(), np.atleast_1d(amounts).tolist(), strict=True):
            d[i] = d.get(i, 0) + sign * a

    def apply(self, block: Block) -> None:
        """Apply one valid block on top of the current state (atomic: all or nothing)."""
        undo = _Undo(block.hash)
        if not block.valid or block.kind is None:
            self._undo.append(undo)
            return
        lg = self._lg
        undo.mark = lg.mark()
        try:
            reward = self.block_reward if block.reward < 0 else int(block.reward)
            if reward:
                i = lg.open(f"miner:{block.miner}")
                lg.mint(i, reward, "coinbase")
                self._note(undo, i, reward, 1)
                undo.minted = reward
            if block.kind is BlockKind.DB:
                self._deposits(block, undo)
            elif block.kind is BlockKind.SB:
                self._settle(block, undo)
        except (LedgerError, EngineLedgerError) as exc:
            self._rollback(undo)
            raise LedgerError(str(exc)) from None
        except Exception:
            self._rollback(undo)
            raise
        self._undo.append(undo)

    def _deposits(self, block: Block, undo: _Undo) -> None:
        lg, escrow = self._lg, self.escrow
        who, amounts = [], []
        for c in block.payload.get("contracts", []):
            cid = c["id"]
            if cid in escrow or cid in undo.locked:
                raise LedgerError(f"contract {cid} already escrowed on this chain")
            for acct, amt in (
                (f"p:{c['owner']}", c["owner_amount"]),
                (f"p:{c['trainer']}", c["trainer_amount"]),
            ):
                if int(amt):  # zero deposits (a trainer without coins) move nothing
                    who.append(lg.open(acct))
                    amounts.append(int(amt))
            undo.locked.append(cid)
        if who:
            try:
                # amounts as Python ints: one beyond int64 is refused by the engine ledger
                # (LedgerOverflowError), never cast or wrapped
                lg.lock(np.array(who, dtype=np.int64), amounts)
            except EngineOverflowError as exc:
                raise LedgerError(str(exc)) from None
            except EngineLedgerError:
                bad = next(
                    name
                    for name, i in lg._sys.items()
                    if i in who
                    and lg.balances[i] < sum(a for w, a in zip(who, amounts, strict=True) if w == i)
                )
                raise LedgerError(f"account {bad} would go negative") from None
            self._note(undo, who, amounts, -1)
        for c in block.payload.get("contracts", []):
            escrow[c["id"]] = c  # block payloads are immutable: no copy needed

    def _settle(self, block: Block, undo: _Undo) -> None:
        lg = self._lg
        top = set(block.payload.get("ranking", [])[: int(block.payload.get("top_k", 0))])
        back, amounts, lost, refunded = [], [], 0, []
        for cid in [k for k, c in self.escrow.items() if c["round"] == block.round]:
            c = self.escrow.pop(cid)
            amount = int(c["owner_amount"]) + int(c["trainer_amount"])
            refund = int(c["trainer"]) in top
            undo.settled.append((cid, c, refund))
            if refund:
                for acct, amt in (
                    (f"p:{c['owner']}", c["owner_amount"]),
                    (f"p:{c['trainer']}", c["trainer_amount"]),
                ):
                    if int(amt):
                        back.append(lg.open(acct))
                        amounts.append(int(amt))
                refunded += [f"p:{c['trainer']}", f"p:{c['owner']}"]
                self.settled_refunded += amount
            else:
                lost += amount
                self.settled_forfeited += amount
        if back:
            lg.release(np.array(back, dtype=np.int64), amounts, "refund")
            self._note(undo, back, amounts, 1)
        if lost:
            to = None
            if self.forfeit == "treasury":
                to = np.array([self._treasury], dtype=np.int64)
            elif self.forfeit == "redistribute" and refunded:
                to = np.array([lg.open(a) for a in refunded], dtype=np.int64)
            lg.forfeit(lost, to)
            if to is not None:
                self._note(undo, to, np.full(to.size, lost // to.size), 1)

    def _rollback(self, undo: _Undo) -> None:
        if undo.mark is not None:
            self._lg.rewind(undo.mark, undo.balances)
        for cid in undo.locked:
            self.escrow.pop(cid, None)
        for cid, c, refund in undo.settled:
            self.escrow[cid] = c
            amount = int(c["owner_amount"]) + int(c["trainer_amount"])
            if refund:
                self.settled_refunded -= amount
            else:
                self.settled_forfeited -= amount

    def compact(self, keep: int) -> int:
        """Forget how to undo all but the last ``keep`` applied blocks (they are final):
        their undo records go and only their hashes (32 bytes each) are kept, so memory
        stays constant in rounds. Returns how many were compacted. Undoing a compacted
        block (a reorganisation deeper than the prune horizon) raises :class:`LedgerError`.
        """
        k = max(0, len(self._undo) - int(keep))
        for u in self._undo[:k]:
            self._final_hashes += bytes.fromhex(u.block_hash)
        del self._undo[:k]
        return k

    def undo(self) -> str:
        """Undo the last applied block; returns its hash."""
        if not self._undo:
            if self._final_hashes:
                raise LedgerError(
                    f"cannot undo block {self._final_hashes[-32:].hex()[:12]}: it is final and "
                    "its undo record was compacted (a reorganisation deeper than the prune "
                    "horizon)"
                )
            raise LedgerError("nothing to undo")
        u = self._undo.pop()
        self._rollback(u)
        return u.block_hash

    def switch(self, common: int, new_blocks: Iterable[Block]) -> int:
        """Reorganise: undo down to ``common`` applied blocks, then apply ``new_blocks``.

        Returns the number of blocks undone (the reorganisation depth).
        """
        depth = 0
        while self.n_applied > common:
            self.undo()
            depth += 1
        for b in new_blocks:
            self.apply(b)
        return depth

    def follow(self, chain: list[Block], offset: int = 0) -> int:
        """Make the ledger follow ``chain`` (genesis excluded, oldest first) with the
        fewest undo/apply steps; returns the reorganisation depth.

        ``offset``: ``chain`` starts at that position of the chain (the blocks before it
        are the ones already applied there, e.g. :attr:`n_final` compacted ones). The
        common prefix is found from the end (reorganisations are shallow), so a call costs
        O(depth + new blocks), not O(chain length).
        """
        offset = int(offset)
        if not 0 <= offset <= self.n_applied:
            raise ValueError(f"offset must be in [0, {self.n_applied}]; got {offset}")
        base, applied = self.n_final, self._undo
        common = min(self.n_applied, offset + len(chain))
        while (
            common > max(offset, base)
            and applied[common - 1 - base].block_hash != chain[common - 1 - offset].hash
        ):
            common -= 1
        if common == base > offset and len(chain) >= base - offset:
            k = base - 1 - offset  # the chain must keep the last final block
            if chain[k].hash != self._final_hashes[-32:].hex():
                raise LedgerError(
                    f"cannot follow a chain that drops final block {base}: its undo record "
                    "was compacted (a reorganisation deeper than the prune horizon)"
                )
        return self.switch(common, chain[common - offset :])

    @classmethod
    def replay(
        cls,
        chain: Iterable[Block],
        genesis: Mapping[str, int] | None = None,
        block_reward: int = 0,
        allow_overdraft: bool = False,
        forfeit: str = "treasury",
    ) -> Ledger:
        led = cls(genesis, block_reward, allow_overdraft, forfeit)
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
            "treasury": self.balance("treasury"),
            "burned": self.burned,
            "refunded": self.settled_refunded,
            "forfeited": self.settled_forfeited,
            "conserved": self.conserved(),
        }
