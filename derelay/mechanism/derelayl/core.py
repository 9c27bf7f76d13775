"""DeRelayL's incentive mechanism: Table II utilities and conditions T1-T8, written once.

Every function takes an attribute bag ``p`` (a :class:`derelay.params.Params`, a
:class:`derelay.params.ParamValues` of numpy arrays, or one of z3 Reals) and uses only
``+ - * /`` and comparisons, so the same code evaluates a point, a whole parameter grid
and a solver formula.

Readings of the paper (documented choices)
------------------------------------------
* **Training cost** ``P_Comp * D * tau * |M|`` (Table II prints "P_Comp · D · τ · M";
  Appendix eq. (31) prints |M|).  We follow eq. (31): the cost scales with the model
  size, so ``p_comp`` is a price per unit of time, data *and* parameter.  Any other
  reading is a rescaling of ``p_comp``.
* **Overlined Q^MO_Selected** (eq. 23) is the *expected* number of the owner's trainers
  whose models are selected in a round (the overline is an average, Table I: "average
  number of Trainers selected by MO"), not Q_Selected, the number of deposits signed.
* **beta**: eq. (23) sums R_Cited * sum_k beta^k = R_Cited / (1 - beta); T2 and T8 divide
  by beta and T1 by 1 - beta, so 0 < beta < 1 (the appendix's 0 <= beta <= 1 would make
  them undefined).
* **Conditions** are evaluated in the division-free form of Appendix B (eqs. 72, 76,
  78, 81, 83/84 and 90 multiplied by 1 - beta), which is exactly the paper's printed
  form (eqs. 7-14) whenever the divisors Q^MO_Selected, Q^T_Selected, beta, Q_Deposit,
  Q_HashM are positive, and extends it continuously when a count is zero.
  ``paper_form`` returns the printed form for display and for the solver's domain
  checks.
* **IR** is U_N >= 0 (weak, Sec. III-C2); **IC** is U_N > U_dev strictly, as every IC
  comparison of Appendix B-2 (eqs. 85-99) is stated with ">"; the weak variant is also
  reported.
* Eq. (83) prints T5 with ">" while eq. (11) and (104) print ">="; we use ">=" (IR is weak).
"""

from __future__ import annotations

from typing import Any

from derelay.mechanism.base import Claim, Condition, Erratum, Funding, Mechanism, Role, Strategy
from derelay.space import DERELAYL_SPACE

# --------------------------------------------------------------------------------------
# Cost and revenue terms (shared sub-expressions, Appendix A)
# --------------------------------------------------------------------------------------


def train_cost(p: Any) -> Any:
    """C_Train = P_Comp * D * tau * |M| (eq. 31)."""
    return p.p_comp * p.data_volume * p.tau * p.model_size


def transmit_cost(p: Any) -> Any:
    """k_Transmit * |M|: sending/receiving a plaintext model (eqs. 24, 31, 34)."""
    return p.k_transmit * p.model_size


def encrypt_cost(p: Any) -> Any:
    """C_Encrypt = k_Encrypt * |M| (eq. 31)."""
    return p.k_encrypt * p.model_size


def encrypted_transfer_cost(p: Any) -> Any:
    """k_Transmit * k_Expand * |M|: moving one FHE-encrypted model (eqs. 51, 65)."""
    return p.k_transmit * p.k_expand * p.model_size


def broadcast_cost(p: Any) -> Any:
    """C_Broadcast = Q_Broadcast * k_Transmit * k_Expand * |M| (eq. 31)."""
    return p.q_broadcast * encrypted_transfer_cost(p)


def trainer_gap(p: Any) -> Any:
    """V_RecM - V_Now^T, the version gap the trainer closes by receiving the model."""
    return p.v_rec - p.v_now_t


def ebm_gap(p: Any) -> Any:
    """V_FHEM - V_Now^EBM, the gap the encryption-block miner closes by decrypting."""
    return p.v_fhem - p.v_now_ebm


def mo_citation_value(p: Any) -> Any:
    """R^MO = Q^MO_Selected * R_Cited / (1 - beta): now plus discounted future (eq. 23)."""
    return p.q_selected_mo * p.r_cited / (1 - p.beta)


