"""One exact ledger for every mechanism (and for the chain): integer nano-coins.

Accounts are indices into one ``int64`` array, ``balances``: the participants first
(``0 .. n-1``), then the named system accounts (``"TREASURY"``, ``"CLIENT"``, ...; index
:meth:`Ledger.account`).  Four pseudo-accounts are not balances but the ends of flows:

* ``MINT`` (-1): new money (block rewards, citation rewards);
* ``EXTERNAL`` (-2): money paid in from outside (a client's payment, a sponsor);
* ``BURN`` (-3): money destroyed;
* ``ESCROW`` (-4): the pooled escrow that deposits are locked into.

Operations (``amounts``: one integer or an array aligned with the accounts; repeated
accounts add up; nothing is silently clipped - an overdraft raises :class:`LedgerError`)::

    mint(to, amounts, reason)        MINT     -> to
    external(to, amounts, reason)    EXTERNAL -> to
    transfer(frm, to, amounts, reason)
    lock(who, amounts, reason)       who      -> ESCROW
    release(who, amounts, reason)    ESCROW   -> who
    slash(amount, to, reason, shares)  ESCROW -> to (equal or weighted integer shares;
                                     the integer remainder, or everything when ``to`` is
                                     empty/None, is burned: ESCROW -> BURN)
    burn(frm, amounts, reason)       frm      -> BURN

The aggregates ``minted``, ``external_in``, ``burned``, ``escrow`` (and ``released``,
``slashed``, ``redistributed``) are Python ints, so they never wrap.  The conservation
identity

    sum(balances) + escrow == minted + external_in - burned

is checked by :meth:`check` (the engine calls it after every round).

**No silent wrap-around.**  Balances are ``int64`` nano-coins (numpy speed), so one
account holds at most :data:`MAX_NANO` = 2^63 - 1 nano-coins (about 9.22e9 coins,
:data:`MAX_COINS`).  Sums are exact at any size: :func:`exact_sum` adds an ``int64``
array as a Python int (a plain numpy sum when a cheap bound shows it cannot wrap,
otherwise the 32-bit halves separately), so ``total()``, every operation's total and the
aggregates never wrap, even when the money supply exceeds 2^63 (the README's
100,000-participant benchmark reaches about 1.6e19 nano-coins).  Every credit (and, for
an overdraft ledger, every debit) is checked against the limit *before* it is applied,
in O(1) per operation: the ledger keeps an upper bound on the largest balance magnitude
(the last exact maximum plus everything credited since) and looks at the balances
themselves only when that bound nears the limit.  A flow that would take an account
beyond :data:`MAX_NANO` raises :class:`LedgerOverflowError` (a :class:`LedgerError` and
an ``OverflowError``) naming the account, the round and the limit, and changes nothing;
an amount that is not representable (a float amount at or beyond 2^63, NaN) is refused
the same way instead of being cast.  Writes made directly into :attr:`Ledger.coins`
bypass the bound: call :meth:`Ledger.rebound` after them.

**Flow log.**  Every flow is logged as ``(round, reason, src, dst, amount)``; the log is
kept as per-operation numpy chunks (no per-flow Python work) and becomes a DataFrame in
:meth:`flows_frame` (``derelay run`` writes it as ``flows.parquet``).  ``flows`` selects
the detail:

* ``"full"``: one row per (account, amount) entry of every operation (zero amounts are
  not logged);
* ``"aggregate"``: one row per operation: the amount is the operation's total and a side
  that names more than one account is ``MANY`` (-5) - for huge populations, where a round
  moves tens of thousands of deposits (per-participant balances stay in agents.parquet);
* ``"off"``: nothing is logged (the aggregates and the identity still hold).

Dense per-participant mints (:meth:`mint_dense`, e.g. a citation vector over all ``n``
participants) log only their non-zero entries in ``"full"`` mode and one ``MANY`` row in
``"aggregate"`` mode.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from derelay import _fastnp as fnp

NANO = 10**9
#: the largest balance of one account, in nano-coins (int64)
MAX_NANO = 2**63 - 1
#: the same in whole coins (9,223,372,036)
MAX_COINS = MAX_NANO // NANO
MINT = -1
EXTERNAL = -2
BURN = -3
ESCROW = -4
MANY = -5
PSEUDO = {MINT: "MINT", EXTERNAL: "EXTERNAL", BURN: "BURN", ESCROW: "ESCROW", MANY: "MANY"}
FLOW_MODES = ("full", "aggregate", "off")


def to_nano(x: float) -> int:
    """Coins -> integer nano-coins (rounded to the nearest unit)."""
    return int(round(float(x) * NANO))


def exact_sum(a: np.ndarray, bound: int | None = None) -> int:
    """The exact sum of an integer array as a Python int (never wraps).

    ``bound``: a known upper bound on ``max(|a|)`` (else ``|a|`` is scanned once); when
    ``bound * len(a)`` fits in int64 the plain numpy sum is exact, otherwise the high and
    low 32-bit halves are summed separately (each half-sum fits for arrays of fewer than
    2^31 entries).
    """
    n = a.size
    if n == 0:
        return 0
    if n == 1:
        return int(a.reshape(-1)[0])
    if bound is None:
        lo, hi = int(np.minimum.reduce(a, axis=None)), int(np.maximum.reduce(a, axis=None))
        bound = max(hi, -lo)
    if bound * n <= MAX_NANO:
        return int(np.add.reduce(a, axis=None))
    a = np.asarray(a, dtype=np.int64)
    return (int((a >> 32).sum()) << 32) + int((a & 0xFFFFFFFF).sum())


class LedgerError(AssertionError):
    """A flow that would break the ledger (overdraft, negative amount) or a violated
    conservation identity."""


class LedgerOverflowError(LedgerError, OverflowError):
    """A flow that would take a balance beyond the int64 limit (:data:`MAX_NANO`), or an
    amount that cannot be represented in nano-coins."""


class Ledger:
    """Balances of participants and system accounts, pooled escrow, exact aggregates."""

    def __init__(
        self,
        n_participants: int,
        system: Sequence[str] = (),
        flows: str = "full",
        allow_overdraft: bool = False,
    ):
        if flows not in FLOW_MODES:
            raise ValueError(f"flows = {flows!r} is invalid: allowed {list(FLOW_MODES)}")
        self.n = int(n_participants)
        self.system = tuple(system)
        if len(set(self.system)) != len(self.system):
            raise ValueError(f"duplicate system account in {self.system}")
        self.balances = np.zeros(self.n + len(self.system), dtype=np.int64)
        self._sys: dict[str, int] = {name: self.n + i for i, name in enumerate(self.system)}
        self.escrow = 0
        self.minted = 0
        self.external_in = 0
        self.burned = 0
        self.released = 0
        self.slashed = 0
        self.redistributed = 0
        self.round = 0
        self.flow_mode = flows
        #: balances may go negative (a layer tracking flows relative to off-ledger holdings,
        #: e.g. the chain's settled ledger); the identity still holds exactly
        self.allow_overdraft = bool(allow_overdraft)
        self._reasons: dict[str, int] = {}
        self._chunks: list[tuple] = []  # (round, reason code, src, dst, amount)
        #: upper bound on max(|balances|) (None: unknown, rescanned when needed)
        self._mag: int | None = 0

    # --- accounts --------------------------------------------------------------------
    @property
    def coins(self) -> np.ndarray:
        """The participants' balances (a view: writes go to the ledger)."""
        return self.balances[: self.n]

    def account(self, name: str) -> int:
        """Index of a named system account."""
        try:
            return self._sys[name]
        except KeyError:
            raise KeyError(
                f"unknown system account {name!r}; accounts: {list(self._sys)}"
            ) from None

    def open(self, name: str) -> int:
        """Index of system account ``name``, opened (balance 0) if new.  Growing the
        ledger reallocates ``balances``: earlier views (``coins``) no longer follow it."""
        i = self._sys.get(name)
        if i is None:
            i = self._sys[name] = self.n + len(self._sys)
            self.system = (*self.system, name)
            if i >= len(self.balances):  # amortised doubling; unused slots hold 0
                grow = np.zeros(max(8, len(self.balances)), dtype=np.int64)
                self.balances = fnp.concatenate([self.balances, grow])
        return i

    # --- overflow guard -----------------------------------------------------------------
    def rebound(self) -> int:
        """Rescan the balances for the magnitude bound (after direct writes to
        :attr:`coins`); returns it."""
        b = self.balances
        self._mag = (
            max(int(np.maximum.reduce(b, axis=None)), -int(np.minimum.reduce(b, axis=None)))
            if b.size
            else 0
        )
        return self._mag

    def _room(self, idx: np.ndarray, a: np.ndarray, total: int, sign: int) -> None:
        """Refuse (before anything changes) a flow of ``a`` into (``sign`` +1) or out of
        (-1, overdraft ledgers) accounts ``idx`` that would take a balance beyond
        :data:`MAX_NANO`; keeps the magnitude bound up to date.  O(1) unless the bound
        nears the limit."""
        mag = self._mag
        if mag is not None and mag + total <= MAX_NANO:
            self._mag = mag + total
            return
        mag = self.rebound()
        if mag + total <= MAX_NANO:
            self._mag = mag + total
            return
        # near the limit: the exact per-account result
        if idx is None:
            idx = np.arange(a.size, dtype=np.int64)
        uniq, inv = np.unique(idx, return_inverse=True)
        if uniq.size == idx.size:  # one flow per account: vectorised, no int64 overflow
            b = self.balances[idx]
            bad = b > MAX_NANO - a if sign > 0 else b < a - MAX_NANO
            if bad.any():
                k = int(np.argmax(bad))
                self._overflow(int(idx[k]), int(b[k]) + sign * int(a[k]))
        else:
            per = [0] * uniq.size
            for j, v in zip(inv.reshape(-1).tolist(), a.tolist(), strict=True):
                per[j] += v
            for i, v in zip(uniq.tolist(), per, strict=True):
                new = int(self.balances[i]) + sign * v
                if not -MAX_NANO <= new <= MAX_NANO:
                    self._overflow(i, new)
        self._mag = None  # exact check passed; rescan next time

    def _overflow(self, account: int, new: int) -> None:
        raise LedgerOverflowError(
            f"ledger overflow in round {self.round}: account {account} would hold "
            f"{new / NANO:.6g} coins, beyond the ledger's limit of {MAX_COINS:,} coins per "
            "account (2^63-1 nano-coins); lower the rewards, initial_coins or the number of "
            "rounds"
        )

    # --- reorganisations ----------------------------------------------------------------
    def mark(self) -> tuple:
        """The aggregates and the flow-log length now (for :meth:`rewind`)."""
        return (
            self.minted,
            self.external_in,
            self.burned,
            self.escrow,
            self.released,
            self.slashed,
            self.redistributed,
            len(self._chunks),
        )

    def rewind(self, mark: tuple, deltas) -> None:
        """Undo every operation since ``mark`` exactly: ``deltas`` (account -> net balance
        change since the mark, as the caller recorded it) are taken back, the aggregates
        and the flow log return to the mark.  The primitive of reorg-aware layers."""
        for i, d in deltas.items():
            self.balances[i] -= d
        self._mag = None
        (
            self.minted,
            self.external_in,
            self.burned,
            self.escrow,
            self.released,
            self.slashed,
            self.redistributed,
            n_chunks,
        ) = mark
        del self._chunks[n_chunks:]

    def account_names(self) -> dict[int, str]:
        """Names of the non-participant account codes used in the flow log."""
        return {**PSEUDO, **{i: name for name, i in self._sys.items()}}

    def total(self) -> int:
        """All balances (participants and system accounts), escrow excluded (exact)."""
        b = self.balances
        mag = self._mag
        if mag is None or mag * b.size > MAX_NANO:
            # the running bound (last exact maximum plus every credit since) has grown
            # loose: the exact maximum tightens it (for later operations too), and the
            # plain sum is exact again unless the balances themselves are that large
            mag = self.rebound()
        return exact_sum(b, mag)

    # --- logging -----------------------------------------------------------------------
    def _log(self, reason: str, src, dst, a: np.ndarray) -> None:
        """Log aligned flows (``src``/``dst``: an account code or an id array like ``a``).

        Cheap by design (this runs for every ledger operation): the arrays are copied
        (callers may reuse theirs) and zero amounts are dropped once, in
        :meth:`flows_frame`.
        """
        mode = self.flow_mode
        if mode == "off":
            return
        code = self._reasons.get(reason)
        if code is None:
            code = self._reasons[reason] = len(self._reasons)
        if mode == "aggregate":
            total = exact_sum(a)
            if total:
                self._chunks.append((self.round, code, _side(src), _side(dst), _pieces(total)))
            return
        if a.size:
            self._chunks.append(
                (
                    self.round,
                    code,
                    src if type(src) is int else src.copy(),
                    dst if type(dst) is int else dst.copy(),
                    a.copy(),
                )
            )

    def flows_frame(self):
        """Every logged flow: ``round, reason, src, dst, amount`` (nano-coins)."""
        import pandas as pd

        cats = sorted(self._reasons, key=self._reasons.get)
        chunks = self._chunks
        if not chunks:
            z = np.zeros(0, np.int64)
            return pd.DataFrame(
                {
                    "round": z,
                    "reason": pd.Categorical([], categories=cats),
                    "src": z,
                    "dst": z,
                    "amount": z,
                }
            )
        sizes = np.array([np.size(c[4]) for c in chunks], dtype=np.int64)
        rounds = np.repeat(np.array([c[0] for c in chunks], dtype=np.int64), sizes)
        reasons = np.repeat(np.array([c[1] for c in chunks], dtype=np.int64), sizes)
        src = fnp.concatenate(
            [
                np.broadcast_to(np.int64(c[2]) if np.ndim(c[2]) == 0 else c[2], s)
                for c, s in zip(chunks, sizes, strict=True)
            ]
        )
        dst = fnp.concatenate(
            [
                np.broadcast_to(np.int64(c[3]) if np.ndim(c[3]) == 0 else c[3], s)
                for c, s in zip(chunks, sizes, strict=True)
            ]
        )
        amount = fnp.concatenate([np.atleast_1d(np.asarray(c[4], dtype=np.int64)) for c in chunks])
        keep = amount != 0  # zero amounts are no flows
        return pd.DataFrame(
            {
                "round": rounds[keep],
                "reason": pd.Categorical.from_codes(reasons[keep], categories=cats),
                "src": src.astype(np.int64)[keep],
                "dst": dst.astype(np.int64)[keep],
                "amount": amount[keep],
            }
        )

    # --- flows -------------------------------------------------------------------------
    @classmethod
    def _aligned(cls, ids, amounts) -> tuple[np.ndarray, np.ndarray]:
        """Account ids and amounts as aligned 1-d int64 arrays (a scalar amount is each
        account's)."""
        return cls._aligned_max(ids, amounts)[:2]

    @staticmethod
    def _aligned_max(ids, amounts) -> tuple[np.ndarray, np.ndarray, int]:
        """:meth:`_aligned`, and the largest amount (0 if none; one pass checks both)."""
        if (
            type(ids) is np.ndarray
            and type(amounts) is np.ndarray
            and ids.dtype == np.int64
            and amounts.dtype == np.int64
            and ids.ndim == 1
            and amounts.shape == ids.shape
        ):  # the common case: aligned int64 arrays (no conversion needed)
            return ids, amounts, _nonneg_max(amounts)
        ids = np.asarray(ids, dtype=np.int64)
        if ids.ndim != 1:
            ids = ids.reshape(-1)
        a = _amounts(amounts)
        if a.ndim == 0:
            a = np.full(ids.size, a, dtype=np.int64)
        elif a.ndim != 1 or a.size != ids.size:
            a = a.reshape(-1)
            if a.size != ids.size:
                if ids.size == 1:
                    ids = np.full(a.size, ids[0], dtype=np.int64)
                else:
                    raise ValueError(f"{ids.size} accounts but {a.size} amounts")
        return ids, a, _nonneg_max(a)

    def _credit(self, to: np.ndarray, a: np.ndarray, total: int | None = None) -> int:
        if to.size == 1:
            v = int(a[0])
            self._room(to, a, v, 1)
            self.balances[to[0]] += v
            return v
        if total is None:
            total = exact_sum(a)
        self._room(to, a, total, 1)
        np.add.at(self.balances, to, a)
        return total

    def _debit(self, frm: np.ndarray, a: np.ndarray) -> int:
        b = self.balances
        if self.allow_overdraft:
            total = exact_sum(a)
            self._room(frm, a, total, -1)
            np.subtract.at(b, frm, a)
            return total
        if frm.size == 1:
            v = int(a[0])
            if b[frm[0]] < v:
                raise LedgerError(f"account {int(frm[0])} would go negative")
            b[frm[0]] -= v
            return v
        np.subtract.at(b, frm, a)
        # for long debits one scan of all balances is cheaper than gathering frm's; only
        # if it finds a negative balance are frm's looked at (another account may be
        # negative through a direct write, which is not this debit's overdraft)
        if 2 * frm.size >= b.size and np.minimum.reduce(b, axis=None) >= 0:
            return exact_sum(a, self._mag)
        if np.minimum.reduce(b[frm], axis=None) < 0:
            bad = int(frm[np.argmax(b[frm] < 0)])
            np.add.at(b, frm, a)  # undo: all or nothing
            raise LedgerError(f"account {bad} would go negative")
        # each amount was at most its account's balance, so at most the magnitude bound
        return exact_sum(a, self._mag)

    def mint(self, to, amounts, reason: str = "mint") -> int:
        """New money for ``to``; returns the total."""
        if (
            type(amounts) is int
            and 0 <= amounts <= MAX_NANO
            and isinstance(to, int | np.integer)
            and 0 <= to < self.balances.size
        ):
            return self._mint_one(int(to), amounts, reason)
        to, a = self._aligned(to, amounts)
        if a.size == 0:
            return 0
        total = self._credit(to, a)
        self.minted += total
        self._log(reason, MINT, to, a)
        return total

    def _mint_one(self, to: int, v: int, reason: str) -> int:
        """:meth:`mint` of ``v`` (0 <= v <= MAX_NANO) to account ``to``: the same checks,
        balances, aggregates and flow log, in scalar arithmetic."""
        mag = self._mag
        if mag is not None and mag + v <= MAX_NANO:
            self._mag = mag + v
        else:
            self._room(np.array([to], dtype=np.int64), np.array([v], dtype=np.int64), v, 1)
        self.balances[to] += v
        self.minted += v
        mode = self.flow_mode
        if mode != "off":
            code = self._reasons.get(reason)
            if code is None:
                code = self._reasons[reason] = len(self._reasons)
            if mode == "full":  # one flow: the amount as an int (flows_frame takes scalars)
                self._chunks.append((self.round, code, MINT, to, v))
            elif v:
                self._chunks.append((self.round, code, MINT, to, _pieces(v)))
        return v

    def mint_dense(self, amounts, reason: str = "mint") -> int:
        """Mint a full per-participant vector (length ``n``); returns the total."""
        a = _amounts(amounts)
        if a.shape != (self.n,):
            raise ValueError(f"mint_dense needs {self.n} amounts, got shape {a.shape}")
        # the amounts are >= 0 (checked): their maximum is the magnitude bound of exact_sum
        total = exact_sum(a, _nonneg_max(a))
        self._room(None, a, total, 1)
        self.balances[: self.n] += a
        self.minted += total
        if self.flow_mode == "full":
            k = int(np.count_nonzero(a))
            if k:
                code = self._reasons.get(reason)
                if code is None:
                    code = self._reasons[reason] = len(self._reasons)
                if 2 * k >= a.size:  # mostly non-zero: the vector itself (flows_frame drops
                    # the zeros; the same rows in the same order as the non-zero entries)
                    self._chunks.append((self.round, code, MINT, self._participants(), a.copy()))
                else:  # nz and a[nz] are fresh arrays: logged without copies
                    nz = a.nonzero()[0]
                    self._chunks.append((self.round, code, MINT, nz, a[nz]))
        elif total:
            self._log(reason, MINT, MANY, _pieces(total))
        return total

    def _participants(self) -> np.ndarray:
        """0..n-1 as one shared read-only array (the accounts of dense flow-log rows)."""
        ids = self.__dict__.get("_all_ids")
        if ids is None:
            ids = self._all_ids = np.arange(self.n, dtype=np.int64)
            ids.setflags(write=False)
        return ids

    def external(self, to, amounts, reason: str = "external") -> int:
        """Money paid in from outside (``EXTERNAL``) to ``to``; returns the total."""
        to, a = self._aligned(to, amounts)
        if a.size == 0:
            return 0
        total = self._credit(to, a)
        self.external_in += total
        self._log(reason, EXTERNAL, to, a)
        return total

    def transfer(self, frm, to, amounts, reason: str = "transfer") -> int:
        """``frm`` -> ``to`` (either side may be one account; amounts aligned with the
        other side, or one amount per flow)."""
        frm = np.asarray(frm, dtype=np.int64).reshape(-1)
        to = np.asarray(to, dtype=np.int64).reshape(-1)
        k = max(frm.size, to.size, np.size(amounts))
        if 0 in (frm.size, to.size, np.size(amounts)):
            return 0
        frm, a = self._aligned(np.broadcast_to(frm, (k,)), np.broadcast_to(amounts, (k,)))
        to = np.broadcast_to(to, (k,)).copy()
        total = self._debit(frm, a)
        self._credit(to, a)
        self._log(reason, frm, to, a)
        return total

    def lock(self, who, amounts, reason: str = "lock") -> int:
        """Balances -> escrow (a balance never goes negative)."""
        who, a = self._aligned(who, amounts)
        if a.size == 0:
            return 0
        total = self._debit(who, a)
        self.escrow += total
        self._log(reason, who, ESCROW, a)
        return total

    def release(self, who, amounts, reason: str = "release") -> int:
        """Escrow -> balances."""
        who, a = self._aligned(who, amounts)
        if a.size == 0:
            return 0
        total = self._from_escrow(who, a)
        self._log(reason, ESCROW, who, a)
        return total

    def lock_parts(self, parts, reason: str = "lock") -> int:
        """:meth:`lock` of several ``(who, amounts)`` parts (aligned int64 arrays) in one
        debit: the same balances, aggregates and flow log (one row per entry in order in
        ``"full"`` mode, one row per non-empty part in ``"aggregate"`` mode) as one
        :meth:`lock` per part."""
        who, a, _ = self._joined(parts)
        if a.size == 0:
            return 0
        total = self._debit(who, a)
        self.escrow += total
        self._log_parts(reason, parts, who, a, True)
        return total

    def release_parts(self, parts, reason: str = "release") -> int:
        """:meth:`release` of several ``(who, amounts)`` parts in one credit (see
        :meth:`lock_parts`)."""
        who, a, mx = self._joined(parts)
        if a.size == 0:
            return 0
        total = self._from_escrow(who, a, mx)
        self._log_parts(reason, parts, who, a, False)
        return total

    def _from_escrow(self, who: np.ndarray, a: np.ndarray, mx: int | None = None) -> int:
        """Credit ``a`` (>= 0, aligned, non-empty; ``mx`` its maximum if known) to ``who``
        out of the escrow; the total."""
        if mx is None:
            mx = int(np.maximum.reduce(a, axis=None)) if a.size > 1 else None  # a >= 0
        total = exact_sum(a, mx)
        if total > self.escrow:
            raise LedgerError(f"release of {total} exceeds the escrow {self.escrow}")
        self._credit(who, a, total)
        self.escrow -= total
        self.released += total
        return total

    def _joined(self, parts) -> tuple[np.ndarray, np.ndarray, int]:
        if len(parts) == 1:
            return self._aligned_max(*parts[0])
        whos, amts = [], []
        for who, amounts in parts:
            sw = who.shape if type(who) is np.ndarray else np.shape(who)
            sa = amounts.shape if type(amounts) is np.ndarray else np.shape(amounts)
            if sw != sa:
                raise ValueError("lock_parts/release_parts: each part needs aligned arrays")
            whos.append(who)
            amts.append(amounts)
        who = fnp.concatenate(whos)
        if who.dtype != np.int64:
            who = who.astype(np.int64)
        return self._aligned_max(who, fnp.concatenate(amts))

    def _log_parts(self, reason: str, parts, who, a, to_escrow: bool) -> None:
        mode = self.flow_mode
        if mode == "full" and len(parts) > 1:  # the joined arrays are fresh: no copies
            code = self._reasons.get(reason)
            if code is None:
                code = self._reasons[reason] = len(self._reasons)
            src, dst = (who, ESCROW) if to_escrow else (ESCROW, who)
            self._chunks.append((self.round, code, src, dst, a))
            return
        for p_who, p_a in parts if len(parts) > 1 else [(who, a)]:
            p_who = np.asarray(p_who, dtype=np.int64)
            p_a = np.asarray(p_a, dtype=np.int64)
            if p_a.size:
                if to_escrow:
                    self._log(reason, p_who, ESCROW, p_a)
                else:
                    self._log(reason, ESCROW, p_who, p_a)

    def slash(self, amount: int, to=None, reason: str = "slash", shares=None) -> int:
        """Take ``amount`` out of escrow and pay it to ``to`` (equal integer shares, or
        shares proportional to the non-negative integer weights ``shares``); the integer
        remainder - or everything when ``to`` is None/empty - is burned.  Returns the
        amount burned.
        """
        amount = int(amount)
        if amount == 0:
            return 0
        if amount < 0 or amount > self.escrow:
            raise LedgerError(f"slash of {amount} outside the escrow [0, {self.escrow}]")
        self.escrow -= amount
        self.slashed += amount
        paid = 0
        if to is not None and np.size(to) > 0:
            to = np.asarray(to, dtype=np.int64).reshape(-1)
            if shares is None:
                pay = np.full(to.size, amount // to.size, dtype=np.int64)
            else:
                w = np.asarray(shares, dtype=np.int64).reshape(-1)
                wsum = exact_sum(w)
                if w.size != to.size or wsum <= 0 or w.min() < 0:
                    raise LedgerError("slash: shares must be non-negative weights aligned with to")
                pay = np.array([int(x) * amount // wsum for x in w.tolist()], dtype=np.int64)
            if np.logical_or.reduce(pay, axis=None):
                paid = self._credit(to, pay)
                self._log(reason, ESCROW, to, pay)
            self.redistributed += paid
        burn = amount - paid
        if burn:
            self.burned += burn
            self._log(reason, ESCROW, BURN, _pieces(burn))
        return burn

    def forfeit(self, amount: int, to=None, shares=None) -> int:
        """The one forfeit rule of every ledger (the ABM's and the chain's settled ledger):
        ``slash(amount, to, "forfeit", shares)`` - forfeited escrow goes to ``to`` (equal or
        weighted integer shares, the remainder burned) or, with ``to`` None/empty, is burned.
        The destination is the caller's parameter, never a second rule.  Returns the amount
        burned."""
        return self.slash(amount, to, "forfeit", shares)

    def burn(self, frm, amounts, reason: str = "burn") -> int:
        frm, a = self._aligned(frm, amounts)
        if a.size == 0:
            return 0
        total = self._debit(frm, a)
        self.burned += total
        self._log(reason, frm, BURN, a)
        return total

    # --- invariant ---------------------------------------------------------------------
    def conserved(self) -> bool:
        return self.total() + self.escrow == self.minted + self.external_in - self.burned

    def check_conserved(self) -> int:
        """The per-round check: the identity only (one pass over the balances; every
        debit already refuses to overdraw, so balances cannot be negative).  Returns
        :meth:`total` (the engine hands it to the round's row: no second pass)."""
        total = self.total()
        if total + self.escrow != self.minted + self.external_in - self.burned or self.escrow < 0:
            self.check()
        return total

    def check(self) -> None:
        """Raise :class:`LedgerError` unless sum(balances) + escrow == minted + external -
        burned, escrow >= 0 and no balance is negative."""
        total = self.total()
        if total + self.escrow != self.minted + self.external_in - self.burned:
            raise LedgerError(
                f"ledger not conserved: sum(balances) {total} + escrow {self.escrow} != "
                f"minted {self.minted} + external {self.external_in} - burned {self.burned}"
            )
        if self.escrow < 0 or (
            not self.allow_overdraft and self.balances.size and self.balances.min() < 0
        ):
            raise LedgerError("negative escrow or balance")

    def totals(self) -> dict[str, int]:
        """The aggregates (Python ints) for run.json."""
        return {
            "minted_nano": self.minted,
            "external_nano": self.external_in,
            "burned_nano": self.burned,
            "escrow_nano": self.escrow,
            "released_nano": self.released,
            "slashed_nano": self.slashed,
            "redistributed_nano": self.redistributed,
            "total_balances_nano": self.total(),
        }


def _pieces(total: int):
    """An operation total for the int64 flow log: one row, or (beyond int64) rows
    of at most :data:`MAX_NANO` each that add up to it exactly."""
    if -MAX_NANO <= total <= MAX_NANO:
        return np.array([total], dtype=np.int64)
    k, rest = divmod(abs(total), MAX_NANO)
    sign = 1 if total > 0 else -1
    parts = [MAX_NANO] * k + ([rest] if rest else [])
    return np.array(parts, dtype=np.int64) * sign


def _nonneg_max(a: np.ndarray) -> int:
    """The largest entry of an int64 array (0 if empty), refusing a negative one: one pass,
    over the array as uint64 (where a negative entry is at least 2^63 > MAX_NANO)."""
    if not a.size:
        return 0
    mx = int(np.maximum.reduce(a.view(np.uint64), axis=None))
    if mx > MAX_NANO:
        raise LedgerError("a flow amount is negative")
    return mx


def _amounts(amounts) -> np.ndarray:
    """Amounts as int64, refusing what int64 cannot hold (no silent cast or wrap)."""
    a = np.asarray(amounts)
    if a.dtype == np.int64:
        return a
    if a.dtype.kind in "iub":
        if a.dtype.kind == "u" and a.size and int(a.max()) > MAX_NANO:
            raise LedgerOverflowError(
                f"a flow amount of {int(a.max())} nano-coins exceeds the ledger's limit "
                f"{MAX_NANO} (2^63-1)"
            )
        return a.astype(np.int64)
    if a.dtype.kind == "f":
        if a.size and not (np.isfinite(a).all() and np.abs(a).max() < 2.0**63):
            bad = a[~(np.isfinite(a) & (np.abs(a) < 2.0**63))].reshape(-1)[0]
            raise LedgerOverflowError(
                f"a flow amount of {float(bad)!r} nano-coins cannot be represented: allowed "
                f"a finite amount below 2^63 = {2**63} nano-coins ({MAX_COINS:,} coins)"
            )
        return a.astype(np.int64)
    if a.dtype == object:
        flat = [int(x) for x in a.reshape(-1).tolist()]
        if flat and max(abs(x) for x in flat) > MAX_NANO:
            raise LedgerOverflowError(
                f"a flow amount exceeds the ledger's limit of {MAX_NANO} nano-coins (2^63-1)"
            )
        return np.array(flat, dtype=np.int64).reshape(a.shape)
    return a.astype(np.int64)


def _side(x) -> int:
    if np.ndim(x) == 0:
        return int(x)
    x = np.asarray(x)
    if x.size == 1 or (x.size and (x == x[0]).all()):
        return int(x.reshape(-1)[0])
    return MANY
