"""Formal checks of DeRelayL's incentive mechanism with z3 (issue 3).

Everything is built on the mechanism core's single-source formulas evaluated on z3
Reals (:func:`symbolic_point`); every answer is ``proved``, ``counterexample`` (a
concrete point replayed exactly with Fractions through the same formulas) or
``unknown`` (timeout).  Public API:

* :func:`prove_all` -- ``derelay prove``: claims, necessity of T1-T8, domain problems;
* :func:`feasible_rewards` / :func:`feasible_region` -- ``derelay feasible``;
* :func:`search` -- ``derelay deviations`` (unilateral, auction, lazy, coalition);
* :func:`algorithm1`, :func:`auction_search`, :func:`lazy_utility`,
  :func:`coalition_gain`, :func:`break_even` -- the building blocks.
"""

from .auction import algorithm1, auction_search
from .deviations import (
    break_even,
    coalition,
    coalition_gain,
    lazy,
    lazy_gain,
    lazy_utility,
    search,
    simulate_witness,
    unilateral,
)
from .feasible import feasible_region, feasible_rewards, linear_structure, region_summary
from .prove import domain_problems, necessity, prove_all, prove_claims
from .symbolic import DEFAULT_TIMEOUT, FormalError, exact_point, symbolic_point

__all__ = [
    "DEFAULT_TIMEOUT",
    "FormalError",
    "algorithm1",
    "auction_search",
    "break_even",
    "coalition",
    "coalition_gain",
    "domain_problems",
    "exact_point",
    "feasible_region",
    "feasible_rewards",
    "lazy",
    "lazy_gain",
    "lazy_utility",
    "linear_structure",
    "necessity",
    "prove_all",
    "prove_claims",
    "region_summary",
    "search",
    "simulate_witness",
    "symbolic_point",
    "unilateral",
]
