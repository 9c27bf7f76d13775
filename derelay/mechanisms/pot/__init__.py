"""Proof of Training (P. Li) as a derelay mechanism: ``--mechanism pot``.

A client posts an order (start model, data, reward R, deadline); K staked providers
train and commit a hash of their model before the deadline, then reveal it; validators
score the revealed models on the client's D_test with vStake behind each score; verifiers
audit and challenge with cStake; aggregators keep a PBFT ledger and settle through a
(k, n) multisig (Table 6 gas).  The paper states no utilities: every utility here is
derived (see :mod:`.closed`); the claims are in :mod:`.claims`; the round protocol on
the generic engine in :mod:`.protocol`; the paper section's data in :mod:`.report`.
"""

from __future__ import annotations

from typing import Any

from derelay.mechanism.base import Mechanism

from .claims import CLAIMS
from .closed import CONDITIONS, ERRATA, FUNDING, ROLES, multisig, settlement, thresholds
from .space import POT_SPACE


class PoT(Mechanism):
    name = "pot"
    title = "Proof of Training"
    paper = "P. Li, Proof of Training (PoT): Harnessing Crypto Mining Power for Distributed "
    paper += "AI Training (ProofOfTraining.txt)"
    space = POT_SPACE
    roles = ROLES
    conditions = CONDITIONS
    claims = CLAIMS
    funding = FUNDING
    protocol = "derelay.mechanisms.pot.protocol:PoTProtocol"
    learning_mode = "contest"
    finality = "bft"
    errata = ERRATA
    ir_condition = {"P": "P_IR_free_entry", "X": "X_participation", "A": "A_tax_covers_settlement"}
    #: Hints for the engine's contract suite: a small population, and runs in which the
    #: closed form's assumptions meet (all-honest profile; one deviation at share 1/2 whose
    #: payoff does not depend on the others; all validators in one cluster).
    contract = {
        "params": {"n_participants": 64},
        "rounds": 6,
        "closed_form": [
            {"role": "X", "strategy": "Audit", "run": {}, "rounds": 40, "tolerance": "4se"},
            {"role": "V", "strategy": "N", "run": {}, "rounds": 40, "tolerance": "4se"},
            {"role": "P", "strategy": "N", "run": {}, "rounds": 40, "tolerance": "4se"},
            {"role": "A", "strategy": "N", "run": {}, "rounds": 10, "tolerance": 1e-9},
            {"role": "P", "strategy": "Withhold", "rounds": 10, "tolerance": 1e-9,
             "run": {"strategies": {"P": {"N": 0.5, "Withhold": 0.5}}}},
            {"role": "V", "strategy": "Cluster", "rounds": 40, "tolerance": "4se",
             "run": {"strategies": {"V": {"Cluster": 1.0}}, "params": {"audit": 0.5}}},
            {"role": "C", "strategy": "N", "rounds": 10, "tolerance": 1e-9,
             "run": {"options": {"client_agent": True}}},
        ],
    }

    def extras(self, p: Any) -> dict[str, Any]:
        """``settlement`` (Table 6), ``multisig`` and break-even ``thresholds`` at ``p``."""
        return {"settlement": settlement(p), "multisig": multisig(p), "thresholds": thresholds(p)}


POT = PoT()

__all__ = ["POT", "POT_SPACE", "PoT"]
