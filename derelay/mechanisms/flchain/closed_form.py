"""FLChain in closed form: Table III as data, Table IV literally, the derived utilities.

Every formula here is written once over an attribute bag ``p`` and evaluates floats,
Fractions, numpy grids and z3 terms alike.  ``rely`` is a concrete list on every
backend, so N = ``len(p.rely)`` and the per-DP shares are concrete Python structure.

Notation (Sec. V-A)
-------------------
* share_j = RELY_j^2 / N  (the paper: shares^j = RELY^j / N and p^j = p_FLM * shares^j *
  RELY^j, so p^j = p_FLM RELY_j^2 / N);
* p^j = p_FLM share_j, one sale's profit to DP j; over a lifetime the FLM is bought
  ``k_sales`` = K times, so DP j receives P_j = K p^j (Table IV's ``p``, derived: the
  paper writes ``p`` for "the DP's sale income" without a count of sales);
* cp_j = p^j, the compensation of an honest DP whose training is halted (Sec. V-A:
  "cp = p^j_FLM");
* the *focal* DP of the per-role utilities is the least reliable one (RELY = min rely):
  it binds every individual-rationality condition.

Table IV literal (``table_iv``)
-------------------------------
Columns Well-train, Unrep. (misbehaviour not reported: the FL fails), Rep. (reported)
and Dishonest Rep., rows HDP, MDP, UQDP, RP (two sub-rows: misbehaviour report,
unqualified report) and PAC (two sub-rows), one report per lifetime (Table IV's sums
Sigma(f_1 - r_1) over reports become one term).  "-" cells are ``None``.

Table III as separate accounts (``TABLE_III``, ``outcomes``)
------------------------------------------------------------
The rows of Table III are data (:data:`TABLE_III`): the ABM moves money row by row and
the closed-form account balances below are sums over the same rows.  Table III has no
row for three flows Table IV implies; they are added and marked *derived*:
``compensation`` (FED -> each honest DP of a halted federation, cp_j), ``refund`` (the
pre-frozen deposit back to every DP not found guilty) and the block reward (MINT ->
leader).  The sale residue K p_FLM (1 - Sigma RELY^2/N) has no recipient in the paper:
it stays in FED and is reported.

Derived utilities (the paper states none beyond Table IV)
---------------------------------------------------------
With K sales, P = K p_FLM RELY^2/N for the focal DP, detection of a malformed message in
a lifetime q_mal = 1 - (1 - q_crypto)^(N-1) (1 - audit) (each of the N-1 partners
verifies it with probability q_crypto; a public reporter audits the federation with
probability ``audit``), and semantic detection q_sem:

* DP N: P - c (Table IV Well-train);
* EarlyAbort: (1 - q_sem) P - q_sem d.  It saves the whole cost c (an upper bound on
  what "fewer steps" saves, so the condition against it is sufficient for any
  shorter training); the crypto proofs verify the masking, not the work, so only
  semantic detection reports it (Table IV Rep.: -d);
* Poison: (1 - q_sem) P - q_sem d - c (trains on flipped labels);
* MalformedCipher: -q_mal d.  Detected: reported (-d).  Undetected: unmasking fails and
  the FL fails (Table IV Unrep.), and it trained nothing;
* BadUnmaskShare: -q_mal d - (1 - q_mal) c (it trained, then broke the unmasking);
* Unqualified: audit (-d - c) + (1 - audit)(P - c) (Table IV UQDP Rep. and Well-train);
* Abort: -d (a missed deadline is visible on chain, Sec. V-B, and is reported).

Node (per round, derived): CorrectAgg R_B - c_mine as leader; WrongAgg is out-voted by
the nodes' consensus, replaced and slashed: -d - c_mine.

Reporter (per audit of a federation holding one unqualified DP, Table IV Rep. with an
audit cost, derived): Audit&Report r_2 - f_2 - c_audit; Ignore 0; FalseReport
-min(f_1, f_2) (Table IV Dishonest Rep., the cheaper false report).  When nobody
deviates an audit finds nothing and costs c_audit: the inspection problem (docs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from derelay.mechanism.ops import all_of, minimum

# ----------------------------------------------------------------------------------------
# shares
# ----------------------------------------------------------------------------------------


def n_dps(p: Any) -> int:
    return len(p.rely)


def rely_sq(p: Any) -> list:
    return [r * r for r in p.rely]


def sum_rely_sq(p: Any) -> Any:
    s = 0
    for x in rely_sq(p):
        s = s + x
    return s


def shares(p: Any) -> list:
    """share_j = RELY_j^2 / N."""
    n = n_dps(p)
    return [x / n for x in rely_sq(p)]


def share_total(p: Any) -> Any:
    """Sigma_j RELY_j^2 / N (1 means the sale is distributed exactly)."""
    return sum_rely_sq(p) / n_dps(p)


def p_j(p: Any) -> list:
    """p^j = p_FLM RELY_j^2 / N, one sale's profit to DP j."""
    return [p.p_flm * s for s in shares(p)]


