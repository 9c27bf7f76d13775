"""Proof of Training in closed form: derived utilities per order, conditions, settlement.

The paper states no utility and no theorem.  Every utility below is **derived** from its
stated rules (Secs. 2.3-2.5, 3.3, 3.4, 5.2, Table 1) and written once with ``+ - * /``,
``**`` and the generic ops, so it evaluates floats, Fractions, numpy grids and z3 terms.
Each is the expected coin payoff of one agent in one order when every other agent is
honest (a unilateral deviation), except ``V.Cluster`` and ``A.Drain`` which are
per-member payoffs of the coalition the family names.

Notation: π = ``p_train_success``, K = ``n_providers``, n_V = ``n_validators``, n_X =
``n_verifiers``, a = ``audit``, w = the winner's share (1 − ρ − r under ``funding = tax``,
1 − ρ under ``inflation``, where the aggregators are paid by issuance instead).

Provider P (Secs. 2.3, 2.4, 3.3.2)
----------------------------------
A training job succeeds with probability π; a failed job yields no model to commit (the
reading under which the issue's w_H is exact).  The winner is the best revealed model;
ties between successful honest models are broken uniformly.  With X ~ Bin(K−1, π) the
other successes, P(win) = π·E[1/(1+X)] = (1 − (1 − π)^K)/K = w_H, so

* U_N = w·R·w_H − c_train − c_tx (the issue's reading; commit + reveal are one c_tx).
* ``Lazy`` submits the start model plus noise: no training cost, and it beats only the
  start model, so it wins only when none of the K − 1 honest providers succeeded:
  U_Lazy = w·R·(1 − π)^(K−1) − c_tx.
* ``Poison`` trains on flipped labels (its job also succeeds with probability π) and its
  model is worse than the start model: it too wins only when no honest provider
  succeeded: U_Poison = w·R·π·(1 − π)^(K−1) − c_train − c_tx.
* ``Withhold`` commits and never reveals (so it need not train); its stake is slashed
  ``withhold_slash`` (burned): U_Withhold = −c_tx − s_W.
* ``Copy`` commits the start model as a fallback and, when an honest model is revealed,
  claims it; commit-reveal rejects the claim (no prior commit of that hash), which costs
  one more c_tx.  It wins only as the fallback when no honest provider succeeded:
  U_Copy = w·R·(1 − π)^(K−1) − c_tx − c_tx·(1 − (1 − π)^(K−1)).

Validator V (Sec. 2.4, Table 1)
-------------------------------
Every validator of an order scores every revealed model (m = K·π models expected) at
c_eval each, sends its validations as one transaction (c_tx) and stakes vStake behind
each score.  "The winner's validators share ρR": each validator whose validation of the
winner stands gets ρR/n_V when a winner exists (probability s = 1 − (1 − π)^K).
A caught validator is slashed vStake per wrong validation (γ to the challengers, the rest
burned) and loses its share.  A unilateral misreport disagrees with the honest
co-validators whenever n_V ≥ 2, which forces verification: caught with probability
q₁ = 1; with n_V = 1 it is caught only by a random audit, q = 1 − (1 − a)^(n_X).

* U_N = s·ρR/n_V − m·c_eval − c_tx.
* ``Inflate``/``Deflate`` (one score ±δ, for a bribe g):
  U = g + (1 − q₁)·s·ρR/n_V − q₁·vStake − m·c_eval − c_tx.
* ``Random`` (no evaluation; every score wrong): U = (1 − q₁)·s·ρR/n_V − q₁·m·vStake − c_tx.
* ``Cluster`` (all n_V validators inflate one provider, for g each): the scores agree, so
  only random audits catch it, each member independently with probability q.  The members
  left standing share ρR: with X ~ Bin(n_V − 1, 1 − q) other members standing, a member's
  expected share is (1 − q)·ρR·E[1/(1 + X)] = ρR·(1 − q^n_V)/n_V, so
  U = g + s·ρR·(1 − q^n_V)/n_V − q·vStake − m·c_eval − c_tx.

Verifier X (Secs. 3.3.3, 3.4)
-----------------------------
``Audit`` checks each of the n_V·m validations with probability a at c_ver each; with
every validator honest there is nothing to catch: U_Audit = −a·n_V·m·c_ver.  ``Skip``:
U = 0.  ``FalseChallenge`` challenges one correct validation per order, which fails
(VRF_Model is deterministic) and loses cStake: U = −(cStake + c_tx).
A successful challenge pays γ·vStake (split among the challengers), so auditing pays
only at a cheat rate θ ≥ θ* = c_ver/(γ·vStake − c_tx) per validation: the verifier's
dilemma (reported in ``extras``).

Aggregator A (Secs. 4.2, 5.2)
-----------------------------
The aggregators share rR of every sealed order and pay its settlement gas G·p_gc with
G = gas_propose + confirmations·gas_confirm + gas_execute:
U_N = s·(rR − G·p_gc)/n_A.  ``Drain``: a coalition of k seats signs the escrow away; per
member of a minimal coalition it takes R/k and forfeits its stake d (the paper's "linear
staking impact": the attack costs B(k) = d·k): U_Drain = R/k − d.

Client C (optional agent)
-------------------------
Money only, with the reading that the client values a sealed order at its posted R (a
buyer at its own price): U_N = s·(R − R) − c_tx = −c_tx.  ``WithholdTest`` never releases
D_test: the order cannot be validated, is invalidated (Sec. 3.1.2) and its escrow is
refunded, while the revealed models stay public: U = s·R − c_tx (the models for free).
``BiasedTest`` publishes a biased test set: the money flows are those of N (the harm is to
the model chosen, measured in the ABM): U = U_N (IC weak).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from derelay.mechanism.base import Condition, Erratum, Funding, Role, Strategy
from derelay.mechanism.ops import ite

GWEI = Fraction(1, 10**9)


# --------------------------------------------------------------------------------------
# Shared terms
# --------------------------------------------------------------------------------------


def winner_share(p: Any) -> Any:
    """w: 1 − ρ − r when the tax pays the aggregators, 1 − ρ under inflation funding."""
    return 1 - p.rho - p.tax if p.funding == "tax" else 1 - p.rho


def agg_income_share(p: Any) -> Any:
    """The aggregators' share of R: taken from the order (tax) or newly minted."""
    return p.tax