def trainer_citation_value(p: Any) -> Any:
    """R^T_Cited = Q^T_Selected * beta * R_Cited / (1 - beta): future only (eq. 30)."""
    return p.q_selected_t * p.beta * p.r_cited / (1 - p.beta)


def trainer_normal_cost(p: Any) -> Any:
    """C^T for Normal (eq. 31)."""
    return (
        train_cost(p) + (1 - p.s) * p.b_t + transmit_cost(p) + encrypt_cost(p) + broadcast_cost(p)
    )


def mo_normal_cost(p: Any) -> Any:
    """C^MO for Normal: expected deposit loss plus transmission (eq. 24)."""
    return p.q_selected * (1 - p.s) * p.b_mo + transmit_cost(p)


# --------------------------------------------------------------------------------------
# Table II utilities (Appendix A, eqs. 25-69)
# --------------------------------------------------------------------------------------


def u_mo_n(p: Any) -> Any:
    """U^MO_N, eq. (25)."""
    return mo_citation_value(p) - mo_normal_cost(p)


def u_mo_ntm(p: Any) -> Any:
    """U^MO_NTm = -Q_Selected * b^MO, eq. (28)."""
    return -(p.q_selected * p.b_mo)


def u_t_n(p: Any) -> Any:
    """U^T_N, eq. (32)."""
    return (trainer_gap(p) + 1) * p.coin + trainer_citation_value(p) - trainer_normal_cost(p)


def u_t_ntr(p: Any) -> Any:
    """U^T_NTr = (V_RecM - V_Now^T) * (c) - b^T - k_Transmit * |M|, eq. (35)."""
    return trainer_gap(p) * p.coin - p.b_t - transmit_cost(p)


def u_t_nbr(p: Any) -> Any:
    """U^T_NBr, eq. (38)."""
    return (trainer_gap(p) + 1) * p.coin - (train_cost(p) + p.b_t + transmit_cost(p))


# --- miners' block revenues and operating costs (written once; the ABM's settlement and
# the chain's coinbases evaluate these with the block's own counts) ----------------------


def dbm_revenue(p: Any) -> Any:
    """Q_Deposit * R_Deposit: the DB's inclusion reward (eq. 40)."""
    return p.q_deposit * p.r_deposit


def ebm_revenue(p: Any) -> Any:
    """Q_HashM * R_HashM: the EB's inclusion reward (eq. 50; the model value aside)."""
    return p.q_hash_m * p.r_hash_m


def tbm_revenue(p: Any) -> Any:
    """Q_EncryptedM * R_EncryptedM + Q_Cases * R_Case: the TB's reward (eq. 57)."""
    return p.q_encrypted_m * p.r_encrypted_m + p.q_cases * p.r_case


def sbm_revenue(p: Any) -> Any:
    """Q_VerifiedM * R_VerifiedM + Q_VerifiedM * Q_Cases * R_Verify: the SB's (eq. 64)."""
    return p.q_verified_m * p.r_verified_m + p.q_verified_m * p.q_cases * p.r_verify


def dbm_cost(p: Any) -> Any:
    """C^DBM = C_Mine (eq. 41)."""
    return p.c_mine


def ebm_cost(p: Any) -> Any:
    """C^EBM = C_Mine + k_Transmit k_Expand |M| + C_GenFHEKey (eq. 51)."""
    return p.c_mine + encrypted_transfer_cost(p) + p.c_gen_fhe_key


def tbm_cost(p: Any) -> Any:
    """C^TBM = C_Mine + Q_Cases * C^Unit_GenTDCase (eq. 58)."""
    return p.c_mine + p.q_cases * p.c_unit_gen_td_case


def sbm_cost(p: Any) -> Any:
    """C^SBM = C_Mine + Q_VerifiedM (k_T k_E |M| + Q_Cases C^Unit_Verify) (eq. 65)."""
    return p.c_mine + p.q_verified_m * (encrypted_transfer_cost(p) + p.q_cases * p.c_unit_verify)


