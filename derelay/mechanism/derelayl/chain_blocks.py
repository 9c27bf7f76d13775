"""DeRelayL's four block kinds, in the order a round mines them (Section III-B).

Part of DeRelayL's plug-in: the chain simulator (:mod:`derelay.chain`) is DeRelayL's
forkable PoW chain and takes its block kinds from here (:mod:`derelay.chain.blocks`
re-exports them).  The kinds are the values of :data:`~derelay.mechanism.derelayl.core.
MINER_BLOCK` (the miner role that mines each kind); a test checks they agree.
"""

from __future__ import annotations

from enum import StrEnum


class BlockKind(StrEnum):
    """The four block kinds of one DeRelayL round (Section III-B)."""

    DB = "DB"  # deposit block: deposit smart contracts (step 3)
    EB = "EB"  # encryption block: FHE public key and model hashes (step 7)
    TB = "TB"  # testing block: test-case commitment, encrypted-model hashes (step 9)
    SB = "SB"  # settlement block: verified performances and ranking (step 11)


KIND_ORDER: tuple[BlockKind, ...] = (BlockKind.DB, BlockKind.EB, BlockKind.TB, BlockKind.SB)
KIND_INDEX = {k: i for i, k in enumerate(KIND_ORDER)}
