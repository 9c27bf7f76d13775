"""BRAIN's utilities per role and strategy: all **derived** (the paper states none).

The paper (Sec. III-B, V-C, VI) gives rules, not payoffs: R_C per COMMIT, R_R per REVEAL,
R_U for executing the update, R_S for an accepted SUGGEST, P_S for a rejected one, P_R for
an invalid or missing REVEAL and P_C for a faulty COMMIT, slashed from an equal deposit.
derelay derives one utility per (role, strategy) in coins per play, from those rules plus
the common costs (``c_train`` one training job, ``c_eval`` one model evaluation, ``c_tx``
one transaction); each formula is written once and evaluates floats, Fractions, numpy
grids and z3 terms.

Proposer (role ``P``), per suggestion.  A suggestion reaches a decision with probability
pi_Q (both quorums met; an a-fallback cancels and refunds, so neither R_S nor P_S is paid);
an evaluated suggestion of kind x is accepted with probability pi_x::

    U_P(x) = pi_Q (pi_x R_S - (1 - pi_x) P_S) - [x trains] C_train - C_tx

with x = N (trains honestly, pi_N), Lazy (the current model plus noise: no training,
pi_L), Poison (label-flip training, pi_P) and Stale (honest training from an old model,
pi_St).  A poisoner's motive is the damage, not the coins; in coins Poison is dominated by
N whenever pi_P <= pi_N.

Committee member (role ``C``), per committee seat (the member was elected and committed).
A member evaluates e models (e = 2 in ``relative`` mode: the suggestion and the current
model; e = 1 in ``fixed`` mode).  Every committer that opens its commitment within T_R is
paid R_R; the Q_R-th valid reveal executes the update and earns R_U, which with a
committee of Q_C revealing in random order is each honest seat's with probability
1 / Q_C::

    U_C(N)         = R_C + R_R + R_U / Q_C - e C_eval - 2 C_tx
    U_C(RandomScore) = U_C(Inflate) = U_C(Deflate) = R_C + R_R + R_U / Q_C - 2 C_tx
    U_C(Withhold)  = R_C - P_R - C_tx                   (commits, never reveals)
    U_C(BadReveal) = R_C - P_C - 2 C_tx                 (its reveal does not open its
                                                        commitment: rejected, faulty COMMIT)

No rule of BRAIN's training process looks at *what* a member scored (the penalties are for
not revealing or not opening), so a member who does not evaluate (random, inflated or
deflated scores) is paid exactly like an honest one and saves e C_eval: honest scoring is
not incentive compatible when C_eval > 0 (claim ``brain.honest_scoring_ic``).

Node (role ``A``), per accepted update.  Merging is local (Alg. 1): the protocol neither
pays nor checks it.  A node that merges pays C_apply (fetching the update, one weighted
average) and gains V_upd (accuracy points of holding the merged model, 1 coin = 1 point)::

    U_A(CorrectAgg) = V_upd - C_apply,      U_A(OmitUpdates) = 0

Alternatives (documented in docs/brain.md): a BadReveal could instead be charged P_R
("invalid REVEAL"); the issue's flows charge P_C, which derelay follows.
"""

from __future__ import annotations

from typing import Any

from derelay.mechanism import Condition, Funding, Role, Strategy
from derelay.mechanism.ops import all_of


def evals(p: Any) -> int:
    """Models a member evaluates per seat: 2 in relative mode, 1 in fixed mode."""
    return 2 if p.score_mode == "relative" else 1


def _proposer(pi, trains: bool):
    def u(p):
        r = getattr(p, pi)
        stake = p.pi_q * (r * p.r_s - (1 - r) * p.p_s)
        return stake - (p.c_train if trains else 0 * p.c_train) - p.c_tx

    return u


def u_committee_normal(p):
    return p.r_c + p.r_r + p.r_u / p.q_commit - evals(p) * p.c_eval - 2 * p.c_tx


def u_committee_noeval(p):
    return p.r_c + p.r_r + p.r_u / p.q_commit - 2 * p.c_tx


def u_committee_withhold(p):
    return p.r_c - p.p_r - p.c_tx


def u_committee_badreveal(p):
    return p.r_c - p.p_c - 2 * p.c_tx


def u_node_correct(p):
    return p.v_update - p.c_apply


def u_node_omit(p):
    return 0 * p.v_update


