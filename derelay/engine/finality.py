"""Finality models for mechanisms without a forkable chain.

DeRelayL keeps its forkable PoW chain (:mod:`derelay.model.chainsim`, :mod:`derelay.chain`);
the other mechanisms settle on final consensus:

* :class:`BFT`: a block proposed in a round is final at once when more than ``threshold``
  (default 2/3) of the validators' votes sign it; there are no forks, so nothing is ever
  reorganised.  A round whose block gathers too few votes finalises nothing (its
  deposits stay locked or are refunded - the protocol's choice).
* :class:`Committee`: a committee of ``size`` members is drawn per round (uniformly,
  without replacement, from the protocol's stream); its majority decides as in BFT.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BFT:
    threshold: float = 2.0 / 3.0
    name: str = "bft"

    def __post_init__(self) -> None:
        if not (0.5 <= self.threshold < 1.0):
            raise ValueError(
                f"threshold = {self.threshold!r} is out of range: allowed 0.5 <= threshold < 1"
            )

    def final(self, votes_for, n_voters) -> np.ndarray:
        """Whether each block is final: votes_for > threshold * n_voters (vectorised)."""
        v = np.asarray(votes_for, dtype=np.float64)
        return v > self.threshold * np.asarray(n_voters, dtype=np.float64)

    forks = 0  # final consensus never forks


@dataclass(frozen=True)
class Committee:
    size: int
    threshold: float = 0.5
    name: str = "committee"

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"size = {self.size!r} is out of range: allowed size >= 1")

    def draw(self, candidates, rng: np.random.Generator) -> np.ndarray:
        """This round's committee (sorted ids; all candidates if fewer than ``size``)."""
        c = np.asarray(candidates, dtype=np.int64)
        if c.size <= self.size:
            return np.sort(c)
        return np.sort(rng.choice(c, size=self.size, replace=False))

    def final(self, votes_for, n_members) -> np.ndarray:
        v = np.asarray(votes_for, dtype=np.float64)
        return v > self.threshold * np.asarray(n_members, dtype=np.float64)

    forks = 0