#: Block kind -> (revenue, cost, the count its items set): what a miner of that block earns
#: and bears with ``count`` items packed.
BLOCK_TERMS = {
    "DB": (dbm_revenue, dbm_cost, "q_deposit"),
    "EB": (ebm_revenue, ebm_cost, "q_hash_m"),
    "TB": (tbm_revenue, tbm_cost, "q_encrypted_m"),
    "SB": (sbm_revenue, sbm_cost, "q_verified_m"),
}
#: Miner role -> the block kind it mines.
MINER_BLOCK = {"DBM": "DB", "EBM": "EB", "TBM": "TB", "SBM": "SB"}


def u_dbm_n(p: Any) -> Any:
    """U^DBM_N = Q_Deposit * R_Deposit - C_Mine, eq. (42)."""
    return dbm_revenue(p) - dbm_cost(p)


def u_dbm_npa(p: Any) -> Any:
    """U^DBM_NPA = Q_DepositLess * R_Deposit - C_Mine, eq. (45)."""
    return p.q_deposit_less * p.r_deposit - dbm_cost(p)


def u_mine_only(p: Any) -> Any:
    """-C_Mine: a forked-away dishonest block (eqs. 48, 55, 62, 69)."""
    return -p.c_mine


def u_ebm_n(p: Any) -> Any:
    """U^EBM_N, eq. (52)."""
    return (ebm_revenue(p) + ebm_gap(p) * p.coin) - ebm_cost(p)


def u_tbm_n(p: Any) -> Any:
    """U^TBM_N, eq. (59)."""
    return tbm_revenue(p) - p.c_mine - p.q_cases * p.c_unit_gen_td_case


def u_sbm_n(p: Any) -> Any:
    """U^SBM_N, eq. (66)."""
    return (
        sbm_revenue(p)
        - p.c_mine
        - p.q_verified_m * encrypted_transfer_cost(p)
        - p.q_verified_m * p.q_cases * p.c_unit_verify
    )


# --------------------------------------------------------------------------------------
# Conditions T1-T8 (eqs. 7-14 / 100-107), division-free and as printed
# --------------------------------------------------------------------------------------


def t1(p: Any) -> Any:
    """T1 (eq. 7, via eq. 72): Q^MO_Sel * R_Cited >= (1-beta)(Q_Sel (1-s) b^MO + k_T |M|)."""
    return p.q_selected_mo * p.r_cited >= (1 - p.beta) * mo_normal_cost(p)


def t1_paper(p: Any):
    return p.r_cited, ">=", (1 - p.beta) * mo_normal_cost(p) / p.q_selected_mo


def _t2_bracket(p: Any) -> Any:
    return trainer_normal_cost(p) - (trainer_gap(p) + 1) * p.coin


def t2(p: Any) -> Any:
    """T2 (eq. 8, via eq. 76): Q^T_Sel * beta * R_Cited >= (1-beta) * (C^T_N - (gap+1)(c))."""
    return p.q_selected_t * p.beta * p.r_cited >= (1 - p.beta) * _t2_bracket(p)


def t2_paper(p: Any):
    return p.r_cited, ">=", (1 - p.beta) / (p.q_selected_t * p.beta) * _t2_bracket(p)


def t3(p: Any) -> Any:
    """T3 (eq. 9, via eq. 78): Q_Deposit * R_Deposit >= C_Mine."""
    return p.q_deposit * p.r_deposit >= p.c_mine


def t3_paper(p: Any):
    return p.r_deposit, ">=", p.c_mine / p.q_deposit


def _t4_rhs(p: Any) -> Any:
    return p.c_mine + encrypted_transfer_cost(p) + p.c_gen_fhe_key - ebm_gap(p) * p.coin


def t4(p: Any) -> Any:
    """T4 (eq. 10, via eq. 81): Q_HashM * R_HashM >= C_Mine + k_T k_E |M| + C_Gen - gap (c)."""
    return p.q_hash_m * p.r_hash_m >= _t4_rhs(p)


def t4_paper(p: Any):
    return p.r_hash_m, ">=", _t4_rhs(p) / p.q_hash_m


