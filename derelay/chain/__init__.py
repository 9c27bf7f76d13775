"""A forkable four-stage DeRelayL blockchain over a networkx topology (issue 4).

Public API (the contract with the agent-based model, see ``docs/INTERFACES.md``)::

    from derelay.chain import BlockKind, ChainConfig, ChainSimulator, StageOutcome, hash_model

* :mod:`derelay.chain.blocks` - ``Block``, ``BlockKind``, canonical SHA-256 hashing,
  ``hash_model``;
* :mod:`derelay.chain.rules` - payload builders and the validity rules (PI, NPA, NG,
  step 7, IT, IRa) honest nodes apply;
* :mod:`derelay.chain.ledger` - escrow ledger in nano-coins that follows reorganisations;
* :mod:`derelay.chain.simulator` - the PoW race (staged ``mine_stage`` for the ABM,
  continuous ``run`` for ``derelay chain``) and its measurements;
* :mod:`derelay.network` - topologies, per-edge latencies, shortest-path delays.
"""

from .blocks import KIND_ORDER, Block, BlockKind, canonical_json, digest, hash_model
from .config import POLICIES, ChainConfig, config_error_message
from .experiment import chain_run, simulate
from .ledger import Ledger, LedgerError
from .rules import (
    SyntheticWorkload,
    corrupt,
    deposit_contract,
    deposit_payload,
    encrypted_model_hash,
    encryption_payload,
    fhe_key_valid,
    fhe_keypair,
    model_record,
    ranking_of,
    settlement_payload,
    test_commitment,
    testing_payload,
    validate_payload,
)
from .simulator import ChainSimulator, StageOutcome

__all__ = [
    "KIND_ORDER",
    "POLICIES",
    "Block",
    "BlockKind",
    "ChainConfig",
    "ChainSimulator",
    "Ledger",
    "LedgerError",
    "StageOutcome",
    "SyntheticWorkload",
    "canonical_json",
    "chain_run",
    "config_error_message",
    "corrupt",
    "deposit_contract",
    "deposit_payload",
    "digest",
    "encrypted_model_hash",
    "encryption_payload",
    "fhe_key_valid",
    "fhe_keypair",
    "hash_model",
    "model_record",
    "ranking_of",
    "settlement_payload",
    "simulate",
    "test_commitment",
    "testing_payload",
    "validate_payload",
]
