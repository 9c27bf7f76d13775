"""Settlement components: the mechanism-specific part of a round, swappable.

The round logic (:mod:`derelay.model.core`) asks its settlement component

* what each block kind pays its miner (``block_reward``),
* which submitted models are selected (``select``),
* how much citation reward each participant gets for the selected models
  (``citations``), and which costs a role bears (``costs``).

:class:`DeRelayLSettlement` implements DeRelayL (Table II revenues, top-s selection of
Sec. III-B Step 11 / Sec. IV-A(5), citation rewards of Step 11 part 4 / Sec. IV-A(6)).
Other mechanisms (PoT, BRAIN, FLChain, DeepChain) register their own class in
``SETTLEMENTS`` and are chosen with ``SimConfig.mechanism``.
"""

from __future__ import annotations

import math

import numpy as np

from derelay.mechanism import derelayl as dr

from .lineage import CitationEngine, Lineage
from .state import to_nano


class DeRelayLSettlement:
    """DeRelayL's matching-independent settlement: rewards, selection, citations."""

    name = "derelayl"

    def __init__(self, cfg, lineage: Lineage, genesis_node: int) -> None:
        p = cfg.params
        self.p = p
        self.s = float(p.s)
        self.r_cited = to_nano(p.r_cited * p.coin)
        self.r = {
            "deposit": to_nano(p.r_deposit),
            "hash": to_nano(p.r_hash_m),
            "enc": to_nano(p.r_encrypted_m),
            "case": to_nano(p.r_case),
            "verified": to_nano(p.r_verified_m),
            "verify": to_nano(p.r_verify),
        }
        self.q_cases = int(round(p.q_cases))
        self.engine = CitationEngine(
            lineage,
            int(p.n_participants),
            genesis_node,
            schedule=cfg.citation,
            beta=cfg.beta_citation,
        )
        # Table II cost terms, evaluated once with the mechanism core's formulas
        self.cost = {
            "train": float(dr.train_cost(p)),
            "transmit": float(dr.transmit_cost(p)),
            "encrypt": float(dr.encrypt_cost(p)),
            "broadcast": float(dr.broadcast_cost(p)),
            "enc_transfer": float(dr.encrypted_transfer_cost(p)),
            "mine": float(p.c_mine),
            "fhe_key": float(p.c_gen_fhe_key),
            "gen_cases": float(p.q_cases * p.c_unit_gen_td_case),
            "verify_per_model": float(p.q_cases * p.c_unit_verify),
        }

    # --- rewards (Table II revenues; nano-coins) ------------------------------------------
    def block_reward(self, kind: str, n_items: int) -> int:
        r = self.r
        if kind == "DB":  # eq. 40: Q_Deposit * R_Deposit
            return n_items * r["deposit"]
        if kind == "EB":  # eq. 50: Q_HashM * R_HashM
            return n_items * r["hash"]
        if kind == "TB":  # eq. 57: Q_EncryptedM * R_EncryptedM + Q_Cases * R_Case
            return n_items * r["enc"] + self.q_cases * r["case"]
        if kind == "SB":  # eq. 64: Q_VerifiedM * (R_VerifiedM + Q_Cases * R_Verify)
            return n_items * (r["verified"] + self.q_cases * r["verify"])
        raise ValueError(kind)

    def block_cost(self, kind: str, n_items: int, valid: bool) -> float:
        """Operating cost of a miner for one block (coins; Table II cost terms)."""
        c = self.cost
        if not valid:
            return c["mine"]
        if kind == "DB":
            return c["mine"]
        if kind == "EB":
            return c["mine"] + c["enc_transfer"] + c["fhe_key"]
        if kind == "TB":
            return c["mine"] + c["gen_cases"]
        return c["mine"] + n_items * (c["enc_transfer"] + c["verify_per_model"])

    # --- selection (Step 11 part 3; Sec. IV-A(5)) -----------------------------------------
    def select(self, perf: np.ndarray, eligible: np.ndarray, rng: np.random.Generator):
        """Positions of the top floor(s * #eligible) models (best first) and the order."""
        pos = np.flatnonzero(eligible)
        pos = pos[rng.permutation(len(pos))]  # random order among equal performances
        order = pos[np.argsort(-perf[pos], kind="stable")]
        k = self.top_k(len(order))
        return order[:k], order

    def top_k(self, n_ranked: int) -> int:
        """How many of ``n_ranked`` models are selected: floor(s * n_ranked)."""
        return int(math.floor(self.s * n_ranked + 1e-9))

    # --- citations (Step 11 part 4; Sec. IV-A(6)) -----------------------------------------
    def citations(self, selected_nodes: np.ndarray) -> np.ndarray:
        return self.engine.amounts(selected_nodes, self.r_cited)


SETTLEMENTS = {"derelayl": DeRelayLSettlement}


def make_settlement(cfg, lineage: Lineage, genesis_node: int):
    try:
        cls = SETTLEMENTS[cfg.mechanism]
    except KeyError:
        raise ValueError(
            f"mechanism = {cfg.mechanism!r} has no settlement component; "
            f"allowed {sorted(SETTLEMENTS)}"
        ) from None
    return cls(cfg, lineage, genesis_node)
