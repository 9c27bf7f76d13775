"""Strategy behaviours: how each strategy of Table II plays out in DeRelayL's round.

The *declaration* of every strategy (role, abbreviation, name, closed-form utility and
its ``behaviour`` switches) lives in :mod:`derelay.mechanism.derelayl.core`.  This module
turns those switches into :class:`StrategyBehaviour` records the round protocol reads as
numpy arrays (no per-agent Python in the hot path), and lets users add strategies the
paper does not declare, with an optional per-agent hook.

Registering a new strategy needs no edit of the model::

    from agents.strategies import StrategyBehaviour, register_strategy
    register_strategy(StrategyBehaviour("T", "LB", "Low Bid", bid_factor=0.5))

after which ``SimConfig(strategies={"T": {"N": 0.8, "LB": 0.2}})`` is valid.

Consequences played out (docs/abm.md):

* MO ``NTm``: never transmits the model; its trainers cannot train; the owner's deposits
  are forfeited (eq. 28), the trainers' deposits are returned (not their fault).
* T ``NTr``: returns the received model plus white noise (a lazy model whose gain is
  ``lazy_mu + N(0, lazy_sigma)``); it passes the hash check, is ranked, and gets its
  deposit back only if lucky enough to rank in the top s.
* T ``NBr``: trains but never broadcasts the encrypted model: it keeps its model but is
  never ranked, so its deposit (and its owner's) is forfeited (eq. 38).
* DBM ``NPA``: packs only ``pack_fraction`` of the deposit contracts (default
  Q_DepositLess / Q_Deposit); unpacked pairs do not train this round.
* DBM ``PI``, EBM ``NG``, TBM ``IT``, SBM ``IRa``: the block is invalid; honest nodes
  fork it away (``block_valid=False``), the miner earns nothing and bears C_Mine
  (eqs. 48, 55, 62, 69).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .core import MINER_BLOCK

__all__ = [
    "MINER_BLOCK",
    "StrategyBehaviour",
    "get_strategy",
    "known_strategies",
    "register_strategy",
    "strategy_table",
    "unregister_strategy",
]


@dataclass(frozen=True)
class StrategyBehaviour:
    """Vectorisable behaviour of one strategy of one role.

    Attributes
    ----------
    role, abbr, name
        As declared by the mechanism (a new abbreviation declares a new strategy).
    transmits
        MO: sends the model to its trainers.
    trains
        T: really trains (``False``: lazy, submits parent + white noise).
    broadcasts
        T: broadcasts the encrypted model for ranking.
    bid_factor
        T: multiplies the paper's bid min(coins, V_latest - V_now + 1).
    block_valid
        Miner: the block it mines is valid (``False``: forked away by honest nodes).
    pack_fraction
        DBM: share of deposit contracts packed (``None``: Q_DepositLess / Q_Deposit).
    utility
        Optional closed-form utility ``f(p)`` for strategies the mechanism does not
        declare (used by best-response dynamics); declared strategies use Table II.
    hook
        Optional per-agent hook ``hook(agent, model)`` run each round (via Mesa's
        ``AgentSet.shuffle_do``) for agents holding this strategy in their current role.
    """

    role: str
    abbr: str
    name: str = ""
    transmits: bool = True
    trains: bool = True
    broadcasts: bool = True
    bid_factor: float = 1.0
    block_valid: bool = True
    pack_fraction: float | None = 1.0
    utility: Callable[[Any], Any] | None = field(default=None, compare=False, repr=False)
    hook: Callable[[Any, Any], None] | None = field(default=None, compare=False, repr=False)

    @property
    def is_normal(self) -> bool:
        from derelay.mechanism import get_mechanism

        try:
            return get_mechanism().role(self.role).strategy(self.abbr).is_normal
        except KeyError:
            return False


_REGISTRY: dict[str, dict[str, dict[str, StrategyBehaviour]]] = {}


def register_strategy(
    behaviour: StrategyBehaviour, mechanism: str = "derelayl", replace: bool = False
) -> StrategyBehaviour:
    """Add (or with ``replace=True`` override) a strategy behaviour for ``mechanism``."""
    roles = _REGISTRY.setdefault(mechanism, {})
    per = roles.setdefault(behaviour.role, {})
    if behaviour.abbr in per and not replace:
        raise ValueError(
            f"strategy {behaviour.role}.{behaviour.abbr} is already registered "
            "(pass replace=True to override)"
        )
    per[behaviour.abbr] = behaviour
    return behaviour


def unregister_strategy(role: str, abbr: str, mechanism: str = "derelayl") -> None:
    """Remove a user-registered strategy (declared Table II strategies stay)."""
    if abbr == "N":
        raise ValueError("the Normal strategy cannot be removed")
    _REGISTRY.get(mechanism, {}).get(role, {}).pop(abbr, None)


def _ensure_defaults(mechanism: str) -> None:
    if mechanism in _REGISTRY and _REGISTRY[mechanism].get("_declared"):
        return
    from derelay.mechanism import get_mechanism

    mech = get_mechanism(mechanism)
    roles = _REGISTRY.setdefault(mechanism, {})
    fields = set(StrategyBehaviour.__dataclass_fields__)
    for role in mech.roles:
        per = roles.setdefault(role.abbr, {})
        for s in role.strategies:
            if s.abbr not in per:
                switches = {k: v for k, v in dict(s.behaviour).items() if k in fields}
                per[s.abbr] = StrategyBehaviour(role.abbr, s.abbr, s.name, **switches)
    roles["_declared"] = {}


def strategy_table(mechanism: str = "derelayl") -> dict[str, dict[str, StrategyBehaviour]]:
    """Every registered behaviour: role -> abbreviation -> behaviour (declared first)."""
    _ensure_defaults(mechanism)
    return {r: dict(v) for r, v in _REGISTRY[mechanism].items() if r != "_declared"}


def known_strategies(mechanism: str = "derelayl") -> dict[str, tuple[str, ...]]:
    """Role -> tuple of strategy abbreviations (Normal first)."""
    table = strategy_table(mechanism)
    return {r: tuple(sorted(v, key=lambda a: (a != "N",))) for r, v in table.items()}


def get_strategy(role: str, abbr: str, mechanism: str = "derelayl") -> StrategyBehaviour:
    table = strategy_table(mechanism)
    try:
        return table[role][abbr]
    except KeyError:
        raise KeyError(
            f"unknown strategy {role}.{abbr}; known: "
            + ", ".join(f"{r}: {list(v)}" for r, v in table.items())
        ) from None
