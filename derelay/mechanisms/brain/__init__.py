"""BRAIN (Park, Lee, Moon: a blockchain-based platform for reliable inference and training of
large-scale models, ``BRAIN.txt``) as a derelay mechanism: ``--mechanism brain``.

A proposer SUGGESTs a model update; a training committee drawn by VRF sortition (the
proposer excluded) COMMITs to and then REVEALs its scores on each member's own data; the
median score decides; accepted updates are merged by every node with Alg. 1's weighted
moving average.  Rewards R_C, R_R, R_U, R_S and penalties P_C, P_R, P_S against an equal
deposit (Sec. III); gas per call in Table II.

The paper states no utilities and no theorem beyond convergence (Sec. V-B): every utility
here is derived (:mod:`.closed_form`); the claims are in :mod:`.claims`, the contract rules
and Alg. 1 in :mod:`.rules`, Table II and the latency arithmetic in :mod:`.gas`, the ABM
round in :mod:`.protocol` and the reproduction in :mod:`.report`.  See docs/brain.md.
"""

from __future__ import annotations

from typing import Any

from derelay.mechanism import Erratum, Mechanism

from . import closed_form as _cf
from .claims import CLAIMS
from .claims import extras as _extras
from .space import BRAIN_SPACE

ERRATA = (
    Erratum(
        "E1",
        "Sec. V-B, proof of Alg. 1",
        "The proof's first line, M̄_{r-1} = (a_{r-n+1}M_{r-n+1}+...+a_{r-1}M_{r-1}) / "
        "(a_{r-n+1}+...+a_{r-1}), averages n-1 models while its conclusion averages n; the "
        "recursion M̄_r = (1-α)M̄_{r-1} + αM_r with α = a_r/(a_{r-n+1}+...+a_r) is therefore "
        "not the windowed weighted average of the last n updates: old updates never leave "
        "(their weight decays geometrically).  With n = 2, equal scores and M_0, M_1, M_2 = "
        "0, 1, 1 it gives M̄_2 = 3/4, the window average is 1.  derelay implements the "
        "recursion as printed (the issue's contract) and reports the difference.",
    ),
    Erratum(
        "E2",
        "Sec. V-A",
        "'The median ... can provide a reliable result unless the majority of nodes are "
        "malicious': for an even number of revealed scores (even Q_R, or fewer revealers "
        "under b-I fallback) half of them suffice - the mean of the two middle values then "
        "leaves the honest range (brain.median_robust, tight witnesses).",
    ),
    Erratum(
        "E3",
        "Sec. VII-A",
        "'Under the assumption that more than half of the participating nodes are honest, "
        "... [BRAIN] always operates correctly': an honest majority of the population does "
        "not give every randomly drawn committee an honest majority; with an adversarial "
        "share of 0.4 and Q_R = 11 a committee has an adversarial majority with probability "
        "0.247 (binomial; check --json adversarial_majority).",
    ),
    Erratum(
        "E4",
        "Table II",
        "The per-phase row '(2)-a. verify $5.863' is not VRF verification alone: it is "
        "verify_fast + COMMIT_H + pop_prior ($2.980 + $0.888 + $1.995), the "
        "quorum-completing commit.  The table states no ETH or MATIC price; its dollar "
        "figures are consistent with ETH in [1412.48, 1412.50] USD and MATIC in [0.902, "
        "0.914] USD (derelay uses eth_usd = 1412.5).",
    ),
    Erratum(
        "E5",
        "Sec. III-B",
        "R_C = 0 is recommended 'to encourage nodes to submit the following REVEAL', but "
        "R_C is paid to every committer whether it reveals or not, so it cancels from the "
        "reveal-vs-withhold comparison (brain.reveal_ic holds iff R_R + P_R + R_U/Q_C > "
        "e C_eval + C_tx, for any R_C).  What R_C = 0 does prevent is committing junk and "
        "never revealing for R_C alone (condition C_no_junk_commit: R_C < P_R + C_tx).",
    ),
    Erratum(
        "E6",
        "Sec. IV-D vs Alg. 2",
        "Sec. IV-D: 'more than Q_C COMMIT transactions must be published'; Alg. 2 ends "
        "phase (2)-a when |K_C| >= Q_C.  derelay follows Alg. 2 (at least Q_C).",
    ),
)


class Brain(Mechanism):
    name = "brain"
    title = "BRAIN: Blockchain-based Reliable AI Network"
    paper = "S. Park, J. Lee, S.-M. Moon, BRAIN.txt"
    space = BRAIN_SPACE
    roles = _cf.ROLES
    conditions = _cf.CONDITIONS
    claims = CLAIMS
    funding = _cf.FUNDING
    protocol = "derelay.mechanisms.brain.protocol:BrainProtocol"
    learning_mode = "wma"
    finality = "bft"
    errata = ERRATA
    #: the claim behind each deviation family (``derelay compare`` reports its z3 status)
    family_claims = {
        "lazy": "brain.proposer_ic",
        "lazy_eval": "brain.honest_scoring_ic",
        "withhold": "brain.reveal_ic",
        "malformed": "brain.commit_reveal_no_freeride",
        "collude": "brain.median_robust",
        "misreport": "brain.median_robust",
    }
    #: hints for the engine's contract tests (tests/test_mechanism_contract.py): runs in
    #: which a realised mean utility equals the closed form at the run's parameters
    #: (all-honest committees: Q_C seats and one executor per decided request; a
    #: withholding or bad-revealing seat's money does not depend on the committee)
    contract = {
        "rounds": 6,
        "closed_form": [
            {"role": "C", "strategy": "N", "run": {}, "rounds": 10, "tolerance": 1e-9},
            {
                "role": "C",
                "strategy": "Withhold",
                "run": {"types": {"withhold": 0.2}},
                "rounds": 10,
                "tolerance": 1e-9,
            },
            {
                "role": "C",
                "strategy": "BadReveal",
                "run": {"types": {"malformed": 0.2}},
                "rounds": 10,
                "tolerance": 1e-9,
            },
            {
                "role": "A",
                "strategy": "OmitUpdates",
                "run": {"types": {"censor": 0.2}},
                "rounds": 10,
                "tolerance": 1e-9,
            },
        ],
    }

    def extras(self, p: Any) -> dict[str, Any]:
        return _extras(self, p)


BRAIN = Brain()

__all__ = ["BRAIN", "BRAIN_SPACE", "Brain", "ERRATA"]
