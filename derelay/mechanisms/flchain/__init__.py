"""FLChain (Bao, Su, Xiong, Huang, Hu; FLChain.txt) as a derelay mechanism plug-in.

* :mod:`.space` -- the parameters (issue 14's keys);
* :mod:`.closed_form` -- Table III as data, Table IV literally, derived utilities,
  the ``outcomes`` of ``derelay check --mechanism flchain --json``;
* :mod:`.alg1` -- Alg. 1 (greedy with a re-scan) and the exact optimum;
* :mod:`.claims` -- the five claims and their z3 / combinatorial checks;
* :mod:`.protocol` -- the ABM round on the generic engine;
* :mod:`.report` -- ``reproduce(quick)``: the paper section as data.

See ``docs/flchain.md`` for the derivations, readings and errata.
"""

from __future__ import annotations

from typing import Any

from derelay.mechanism import Condition, Erratum, Funding, Mechanism, Role, Strategy

from . import closed_form as cf
from .claims import CLAIMS
from .space import FLCHAIN_SPACE


def _s(role, abbr, name, desc, eq, u, family, behaviour, derived=True, strict=True):
    return Strategy(
        role,
        abbr,
        name,
        desc,
        eq,
        u,
        family=family,
        behaviour=behaviour,
        derived=derived,
        strict_ic=strict,
    )


DP = Role(
    "DP",
    "Data provider (trainer)",
    "joins a federation by Alg. 1, trains, masks its gradients and unmasks shares",
    (
        _s(
            "DP",
            "N",
            "Normal",
            "trains honestly with correct ciphertexts and shares",
            "Table IV (Well-train, HDP): p - c",
            cf.u_dp_normal,
            "honest",
            {},
            derived=False,
        ),
        _s(
            "DP",
            "EarlyAbort",
            "Early abort",
            "trains fewer local steps (saves cost)",
            "derived: (1-q_sem) P - q_sem d",
            cf.u_dp_early_abort,
            "lazy",
            {"steps_fraction": 0.25},
        ),
        _s(
            "DP",
            "Poison",
            "Poisoner",
            "trains on flipped labels",
            "derived: (1-q_sem) P - q_sem d - c",
            cf.u_dp_poison,
            "poison",
            {"data": "label_flip"},
            strict=False,
        ),
        _s(
            "DP",
            "MalformedCipher",
            "Malformed ciphertext",
            "uploads a masked gradient that fails its proof (trains nothing)",
            "derived: -q_mal d",
            cf.u_dp_malformed,
            "malformed",
            {"malformed": "cipher", "trains": False},
        ),
        _s(
            "DP",
            "BadUnmaskShare",
            "Bad unmask share",
            "trains, then gossips an unmask share that fails its proof",
            "derived: -q_mal d - (1-q_mal) c",
            cf.u_dp_bad_unmask,
            "malformed",
            {"malformed": "unmask"},
        ),
        _s(
            "DP",
            "Unqualified",
            "Unqualified DP",
            "holds illegally collected data that the authority can tell",
            "Table IV (UQDP): audit (-d-c) + (1-audit)(p-c)",
            cf.u_dp_unqualified,
            "biased_data",
            {"unqualified": True},
        ),
        _s(
            "DP",
            "Abort",
            "Abort",
            "stops training mid-lifetime (a missed deadline)",
            "derived: -d",
            cf.u_dp_abort,
            "withhold",
            {"aborts": True},
        ),
    ),
)

NODE = Role(
    "Node",
    "FLChain node",
    "aggregates the verified ciphertexts; the leader documents its result in the block",
    (
        _s(
            "Node",
            "CorrectAgg",
            "Correct aggregation",
            "publishes the correct aggregate",
            "derived: R_B - c_mine",
            cf.u_node_correct,
            "honest",
            {},
        ),
        _s(
            "Node",
            "WrongAgg",
            "Wrong aggregation",
            "publishes a wrong aggregate; out-voted, replaced and slashed",
            "derived: -d - c_mine",
            cf.u_node_wrong,
            "misreport",
            {"wrong_agg": True},
        ),
    ),
)

RP = Role(
    "RP",
    "Reporter (detector)",
    "audits FLChain records and reports misbehaving or unqualified DPs",
    (
        _s(
            "RP",
            "Audit&Report",
            "Audit and report",
            "audits a federation (cost c_audit) and reports what it finds",
            "derived from Table IV (RP, Rep.): r2 - f2 - c_audit",
            cf.u_rp_audit,
            "honest",
            {"audits": True},
        ),
        _s(
            "RP",
            "Ignore",
            "Ignore",
            "never audits",
            "derived: 0",
            cf.u_rp_ignore,
            "skip_audit",
            {"audits": False},
        ),
        _s(
            "RP",
            "FalseReport",
            "False report",
            "reports an honest DP",
            "Table IV (RP, Dishonest Rep.): -f",
            cf.u_rp_false,
            "false_report",
            {"audits": False, "false_report": True},
        ),
    ),
)


