"""The Mesa agent: a thin view over one row of the model's numpy state.

All state (coins, versions, role, strategy profile) lives in numpy arrays on the model so
that a round is vectorised; a :class:`Participant` is the modelling interface over an
index into those arrays (``model.agents.select(...)``, ``shuffle_do`` for hooks, reading
and writing one participant in tests and notebooks).
"""

from __future__ import annotations

import mesa

from derelay.model.state import NANO, ROLE_NAMES


class Participant(mesa.Agent):
    """One DeRelayL participant (model owner, trainer or miner, round by round)."""

    def __init__(self, model: mesa.Model, index: int) -> None:
        super().__init__(model)
        self.index = int(index)

    # --- views on the vectorised state ---------------------------------------------------
    @property
    def coins(self) -> float:
        """Coin balance (the ledger keeps integer nano-coins)."""
        return int(self.model.state.coins[self.index]) / NANO

    @property
    def coins_nano(self) -> int:
        return int(self.model.state.coins[self.index])

    @property
    def version(self) -> int:
        """Newest model version held (-1: none)."""
        return int(self.model.state.version[self.index])

    @property
    def role(self) -> str:
        """Role played in the last round ("MO", "T", "DBM", ..., "idle")."""
        return ROLE_NAMES[int(self.model.state.role[self.index])]

    @property
    def strategy(self) -> str:
        """Strategy of the role played in the last round."""
        return self.model.strategy_of(self.index)

    def strategy_for(self, role: str) -> str:
        return self.model.strategy_for(self.index, role)

    def set_strategy(self, role: str, abbr: str) -> None:
        self.model.set_strategy(self.index, role, abbr)

    def run_hook(self) -> None:
        """Run the current strategy's per-agent hook, if it declares one."""
        beh = self.model.behaviour_of(self.index)
        if beh is not None and beh.hook is not None:
            beh.hook(self, self.model)

    def __repr__(self) -> str:
        return (
            f"Participant({self.index}, role={self.role}, coins={self.coins:g}, v={self.version})"
        )
