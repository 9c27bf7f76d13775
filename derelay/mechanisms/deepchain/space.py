"""DeepChain's parameter space (J. Weng et al., DeepChain.txt; issue 15).

Key names are the issue's.  Defaults marked ``paper`` are the paper's own numbers (Sec. 4.2,
Sec. 6); ``derelay`` defaults are ours (the paper gives none).

Readings (documented in docs/deepchain.md):

* ``validity`` is the number of rounds a coin counts in the leader lottery after it was
  earned; ``1`` is the literal reading of "the time interval of a round" (Sec. 4.1), ``0``
  stands for ``inf`` (coins never expire, plain Algorand stake).  ``initial_coins_expire``
  says whether the genesis allocation (Sec. 4.2.1) expires after ``validity`` rounds too.
* ``threshold``: the minimal decryption threshold t, by Table 2 (``t = a + 1`` with
  ``a = floor((N - 1) / 3)`` adversaries, the rule that reproduces every row) or by the
  text (``t in {N/3 + 1, ..., N}``, read as ``t = floor(N / 3) + 1``).
* ``pi_p_source``: ``given`` uses ``pi_p``; ``measured`` realises pi_P in the ABM as
  (accuracy of the collaborative model - accuracy of the party's solo baseline) in
  percentage points times ``coin`` (1 coin = 1 accuracy point).
* ``honesty`` is the party's honesty level p = Pr_c(P) of Sec. 4.2.2, the continuous
  strategy parameter: a deviant party plays Normal with probability p and its deviation
  otherwise, one draw per collaborative iteration (one model update = one ABM round).
"""

from __future__ import annotations

from derelay.params import COUNT_INT_POS, NONNEG, POSITIVE, PROB, Domain
from derelay.space import COMMON_SPACE, CrossConstraint, ParamSpace, ParamSpec

UNIT_HALF_OPEN = Domain(lower=0.0, upper=1.0, upper_strict=True)