def p_all_fail(p: Any, n: Any) -> Any:
    """(1 − π)^n: none of n honest training jobs succeeded."""
    return (1 - p.p_train_success) ** n


def p_sealed(p: Any) -> Any:
    """s = 1 − (1 − π)^K: at least one honest provider succeeded (a winner exists)."""
    return 1 - p_all_fail(p, p.n_providers)


def w_honest(p: Any) -> Any:
    """w_H = (1 − (1 − π)^K)/K: an honest provider's chance of winning."""
    return p_sealed(p) / p.n_providers


def w_default(p: Any) -> Any:
    """(1 − π)^(K−1): a non-improving model wins only if every honest one failed."""
    return p_all_fail(p, p.n_providers - 1)


def revealed_models(p: Any) -> Any:
    """m = K·π, the expected number of revealed (validated) models."""
    return p.n_providers * p.p_train_success


def validator_share(p: Any) -> Any:
    """ρR/n_V: one validator's share of the winner's validator reward."""
    return p.rho * p.reward / p.n_validators


def q_audit(p: Any) -> Any:
    """1 − (1 − a)^(n_X): at least one verifier audits a given validation."""
    return 1 - (1 - p.audit) ** p.n_verifiers


def q_unilateral(p: Any) -> Any:
    """Detection of a lone misreport: forced (1) with an honest co-validator, else audits."""
    return ite(p.n_validators >= 2, 1, q_audit(p))


def settlement_gas(p: Any) -> Any:
    """G = propose + confirmations × confirm + execute (Sec. 4.2)."""
    return p.gas_propose + p.confirmations * p.gas_confirm + p.gas_execute


def settlement_coin(p: Any) -> Any:
    """G · gas_price_coin: the settlement's cost in coins (0 when gas is off)."""
    return settlement_gas(p) * p.gas_price_coin


# --------------------------------------------------------------------------------------
# Utilities
# --------------------------------------------------------------------------------------


def u_p_n(p):
    return winner_share(p) * p.reward * w_honest(p) - p.c_train - p.c_tx


def u_p_lazy(p):
    return winner_share(p) * p.reward * w_default(p) - p.c_tx


def u_p_poison(p):
    return (
        winner_share(p) * p.reward * p.p_train_success * w_default(p) - p.c_train - p.c_tx
    )


def u_p_withhold(p):
    return -p.c_tx - p.withhold_slash


def u_p_copy(p):
    return winner_share(p) * p.reward * w_default(p) - p.c_tx - p.c_tx * (1 - w_default(p))


