"""Mesa agent classes and declared strategy objects of the ABM (issue 5)."""

from .participant import Participant
from .strategies import (
    MINER_BLOCK,
    StrategyBehaviour,
    get_strategy,
    known_strategies,
    register_strategy,
    strategy_table,
    unregister_strategy,
)

__all__ = [
    "MINER_BLOCK",
    "Participant",
    "StrategyBehaviour",
    "get_strategy",
    "known_strategies",
    "register_strategy",
    "strategy_table",
    "unregister_strategy",
]
