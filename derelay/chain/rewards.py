"""Re-export of DeRelayL's coinbase per block (:mod:`derelay.mechanism.derelayl.chain_rewards`).

The counts a block's payload sets (``Q_Deposit``, ``Q_HashM``, ...) are DeRelayL's
parameters, so the rule lives in its plug-in; this module keeps ``derelay.chain.rewards``
imports working.
"""

from __future__ import annotations

from derelay.mechanism.derelayl.chain_rewards import NANO, MinerRewards  # noqa: F401
