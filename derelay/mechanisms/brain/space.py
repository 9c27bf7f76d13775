"""BRAIN's parameter space (Park, Lee, Moon; ``BRAIN.txt``), keys as issue 13 lists them.

Paper values: ``n_nodes`` 21, ``q_commit`` = ``q_reveal`` = 11, ``p_elect`` 0.5 (d = 2^255;
0.125 for d = 2^253), ``epoch_blocks`` E = 8 (Sec. VII-A), ``r_c`` = 0 (the recommendation of
Sec. III-B), Table II's average gas per call, and the gas price of 14 gwei (Sec. VII-B).
Everything else is derelay's (``default_source="derelay"``): the paper leaves T_C, T_R, f,
the window n, the threshold, every reward and penalty amount, the deposit and the acceptance
rates free.

* ``t_commit`` / ``t_reveal`` = 20 blocks mirror the paper's request ``q.timeout`` of 20
  blocks (its experiments take the phase-(2) durations as infinite).
* ``eth_usd`` = 1412.5 is *implied* by Table II: it is the one price (to 0.5 USD) at which
  every Ethereum dollar figure of the table is gas x 14 gwei x price rounded to the cent
  (the paper prints no ETH price; the consistent interval is [1412.48, 1412.50]).
* ``score_mode``: the paper only says "if the agreed-upon score exceeds a certain threshold".
  ``relative`` (default) accepts when the median score of the suggestion is at least the
  committee's median score of the current model minus ``epsilon``; ``fixed`` accepts when
  it is at least ``score_th``.
* ``pi_n``, ``pi_l``, ``pi_p``, ``pi_stale`` (acceptance probability of an evaluated
  honest, lazy, poisoned, stale suggestion) and ``pi_q`` (a suggestion reaches a decision:
  commit quorum met, and under b-II the reveal quorum) are rates the ABM measures and can
  feed back into the closed form.
* ``adv_share``: the adversarial share at which ``check --json`` reports the probability
  that a random committee has an adversarial majority (a grid 0..0.6 is reported too).
* ``k_proposers`` (suggestions per round), ``c_apply`` (a node's cost of fetching and
  merging one accepted update) and ``v_update`` (the value to a node, in coins = accuracy
  points, of holding the merged model rather than skipping one update) are derelay's
  additions for the derived utilities (see :mod:`derelay.mechanisms.brain.closed_form`).
"""

from __future__ import annotations

from derelay.params import COUNT_INT_POS, NONNEG, PROB, Domain
from derelay.space import COMMON_SPACE, CrossConstraint, ParamSpace, ParamSpec

INT_GE2 = Domain(lower=2.0, integer=True)
COUNT0 = Domain(lower=0.0, integer=True)
GAS = Domain(lower=0.0)

#: Table II: average gas per call (the "avg" column), with min and max for the report.
TABLE_II_GAS: dict[str, tuple[int, int, int]] = {
    "verify": (1543493, 1862450, 1643712),
    "verify_fast": (106360, 352838, 150715),
    "commit": (44825, 62072, 45732),
    "commit_h": (44861, 44897, 44895),
    "reveal": (27831, 796620, 87124),
    "reveal_h": (47355, 47391, 47389),
    "push": (51324, 68424, 51345),
    "pop": (29013, 46113, 29034),
    "push_prior": (84353, 137955, 91699),
    "pop_prior": (34909, 116942, 100861),
}

_GAS_MEANING = {
    "verify": "VRF verify (full elliptic-curve verification in the contract)",
    "verify_fast": "VRF verify_fast (ecrecover-based)",
    "commit": "COMMIT without the hash function",
    "commit_h": "COMMIT_H (hashed output)",
    "reveal": "REVEAL without the hash function",
    "reveal_h": "REVEAL_H (hashed output)",
    "push": "circular-queue push (SUGGEST)",
    "pop": "circular-queue pop",
    "push_prior": "priority-queue push (inference REQUEST)",
    "pop_prior": "priority-queue pop",
}


def _s(name, symbol, meaning, source, domain, default, dsrc="derelay", **kw) -> ParamSpec:
    return ParamSpec(name, symbol, meaning, source, domain, default, dsrc, **kw)


