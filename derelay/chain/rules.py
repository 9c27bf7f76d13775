"""Re-export of DeRelayL's payload builders and validity rules.

They are DeRelayL's, so they live in its plug-in:
:mod:`derelay.mechanism.derelayl.chain_rules` (payload schemas, PI/NPA/NG/step 7/IT/IRa,
the synthetic workload).  This module keeps ``derelay.chain.rules`` imports working.
"""

from __future__ import annotations

from derelay.mechanism.derelayl.chain_rules import (  # noqa: F401 - re-exports
    DEVIATION_OF_KIND,
    VIOLATIONS,
    SyntheticWorkload,
    contract_id,
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
