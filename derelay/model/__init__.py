"""The agent-based model of DeRelayL on Mesa 3 (issue 5).

Public API (docs/INTERFACES.md)::

    from derelay.model import SimConfig, DeRelayModel, run_simulation, RunResult
    cfg = SimConfig.from_preset("paper_text")        # or "authors_code", SimConfig.load(path)
    res = run_simulation(cfg, rounds=100, seed=0)
    res.rounds, res.agents, res.utilities, res.meta
    res.write("out/")   # rounds.parquet, agents.parquet, utilities.parquet, run.json
"""

from .config import PRESETS, SimConfig, SimConfigError
from .core import DeRelayModel
from .learning import AbstractBackend
from .lineage import CitationEngine, Lineage, naive_citations
from .settlement import SETTLEMENTS, DeRelayLSettlement
from .simulate import RunResult, abm_run_kind, run_simulation
from .state import NANO, ROLES, Ledger, LedgerError

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