PROPOSER = Role(
    "P",
    "Proposer",
    "suggests a model update (SUGGEST); paid R_S if the median score passes, else P_S",
    (
        Strategy(
            "P",
            "N",
            "Normal proposer",
            "trains honestly on its own data",
            "derived: pi_Q(pi_N R_S - (1-pi_N) P_S) - C_train - C_tx",
            _proposer("pi_n", True),
            family="honest",
            behaviour={"train": "own"},
            derived=True,
        ),
        Strategy(
            "P",
            "Lazy",
            "Lazy proposer",
            "suggests the current model plus noise",
            "derived: pi_Q(pi_L R_S - (1-pi_L) P_S) - C_tx",
            _proposer("pi_l", False),
            family="lazy",
            behaviour={"train": "perturb"},
            derived=True,
        ),
        Strategy(
            "P",
            "Poison",
            "Poisoning proposer",
            "trains on label-flipped data",
            "derived: pi_Q(pi_P R_S - (1-pi_P) P_S) - C_train - C_tx",
            _proposer("pi_p", True),
            family="poison",
            behaviour={"train": "label_flip"},
            derived=True,
        ),
        Strategy(
            "P",
            "Stale",
            "Stale proposer",
            "trains from a model several rounds old",
            "derived: pi_Q(pi_St R_S - (1-pi_St) P_S) - C_train - C_tx",
            _proposer("pi_stale", True),
            family="lazy",
            behaviour={"train": "stale"},
            derived=True,
        ),
    ),
)

COMMITTEE = Role(
    "C",
    "Committee member",
    "elected by VRF sortition (proposer excluded); commits, then reveals a score",
    (
        Strategy(
            "C",
            "N",
            "Normal member",
            "scores honestly on its own validation data",
            "derived: R_C + R_R + R_U/Q_C - e C_eval - 2 C_tx",
            u_committee_normal,
            family="honest",
            behaviour={"score": "honest", "reveal": "valid"},
            derived=True,
        ),
        Strategy(
            "C",
            "RandomScore",
            "Random scorer",
            "commits and reveals a random score",
            "derived: R_C + R_R + R_U/Q_C - 2 C_tx",
            u_committee_noeval,
            family="lazy_eval",
            behaviour={"score": "random", "reveal": "valid"},
            strict_ic=False,
            derived=True,
        ),
        Strategy(
            "C",
            "Inflate",
            "Inflating member",
            "reports the highest score (collusion)",
            "derived: R_C + R_R + R_U/Q_C - 2 C_tx",
            u_committee_noeval,
            family="collude",
            behaviour={"score": "inflate", "reveal": "valid"},
            strict_ic=False,
            derived=True,
        ),
        Strategy(
            "C",
            "Deflate",
            "Deflating member",
            "reports the lowest score",
            "derived: R_C + R_R + R_U/Q_C - 2 C_tx",
            u_committee_noeval,
            family="misreport",
            behaviour={"score": "deflate", "reveal": "valid"},
            strict_ic=False,
            derived=True,
        ),
        Strategy(
            "C",
            "Withhold",
            "Withholding member",
            "commits but never reveals",
            "derived: R_C - P_R - C_tx",
            u_committee_withhold,
            family="withhold",
            behaviour={"score": "none", "reveal": "none"},
            derived=True,
        ),
        Strategy(
            "C",
            "BadReveal",
            "Bad revealer",
            "reveals a value other than it committed",
            "derived: R_C - P_C - 2 C_tx",
            u_committee_badreveal,
            family="malformed",
            behaviour={"score": "none", "reveal": "mismatch"},
            derived=True,
        ),
    ),
)

NODE = Role(
    "A",
    "Node",
    "merges accepted updates locally with Alg. 1's weighted moving average",
    (
        Strategy(
            "A",
            "CorrectAgg",
            "Correct aggregator",
            "applies every accepted update",
            "derived: V_upd - C_apply",
            u_node_correct,
            family="honest",
            behaviour={"apply": True},
            derived=True,
        ),
        Strategy(
            "A",
            "OmitUpdates",
            "Omitting node",
            "skips applying accepted updates",
            "derived: 0",
            u_node_omit,
            family="censor",
            behaviour={"apply": False},
            derived=True,
        ),
    ),
)

ROLES = (PROPOSER, COMMITTEE, NODE)


def _cond(name, eq, role, protects, dev, exact, strict, desc, holds, form, divisors=()):
    return Condition(name, eq, "", role, protects, dev, exact, strict, desc, holds, form, divisors)


def _p_gap(pi):
    return lambda p: p.pi_q * (p.pi_n - getattr(p, pi)) * (p.r_s + p.p_s)


