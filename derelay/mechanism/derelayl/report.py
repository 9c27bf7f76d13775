"""What DeRelayL's paper sections (``paper/sections/``) need that only DeRelayL knows.

The sections read roles, strategies and parameter names from DeRelayL's declaration
(:mod:`.core`, :mod:`derelay.params`) or from the experiment specs; what is left here is
intrinsically DeRelayL's and has no other home:

* :data:`TABLE_III`: the simulation settings exactly as the paper prints them (Sec. IV,
  Table III).  They are the paper's numbers, kept apart from derelay's defaults
  (:mod:`derelay.params`) on purpose: claim C0 compares the two, so the printed values
  must not be read back from the defaults.
* :func:`citation_capped_region`: claim C11's grid, the feasible region with the
  citation reward R_Cited capped (the other rewards are per-item amounts of 0.001 ©
  in Table III; only R_Cited is in whole coins, so it is the one a designer caps).
"""

from __future__ import annotations

from typing import Any

#: (Table III row as printed, parameter, printed value)
TABLE_III: tuple[tuple[str, str, float], ...] = (
    ("Total number of participants", "n_participants", 256),
    ("Number of candidate miners in each round", "n_miners", 128),
    ("Maximum number of Trainers cooperated by an MO", "selection_limit", 4),
    ("MO's budget (coins)", "mo_budget", 0.001),
    ("Probability of successful model training by T", "p_train_success", 0.9),
    ("Number of testing data cases packaged by TBM", "q_cases", 100),
    ("Proportion of Ts selected as successful model trainers", "s", 0.5),
    ("Reward base for miners: R_Deposit", "r_deposit", 0.001),
    ("Reward base for miners: R_HashM", "r_hash_m", 0.001),
    ("Reward base for miners: R_EncryptedM", "r_encrypted_m", 0.001),
    ("Reward base for miners: R_Case", "r_case", 0.001),
    ("Reward base for miners: R_VerifiedM", "r_verified_m", 0.001),
    ("Reward base for miners: R_Verify", "r_verify", 0.001),
    ("Citation reward per ancestor, Sec. IV-A(6) (one ©)", "r_cited", 1.0),
)

#: the reward :func:`citation_capped_region` caps
CITATION_REWARD = "r_cited"


def citation_capped_region(points: int, cap: float) -> Any:
    """:func:`.formal.feasible.feasible_region` over its default plane, R_Cited <= ``cap``."""
    from .formal.feasible import feasible_region

    return feasible_region(points=points, max_rewards={CITATION_REWARD: cap})