def _c(name, eq, role, protects, deviation, exactness, strict, desc, holds, form, div=()):
    return Condition(
        name, eq, "", role, protects, deviation, exactness, strict, desc, holds, form, div
    )


CONDITIONS = (
    _c(
        "DP_IR",
        "Sec. V-A (squared form)",
        "DP",
        "IR",
        None,
        "exact",
        False,
        "every DP's K sales pay its cost: K p_FLM RELY_j^2 / N >= c (no square root)",
        cf.ir_all,
        lambda p: (p.k_sales * p.p_flm * cf.focal_rely(p) ** 2 / cf.n_dps(p), ">=", p.c),
        ("N",),
    ),
    _c(
        "RP_reporting_pays",
        "Sec. V-A",
        "RP",
        "IC",
        None,
        "exact",
        True,
        "a successful report pays more than its fee: r1 > f1 and r2 > f2",
        cf.reporting_pays,
        lambda p: (p.r1 - p.f1, ">", 0),
    ),
    _c(
        "DP_crypto_deters_malformed",
        "derived",
        "DP",
        "IC",
        "MalformedCipher",
        "exact",
        True,
        "crypto detection makes MalformedCipher and BadUnmaskShare unprofitable: P - c > -q_mal d",
        cf.malformed_unprofitable,
        lambda p: (cf.u_dp_normal(p), ">", cf.u_dp_malformed(p)),
    ),
    _c(
        "DP_semantic_deters_early_abort",
        "derived",
        "DP",
        "IC",
        "EarlyAbort",
        "exact",
        True,
        "semantic detection makes EarlyAbort unprofitable: q_sem (P + d) > c",
        cf.early_abort_unprofitable,
        lambda p: (p.q_sem * (cf.focal_income(p) + p.d), ">", p.c),
    ),
    _c(
        "PAC_solvent",
        "Table III",
        "PAC",
        "safety",
        None,
        "exact",
        False,
        "PAC pays each report's Table III rows from what the report brought in: "
        "d >= r1 and d >= f + r2",
        cf.pac_solvent,
        lambda p: (p.d, ">=", p.r1),
    ),
    _c(
        "FED_compensates",
        "Table IV (derived)",
        "FED",
        "safety",
        None,
        "exact",
        False,
        "the forfeit reaching FED covers the halted honest members' compensation",
        cf.fed_compensates,
        lambda p: (p.d - p.r1, ">=", cf.compensation_others(p)),
    ),
    _c(
        "shares_within_sale",
        "Sec. V-A",
        "FED",
        "safety",
        None,
        "exact",
        False,
        "the shares do not exceed the sale: Sigma RELY_j^2 / N <= 1",
        cf.shares_within_sale,
        lambda p: (cf.share_total(p), "<=", 1),
        ("N",),
    ),
    _c(
        "RP_audit_pays",
        "derived",
        "RP",
        "IC",
        "Ignore",
        "exact",
        False,
        "auditing a federation with an unqualified DP pays: r2 - f2 >= c_audit",
        cf.audit_pays,
        lambda p: (p.r2 - p.f2, ">=", p.c_audit),
    ),
    _c(
        "DP_unqualified_deterred",
        "derived",
        "DP",
        "IC",
        "Unqualified",
        "exact",
        True,
        "illegal data does not pay against staying out: audit (d + c) > (1 - audit)(P - c)",
        cf.unqualified_deterred,
        lambda p: (p.audit * (p.d + p.c), ">", (1 - p.audit) * (cf.focal_income(p) - p.c)),
    ),
)