SPECS = [
    # -- group and population ------------------------------------------------------------
    ParamSpec(
        "n_parties",
        "N",
        "parties in a collaborative group",
        "Sec. 4.2.4, Sec. 6 (4-10)",
        Domain(lower=4.0, integer=True),
        4,
        "paper",
        unit="parties",
        group="group",
        kind="int",
    ),
    ParamSpec(
        "n_workers",
        "W",
        "workers (aggregators, leader candidates)",
        "Sec. 4.2.5",
        COUNT_INT_POS,
        8,
        "derelay",
        unit="workers",
        group="group",
        kind="int",
    ),
    ParamSpec(
        "period",
        "#period",
        "local iterations between two gradient shares",
        "Sec. 6 (every 15 iterations)",
        COUNT_INT_POS,
        15,
        "paper",
        unit="iterations",
        group="group",
        kind="int",
    ),
    # -- party incentive (Sec. 4.2.2) ------------------------------------------------------
    ParamSpec(
        "deposit",
        "f_P",
        "a party's deposit, forfeited when caught",
        "Sec. 4.2.2, 4.2.4 (7)",
        NONNEG,
        5.0,
        "derelay",
        group="party",
        lever=True,
    ),
    ParamSpec(
        "pi_p",
        "π_P",
        "a party's payoff from collaboration per round (given)",
        "Sec. 4.2.2",
        NONNEG,
        1.0,
        "derelay",
        group="party",
    ),
    ParamSpec(
        "pi_p_source",
        "-",
        "π_P given, or measured from accuracy in the ABM",
        "derelay",
        default="given",
        default_source="derelay",
        unit="-",
        group="party",
        kind="choice",
        choices=("given", "measured"),
    ),
    ParamSpec(
        "omega_p",
        "ω_P",
        "a party's contribution (cost) of honest behaviour per round",
        "Sec. 4.2.2",
        NONNEG,
        0.5,
        "derelay",
        group="party",
    ),
    ParamSpec(
        "pr_v",
        "Pr_v(P)",
        "probability that misbehaviour is verified (Value, Thm 1)",
        "Sec. 4.2.2",
        PROB,
        1.0,
        "derelay",
        unit="probability",
        group="party",
    ),
    ParamSpec(
        "pr_v_crypto",
        "Pr_v",
        "verification probability of cryptographic faults "
        "(malformed ciphertext, bad decryption share, timeout)",
        "Sec. 4.2.4, 5.2",
        PROB,
        1.0,
        "paper",
        unit="probability",
        group="party",
    ),
    ParamSpec(
        "pr_v_sem",
        "Pr_v",
        "verification probability of semantic faults (lazy, "
        "poisoned gradients: a valid ciphertext of a bad gradient)",
        "derelay",
        PROB,
        0.0,
        "derelay",
        unit="probability",
        group="party",
    ),
    ParamSpec(
        "theta",
        "θ",
        "Thm 1's honesty threshold",
        "Thm 1",
        UNIT_HALF_OPEN,
        0.5,
        "derelay",
        unit="probability",
        group="party",
    ),
    ParamSpec(
        "honesty",
        "p = Pr_c(P)",
        "a deviant party's honesty level (plays N w.p. p)",
        "Sec. 4.2.2",
        PROB,
        0.0,
        "derelay",
        unit="probability",
        group="party",
    ),
    # -- worker incentive --------------------------------------------------------------------
    ParamSpec(
        "f_w",
        "f_W",
        "a worker's stake, lost by a leader whose result mismatches",
        "Sec. 4.2.2, 4.2.4",
        NONNEG,
        1.0,
        "derelay",
        group="worker",
        lever=True,
    ),
    ParamSpec(
        "epsilon",
        "ε",
        "Thm 2's honesty threshold",
        "Thm 2",
        UNIT_HALF_OPEN,
        0.5,
        "derelay",
        unit="probability",
        group="worker",
    ),
    ParamSpec(
        "block_reward",
        "R",
        "block reward minted to the leader",
        "Sec. 4.1, 4.2.5",
        NONNEG,
        1.0,
        "derelay",
        group="worker",
        lever=True,
    ),
    ParamSpec(
        "fee_total",
        "F",
        "total transaction fee of a group per iteration, split "
        "∝ 1/D_j over the parties (Sec. 4.2.2; the form is derelay's)",
        "Sec. 4.2.2",
        NONNEG,
        0.01,
        "derelay",
        group="worker",
        lever=True,
    ),
    ParamSpec(
        "coalition_workers",
        "k",
        "size of the colluding worker coalition in the "
        "closed form (the ABM takes it from the agent types)",
        "derelay",
        Domain(lower=2.0, integer=True),
        3,
        "derelay",
        unit="workers",
        group="worker",
        kind="int",
    ),
    # -- consensus ---------------------------------------------------------------------------
    ParamSpec(
        "validity",
        "-",
        "rounds a coin counts in the leader lottery (0 = inf)",
        "Sec. 4.1, 4.2.5",
        Domain(lower=0.0, integer=True),
        1,
        "paper",
        unit="rounds",
        group="consensus",
        kind="int",
    ),
    ParamSpec(
        "initial_coins_expire",
        "-",
        "genesis coins expire after validity too",
        "Sec. 4.2.1",
        default=False,
        default_source="derelay",
        unit="-",
        group="consensus",
        kind="bool",
    ),
    ParamSpec(
        "initial_coins",
        "-",
        "genesis coins of every party and worker",
        "Sec. 4.2.1",
        NONNEG,
        10.0,
        "derelay",
        group="consensus",
    ),
    ParamSpec(
        "committee_threshold",
        "-",
        "share of the committee that must sign a block",
        "Sec. 4.2.5 (more than 2/3)",
        Domain(0.5, False, 1.0, True),
        2 / 3,
        "paper",
        unit="share",
        group="consensus",
    ),
    ParamSpec(
        "threshold",
        "t",
        "minimal decryption threshold: Table 2's rule or the text's",
        "Sec. 4.2.4, Table 2",
        default="table",
        default_source="derelay",
        unit="-",
        group="consensus",
        kind="choice",
        choices=("table", "text"),
    ),
    ParamSpec(
        "paillier_bits",
        "|n_model|",
        "Paillier modulus size",
        "Sec. 6",
        POSITIVE,
        1024,
        "paper",
        unit="bits",
        group="consensus",
        kind="int",
    ),
]

CONSTRAINTS = [
    CrossConstraint(
        "coalition_workers",
        "coalition_workers <= n_workers",
        lambda p: p.coalition_workers <= p.n_workers,
    ),
]

DEEPCHAIN_SPACE = ParamSpace("deepchain", SPECS, CONSTRAINTS, inherits=COMMON_SPACE)
