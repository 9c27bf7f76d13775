"""``Protocol``: a mechanism's round for the ABM, and the ``RoundContext`` it plays in.

A mechanism's plug-in package provides one :class:`Protocol` subclass (named by
``Mechanism.protocol`` as ``"package.module:Class"``)::

    class ToyProtocol(Protocol):
        Options = ToyOptions                  # pydantic model (extra="forbid"), or None
        streams = ("roles", "work")           # its named RNG streams (spawned in order)
        system_accounts = ("CLIENT",)         # ledger accounts after the participants
        stages = ("assign", "work", "settle") # run in order: stage_assign(ctx), ...
        play_stats = ()                       # extra per-play sums in utilities.parquet
        agent_columns = ()                    # extra agents.parquet columns

        def setup(self): ...                  # self.model, self.ledger, self.options, self.p
        def stage_assign(self, ctx): ...
        def round_metrics(self, ctx) -> dict: ...

A stage moves money only through ``ctx.ledger`` (the engine checks conservation after
every round), sets ``model.state.role[agents] = model.role_code(role)`` for the agents
that act in a role, adds their realised ``revenue``/``cost`` (coins) to
``model.state.revenue``/``cost`` and reports each (role, strategy) play with
:meth:`RoundContext.play`.  The engine then sets ``utility = revenue - cost``.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class RoundContext:
    """What a stage sees of the round in progress."""

    __slots__ = ("model", "round", "ledger", "metrics", "data", "ledger_total")

    def __init__(self, model, round_index: int) -> None:
        self.model = model
        self.round = int(round_index)  # 0-based index of the round being played
        self.ledger = model.ledger
        self.metrics: dict[str, Any] = {}
        self.data: dict[str, Any] = {}  # scratch space shared by the round's stages
        #: ``ledger.total()`` after the round's stages (set by the engine before
        #: ``round_row``; None until then)
        self.ledger_total: int | None = None

    def rng(self, name: str) -> np.random.Generator:
        return self.model.streams.rng(name)

    def play(self, role, strategy, agents, utility, revenue=None, cost=None, **stats) -> None:
        """Record plays of ``role`` by ``agents``.

        ``strategy``: an abbreviation (all of them play it), an array of strategy codes
        aligned with ``agents``, or None (each agent's own strategy in ``role``).
        ``utility``/``revenue``/``cost``: realised coins, scalars or aligned arrays.
        """
        m = self.model
        if strategy is None:
            agents = np.asarray(agents, dtype=np.int64).reshape(-1)
            codes = m.state.strategy[agents, m.role_code(role)]
        elif isinstance(strategy, str):
            n = np.size(agents)
            codes = np.full(n, m.strategy_code(role, strategy), dtype=np.int64)
        else:
            codes = strategy
        m.recorder.play(role, codes, utility, revenue, cost, **stats)

    def metric(self, name: str, value) -> None:
        self.metrics[name] = value


class Protocol:
    """Base class of a mechanism's round protocol (see the module docstring)."""

    Options: Any = None
    streams: tuple[str, ...] = ("protocol",)
    system_accounts: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    play_stats: tuple[str, ...] = ()
    agent_columns: tuple[str, ...] = ()

    def __init__(self, model) -> None:
        self.model = model
        self.ledger = model.ledger
        self.options = model.options
        self.p = model.p
        self.halted = False

    # --- hooks -------------------------------------------------------------------------
    def setup(self) -> None:
        """Called once after the engine built the population, ledger and streams."""

    def run_round(self, ctx: RoundContext) -> None:
        cached = self.__dict__.get("_stage_fns")
        if cached is None or cached[0] is not self.stages:  # the bound methods, once
            fns = [getattr(self, f"stage_{s}") for s in self.stages]
            cached = self._stage_fns = (self.stages, fns)
        for fn in cached[1]:
            fn(ctx)

    def round_metrics(self, ctx: RoundContext) -> dict[str, Any]:
        return dict(ctx.metrics)

    def round_row(self, ctx: RoundContext) -> dict[str, Any]:
        """The rounds.parquet row (default: round, metrics, ledger totals, shares)."""
        m, lg = self.model, self.ledger
        total = lg.total() if ctx.ledger_total is None else ctx.ledger_total
        row: dict[str, Any] = {"round": m.round}
        row.update(self.round_metrics(ctx))
        row.update(
            total_coins=total / m.nano,
            minted=lg.minted / m.nano,
            external=lg.external_in / m.nano,
            burned=lg.burned / m.nano,
            escrow=lg.escrow / m.nano,
            total_coins_nano=total,
            minted_nano=lg.minted,
            external_nano=lg.external_in,
            burned_nano=lg.burned,
            escrow_nano=lg.escrow,
        )
        row.update(m.strategy_shares())
        from .metrics import standard_columns

        row.update(standard_columns(m))
        row["halted"] = False
        return row

    def halted_row(self, ctx: RoundContext) -> dict[str, Any]:
        """The row of a round after the protocol halted (default: the last row, marked)."""
        last = dict(self.model.recorder.rows[-1]) if self.model.recorder.rows else {}
        last.update(round=self.model.round, halted=True)
        return last

    def agent_column(self, name: str, idx: np.ndarray) -> np.ndarray:
        """Values of an extra agents.parquet column for participants ``idx``."""
        return np.asarray(getattr(self.model.state, name)[idx]).copy()

    def own_state_values(self, role: str, idx: np.ndarray):
        """Parameter values as seen by agents ``idx`` in ``role`` for best response on
        own state (``None``: the run's parameters)."""
        return None

    def strategy_utility(self, role: str, abbr: str):
        """Closed-form utility ``f(p)`` of a strategy the mechanism does not declare."""
        return None

    def meta(self) -> dict[str, Any]:
        """Extra entries for run.json."""
        return {}

    def tables(self) -> dict[str, Any]:
        """Extra tables of the run (name -> DataFrame), written as <name>.parquet."""
        return {}
