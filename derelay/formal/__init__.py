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

from derelay._lazy import lazy_exports

# DeRelayL's analysis lives in its plug-in (derelay.mechanism.derelayl.formal) and imports
# the generic helpers here (derelay.formal.symbolic); the names below are therefore
# resolved on first use, so importing either side first never meets a half-initialised
# module (no import cycle).
_LAZY = {
    "algorithm1": "auction",
    "auction_search": "auction",
    "break_even": "deviations",
    "coalition": "deviations",
    "coalition_gain": "deviations",
    "lazy": "deviations",
    "lazy_gain": "deviations",
    "lazy_utility": "deviations",
    "search": "deviations",
    "simulate_witness": "deviations",
    "unilateral": "deviations",
    "feasible_region": "feasible",
    "feasible_rewards": "feasible",
    "linear_structure": "feasible",
    "region_summary": "feasible",
    "domain_problems": "prove",
    "necessity": "prove",
    "prove_all": "prove",
    "prove_claims": "prove",
    "DEFAULT_TIMEOUT": "symbolic",
    "FormalError": "symbolic",
    "exact_point": "symbolic",
    "symbolic_point": "symbolic",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