def _v_costs(p):
    return revealed_models(p) * p.c_eval + p.c_tx


def u_v_n(p):
    return p_sealed(p) * validator_share(p) - _v_costs(p)


def u_v_misreport(p):
    q = q_unilateral(p)
    return p.misreport_gain + (1 - q) * p_sealed(p) * validator_share(p) - q * p.v_stake - _v_costs(p)


def u_v_random(p):
    q = q_unilateral(p)
    return (1 - q) * p_sealed(p) * validator_share(p) - q * revealed_models(p) * p.v_stake - p.c_tx


def u_v_cluster(p):
    q = q_audit(p)
    standing = (1 - q**p.n_validators) * p.rho * p.reward / p.n_validators
    return p.misreport_gain + p_sealed(p) * standing - q * p.v_stake - _v_costs(p)


def u_x_audit(p):
    return -p.audit * p.n_validators * revealed_models(p) * p.c_ver


def u_x_skip(p):
    return 0 * p.c_ver


def u_x_false(p):
    return -(p.c_stake + p.c_tx)


def u_a_n(p):
    return p_sealed(p) * (agg_income_share(p) * p.reward - settlement_coin(p)) / p.n_aggregators


def u_a_drain(p):
    return p.reward / p.k_multisig - p.agg_stake


def u_c_n(p):
    return -p.c_tx + 0 * p.reward


def u_c_withhold(p):
    return p_sealed(p) * p.reward - p.c_tx


def u_c_biased(p):
    return u_c_n(p)


def _s(role, abbr, name, family, utility, description, behaviour, strict=True, eq="derived"):
    return Strategy(
        role=role, abbr=abbr, name=name, description=description, equation=eq,
        utility=utility, family=family, behaviour=behaviour, strict_ic=strict, derived=True,
    )


ROLES: tuple[Role, ...] = (
    Role("P", "Provider", "trains the client's start model and commits, then reveals it", (
        _s("P", "N", "Normal provider", "honest", u_p_n,
           "trains, commits the model's hash before the deadline, reveals after it",
           {"trains": True, "data": "own", "commits": True, "reveals": True}),
        _s("P", "Lazy", "Lazy provider", "lazy", u_p_lazy,
           "submits the start model plus noise", {"trains": False, "perturb": True,
                                                   "commits": True, "reveals": True}),
        _s("P", "Poison", "Poisoning provider", "poison", u_p_poison,
           "trains on flipped labels", {"trains": True, "data": "label_flip",
                                        "commits": True, "reveals": True}),
        _s("P", "Withhold", "Withholding provider", "withhold", u_p_withhold,
           "commits but never reveals (slashed)", {"trains": False, "commits": True,
                                                  "reveals": False}),
        _s("P", "Copy", "Copying provider", "free_ride", u_p_copy,
           "claims another provider's revealed model (rejected by commit-reveal)",
           {"trains": False, "perturb": True, "commits": True, "reveals": True,
            "copies": True}),
    )),
    Role("V", "Validator", "scores every revealed model on D_test, staking vStake each", (
        _s("V", "N", "Normal validator", "honest", u_v_n, "reports the true score",
           {"shift": 0.0}),
        _s("V", "Inflate", "Inflating validator", "misreport", u_v_misreport,
           "raises one provider's score by δ for a bribe", {"shift": 1.0}),
        _s("V", "Deflate", "Deflating validator", "misreport", u_v_misreport,
           "lowers one provider's score by δ for a bribe", {"shift": -1.0}),
        _s("V", "Random", "Random validator", "lazy_eval", u_v_random,
           "reports random scores without evaluating", {"random": True}),
        _s("V", "Cluster", "Colluding validators", "collude", u_v_cluster,
           "every validator of the order inflates one provider", {"cluster": True}),
    )),
    Role("X", "Verifier", "audits validations and challenges wrong ones, staking cStake", (
        _s("X", "Audit", "Auditing verifier", "honest", u_x_audit,
           "audits each validation with probability a; challenges wrong ones",
           {"audits": True}),
        _s("X", "Skip", "Skipping verifier", "skip_audit", u_x_skip, "never audits",
           {"audits": False}),
        _s("X", "FalseChallenge", "False challenger", "false_report", u_x_false,
           "challenges a correct validation", {"audits": False, "false_challenge": True}),
    )),
    Role("A", "Aggregator", "keeps the PBFT ledger and signs settlements ((k, n) multisig)", (
        _s("A", "N", "Normal aggregator", "honest", u_a_n, "signs the honest settlement",
           {"drain": False}),
        _s("A", "Drain", "Draining aggregator", "collude", u_a_drain,
           "signs the escrow away with its coalition (succeeds iff >= k seats)",
           {"drain": True}),
    )),
    Role("C", "Client", "posts an order (start model, data, R) and releases D_test", (
        _s("C", "N", "Normal client", "honest", u_c_n, "releases an unbiased D_test",
           {"test": "honest"}),
        _s("C", "BiasedTest", "Biased client", "biased_data", u_c_biased,
           "releases a biased D_test", {"test": "biased"}, strict=False),
        _s("C", "WithholdTest", "Withholding client", "withhold", u_c_withhold,
           "never releases D_test (order invalidated, escrow refunded)",
           {"test": "withheld"}),
    )),
)