def sale_income(p: Any) -> list:
    """P_j = K p^j: DP j's income over a lifetime of K sales."""
    return [p.k_sales * x for x in p_j(p)]


def residue(p: Any) -> Any:
    """What K sales leave in FED: K p_FLM (1 - Sigma RELY^2/N) (negative: over-allocated)."""
    return p.k_sales * p.p_flm * (1 - share_total(p))


def focal_rely(p: Any) -> Any:
    return min(p.rely)


def focal_index(p: Any) -> int:
    rely = list(p.rely)
    return rely.index(min(rely))


def focal_income(p: Any) -> Any:
    """P of the focal (least reliable) DP."""
    r = focal_rely(p)
    return p.k_sales * p.p_flm * r * r / n_dps(p)


def compensation_others(p: Any, m: int | None = None) -> Any:
    """Sigma_{j != m} cp_j: compensation owed to the honest members when DP m is guilty."""
    m = focal_index(p) if m is None else m
    out = 0
    for j, x in enumerate(p_j(p)):
        if j != m:
            out = out + x
    return out


def power(x: Any, k: int) -> Any:
    out = 1
    for _ in range(int(k)):
        out = out * x
    return out


def q_malformed(p: Any) -> Any:
    """A malformed ciphertext or unmask share is found in a lifetime."""
    return 1 - power(1 - p.q_crypto, n_dps(p) - 1) * (1 - p.audit)


# ----------------------------------------------------------------------------------------
# per-role utilities (derived, see the module docstring)
# ----------------------------------------------------------------------------------------


def u_dp_normal(p):
    return focal_income(p) - p.c


def u_dp_early_abort(p):
    return (1 - p.q_sem) * focal_income(p) - p.q_sem * p.d


def u_dp_poison(p):
    return (1 - p.q_sem) * focal_income(p) - p.q_sem * p.d - p.c


def u_dp_malformed(p):
    return -q_malformed(p) * p.d


def u_dp_bad_unmask(p):
    q = q_malformed(p)
    return -q * p.d - (1 - q) * p.c


def u_dp_unqualified(p):
    return p.audit * (-p.d - p.c) + (1 - p.audit) * (focal_income(p) - p.c)


def u_dp_abort(p):
    return -p.d + 0 * p.c


def u_node_correct(p):
    return p.block_reward - p.c_mine


def u_node_wrong(p):
    return -p.d - p.c_mine


def u_rp_audit(p):
    return p.r2 - p.f2 - p.c_audit


def u_rp_ignore(p):
    return 0 * p.c_audit


def u_rp_false(p):
    return -minimum(p.f1, p.f2)


# ----------------------------------------------------------------------------------------
# Table III as data
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowRow:
    """One row of Table III (or a derived row): event, from, to, amount(p)."""

    key: str
    event: str
    src: str
    dst: str
    amount: Callable[[Any], Any]
    printed: str
    derived: bool = False

    @property
    def reason(self) -> str:
        """The ledger reason of the flow (``flows.parquet``)."""
        return f"flchain.{self.key}"


def _r(key, event, src, dst, amount, printed, derived=False):
    return FlowRow(key, event, src, dst, amount, printed, derived)


