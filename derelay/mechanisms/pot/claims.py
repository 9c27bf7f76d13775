"""The paper's claims about Proof of Training, as hypotheses => conclusion (issue 12).

Encodings (each one's ``encoding`` text says the same):

* ``pot.audit_all`` (Sec. 3.4, "participants are economically incentivized to audit all
  work"): for every cheat rate θ in [0, 1] of the audited validations, one audit pays:
  θ·(γ·vStake − c_tx) >= c_ver, at the base point.  θ = 0 (every validator honest, the
  profile the protocol aims at) refutes it whenever c_ver > 0: the verifier's dilemma.
* ``pot.challenge_deters`` (Sec. 3.4): with an honest co-validator (n_V >= 2) disagreement
  forces verification, so a lone wrong validation is caught for sure; the claim is that it
  is then unprofitable: U_N > U_Inflate, U_N > U_Deflate and U_N > U_Random, for every
  bribe, stake, reward and cost (K, π, n_V, a, n_X at the base point).
* ``pot.multisig_10pct`` (Sec. 5.2): with supply S > 0, n·d = s_A·S (the aggregators hold
  s_A of the supply) and an attacker budget B >= d·k (enough for k seats), B >= S/10, for
  every stake d > 0 at (k, n, s_A) = (18, 30, 0.2).  The exact share is k·s_A/n = 3/25.
* ``pot.tax_covers_settlement`` (Sec. 5.2): r·R >= G·p_gc at the base point, G from
  Table 6's gas with ``confirmations`` confirmReward calls.
* ``pot.winner_majority`` (Sec. 2.3): the winner's payout w·R exceeds R/2 for every reward
  R > 0 at the base ρ and r.
"""

from __future__ import annotations

from fractions import Fraction

from derelay.mechanism.base import Claim
from derelay.mechanism.ops import all_of
from derelay.params import Domain

from .closed import (
    attack_share,
    settlement_coin,
    u_v_misreport,
    u_v_n,
    u_v_random,
    winner_share,
)


def _tax_covers(p, **_options) -> dict:
    """Exact ground check of r·R >= G·p_gc, with the margins that decide it."""
    tax = p.tax * p.reward
    cost = settlement_coin(p)
    ok = tax >= cost
    return {
        "status": "proved" if ok else "counterexample",
        "witness": None if ok else {"tax_coin": float(tax), "settlement_coin": float(cost)},
        "tax_coin": float(tax),
        "settlement_coin": float(cost),
        "break_even_reward": float(cost / p.tax) if p.tax else None,
        "break_even_tax": float(cost / p.reward),
    }


CLAIMS: tuple[Claim, ...] = (
    Claim(
        name="pot.audit_all",
        source="Sec. 3.4",
        statement="participants are economically incentivized to audit all work",
        encoding="for all theta in [0, 1] (the share of audited validations that are wrong): "
        "theta * (gamma * v_stake - c_tx) >= c_ver, at the base point",
        hypotheses=lambda p, v: [],
        conclusion=lambda p, v: v.theta * (p.gamma * p.v_stake - p.c_tx) >= p.c_ver,
        bound={"theta": Domain(lower=0.0, upper=1.0)},
        free=(),
    ),
    Claim(
        name="pot.challenge_deters",
        source="Sec. 3.4",
        statement="a wrong validation is unprofitable when at least one honest co-validator "
        "scores the same model, since disagreement forces verification",
        encoding="n_validators >= 2 => U_N > U_Inflate = U_Deflate and U_N > U_Random, for "
        "all misreport_gain, v_stake, rho, reward, c_eval, c_tx in their domains (K, pi, "
        "n_V, a, n_X at the base point)",
        hypotheses=lambda p, v: [p.n_validators >= 2],
        conclusion=lambda p, v: all_of(u_v_n(p) > u_v_misreport(p), u_v_n(p) > u_v_random(p)),
        free=("misreport_gain", "v_stake", "rho", "reward", "c_eval", "c_tx"),
    ),
    Claim(
        name="pot.multisig_10pct",
        source="Sec. 5.2",
        statement="at (k, n) = (18, 30), with aggregators holding 20% of supply, subverting "
        "the multisig needs at least 10% of total circulation",
        encoding="supply S > 0, n * d = agg_supply_share * S, budget B >= d * k => B >= S/10, "
        "for every agg_stake d > 0 at the base (k, n, agg_supply_share); exact share "
        "k * agg_supply_share / n",
        hypotheses=lambda p, v: [
            p.n_aggregators * p.agg_stake == p.agg_supply_share * v.supply,
            v.budget >= p.agg_stake * p.k_multisig,
        ],
        conclusion=lambda p, v: v.budget >= Fraction(1, 10) * v.supply,
        bound={
            "supply": Domain(lower=0.0, lower_strict=True),
            "budget": Domain(lower=0.0),
        },
        free=("agg_stake",),
    ),
    Claim(
        name="pot.tax_covers_settlement",
        source="Sec. 5.2",
        statement="the tax covers the settlement cost at Table 6 gas",
        encoding="tax * reward >= (gas_propose + confirmations * gas_confirm + gas_execute) "
        "* gas_price_coin, decided exactly at the base point (a ground statement); the "
        "break-even reward and tax are reported",
        evaluate=_tax_covers,
    ),
    Claim(
        name="pot.winner_majority",
        source="Sec. 2.3",
        statement="the optimum model's owner receives the majority of the rewards",
        encoding="for every reward R > 0: (1 - rho - tax) * R > R / 2 (1 - rho under "
        "inflation funding), at the base rho and tax",
        hypotheses=lambda p, v: [],
        conclusion=lambda p, v: winner_share(p) * p.reward > p.reward / 2,
        free=("reward",),
    ),
)

__all__ = ["CLAIMS", "attack_share"]