def _t5_lhs(p: Any) -> Any:
    return p.q_encrypted_m * p.r_encrypted_m + p.q_cases * p.r_case


def _t5_rhs(p: Any) -> Any:
    return p.c_mine + p.q_cases * p.c_unit_gen_td_case


def t5(p: Any) -> Any:
    """T5 (eq. 11): Q_EncM R_EncM + Q_Cases R_Case >= C_Mine + Q_Cases C^Unit_GenTDCase."""
    return _t5_lhs(p) >= _t5_rhs(p)


def t5_paper(p: Any):
    return _t5_lhs(p), ">=", _t5_rhs(p)


def _t6_lhs(p: Any) -> Any:
    return p.q_verified_m * p.r_verified_m + p.q_verified_m * p.q_cases * p.r_verify


def _t6_rhs(p: Any) -> Any:
    return (
        p.c_mine
        + p.q_verified_m * encrypted_transfer_cost(p)
        + p.q_verified_m * p.q_cases * p.c_unit_verify
    )


def t6(p: Any) -> Any:
    """T6 (eq. 12): SBM revenue >= C_Mine + receiving and verification costs."""
    return _t6_lhs(p) >= _t6_rhs(p)


def t6_paper(p: Any):
    return _t6_lhs(p), ">=", _t6_rhs(p)


def t7(p: Any) -> Any:
    """T7 (eq. 13): effective deposit b^T > (V_RecM - V_Now^T) * (c) (sufficient with T2)."""
    return p.b_t > trainer_gap(p) * p.coin


def t7_paper(p: Any):
    return p.b_t, ">", trainer_gap(p) * p.coin


def _t8_bracket(p: Any) -> Any:
    return -p.s * p.b_t + encrypt_cost(p) + broadcast_cost(p)


def t8(p: Any) -> Any:
    """T8 (eq. 14, via eq. 90): Q^T_Sel beta R_Cited > (1-beta)(-s b^T + k_Enc|M| + C_Broadcast)."""
    return p.q_selected_t * p.beta * p.r_cited > (1 - p.beta) * _t8_bracket(p)


def t8_paper(p: Any):
    return p.r_cited, ">", _t8_bracket(p) * (1 - p.beta) / (p.q_selected_t * p.beta)


def t_ntr_exact(p: Any) -> Any:
    """The exact IC condition against Not Training: U^T_N - U^T_NTr > 0.

    U_N - U_NTr = (c) + R^T_Cited - C_Train + s b^T - k_Enc |M| - C_Broadcast, which T7
    together with T2 implies (eq. 86) but which holds far more widely (T7 is only
    sufficient, as the paper says).
    """
    return (
        p.coin
        + trainer_citation_value(p)
        - train_cost(p)
        + p.s * p.b_t
        - encrypt_cost(p)
        - broadcast_cost(p)
        > 0
    )


# --------------------------------------------------------------------------------------
# Declarations
# --------------------------------------------------------------------------------------

MO = Role(
    "MO",
    "Model owner",
    "Owns last round's selected model, deposits b^MO per trainer and sends the model.",
    (
        Strategy(
            "MO", "N", "Normal", "Transmits the model to every matched trainer.", "(25)", u_mo_n
        ),
        Strategy(
            "MO",
            "NTm",
            "Not Transmitting",
            "Withholds the model (or sends fake weights); all its deposits are forfeited.",
            "(28)",
            u_mo_ntm,
            ic_equation="(85)",
            family="withhold",
            behaviour={"transmits": False},
        ),
    ),
)

T = Role(
    "T",
    "Trainer",
    "Deposits b^T, receives the model, trains it, encrypts and broadcasts it.",
    (
        Strategy("T", "N", "Normal", "Trains, encrypts and broadcasts the model.", "(32)", u_t_n),
        Strategy(
            "T",
            "NTr",
            "Not Training",
            "Keeps the received model without training; the deposit is lost.",
            "(35)",
            u_t_ntr,
            ic_equation="(86)-(87)",
            family="lazy",
            behaviour={"trains": False},
        ),
        Strategy(
            "T",
            "NBr",
            "Not Broadcasting",
            "Trains but never encrypts or broadcasts; the deposit is lost.",
            "(38)",
            u_t_nbr,
            ic_equation="(88)-(91)",
            family="withhold",
            behaviour={"broadcasts": False},
        ),
    ),
)

