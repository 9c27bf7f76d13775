"""A forkable four-stage DeRelayL blockchain over a networkx topology (issue 4).

Public API (the contract with the agent-based model, see ``docs/INTERFACES.md``)::

    from derelay.chain import BlockKind, ChainConfig, ChainSimulator, StageOutcome, hash_model

* :mod:`derelay.chain.blocks` - ``Block``, ``BlockKind``, canonical SHA-256 hashing,
  ``hash_model``;
* :mod:`derelay.chain.rules` - payload builders and the validity rules (PI, NPA, NG,
  step 7, IT, IRa) honest nodes apply (DeRelayL's: they live in its plug-in,
  :mod:`derelay.mechanism.derelayl.chain_rules`, with the block kinds ``chain_blocks`` and
  the coinbase ``chain_rewards``; re-exported here);
* :mod:`derelay.chain.ledger` - the engine's ledger with per-contract escrow and exact
  undo, so it follows reorganisations;
* :mod:`derelay.chain.simulator` - the PoW race (staged ``mine_stage`` for the ABM,
  continuous ``run`` for ``derelay chain``) and its measurements;
* :mod:`derelay.network` - topologies, per-edge latencies, shortest-path delays.

Paper ambiguities and how they are resolved
-------------------------------------------
The paper (Sec. III-B) defines the four blocks and says forks let honest miners
"follow the honest blocks" (C8, step 9) but leaves forking to future work.

1. *Stages.*  Blocks of a round are separated by off-chain work (training, FHE,
   testing), so the ABM's race is staged: each stage opens on a common tip and
   closes when every node holds a block of the stage; natural forks within a stage
   are resolved as the next honest block would resolve them.  ``derelay chain``
   also offers a free-running chain (kinds by height) where forks can grow deeper.
2. *Validity.*  Honest nodes reject PI, NG, IT and IRa blocks and blocks on top of
   them; NPA is legal (Table II gives it positive revenue) and competes normally.
   Step (7)'s Hash(M_prev) != Hash(M_new) is checked on real SHA-256 digests and the
   previous hash is cross-checked against EB_{n-1} when the owner appears there.
3. *Finality.*  "Final" = at least k blocks deep on the final chain; the final chain
   is the longest published chain (``final_rule="longest"``: what PoW makes
   canonical when the adversary out-mines honest nodes) or the longest valid one
   (``"honest"``).  The paper's assumption that dishonest blocks are always orphaned
   is *measured* (``dishonest_orphan_rate``), not imposed.
4. *Deposits.*  Contracts are escrow locked by the DB and settled by the same
   round's SB on the final chain; forfeited deposits go through the engine ledger's one
   forfeit rule (``Ledger.forfeit``) to a destination that is a parameter: a treasury
   account by default (the paper only says they "will not be returned"), burned, or
   redistributed (the ABM passes its own ``SimConfig.forfeit``).  A contract packed on two branches
   is detected and never settled twice.  Amounts are non-negative integers: the
   paper's bid min(coins, V_latest - V_now + 1) (Sec. IV-A(2)) is 0 for a trainer
   without coins, so a zero deposit is proper (the ABM packs such contracts).
5. *FHE* is out of scope: keys carry a checksum so NG is checkable, and a keyed
   hash stands for Hash(FHE(M)); test cases are committed to the round's key (C7).

Names are imported on first use (PEP 562), so ``import derelay.chain.blocks`` loads
neither the simulator nor pydantic, and DeRelayL's plug-in modules can import the generic
hashing of :mod:`derelay.chain.blocks` without an import cycle.
"""

from __future__ import annotations

from derelay._lazy import lazy_exports

_LAZY = {
    "KIND_ORDER": "blocks",
    "Block": "blocks",
    "BlockKind": "blocks",
    "canonical_json": "blocks",
    "digest": "blocks",
    "hash_model": "blocks",
    "POLICIES": "config",
    "ChainConfig": "config",
    "config_error_message": "config",
    "chain_run": "experiment",
    "simulate": "experiment",
    "Ledger": "ledger",
    "LedgerError": "ledger",
    "SyntheticWorkload": "rules",
    "corrupt": "rules",
    "deposit_contract": "rules",
    "deposit_payload": "rules",
    "encrypted_model_hash": "rules",
    "encryption_payload": "rules",
    "fhe_key_valid": "rules",
    "fhe_keypair": "rules",
    "model_record": "rules",
    "ranking_of": "rules",
    "settlement_payload": "rules",
    "test_commitment": "rules",
    "testing_payload": "rules",
    "validate_payload": "rules",
    "ChainSimulator": "simulator",
    "StageOutcome": "simulator",
    "assign_pools": "simulator",
    "pool_hash_power": "simulator",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