#: The 17 rows of Table III, in the paper's order ("-" events continue the row above).
TABLE_III: tuple[FlowRow, ...] = (
    _r("register_dp", "Register DP", "DP", "PAC", lambda p: p.d, "d_DP"),
    _r("upload_ci", "Upload Collaboration Intention", "DP", "FED", lambda p: p.f_ci, "f_CI"),
    _r("register_flm", "Register FLM", "FED", "PAC", lambda p: p.f_flm, "f_FLM"),
    _r("purchase", "Purchase FLM", "BUY", "PAC", lambda p: p.p_flm, "p_FLM"),
    _r("purchase_to_fed", "Purchase FLM", "PAC", "FED", lambda p: p.p_flm, "p_FLM"),
    _r("profit_share", "Purchase FLM", "FED", "DP_j", lambda p, j=0: p_j(p)[j], "p^j_FLM"),
    _r("report_fee", "Report misbehavior", "RP", "PAC", lambda p: p.f1, "f_1"),
    _r("forfeit", "Report misbehavior", "MDP", "PAC", lambda p: p.d, "d_DP"),
    _r("report_reward", "Report misbehavior", "PAC", "RP", lambda p: p.r1, "r_1"),
    _r("forfeit_to_fed", "Report misbehavior", "PAC", "FED", lambda p: p.d - p.r1, "d_DP - r_1"),
    _r("uq_report_fee", "Report unqualified DP", "RP", "PAC", lambda p: p.f2, "f_2"),
    _r("uq_auth_fee", "Report unqualified DP", "PAC", "AUTH", lambda p: p.f_auth, "f"),
    _r("uq_forfeit", "Report unqualified DP", "UQDP", "PAC", lambda p: p.d, "d_DP"),
    _r("uq_report_reward", "Report unqualified DP", "PAC", "RP", lambda p: p.r2, "r_2"),
    _r(
        "uq_forfeit_to_fed",
        "Report unqualified DP",
        "PAC",
        "FED",
        lambda p: p.d - p.f_auth - p.r2,
        "d_DP - f - r_2",
    ),
    _r("false_report_fee", "Dishonest misbehavior report", "RP", "PAC", lambda p: p.f1, "f_1"),
    _r("false_uq_report_fee", "Dishonest unqualified report", "RP", "PAC", lambda p: p.f2, "f_2"),
)

#: Flows Table IV implies and Table III lacks (derived).
DERIVED_ROWS: tuple[FlowRow, ...] = (
    _r(
        "compensation",
        "Forced halting (derived)",
        "FED",
        "HDP_j",
        lambda p, j=0: p_j(p)[j],
        "cp = p^j_FLM",
        True,
    ),
    _r("refund", "Lifetime end (derived)", "PAC", "DP", lambda p: p.d, "d_DP", True),
    _r("block_reward", "Block (derived)", "MINT", "leader", lambda p: p.block_reward, "R_B", True),
    _r("node_slash", "WrongAgg out-voted (derived)", "node", "PAC", lambda p: p.d, "d", True),
)

ROWS: dict[str, FlowRow] = {r.key: r for r in TABLE_III + DERIVED_ROWS}

#: The Table III rows of each scenario of one lifetime (registration is common to all).
REGISTRATION = ("register_dp", "upload_ci", "register_flm")
SCENARIO_ROWS: dict[str, tuple[str, ...]] = {
    "all_honest": ("purchase", "purchase_to_fed", "profit_share"),
    "misbehaving_dp_reported": ("report_fee", "forfeit", "report_reward", "forfeit_to_fed"),
    "dishonest_report": ("false_report_fee",),
    "dishonest_uq_report": ("false_uq_report_fee",),
    "unqualified_dp_reported": (
        "uq_report_fee",
        "uq_auth_fee",
        "uq_forfeit",
        "uq_report_reward",
        "uq_forfeit_to_fed",
    ),
}


def printed_net_into_pac_fed(p: Any, scenario: str) -> Any:
    """Sum of the *printed* Table III flows of a scenario into PAC and FED (net).

    Registration rows included (every DP pays d and f_CI, FED pays f_FLM to PAC), sales
    counted K times; flows between PAC and FED cancel.
    """
    n = n_dps(p)
    net = n * p.d + n * p.f_ci  # register_dp, upload_ci; register_flm is PAC<->FED
    if scenario == "all_honest":
        net = net + p.k_sales * p.p_flm - p.k_sales * p.p_flm * share_total(p)
    elif scenario == "misbehaving_dp_reported":
        net = net + p.f1 + p.d - p.r1
    elif scenario == "dishonest_report":
        net = net + p.f1
    elif scenario == "dishonest_uq_report":
        net = net + p.f2
    elif scenario == "unqualified_dp_reported":
        net = net + p.f2 - p.f_auth + p.d - p.r2
    else:
        raise KeyError(scenario)
    return net