ERRATA = (
    Erratum("E1", "Alg. 1 line 10", "compares with an undefined p_max (read: PFT_max)."),
    Erratum(
        "E2",
        "Alg. 1 lines 13-18",
        "the while loop never recomputes PFT_max and has no "
        "exit when PFT_max < 0, so it does not terminate in general; derelay re-scans "
        "(greedy with re-scan, alg1.greedy), which stops after at most n_dps passes.",
    ),
    Erratum(
        "E3",
        "Sec. V-A",
        "guarantee 1 says misbehaviour 'results in a higher payout "
        "than honest actions'; the requirements that follow (3: the malicious have a "
        "negative net payout) show a lower payout is meant.",
    ),
    Erratum(
        "E4",
        "Sec. V-A",
        "'p_FLM must be larger than c' compares the whole price with "
        "one DP's cost, but a DP earns only p_FLM RELY_j^2 / N per sale; IR needs "
        "K p_FLM RELY_j^2 / N >= c (claim flchain.pflm_gt_c_is_ir).",
    ),
    Erratum(
        "E5",
        "Sec. V-A",
        "shares^j = RELY^j/N with p^j = p_FLM shares^j RELY^j sum to "
        "p_FLM only when Sigma RELY_j^2 = N; otherwise a residue stays unallocated or "
        "the sale is over-allocated (claim flchain.shares_sum_to_one).",
    ),
    Erratum(
        "E6",
        "Tables III-IV",
        "Table IV's PAC column lumps PAC and FED and subtracts a "
        "compensation Sigma cp that no Table III row pays; it ignores f_CI, f_FLM and "
        "the deposits' refund (claim flchain.pac_matches_flows).",
    ),
    Erratum(
        "E7",
        "Table IV",
        "MDP's reported payoff is -d without -c while UQDP's is "
        "-d - c; HDP's Dishonest Rep. cell is 0 although a rejected false report "
        "leaves the lifetime (p - c) unchanged; the Unrep. column has no MDP entry.",
    ),
    Erratum(
        "E8",
        "Sec. IV-A vs IV-C",
        "the leader is 'the node with the highest "
        "reliability' (IV-A) or 'randomly selected from high reliable nodes' (IV-C); "
        "both are selectable (leader = max_rely | random_top).",
    ),
    Erratum(
        "E9",
        "Table III",
        "the cost c, the report reward r1 when r1 > d (negative "
        "PAC -> FED row d - r1) and the number of sales are left open; derelay adds "
        "k_sales and reports a PAC shortfall instead of a negative flow.",
    ),
)


class FLChain(Mechanism):
    name = "flchain"
    title = "FLChain: auditable federated learning with trust and incentive"
    paper = "Bao, Su, Xiong, Huang, Hu: FLChain (FLChain.txt)"
    space = FLCHAIN_SPACE
    roles = (DP, NODE, RP)
    conditions = CONDITIONS
    claims = CLAIMS
    funding = Funding(
        minted=lambda p: p.block_reward + 0 * p.k_sales,
        external=lambda p: p.k_sales * p.p_flm / p.flm_lifetime,
        description="one block reward per round to the leader; K purchases of each "
        "well-trained FLM per lifetime paid in from EXTERNAL (per federation)",
    )
    protocol = "derelay.mechanisms.flchain.protocol:FLChainProtocol"
    learning_mode = "fedavg"
    finality = "bft"
    errata = ERRATA
    #: hints for tests/test_mechanism_contract.py: a small money-only run, and runs in
    #: which the closed form's assumptions meet (others honest, fees the closed form
    #: leaves out set to zero, certain detection where the strategy needs it)
    contract = {
        "params": {"n_participants": 24, "flm_lifetime": 2},
        "options": {"learning": "off", "n_nodes": 4},
        "rounds": 4,
        "closed_form": [
            {
                "role": "DP",
                "strategy": "N",
                "rounds": 4,
                "tolerance": 1e-6,
                "run": {
                    "params": {"f_ci": 0.0},
                    "options": {"learning": "off", "n_nodes": 4, "reporter_share": 0.0},
                },
            },
            {"role": "Node", "strategy": "CorrectAgg", "rounds": 4, "tolerance": 1e-9},
            {
                "role": "DP",
                "strategy": "MalformedCipher",
                "rounds": 4,
                "tolerance": 1e-6,
                "run": {
                    "params": {"f_ci": 0.0, "q_crypto": 1.0},
                    "strategies": {"DP": {"N": 0.75, "MalformedCipher": 0.25}},
                },
            },
            {
                "role": "RP",
                "strategy": "FalseReport",
                "rounds": 4,
                "tolerance": 1e-9,
                "run": {
                    "params": {"audit": 1.0},
                    "strategies": {"RP": {"Audit&Report": 0.5, "FalseReport": 0.5}},
                },
            },
        ],
    }
    #: the claim ``derelay compare`` shows beside a family's cell
    family_claims = {"false_report": "flchain.false_report_unprofitable"}

    def extras(self, p: Any) -> dict[str, Any]:
        """``outcomes`` (four scenarios), ``table_iv`` (literal) and the shares."""
        return {
            "outcomes": _plain(cf.outcomes(p)),
            "table_iv": _plain(cf.table_iv(p)),
            "shares": {
                "p_j": _plain(cf.p_j(p)),
                "share_total": _plain(cf.share_total(p)),
                "sale_residue": _plain(cf.residue(p)),
                "n_dps": cf.n_dps(p),
            },
        }


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if x is None or isinstance(x, bool | str):
        return x
    try:
        return float(x)
    except TypeError:
        return x


FLCHAIN = FLChain()

__all__ = ["FLCHAIN", "FLChain", "FLCHAIN_SPACE", "CONDITIONS", "ERRATA"]
