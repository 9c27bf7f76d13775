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
from fractions import Fraction

import numpy as np

from derelay.engine.ledger import NANO, to_nano

from . import core as dr
from .lineage import CitationEngine, Lineage
from .matching import _desc_order


def _affine_nano(revenue, p, count: str, extra: dict | None = None) -> tuple[int, int]:
    """(a, b) in nano-coins with revenue(count = q) = a + b q exactly (Table II revenues
    are affine in their counts), evaluated once on exact Fractions of ``p``."""
    from derelay.params import ParamValues, as_values

    vals = {
        k: Fraction(v) if isinstance(v, float | int) else v for k, v in vars(as_values(p)).items()
    }
    vals.update(extra or {})
    at = [revenue(ParamValues(**{**vals, count: Fraction(q)})) * NANO for q in (0, 1)]
    a, b = round(at[0]), round(at[1] - at[0])
    return int(a), int(b)


class DeRelayLSettlement:
    """DeRelayL's matching-independent settlement: rewards, selection, citations."""

    name = "derelayl"

    def __init__(self, cfg, lineage: Lineage, genesis_node: int) -> None:
        p = cfg.params
        self.p = p
        self.s = float(p.s)
        self.r_cited = to_nano(p.r_cited * p.coin)
        self.q_cases = int(round(p.q_cases))
        # the miners' block rewards: the Table II revenue terms of the mechanism core,
        # a + b * items in nano-coins (the SB's per-model reward counts the round's cases)
        cases = {"q_cases": Fraction(self.q_cases)}
        self.reward_terms = {
            kind: _affine_nano(rev, p, count, cases)
            for kind, (rev, _cost, count) in dr.BLOCK_TERMS.items()
        }
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
        self._block_cost: dict[tuple[str, int], float] = {}
        self._pv = None

    # --- rewards (Table II revenues; nano-coins) ------------------------------------------
    def block_reward(self, kind: str, n_items: int) -> int:
        """Eqs. 40, 50, 57, 64 with the block's item count (nano-coins)."""
        a, b = self.reward_terms[kind]
        return a + b * int(n_items)

    def block_cost(self, kind: str, n_items: int, valid: bool) -> float:
        """Operating cost of a miner for one block (coins; Table II cost terms, eqs. 41,
        51, 58, 65, evaluated with the block's item count); an invalid block costs C_Mine."""
        if not valid:
            return self.cost["mine"]
        key = (kind, int(n_items))
        c = self._block_cost.get(key)
        if c is None:
            if self._pv is None:
                from derelay.params import ParamValues, as_values

                self._pv = ParamValues(**vars(as_values(self.p)))  # one private copy
            _rev, cost, count = dr.BLOCK_TERMS[kind]
            setattr(self._pv, count, float(n_items))
            c = self._block_cost[key] = float(cost(self._pv))
        return c

    # --- selection (Step 11 part 3; Sec. IV-A(5)) -----------------------------------------
    def select(
        self,
        perf: np.ndarray,
        eligible: np.ndarray,
        rng: np.random.Generator,
        full_order: bool = True,
    ):
        """Positions of the top floor(s * #eligible) models (best first) and the order.

        Ties are broken by one random permutation (a stable sort after it: the key is
        (performance, position in the permutation)).  ``full_order=False`` ranks only
        the selected top k (one partial sort, :func:`.matching._desc_order`: the same
        permutation, the same top k in the same order) and returns them as the order.
        """
        pos = np.asarray(eligible).reshape(-1).nonzero()[0]
        k = self.top_k(len(pos))
        if not full_order:
            top = pos[_desc_order(perf[pos], rng, top=k)]
            return top, top
        pos = pos[rng.permutation(len(pos))]  # random order among equal performances
        order = pos[np.argsort(-perf[pos], kind="stable")]
        return order[:k], order

    def top_k(self, n_ranked: int) -> int:
        """How many of ``n_ranked`` models are selected: floor(s * n_ranked)."""
        return int(math.floor(self.s * n_ranked + 1e-9))

    # --- citations (Step 11 part 4; Sec. IV-A(6)) -----------------------------------------
    def citations(self, selected_nodes: np.ndarray) -> np.ndarray:
        return self.engine.amounts(selected_nodes, self.r_cited)


SETTLEMENTS = {"derelayl": DeRelayLSettlement}


def make_settlement(cfg, lineage: Lineage, genesis_node: int):
    """DeRelayL's settlement, or one registered in ``SETTLEMENTS`` under
    ``cfg.settlement`` (a variant of DeRelayL's rewards; other mechanisms bring their own
    protocol instead)."""
    name = getattr(cfg, "settlement", "derelayl")
    try:
        cls = SETTLEMENTS[name]
    except KeyError:
        raise ValueError(
            f"settlement = {name!r} is unknown; allowed {sorted(SETTLEMENTS)}"
        ) from None
    return cls(cfg, lineage, genesis_node)
