"""FLChain's parameter space (Bao et al., FLChain.txt; keys as issue 14 spells them).

The paper gives almost no numbers: Sec. V-A only orders them (``p_FLM > c``,
``d >> p_FLM``, ``r > f``) and Sec. VI gives the learning setting (4 or 10 DPs, SGD,
learning rate 0.5, batches of 64).  Every other default is ours and marked
``default_source="derelay"``; the defaults respect the paper's orderings.

``rely`` is the list of the federation's reliabilities RELY_j, one entry per DP; the
closed form reads N = ``len(rely)`` (the federation size, at most ``fed_capacity``).
``c`` is one DP's cost over a whole FLM lifetime; its default 2 equals
``flm_lifetime`` (20) x the common ``c_train`` (0.1), so the ABM (which charges
``c / flm_lifetime`` per training round) and the common currency agree.
"""

from __future__ import annotations

from derelay.params import COUNT_INT, COUNT_INT_POS, NONNEG, POSITIVE, PROB, Domain
from derelay.space import COMMON_SPACE, CrossConstraint, ParamSpace, ParamSpec

_S = ParamSpec

FLCHAIN_SPACE = ParamSpace(
    "flchain",
    [
        # -- federation -------------------------------------------------------------------
        _S(
            "fed_capacity",
            "cap",
            "largest federation (DPs per FLM)",
            "Table V (4 DPs)",
            COUNT_INT_POS,
            4,
            "paper",
            unit="DPs",
            group="federation",
            kind="int",
        ),
        _S(
            "flm_lifetime",
            "L",
            "rounds of one FLM lifetime (train, then sell)",
            "Sec. V-A",
            COUNT_INT_POS,
            20,
            "derelay",
            unit="rounds",
            group="federation",
            kind="int",
        ),
        _S(
            "period",
            "T_avg",
            "FedAvg period: local iterations between averagings",
            "Alg. 3 (one aggregation per iteration)",
            COUNT_INT_POS,
            1,
            "paper",
            unit="iterations",
            group="federation",
            kind="int",
        ),
        # -- reliability ------------------------------------------------------------------
        _S(
            "rely0",
            "RELY_0",
            "reliability of a newly registered DP",
            "Table I",
            NONNEG,
            1.0,
            "derelay",
            unit="reliability",
            group="reliability",
        ),
        _S(
            "rely_eta",
            "eta",
            "weight of the latest remark in the RELY update "
            "RELY <- (1-eta) RELY + eta remark (derived: the paper gives no rule)",
            "Sec. IV-C (derived rule)",
            PROB,
            0.2,
            "derelay",
            unit="weight",
            group="reliability",
        ),
        _S(
            "remark",
            "-",
            "partners' remark: proof_only (the paper: 1 if every proof "
            "verified, 0 if reported) or contribution (derelay extension: leave-one-out "
            "accuracy gain on held-out data)",
            "Sec. IV-A",
            kind="choice",
            choices=("proof_only", "contribution"),
            default="proof_only",
            default_source="paper",
            unit="-",
            group="reliability",
        ),
        _S(
            "rely",
            "RELY_j",
            "reliabilities of the federation's DPs (N = its length)",
            "Sec. V-A",
            NONNEG,
            (1.0, 1.0, 1.0, 1.0),
            "derelay",
            unit="reliability",
            group="reliability",
            kind="list",
        ),
        # -- market -----------------------------------------------------------------------
        _S(
            "p_flm",
            "p_FLM",
            "price of one FLM purchase",
            "Table III",
            POSITIVE,
            10.0,
            "derelay",
            group="market",
        ),
        _S(
            "k_sales",
            "K",
            "purchases of each well-trained FLM per lifetime (buyers pay from EXTERNAL)",
            "Table III (derived count)",
            COUNT_INT,
            5,
            "derelay",
            unit="purchases",
            group="market",
            kind="int",
        ),
        _S(
            "c",
            "c",
            "one DP's training cost over an FLM lifetime",
            "Sec. V-A",
            NONNEG,
            2.0,
            "derelay",
            group="market",
        ),
        # -- deposits and fees ------------------------------------------------------------
        _S(
            "d",
            "d_DP",
            "DP deposit, pre-frozen for the lifetime (d >> p_FLM)",
            "Sec. V-A",
            NONNEG,
            100.0,
            "derelay",
            group="deposits",
            lever=True,
        ),
        _S(
            "f1",
            "f_1",
            "fee of a misbehaviour report",
            "Table III",
            NONNEG,
            1.0,
            "derelay",
            group="deposits",
        ),
        _S(
            "r1",
            "r_1",
            "reward of a successful misbehaviour report",
            "Table III",
            NONNEG,
            5.0,
            "derelay",
            group="deposits",
            lever=True,
        ),
        _S(
            "f2",
            "f_2",
            "fee of an unqualified-DP report",
            "Table III",
            NONNEG,
            1.0,
            "derelay",
            group="deposits",
        ),
        _S(
            "r2",
            "r_2",
            "reward of a successful unqualified-DP report",
            "Table III",
            NONNEG,
            5.0,
            "derelay",
            group="deposits",
            lever=True,
        ),
        _S(
            "f_auth",
            "f",
            "the authority's fee for judging an unqualified DP (PAC -> AUTH)",
            "Table III",
            NONNEG,
            1.0,
            "derelay",
            group="deposits",
        ),
        _S(
            "f_ci",
            "f_CI",
            "fee of uploading a collaboration intention (DP -> FED)",
            "Table III",
            NONNEG,
            0.1,
            "derelay",
            group="deposits",
        ),
        _S(
            "f_flm",
            "f_FLM",
            "fee of registering an FLM (FED -> PAC)",
            "Table III",
            NONNEG,
            0.2,
            "derelay",
            group="deposits",
        ),
        # -- chain and detection ----------------------------------------------------------
        _S(
            "block_reward",
            "R_B",
            "block reward minted to the round's leader",
            "Sec. IV-C",
            NONNEG,
            1.0,
            "derelay",
            group="chain",
            lever=True,
        ),
        _S(
            "q_crypto",
            "q_c",
            "probability that a partner verifies one ciphertext or unmask share",
            "Alg. 3 (derived probability)",
            PROB,
            0.5,
            "derelay",
            unit="probability",
            group="detection",
        ),
        _S(
            "audit",
            "a",
            "probability that a public reporter audits a federation's "
            "records in a lifetime (finds an unqualified DP or a malformed message)",
            "Sec. V-B (derived probability)",
            PROB,
            0.5,
            "derelay",
            unit="probability",
            group="detection",
        ),
        _S(
            "c_audit",
            "c_a",
            "reporter's cost of one audit",
            "Sec. V-B (derived)",
            NONNEG,
            0.1,
            "derelay",
            group="detection",
        ),
        _S(
            "q_sem",
            "q_s",
            "probability that partners' semantic evaluation exposes a "
            "lazy or poisoned update in a lifetime (0: the paper's proofs check the "
            "masking only)",
            "Sec. IV-A",
            PROB,
            0.0,
            "paper",
            unit="probability",
            group="detection",
        ),
        _S(
            "leader",
            "-",
            "leader rule: max_rely (Sec. IV-A: the highest reliability) or "
            "random_top (Sec. IV-C: random among the most reliable)",
            "Sec. IV-A / IV-C",
            kind="choice",
            choices=("max_rely", "random_top"),
            default="max_rely",
            default_source="paper",
            unit="-",
            group="chain",
        ),
    ],
    constraints=[
        CrossConstraint(
            "rely",
            "len(rely) <= fed_capacity (one federation)",
            lambda p: len(p.rely) <= p.fed_capacity,
        ),
        CrossConstraint(
            "rely", "len(rely) <= n_participants", lambda p: len(p.rely) <= p.n_participants
        ),
    ],
    inherits=COMMON_SPACE,
)

__all__ = ["FLCHAIN_SPACE", "Domain"]
