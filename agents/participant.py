"""The Mesa agent of DeRelayL: a thin view over one row of the model's numpy state.

All state (coins, versions, role, strategy profile) lives in numpy arrays on the model so
that a round is vectorised; a :class:`Participant` is the modelling interface over an
index into those arrays (``model.agents.select(...)``, ``shuffle_do`` for hooks, reading
and writing one participant in tests and notebooks).
"""

from __future__ import annotations

from derelay.engine.agent import EngineAgent


class Participant(EngineAgent):
    """One DeRelayL participant (model owner, trainer or miner, round by round)."""

    @property
    def version(self) -> int:
        """Newest model version held (-1: none)."""
        return int(self.model.state.version[self.index])

    def run_hook(self) -> None:
        """Run the current strategy's per-agent hook, if it declares one."""
        beh = self.model.behaviour_of(self.index)
        if beh is not None and beh.hook is not None:
            beh.hook(self, self.model)

    def __repr__(self) -> str:
        return (
            f"Participant({self.index}, role={self.role}, coins={self.coins:g}, v={self.version})"
        )