def repaired_net_into_pac_fed(p: Any, scenario: str) -> Any:
    """The same with the derived rows (refunds, compensation) and without fees.

    This is Table IV's scope: fees f_CI/f_FLM are ignored, deposits of the innocent come
    back, and the halted federation's honest members are compensated from FED.
    """
    n = n_dps(p)
    if scenario == "all_honest":
        return p.k_sales * p.p_flm - p.k_sales * p.p_flm * share_total(p)
    if scenario == "misbehaving_dp_reported":
        return p.f1 + p.d - p.r1 - compensation_others(p)
    if scenario == "dishonest_report":
        return p.f1 + 0 * n
    if scenario == "dishonest_uq_report":
        return p.f2 + 0 * n
    if scenario == "unqualified_dp_reported":
        return p.f2 - p.f_auth + p.d - p.r2 - compensation_others(p)
    raise KeyError(scenario)


# ----------------------------------------------------------------------------------------
# Table IV literal
# ----------------------------------------------------------------------------------------


def table_iv(p: Any) -> dict[str, dict[str, Any]]:
    """Table IV cell by cell for the focal DP (one report per lifetime; "-" is None)."""
    pp = focal_income(p)
    cp = p_j(p)[focal_index(p)]
    comp = compensation_others(p)
    return {
        "HDP": {"well_train": pp - p.c, "unrep": -p.c, "rep": cp - p.c, "dishonest_rep": 0},
        "MDP": {"well_train": None, "unrep": None, "rep": -p.d, "dishonest_rep": None},
        "UQDP": {"well_train": pp - p.c, "unrep": -p.c, "rep": -p.d - p.c, "dishonest_rep": None},
        "RP_misbehaviour": {
            "well_train": 0,
            "unrep": 0,
            "rep": p.r1 - p.f1,
            "dishonest_rep": -p.f1,
        },
        "RP_unqualified": {"well_train": 0, "unrep": 0, "rep": p.r2 - p.f2, "dishonest_rep": -p.f2},
        "PAC_misbehaviour": {
            "well_train": 0,
            "unrep": 0,
            "rep": (p.f1 - p.r1) + p.d - comp,
            "dishonest_rep": p.f1,
        },
        "PAC_unqualified": {
            "well_train": 0,
            "unrep": 0,
            "rep": (p.f2 - p.r2) + p.d - comp - p.f_auth,
            "dishonest_rep": p.f2,
        },
    }


#: Table IV's PAC cell that each scenario's PAC(+FED) flows are compared with.
TABLE_IV_PAC_CELL = {
    "all_honest": ("PAC_misbehaviour", "well_train"),
    "misbehaving_dp_reported": ("PAC_misbehaviour", "rep"),
    "dishonest_report": ("PAC_misbehaviour", "dishonest_rep"),
    "dishonest_uq_report": ("PAC_unqualified", "dishonest_rep"),
    "unqualified_dp_reported": ("PAC_unqualified", "rep"),
}


def pac_flow_equalities(p: Any, repaired: bool = False) -> list:
    """Table IV PAC cell == net Table III flows into PAC and FED, per scenario."""
    t = table_iv(p)
    net = repaired_net_into_pac_fed if repaired else printed_net_into_pac_fed
    return [t[row][col] == net(p, s) for s, (row, col) in TABLE_IV_PAC_CELL.items()]


# ----------------------------------------------------------------------------------------
# outcomes: the four scenarios of the issue, separate accounts
# ----------------------------------------------------------------------------------------

PARTIES = ("HDP", "MDP", "RP", "UQDP", "AUTH", "PAC", "FED")
SCENARIOS = (
    "all_honest",
    "misbehaving_dp_reported",
    "dishonest_report",
    "unqualified_dp_reported",
)