_SPECS = [
    # -- population and committees ---------------------------------------------------
    _s(
        "n_nodes",
        "N",
        "BRAIN nodes (deposited participants)",
        "Sec. VII-A",
        COUNT_INT_POS,
        21,
        "paper",
        unit="nodes",
        group="committee",
        kind="int",
    ),
    _s(
        "q_commit",
        "Q_C",
        "commit quorum (phase 2-a)",
        "Sec. III-B, VII-A",
        COUNT_INT_POS,
        11,
        "paper",
        unit="nodes",
        group="committee",
        kind="int",
    ),
    _s(
        "q_reveal",
        "Q_R",
        "reveal quorum (phase 2-b)",
        "Sec. III-B, VII-A",
        COUNT_INT_POS,
        11,
        "paper",
        unit="nodes",
        group="committee",
        kind="int",
    ),
    _s(
        "p_elect",
        "d/2^256",
        "sortition probability per node and epoch",
        "Sec. VII-A",
        Domain(lower=0.0, lower_strict=True, upper=1.0),
        0.5,
        "paper",
        unit="probability",
        group="committee",
    ),
    _s(
        "epoch_blocks",
        "E",
        "blocks per sortition epoch (VRF input changes)",
        "Sec. VII-A",
        COUNT_INT_POS,
        8,
        "paper",
        unit="blocks",
        group="committee",
        kind="int",
    ),
    _s(
        "t_commit",
        "T_C",
        "commit timeout (a-fallback cancels the request)",
        "Sec. VI",
        COUNT_INT_POS,
        20,
        unit="blocks",
        group="committee",
        kind="int",
    ),
    _s(
        "t_reveal",
        "T_R",
        "reveal timeout (b-fallback)",
        "Sec. VI",
        COUNT_INT_POS,
        20,
        unit="blocks",
        group="committee",
        kind="int",
    ),
    _s(
        "finality_f",
        "f",
        "finality factor: sortition uses seed_{r-f}",
        "Sec. III-B, IV-B",
        COUNT0,
        2,
        unit="rounds",
        group="committee",
        kind="int",
    ),
    _s(
        "fallback",
        "tau",
        "reveal fallback: b-I (decide on the revealed) or b-II (re-queue)",
        "Sec. VI, Alg. 3",
        NONNEG,
        "b-I",
        unit="-",
        group="committee",
        kind="choice",
        choices=("b-I", "b-II"),
    ),
    # -- scoring and merging -----------------------------------------------------------
    _s(
        "window",
        "n",
        "Alg. 1 window (accepted updates)",
        "Alg. 1",
        INT_GE2,
        5,
        unit="updates",
        group="scoring",
        kind="int",
    ),
    _s(
        "score_mode",
        "-",
        "acceptance rule: relative (vs current model) or fixed (score_th)",
        "Sec. V-C",
        NONNEG,
        "relative",
        unit="-",
        group="scoring",
        kind="choice",
        choices=("relative", "fixed"),
    ),
    _s(
        "epsilon",
        "eps",
        "relative mode: tolerance below the current model's median score",
        "Sec. V-C",
        PROB,
        0.02,
        unit="score",
        group="scoring",
    ),
    _s(
        "score_th",
        "score_th",
        "fixed mode: acceptance threshold on the median score",
        "Sec. V-C, Alg. 1",
        PROB,
        0.5,
        unit="score",
        group="scoring",
    ),
    # -- rewards and penalties ----------------------------------------------------------
    _s(
        "r_c",
        "R_C",
        "reward per COMMIT",
        "Sec. III-B",
        NONNEG,
        0.0,
        "paper",
        group="rewards",
        lever=True,
    ),
    _s(
        "r_r",
        "R_R",
        "reward per valid REVEAL",
        "Sec. III-B",
        NONNEG,
        0.01,
        group="rewards",
        lever=True,
    ),
    _s(
        "r_u",
        "R_U",
        "reward for executing the UPDATE (quorum-completing reveal)",
        "Sec. III-B, V-C",
        NONNEG,
        0.01,
        group="rewards",
        lever=True,
    ),
    _s(
        "r_s",
        "R_S",
        "reward for an accepted SUGGEST",
        "Sec. III-B, V-C",
        NONNEG,
        0.5,
        group="rewards",
        lever=True,
    ),
    _s(
        "p_c",
        "P_C",
        "penalty for a faulty COMMIT (never validly opened)",
        "Sec. III-B",
        NONNEG,
        0.1,
        group="penalties",
    ),
    _s(
        "p_r",
        "P_R",
        "penalty for an invalid or missing REVEAL",
        "Sec. III-B",
        NONNEG,
        0.1,
        group="penalties",
    ),
    _s(
        "p_s",
        "P_S",
        "penalty for a rejected SUGGEST",
        "Sec. III-B, V-C",
        NONNEG,
        0.5,
        group="penalties",
    ),
    _s(
        "deposit",
        "D",
        "each node's deposit (equal for all nodes)",
        "Sec. III-A",
        NONNEG,
        10.0,
        group="penalties",
    ),
    # -- gas (Table II) ------------------------------------------------------------------
    *[
        _s(
            f"gas_{k}",
            f"gas({k})",
            _GAS_MEANING[k] + ", average gas",
            "Table II",
            GAS,
            v[2],
            "paper",
            unit="gas",
            group="gas",
            kind="int",
        )
        for k, v in TABLE_II_GAS.items()
    ],
    _s(
        "gas_price_gwei",
        "-",
        "gas price",
        "Sec. VII-B",
        NONNEG,
        14.0,
        "paper",
        unit="gwei",
        group="gas",
    ),
    _s(
        "eth_usd",
        "-",
        "ETH price (implied by Table II's dollar figures)",
        "Table II",
        NONNEG,
        1412.5,
        unit="USD/ETH",
        group="gas",
    ),
    # -- rates fed back from the ABM -----------------------------------------------------
    _s(
        "pi_n",
        "pi_N",
        "acceptance probability of an evaluated honest suggestion",
        "derived",
        PROB,
        0.9,
        unit="probability",
        group="rates",
    ),
    _s(
        "pi_l",
        "pi_L",
        "acceptance probability of an evaluated lazy suggestion",
        "derived",
        PROB,
        0.5,
        unit="probability",
        group="rates",
    ),
    _s(
        "pi_p",
        "pi_P",
        "acceptance probability of an evaluated poisoned suggestion",
        "derived",
        PROB,
        0.05,
        unit="probability",
        group="rates",
    ),
    _s(
        "pi_stale",
        "pi_St",
        "acceptance probability of an evaluated stale suggestion",
        "derived",
        PROB,
        0.7,
        unit="probability",
        group="rates",
    ),
    _s(
        "pi_q",
        "pi_Q",
        "probability that a suggestion reaches a decision (quorums met)",
        "derived",
        PROB,
        1.0,
        unit="probability",
        group="rates",
    ),
    # -- derelay's additions for the derived utilities ------------------------------------
    _s(
        "adv_share",
        "-",
        "adversarial share for the committee-majority probability (extras)",
        "Sec. VII-A",
        PROB,
        0.1,
        unit="share",
        group="security",
    ),
    _s(
        "k_proposers",
        "K",
        "suggestions per round (proposers per round)",
        "derived",
        COUNT_INT_POS,
        4,
        unit="suggestions",
        group="round",
        kind="int",
    ),
    _s(
        "c_apply",
        "C_apply",
        "a node's cost of fetching and merging one accepted update",
        "derived",
        NONNEG,
        0.001,
        group="round",
    ),
    _s(
        "v_update",
        "V_upd",
        "value to a node of merging one accepted update (accuracy points)",
        "derived",
        NONNEG,
        0.05,
        group="round",
    ),
]

BRAIN_SPACE = ParamSpace(
    "brain",
    _SPECS,
    constraints=[
        CrossConstraint(
            "q_commit",
            "q_commit <= n_nodes - 1 (the committee excludes the proposer)",
            lambda p: p.q_commit <= p.n_nodes - 1,
        ),
        CrossConstraint("q_reveal", "q_reveal <= q_commit", lambda p: p.q_reveal <= p.q_commit),
        CrossConstraint(
            "n_nodes", "n_nodes <= n_participants", lambda p: p.n_nodes <= p.n_participants
        ),
    ],
    inherits=COMMON_SPACE,
    overrides={"n_participants": {"default": 21}},
)

GAS_KEYS = tuple(f"gas_{k}" for k in TABLE_II_GAS)
