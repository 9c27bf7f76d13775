"""The agent-based model of DeRelayL on Mesa 3 (issue 5), now DeRelayL's plug-in
(:mod:`derelay.mechanism.derelayl`) on the generic engine (:mod:`derelay.engine`).

Public API (docs/INTERFACES.md), unchanged::

    from derelay.model import SimConfig, DeRelayModel, run_simulation, RunResult
    cfg = SimConfig.from_preset("paper_text")        # or "authors_code", SimConfig.load(path)
    res = run_simulation(cfg, rounds=100, seed=0)
    res.rounds, res.agents, res.utilities, res.flows, res.meta
    res.write("out/")   # rounds, agents, utilities, flows .parquet, run.json
"""

from derelay.engine.run import RunResult
from derelay.mechanism.derelayl.config import PRESETS, SimConfig, SimConfigError
from derelay.mechanism.derelayl.learning import AbstractBackend
from derelay.mechanism.derelayl.lineage import CitationEngine, Lineage, naive_citations
from derelay.mechanism.derelayl.protocol import ROLES, DeRelayModel
from derelay.mechanism.derelayl.settlement import SETTLEMENTS, DeRelayLSettlement
from derelay.mechanism.derelayl.simulate import abm_run_kind, run_simulation

from .state import NANO, Ledger, LedgerError

__all__ = [
    "NANO",
    "PRESETS",
    "ROLES",
    "SETTLEMENTS",
    "AbstractBackend",
    "CitationEngine",
    "DeRelayLSettlement",
    "DeRelayModel",
    "Ledger",
    "LedgerError",
    "Lineage",
    "RunResult",
    "SimConfig",
    "SimConfigError",
    "abm_run_kind",
    "naive_citations",
    "run_simulation",
]