CONDITIONS = (
    _cond(
        "P_IR",
        "U_P(N) >= 0",
        "P",
        "IR",
        None,
        "exact",
        False,
        "an honest proposer expects a non-negative payoff",
        lambda p: _proposer("pi_n", True)(p) >= 0,
        lambda p: (p.pi_q * (p.pi_n * p.r_s - (1 - p.pi_n) * p.p_s), ">=", p.c_train + p.c_tx),
    ),
    _cond(
        "P_IC_Lazy",
        "pi_Q (pi_N - pi_L)(R_S + P_S) > C_train",
        "P",
        "IC",
        "Lazy",
        "exact",
        True,
        "training honestly beats suggesting the current model plus noise",
        lambda p: _p_gap("pi_l")(p) > p.c_train,
        lambda p: (_p_gap("pi_l")(p), ">", p.c_train),
    ),
    _cond(
        "P_IC_Poison",
        "pi_Q (pi_N - pi_P)(R_S + P_S) > 0",
        "P",
        "IC",
        "Poison",
        "exact",
        True,
        "in coins, honest training beats label-flip training",
        lambda p: _p_gap("pi_p")(p) > 0,
        lambda p: (_p_gap("pi_p")(p), ">", 0),
    ),
    _cond(
        "P_IC_Stale",
        "pi_Q (pi_N - pi_St)(R_S + P_S) > 0",
        "P",
        "IC",
        "Stale",
        "exact",
        True,
        "training from the current model beats training from a stale one",
        lambda p: _p_gap("pi_stale")(p) > 0,
        lambda p: (_p_gap("pi_stale")(p), ">", 0),
    ),
    _cond(
        "C_IR",
        "R_C + R_R + R_U/Q_C >= e C_eval + 2 C_tx",
        "C",
        "IR",
        None,
        "exact",
        False,
        "an honest committee seat pays for its evaluation and its two transactions",
        lambda p: (
            (p.r_c + p.r_r) * p.q_commit + p.r_u >= (evals(p) * p.c_eval + 2 * p.c_tx) * p.q_commit
        ),
        lambda p: (p.r_c + p.r_r + p.r_u / p.q_commit, ">=", evals(p) * p.c_eval + 2 * p.c_tx),
        ("q_commit",),
    ),
    *[
        _cond(
            f"C_IC_{d}",
            "e C_eval <= 0",
            "C",
            "IC",
            d,
            "exact",
            False,
            f"honest scoring is at least as good as {d} (no rule looks at the score)",
            lambda p: evals(p) * p.c_eval <= 0,
            lambda p: (evals(p) * p.c_eval, "<=", 0),
        )
        for d in ("RandomScore", "Inflate", "Deflate")
    ],
    _cond(
        "C_IC_Withhold",
        "R_R + P_R + R_U/Q_C > e C_eval + C_tx",
        "C",
        "IC",
        "Withhold",
        "exact",
        True,
        "revealing beats committing and withholding",
        lambda p: (
            (p.r_r + p.p_r) * p.q_commit + p.r_u > (evals(p) * p.c_eval + p.c_tx) * p.q_commit
        ),
        lambda p: (p.r_r + p.p_r + p.r_u / p.q_commit, ">", evals(p) * p.c_eval + p.c_tx),
        ("q_commit",),
    ),
    _cond(
        "C_IC_BadReveal",
        "R_R + P_C + R_U/Q_C > e C_eval",
        "C",
        "IC",
        "BadReveal",
        "exact",
        True,
        "a valid reveal beats a reveal that does not open the commitment",
        lambda p: (p.r_r + p.p_c) * p.q_commit + p.r_u > evals(p) * p.c_eval * p.q_commit,
        lambda p: (p.r_r + p.p_c + p.r_u / p.q_commit, ">", evals(p) * p.c_eval),
        ("q_commit",),
    ),
    _cond(
        "C_no_junk_commit",
        "R_C < P_R + C_tx",
        "C",
        "safety",
        "Withhold",
        "exact",
        True,
        "committing junk and never revealing loses against not committing at all "
        "(the role of R_C = 0, Sec. III-B)",
        lambda p: p.r_c < p.p_r + p.c_tx,
        lambda p: (p.r_c, "<", p.p_r + p.c_tx),
    ),
    _cond(
        "A_IC_OmitUpdates",
        "V_upd > C_apply",
        "A",
        "IC",
        "OmitUpdates",
        "exact",
        True,
        "merging an accepted update is worth its cost (no protocol rule enforces it)",
        lambda p: p.v_update > p.c_apply,
        lambda p: (p.v_update, ">", p.c_apply),
    ),
    _cond(
        "deposit_covers_penalty",
        "D >= max(P_C, P_R, P_S)",
        "C",
        "safety",
        None,
        "exact",
        False,
        "a deposit can pay at least one penalty of each kind",
        lambda p: all_of(p.deposit >= p.p_c, p.deposit >= p.p_r, p.deposit >= p.p_s),
        lambda p: (p.deposit, ">=", "max(P_C, P_R, P_S)"),
    ),
)


def external_per_round(p):
    """Rewards paid per round from the treasury (funded from EXTERNAL), all-honest."""
    per = p.pi_n * p.r_s + p.q_commit * (p.r_c + p.r_r) + p.r_u
    return p.k_proposers * p.pi_q * per


def penalties_per_round(p):
    """Penalties burned per round in an all-honest population (rejected suggestions)."""
    return p.k_proposers * p.pi_q * (1 - p.pi_n) * p.p_s


FUNDING = Funding(
    minted=lambda p: 0 * p.r_s,
    external=external_per_round,
    description="nothing is minted; the rewards R_S, R_C, R_R and R_U come from a treasury "
    "funded from EXTERNAL (users' fees); penalties are burned",
)