DBM = Role(
    "DBM",
    "Deposit block miner",
    "Mines the Deposit Block packing the broadcast deposit contracts.",
    (
        Strategy("DBM", "N", "Normal", "Packs every broadcast deposit contract.", "(42)", u_dbm_n),
        Strategy(
            "DBM",
            "NPA",
            "Not Packing All",
            "Packs only Q_DepositLess of the contracts (legal, but earns less).",
            "(45)",
            u_dbm_npa,
            ic_equation="(92)-(94)",
            family="censor",
            behaviour={"pack_fraction": None},
        ),
        Strategy(
            "DBM",
            "PI",
            "Packing Improper Deposit Contracts",
            "Packs invalid contracts; honest miners fork the block away.",
            "(48)",
            u_mine_only,
            ic_equation="(95)-(96)",
            family="malformed",
            behaviour={"block_valid": False},
        ),
    ),
)

EBM = Role(
    "EBM",
    "Encryption block miner",
    "Mines the Encryption Block: FHE public key and trained-model hashes.",
    (
        Strategy(
            "EBM",
            "N",
            "Normal",
            "Generates a valid FHE key pair and packs the hashes.",
            "(52)",
            u_ebm_n,
        ),
        Strategy(
            "EBM",
            "NG",
            "Not Generating FHE Key",
            "Publishes an invalid key (e.g. a random number); the block is forked away.",
            "(55)",
            u_mine_only,
            ic_equation="(97)",
            family="malformed",
            behaviour={"block_valid": False},
        ),
    ),
)

TBM = Role(
    "TBM",
    "Testing block miner",
    "Mines the Testing Block: test cases and encrypted-model hashes.",
    (
        Strategy("TBM", "N", "Normal", "Publishes Q_Cases proper test cases.", "(59)", u_tbm_n),
        Strategy(
            "TBM",
            "IT",
            "Improper Testing Cases",
            "Publishes improper (e.g. reused) test cases; the block is forked away.",
            "(62)",
            u_mine_only,
            ic_equation="(98)",
            family="malformed",
            behaviour={"block_valid": False},
        ),
    ),
)

SBM = Role(
    "SBM",
    "Settlement block miner",
    "Mines the Settlement Block: verifies and ranks the encrypted models.",
    (
        Strategy(
            "SBM",
            "N",
            "Normal",
            "Verifies every model on every case and ranks them.",
            "(66)",
            u_sbm_n,
        ),
        Strategy(
            "SBM",
            "IRa",
            "Improper Rank",
            "Publishes a wrong ranking; the block is forked away.",
            "(69)",
            u_mine_only,
            ic_equation="(99)",
            family="misreport",
            behaviour={"block_valid": False},
        ),
    ),
)

CONDITIONS: tuple[Condition, ...] = (
    Condition(
        "T1",
        "(7)",
        "(100)",
        "MO",
        "IR",
        None,
        "exact",
        False,
        "citation reward covers the owner's expected deposit loss and transmission",
        t1,
        t1_paper,
        ("q_selected_mo", "1 - beta"),
    ),
    Condition(
        "T2",
        "(8)",
        "(101)",
        "T",
        "IR",
        None,
        "exact",
        False,
        "future citations plus the model's value cover the trainer's costs",
        t2,
        t2_paper,
        ("q_selected_t", "beta", "1 - beta"),
    ),
    Condition(
        "T3",
        "(9)",
        "(102)",
        "DBM",
        "IR",
        None,
        "exact",
        False,
        "packing rewards cover the deposit block's mining cost",
        t3,
        t3_paper,
        ("q_deposit",),
    ),
    Condition(
        "T4",
        "(10)",
        "(103)",
        "EBM",
        "IR",
        None,
        "exact",
        False,
        "hash rewards plus the decrypted model cover the encryption block's costs",
        t4,
        t4_paper,
        ("q_hash_m",),
    ),
    Condition(
        "T5",
        "(11)",
        "(104)",
        "TBM",
        "IR",
        None,
        "exact",
        False,
        "hash and test-case rewards cover the testing block's costs",
        t5,
        t5_paper,
    ),
    Condition(
        "T6",
        "(12)",
        "(105)",
        "SBM",
        "IR",
        None,
        "exact",
        False,
        "verification rewards cover the settlement block's costs",
        t6,
        t6_paper,
    ),
    Condition(
        "T7",
        "(13)",
        "(106)",
        "T",
        "IC",
        "NTr",
        "sufficient",
        True,
        "effective deposit: the trainer's deposit exceeds the received model's value",
        t7,
        t7_paper,
    ),
    Condition(
        "T8",
        "(14)",
        "(107)",
        "T",
        "IC",
        "NBr",
        "exact",
        True,
        "future citations outweigh the cost of encrypting and broadcasting",
        t8,
        t8_paper,
        ("q_selected_t", "beta", "1 - beta"),
    ),
)