# --------------------------------------------------------------------------------------
# Conditions (division-free ``holds``; ``paper_form`` as printed / derived)
# --------------------------------------------------------------------------------------


def p_ir_holds(p):
    # U_N >= 0 multiplied by K > 0: w·R·(1 − (1 − π)^K) >= K·(c_train + c_tx)
    return winner_share(p) * p.reward * p_sealed(p) >= p.n_providers * (p.c_train + p.c_tx)


def p_ir_paper(p):
    return (winner_share(p) * p.reward * w_honest(p), ">=", p.c_train + p.c_tx)


def majority_holds(p):
    return 2 * winner_share(p) > 1


def majority_paper(p):
    return (winner_share(p), ">", Fraction(1, 2))


def v_cluster_holds(p):
    # U_N > U_Cluster  <=>  q·vStake + s·ρR·q^n_V/n_V > g ; times n_V > 0
    q = q_audit(p)
    return p.n_validators * q * p.v_stake + p_sealed(p) * p.rho * p.reward * (
        q**p.n_validators
    ) > p.n_validators * p.misreport_gain


def v_cluster_paper(p):
    q = q_audit(p)
    return (q * p.v_stake + p_sealed(p) * validator_share(p) * q**p.n_validators, ">",
            p.misreport_gain)


def x_participation_holds(p):
    # Audit's IR in the honest profile: a·n_V·K·π·c_ver <= 0
    return p.audit * p.n_validators * revealed_models(p) * p.c_ver <= 0


def x_participation_paper(p):
    return (0, ">=", p.audit * p.n_validators * revealed_models(p) * p.c_ver)


def a_tax_holds(p):
    return agg_income_share(p) * p.reward >= settlement_coin(p)


def a_tax_paper(p):
    return (agg_income_share(p) * p.reward, ">=", settlement_coin(p))


def multisig_holds(p):
    return p.reward < p.agg_stake * p.k_multisig


def multisig_paper(p):
    return (p.reward, "<", p.agg_stake * p.k_multisig)


CONDITIONS: tuple[Condition, ...] = (
    Condition("P_IR_free_entry", "w·R·w_H >= c_train + c_tx", "", "P", "IR", None, "exact",
              False, "an honest provider breaks even against K - 1 symmetric rivals "
              "(free entry drives K to the largest K for which this holds)",
              p_ir_holds, p_ir_paper, ("n_providers",)),
    Condition("winner_majority", "1 - rho - r > 1/2", "Sec. 2.3", "P", "safety", None,
              "exact", True, "the optimum model's owner receives the majority of R",
              majority_holds, majority_paper),
    Condition("V_IC_cluster", "q(a)·vStake + s·rho·R·q(a)^n_V/n_V > g", "", "V", "IC", "Cluster",
              "exact", True, "a single-cluster collusion of all validators is unprofitable "
              "given the audit rate (q = 1 - (1 - a)^n_X)", v_cluster_holds, v_cluster_paper,
              ("n_validators",)),
    Condition("X_participation", "0 >= a·n_V·K·pi·c_ver", "Sec. 3.4", "X", "IR", None,
              "exact", False, "auditing pays for itself in the honest profile (it does only "
              "if c_ver = 0 or a = 0: the verifier's dilemma)", x_participation_holds,
              x_participation_paper),
    Condition("A_tax_covers_settlement", "r·R >= G·p_gc", "Sec. 5.2", "A", "IR", None,
              "exact", False, "the aggregators' tax covers the settlement gas of one order",
              a_tax_holds, a_tax_paper),
    Condition("multisig_safety", "R < d·k", "Sec. 5.2", "A", "safety", None, "sufficient",
              True, "the escrow a drain can take is below the budget d·k of k seats",
              multisig_holds, multisig_paper),
)