def outcomes(p: Any) -> dict[str, dict[str, Any]]:
    """Each party's payoff over one lifetime, per scenario, Table III accounts.

    ``HDP`` is the list over the federation's DPs (``None`` at the guilty DP's index);
    the guilty DP (``MDP`` or ``UQDP``) is the focal, least reliable one; registration
    fees are left out as in Table IV (``fees`` says what each account pays or gets for
    them); ``residue`` is the sale residue left in FED (0 when the FLM is not sold);
    ``table_iv`` holds the literal cells of the matching column.
    """
    n = n_dps(p)
    m = focal_index(p)
    inc = sale_income(p)
    cps = p_j(p)
    comp = compensation_others(p)
    t = table_iv(p)
    fees = {"DP": -p.f_ci, "FED": n * p.f_ci - p.f_flm, "PAC": p.f_flm}
    out: dict[str, dict[str, Any]] = {}
    out["all_honest"] = {
        "HDP": [x - p.c for x in inc],
        "MDP": None,
        "RP": 0 * p.c,
        "UQDP": None,
        "AUTH": 0 * p.c,
        "PAC": 0 * p.c,
        "FED": residue(p),
        "residue": residue(p),
        "table_iv": {k: t[k]["well_train"] for k in ("HDP", "RP_misbehaviour", "PAC_misbehaviour")},
    }
    out["misbehaving_dp_reported"] = {
        "HDP": [None if j == m else cps[j] - p.c for j in range(n)],
        "MDP": -p.d,
        "RP": p.r1 - p.f1,
        "UQDP": None,
        "AUTH": 0 * p.c,
        "PAC": p.f1,
        "FED": p.d - p.r1 - comp,
        "residue": 0 * p.c,
        "table_iv": {
            "HDP": t["HDP"]["rep"],
            "MDP": t["MDP"]["rep"],
            "RP": t["RP_misbehaviour"]["rep"],
            "PAC": t["PAC_misbehaviour"]["rep"],
        },
    }
    out["dishonest_report"] = {
        # the false report is rejected, so the lifetime goes on and the FLM is sold
        "HDP": [x - p.c for x in inc],
        "MDP": None,
        "RP": -p.f1,
        "UQDP": None,
        "AUTH": 0 * p.c,
        "PAC": p.f1,
        "FED": residue(p),
        "residue": residue(p),
        "table_iv": {
            "HDP": t["HDP"]["dishonest_rep"],
            "RP": t["RP_misbehaviour"]["dishonest_rep"],
            "PAC": t["PAC_misbehaviour"]["dishonest_rep"],
        },
    }
    out["unqualified_dp_reported"] = {
        "HDP": [None if j == m else cps[j] - p.c for j in range(n)],
        "MDP": None,
        "RP": p.r2 - p.f2,
        "UQDP": -p.d - p.c,
        "AUTH": p.f_auth,
        "PAC": p.f2,
        "FED": p.d - p.f_auth - p.r2 - comp,
        "residue": 0 * p.c,
        "table_iv": {
            "HDP": t["HDP"]["rep"],
            "UQDP": t["UQDP"]["rep"],
            "RP": t["RP_unqualified"]["rep"],
            "PAC": t["PAC_unqualified"]["rep"],
        },
    }
    for s in out.values():
        s["fees"] = dict(fees)
    return out


# ----------------------------------------------------------------------------------------
# conditions (division-free holds)
# ----------------------------------------------------------------------------------------


def ir_all(p):
    """K p_FLM RELY_j^2 >= c N for every DP j (the squared, division-free IR)."""
    n = n_dps(p)
    return all_of(*[p.k_sales * p.p_flm * x >= p.c * n for x in rely_sq(p)])


def reporting_pays(p):
    return all_of(p.r1 > p.f1, p.r2 > p.f2)


def malformed_unprofitable(p):
    """U_N > U_MalformedCipher and U_N > U_BadUnmaskShare."""
    return all_of(u_dp_normal(p) > u_dp_malformed(p), u_dp_normal(p) > u_dp_bad_unmask(p))


def early_abort_unprofitable(p):
    """q_sem (P + d) > c  <=>  U_N > U_EarlyAbort."""
    return p.q_sem * (focal_income(p) + p.d) > p.c


def pac_solvent(p):
    """Every Table III payment out of PAC is covered by what the report brought in:
    d - r_1 >= 0 and d - f - r_2 >= 0 (PAC then keeps f_1 or f_2)."""
    return all_of(p.d - p.r1 >= 0, p.d - p.f_auth - p.r2 >= 0)


def fed_compensates(p):
    """FED can compensate the halted federation's honest members from the forfeit."""
    comp = compensation_others(p)
    return all_of(p.d - p.r1 - comp >= 0, p.d - p.f_auth - p.r2 - comp >= 0)


def shares_within_sale(p):
    """Sigma RELY^2 <= N: the shares never pay out more than the sale."""
    return sum_rely_sq(p) <= n_dps(p)


def audit_pays(p):
    return p.r2 - p.f2 - p.c_audit >= 0


def unqualified_deterred(p):
    """Illegal data does not pay against staying out: U_Unqualified < 0."""
    return u_dp_unqualified(p) < 0