# --------------------------------------------------------------------------------------
# The paper's own statements (claims), its slips (errata) and DeRelayL's own searches
# --------------------------------------------------------------------------------------

CLAIMS = (
    Claim(
        "derelayl.t1_mo_ir",
        "Appendix B-1, eq. (72)",
        "T1 makes the model owner's Normal strategy individually rational",
        "T1 (division-free, eq. 72) => U^MO_N >= 0 over the whole space (0 < beta < 1)",
        hypotheses=lambda p, v: [t1(p)],
        conclusion=lambda p, v: u_mo_n(p) >= 0,
    ),
    Claim(
        "derelayl.t3_dbm_ir",
        "Appendix B-1, eq. (78)",
        "T3 makes the deposit-block miner's Normal strategy individually rational",
        "T3 => U^DBM_N >= 0 over the whole space",
        hypotheses=lambda p, v: [t3(p)],
        conclusion=lambda p, v: u_dbm_n(p) >= 0,
    ),
    Claim(
        "derelayl.t2_t7_ic_ntr",
        "Appendix B-2, eqs. (86)-(87)",
        "T2 and T7 make Not Training strictly worse than Normal for a trainer",
        "T2 and T7 (division-free) => U^T_N > U^T_NTr over the whole space",
        hypotheses=lambda p, v: [t2(p), t7(p)],
        conclusion=lambda p, v: u_t_n(p) > u_t_ntr(p),
    ),
)

ERRATA = (
    Erratum(
        "E1",
        "(85)",
        "IC for MO argues 'U_N^MO >= 0 due to the IR for EBM'; it is the IR "
        "for MO (T1) that gives U_N^MO >= 0.",
    ),
    Erratum(
        "E2",
        "(85)",
        "calls Q_Selected * b^MO 'the revenue for including records' and "
        "asserts it is > 0; it is the MO's deposit, and it is 0 when b^MO = 0 or "
        "Q_Selected = 0, so strict IC against NTm fails at U_N^MO = 0 (see the claim's "
        "witness).",
    ),
    Erratum(
        "E3",
        "(99)",
        "IC for SBM argues 'U_N^SBM >= 0 due to the IR for TBM'; it is the IR for SBM (T6).",
    ),
    Erratum("E4", "(82)", "concludes 'to hold IR for DBM' for the EBM's condition T4."),
    Erratum(
        "E5",
        "(83)",
        "prints T5 with '>' while (11) and (104) print '>='; we use '>=' (IR is weak).",
    ),
    Erratum(
        "E6",
        "(94), (96)-(99)",
        "strict IC of the miners needs R_Deposit > 0 or C_Mine > "
        "0; the domain (C_Mine >= 0, rewards >= 0) allows ties (see claims and "
        "domain_problems).",
    ),
    Erratum(
        "E7",
        "(23), Appendix",
        "the appendix allows 0 <= beta <= 1 and 0 <= s <= 1; beta = "
        "1 makes every citation value (R/(1-beta)) undefined and beta = 0 makes T2/T8's "
        "printed forms undefined.",
    ),
)