def funding_minted(p):
    return ite(p.funding == "inflation", p_sealed(p) * p.tax * p.reward, 0 * p.reward)


def funding_external(p):
    return p.reward + 0 * p.tax


FUNDING = Funding(
    minted=funding_minted,
    external=funding_external,
    description="the client pays R per order from outside; under 'inflation' the "
    "aggregators' r·R of a sealed order is minted instead of taxed",
)


# --------------------------------------------------------------------------------------
# Settlement (Table 6) and the other check --json extras
# --------------------------------------------------------------------------------------

#: Table 6 as printed: (function, gas, executions, tokens, usd).
TABLE6 = (
    ("proposeReward", 86875, "Once", Fraction("0.000396"), Fraction("0.098")),
    ("confirmReward", 45371, "k times", Fraction("0.000207"), Fraction("0.051")),
    ("executeReward", 161888, "Once", Fraction("0.000739"), Fraction("0.18")),
)
#: The paper's printed total for one account (Sec. 4.2 and 5.2).
PRINTED_TOTAL_BNB = Fraction("0.007582")
PRINTED_TOTAL_USD = Fraction("1.87")


def _f(x: Any) -> float:
    return float(x)


def exact(p: Any) -> Any:
    """The point ``p`` (Point, ParamValues or mapping) with exact Fractions."""
    from .space import POT_SPACE

    data = dict(p) if hasattr(p, "keys") else dict(vars(p))
    return POT_SPACE.exact(data)


def settlement(p: Any) -> dict[str, Any]:
    """The ``settlement`` object of ``check --json`` at point ``p`` (exact arithmetic)."""
    e = exact(p)
    price = e.gas_price_gwei * GWEI
    gas = settlement_gas(e)
    rows = []
    for (fn, gas_printed, execs, tok_printed, usd_printed), g, n in zip(
        TABLE6, (e.gas_propose, e.gas_confirm, e.gas_execute), (1, e.confirmations, 1),
        strict=True,
    ):
        bnb = g * price
        rows.append({
            "function": fn, "gas": int(g), "executions": int(n), "executions_printed": execs,
            "bnb": _f(bnb), "usd": _f(bnb * e.token_usd),
            "printed_bnb": _f(tok_printed), "printed_usd": _f(usd_printed),
            "gas_matches_paper": int(g) == gas_printed,
            "bnb_rounds_to_printed": round(_f(bnb), 6) == _f(tok_printed),
            "usd_rounds_to_printed": _rounds_to(_f(bnb * e.token_usd), _f(usd_printed)),
        })
    bnb = gas * price
    k_gas = e.gas_propose + e.k_multisig * e.gas_confirm + e.gas_execute
    coin = settlement_coin(e)
    tax = agg_income_share(e) * e.reward
    accounts = 1 + e.n_validators
    out: dict[str, Any] = {
        "gas_total": int(gas),
        "gas_formula": "gas_propose + confirmations * gas_confirm + gas_execute",
        "confirmations": int(e.confirmations),
        "bnb": _f(bnb),
        "usd": _f(bnb * e.token_usd),
        "coin": _f(coin),
        "rows": rows,
        "printed_total_bnb": _f(PRINTED_TOTAL_BNB),
        "printed_total_usd": _f(PRINTED_TOTAL_USD),
        "printed_over_recomputed": _f(PRINTED_TOTAL_BNB / bnb) if bnb else None,
        "printed_total_implies_confirmations": (
            _f((PRINTED_TOTAL_BNB / price - e.gas_propose - e.gas_execute) / e.gas_confirm)
            if price and e.gas_confirm else None
        ),
        "with_k_confirmations": {
            "confirmations": int(e.k_multisig), "gas_total": int(k_gas),
            "bnb": _f(k_gas * price), "usd": _f(k_gas * price * e.token_usd),
        },
        "tax_coin": _f(tax),
        "tax_covers": bool(tax >= coin),
        "per_account_reading": {
            "accounts": int(accounts),
            "coin": _f(coin * accounts),
            "tax_covers": bool(tax >= coin * accounts),
        },
        "break_even_reward": _f(coin / e.tax) if e.tax else None,
        "break_even_tax": _f(coin / e.reward),
    }
    return out


