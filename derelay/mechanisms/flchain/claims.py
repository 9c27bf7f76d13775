"""FLChain's five claims (issue 14's names) and two repaired readings.

Symbolic claims are hypotheses => conclusion over the space (``free`` keys as z3
Reals, the rest at the base point; ``rely`` stays concrete, so N = len(rely) at the
base) plus bound variables; :func:`prove` runs them through the generic prover
(:func:`derelay.formal.claims.prove_claim`: fresh z3 context, deterministic rlimit,
witnesses replayed exactly).  Alg. 1 against the optimum is combinatorial: its claim
has ``evaluate``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from derelay.mechanism import Claim
from derelay.mechanism.ops import all_of
from derelay.params import NONNEG

from . import alg1
from . import closed_form as cf

_SHARE_N = 4  # the default federation (Table V); see the claim's encoding
_RELY_BOUND = {f"rely_{j + 1}": NONNEG for j in range(_SHARE_N)}


def _bound_rely(v) -> list:
    return [getattr(v, f"rely_{j + 1}") for j in range(_SHARE_N)]


def _greedy_evaluate(point, seed: int = 0, trials: int = 300, **_: Any) -> dict:
    hand = alg1.compare(alg1.HAND_INSTANCE)
    res = alg1.search(seed=seed, trials=trials, cap_max=max(1, min(3, int(point.fed_capacity))))
    cx = res["counterexample"] or (hand if hand["gap"] else None)
    witness = None
    if cx is not None:
        witness = _jsonable(cx)
    return {
        "status": "counterexample" if witness is not None else "proved",
        "witness": witness,
        "trials": res["trials"],
        "greedy_optimal_instances": res["greedy_optimal"],
        "worst_relative_gap": float(res["worst_relative_gap"]),
        "hand_instance": _jsonable({**alg1.HAND_INSTANCE, **hand}),
        "scope": f"{trials} random instances, at most 3 FLMs x 5 DPs, seed {seed}; "
        "proved would mean only that no counterexample was found",
    }


def _jsonable(x: Any) -> Any:
    if isinstance(x, Fraction):
        return float(x) if x.denominator != 1 else int(x)
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    return x


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "flchain.pflm_gt_c_is_ir",
        "Sec. V-A",
        "the model price must be larger than the training cost (p_FLM > c), which makes "
        "joining individually rational for every DP: K p_FLM RELY_j^2 / N >= c",
        "p_flm, c, k_sales free (domain: p_flm > 0, c >= 0, K a count); RELY and N at "
        "the base point; hypotheses p_flm > c and at least one sale (K >= 1); conclusion the squared IR of every DP",
        hypotheses=lambda p, v: [p.p_flm > p.c, p.k_sales >= 1],
        conclusion=lambda p, v: cf.ir_all(p),
        free=("p_flm", "c", "k_sales"),
    ),
    Claim(
        "flchain.shares_sum_to_one",
        "Sec. V-A",
        "the shares RELY_j^2 / N distribute the whole sale: Sigma_j p^j_FLM = p_FLM",
        f"N = {_SHARE_N} (the default federation), RELY_1..RELY_{_SHARE_N} bound, each "
        ">= 0 (the paper bounds RELY no further); conclusion Sigma RELY_j^2 / N = 1",
        hypotheses=lambda p, v: [],
        conclusion=lambda p, v: sum(x * x for x in _bound_rely(v)) / _SHARE_N == 1,
        bound=_RELY_BOUND,
        free=(),
    ),
    Claim(
        "flchain.greedy_optimal",
        "Sec. I, Alg. 1",
        "the federation establishment algorithm maximises the total profit of trainers",
        "Alg. 1 with a re-scan (alg1.greedy) against linear_sum_assignment on FLMs "
        "expanded into their capacities (alg1.optimum), exact on a hand-worked instance "
        "and on seeded random instances of at most 3 FLMs x 5 DPs",
        evaluate=_greedy_evaluate,
    ),
    Claim(
        "flchain.false_report_unprofitable",
        "Sec. V-A",
        "falsely reporting an honest trainer does not result in a profit for the "
        "reporter: a false report costs the reporter",
        "f1, f2, r1, r2 free (domains >= 0); hypotheses the paper's r1 > f1 and r2 > f2; "
        "conclusion the reporter's payoff of either false report (Table IV: -f1, -f2) "
        "is < 0",
        hypotheses=lambda p, v: [p.r1 > p.f1, p.r2 > p.f2],
        conclusion=lambda p, v: all_of(-p.f1 < 0, -p.f2 < 0),
        free=("f1", "f2", "r1", "r2"),
    ),
    Claim(
        "flchain.pac_matches_flows",
        "Tables III-IV",
        "Table IV's PAC column equals the sum of the Table III flows into PAC and FED",
        "money and fee parameters free, RELY at the base point; hypotheses the paper's "
        "r1 > f1, r2 > f2, d > p_FLM; conclusion, for the five Table IV PAC cells "
        "(Well-train, Rep. and Dishonest Rep. of both report kinds, one report), the cell "
        "equals the net of the printed Table III rows of that lifetime into PAC and FED",
        hypotheses=lambda p, v: [p.r1 > p.f1, p.r2 > p.f2, p.d > p.p_flm],
        conclusion=lambda p, v: all_of(*cf.pac_flow_equalities(p)),
        free=("p_flm", "d", "f1", "r1", "f2", "r2", "f_auth", "f_ci", "f_flm", "k_sales"),
    ),
)

#: The repaired reading of pac_matches_flows (derived rows, Table IV's scope).
PAC_REPAIRED = Claim(
    "flchain.pac_matches_flows_repaired",
    "Tables III-IV",
    "Table IV's PAC column equals PAC + FED under the Table III rows plus the derived "
    "compensation and refund rows, registration fees left out",
    "as flchain.pac_matches_flows, with repaired_net_into_pac_fed",
    hypotheses=lambda p, v: [p.r1 > p.f1, p.r2 > p.f2, p.d > p.p_flm],
    conclusion=lambda p, v: all_of(*cf.pac_flow_equalities(p, repaired=True)),
    free=("p_flm", "d", "f1", "r1", "f2", "r2", "f_auth", "k_sales"),
)

FALSE_REPORT_REPAIRED = Claim(
    "flchain.false_report_unprofitable_repaired",
    "Sec. V-A",
    "a false report costs the reporter when the report fees are positive",
    "as flchain.false_report_unprofitable, plus f1 > 0 and f2 > 0",
    hypotheses=lambda p, v: [p.r1 > p.f1, p.r2 > p.f2, p.f1 > 0, p.f2 > 0],
    conclusion=lambda p, v: all_of(-p.f1 < 0, -p.f2 < 0),
    free=("f1", "f2", "r1", "r2"),
)

REPAIRED = (PAC_REPAIRED, FALSE_REPORT_REPAIRED)


def prove(claim: Claim | str, base=None, **options: Any) -> dict:
    """One claim through the generic prover (:func:`derelay.formal.claims.prove_claim`)."""
    from derelay.formal.claims import prove_claim

    from . import FLCHAIN

    if isinstance(claim, str):
        claim = {c.name: c for c in (*CLAIMS, *REPAIRED)}[claim]
    return prove_claim(FLCHAIN, claim, base, **options)


def prove_all(base=None, **options: Any) -> dict[str, dict]:
    """The five claims, then the two repaired readings, keyed by name."""
    return {c.name: prove(c, base, **options) for c in (*CLAIMS, *REPAIRED)}