class _Lazy:
    """A callable named by import path, imported on first call (the declaration stays
    free of the formal layer: its searches live in :mod:`.scopes`)."""

    def __init__(self, path: str, doc: str) -> None:
        self.path, self.__doc__ = path, doc

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        import importlib

        module, _, attr = self.path.partition(":")
        return getattr(importlib.import_module(module), attr)(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<scope {self.path}>"


SCOPES = {
    "auction": _Lazy(
        "derelay.mechanism.derelayl.scopes:auction",
        "Algorithm 1 (Sec. III-C1): profitable bids and T7-breaking deposits (z3).",
    ),
    "lazy": _Lazy(
        "derelay.mechanism.derelayl.scopes:lazy",
        "C4: the luck p and the deposit at which a lazy (NTr) trainer gains.",
    ),
    "coalition": _Lazy(
        "derelay.mechanism.derelayl.scopes:coalition",
        "C8: the fork probability below which a TBM + SBM + T collusion pays.",
    ),
}


class DeRelayL(Mechanism):
    """DeRelayL (Duan et al., IEEE TMC 2025): Table II and conditions T1-T8."""

    name = "derelayl"
    title = "DeRelayL: Sustainable Decentralized Relay Learning"
    paper = "Duan et al., DeRelayL: Sustainable Decentralized Relay Learning, IEEE TMC 2025"
    space = DERELAYL_SPACE
    roles = (MO, T, DBM, EBM, TBM, SBM)
    conditions = CONDITIONS
    learning_mode = "relay"
    finality = "forkable_pow"
    protocol = "derelay.mechanism.derelayl.protocol:DeRelayLProtocol"
    claims = CLAIMS
    errata = ERRATA
    scopes = SCOPES
    #: Hints for the mechanism contract suite (tests/test_mechanism_contract.py): a small
    #: run, and the (role, strategy) whose realised mean utility equals the closed form at
    #: the run's parameters - a forked-away block costs exactly C_Mine (eqs. 48-69).
    contract = {
        "params": {"n_participants": 32, "n_miners": 16},
        "rounds": 6,
        "closed_form": [
            {
                "role": role,
                "strategy": dev,
                "run": {
                    "strategies": {role: {"N": 0.5, dev: 0.5}},
                    "params": {"n_participants": 64, "n_miners": 32},
                },
                "rounds": 30,
                "tolerance": 1e-12,
            }
            for role, dev in (("DBM", "PI"), ("EBM", "NG"), ("TBM", "IT"), ("SBM", "IRa"))
        ],
    }

    #: Condition protecting each role's IR.
    ir_condition = {"MO": "T1", "T": "T2", "DBM": "T3", "EBM": "T4", "TBM": "T5", "SBM": "T6"}

    def population(self, n_participants: int) -> dict[str, int]:
        """The space values a population of ``n_participants`` sets: the population, and
        half of it mining (Table III: 128 miners of 256 participants)."""
        return {"n_participants": int(n_participants), "n_miners": int(n_participants) // 2}

    def issuance(self, p: Any) -> Any:
        """Coins minted per round by the mechanism's rewards at the point ``p``.

        Citation rewards: every selected model pays R_Cited to its owner; we count the
        per-round expectation for one owner (Q^MO_Selected * R_Cited, the "now" part of
        eq. 23) times the number of owners implied by the deposits (Q_Deposit / Q_Selected).
        Miner rewards: one block of each kind per round (Table II revenues).
        """
        owners = p.q_deposit / p.q_selected
        citation = owners * p.q_selected_mo * p.r_cited
        miners = (
            p.q_deposit * p.r_deposit
            + p.q_hash_m * p.r_hash_m
            + p.q_encrypted_m * p.r_encrypted_m
            + p.q_cases * p.r_case
            + p.q_verified_m * p.r_verified_m
            + p.q_verified_m * p.q_cases * p.r_verify
        )
        return citation + miners


DERELAYL = DeRelayL()
DeRelayL.funding = Funding(
    minted=DERELAYL.issuance,
    external=lambda p: 0,
    description="citation and miner rewards are minted; nothing is paid in from outside",
)