def _rounds_to(x: float, printed: float) -> bool:
    """Does ``x`` round to ``printed`` at the printed number of decimals?"""
    text = repr(printed)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return round(x, decimals) == printed


def multisig(p: Any) -> dict[str, Any]:
    """(k, n) multisig: the share of supply an attacker needs, and PBFT's own bounds."""
    e = exact(p)
    k, n = int(e.k_multisig), int(e.n_aggregators)
    share = attack_share(e)
    f = (n - 1) // 3
    return {
        "k": k, "n": n,
        "attack_budget": _f(e.agg_stake * k),
        "attack_share_of_supply": _f(share),
        "attack_share_exact": f"{share.numerator}/{share.denominator}",
        "pbft_f": f, "pbft_quorum": 2 * f + 1,
        "seats_to_block_settlement": n - k + 1,
    }


def attack_share(p: Any) -> Any:
    """k·s_A/n: the share of total circulation k seats' stakes are (B(k) = d·k)."""
    return p.k_multisig * p.agg_supply_share / p.n_aggregators


def free_entry_providers(p: Any, k_max: int = 10_000) -> int:
    """Largest K (<= k_max) at which an honest provider still breaks even (0 if none)."""
    e = exact(p)
    w, pi, r = winner_share(e), e.p_train_success, e.reward
    cost = e.c_train + e.c_tx
    best, fail = 0, Fraction(1)
    for k in range(1, k_max + 1):
        fail *= 1 - pi
        if w * r * (1 - fail) >= k * cost:
            best = k
        elif best:
            break
    return best


def thresholds(p: Any) -> dict[str, Any]:
    """Break-even rates: the cheat rate that makes auditing pay, the audit rate that deters
    a cluster, and the free-entry number of providers."""
    e = exact(p)
    gv = e.gamma * e.v_stake - e.c_tx
    nv, share = int(e.n_validators), p_sealed(e) * validator_share(e)

    def deter(q):  # q·vStake + s·ρR·q^n_V/n_V - g, increasing in q
        return float(q * e.v_stake + share * Fraction(q) ** nv - e.misreport_gain)

    need_q = None
    if deter(Fraction(1)) > 0:
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if deter(Fraction(mid)) > 0 else (mid, hi)
        need_q = hi
    a_star = None
    if need_q is not None and int(e.n_verifiers) > 0:
        a_star = 1 - (1 - need_q) ** (1 / int(e.n_verifiers))
    return {
        "audit_break_even_cheat_rate": _f(e.c_ver / gv) if gv > 0 else None,
        "cluster_detection_needed": _f(need_q) if need_q is not None else None,
        "cluster_detection_at_audit": _f(q_audit(e)),
        "cluster_audit_rate_needed": a_star,
        "free_entry_providers": free_entry_providers(e),
        "w_honest": _f(w_honest(e)),
        "p_sealed": _f(p_sealed(e)),
    }


ERRATA: tuple[Erratum, ...] = (
    Erratum("PoT-E1", "Sec. 4.2 / 5.2 (total of Table 6)",
            "the printed total, 0.007582 BNB ($1.87), is not the sum of Table 6's rows with "
            "30 confirmations: 86,875 + 30 x 45,371 + 161,888 = 1,609,893 gas = 0.0073443 BNB "
            "= $1.808 at 4.562 Gwei and $246.2 (printed is 3.2% high; it implies 31.15 "
            "confirmations, no integer count). derelay computes the total from the rows."),
    Erratum("PoT-E2", "Table 6 vs Sec. 4.2",
            "Table 6 says confirmReward runs 'k times' while the text sums 30 confirmations "
            "(= n, not k = 18 of Sec. 5.2); with k = 18 the total is 1,065,441 gas = "
            "0.0048605 BNB = $1.197. derelay uses `confirmations` (30) and reports both."),
    Erratum("PoT-E3", "Sec. 4.2 vs Sec. 5.2",
            "Sec. 4.2 prices the settlement 'per account', Sec. 5.2 'to finalize an order'; "
            "an order pays at least 1 + n_V accounts (winner and validators). derelay "
            "charges one settlement per order and reports the per-account reading."),
    Erratum("PoT-E4", "Sec. 2.3 / 2.4",
            "the split is stated only as 'the majority' to the owner and 'the rest' to the "
            "validators, while Sec. 5.2 also takes a tax r for the aggregators: ρ and r are "
            "derelay's, and the winner gets 1 - ρ - r."),
)
