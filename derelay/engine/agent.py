"""The generic Mesa agent: a thin view over one row of the engine's numpy state."""

from __future__ import annotations

from ._mesa import mesa
from .ledger import NANO


class EngineAgent(mesa.Agent):
    """One participant of any mechanism (its role and strategy change round by round)."""

    def __init__(self, model: mesa.Model, index: int) -> None:
        super().__init__(model)
        self.index = int(index)

    @property
    def coins(self) -> float:
        return int(self.model.state.coins[self.index]) / NANO

    @property
    def coins_nano(self) -> int:
        return int(self.model.state.coins[self.index])

    @property
    def role(self) -> str:
        """Role played in the last round (``"idle"`` if none)."""
        return self.model.role_names[int(self.model.state.role[self.index])]

    @property
    def family(self) -> str:
        """The agent's persistent deviation family."""
        return self.model.types.family_name(self.index)

    @property
    def coalition(self) -> int:
        return int(self.model.types.coalition[self.index])

    @property
    def strategy(self) -> str:
        """Strategy of the role played in the last round (``""`` if idle)."""
        rc = int(self.model.state.role[self.index])
        if rc >= len(self.model.roles):
            return ""
        return self.strategy_for(self.model.roles[rc])

    def strategy_for(self, role: str) -> str:
        m = self.model
        return m.role_strats[role][int(m.state.strategy[self.index, m.role_code(role)])]

    def set_strategy(self, role: str, abbr: str) -> None:
        self.model.set_strategy(self.index, role, abbr)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.index}, role={self.role}, coins={self.coins:g})"
