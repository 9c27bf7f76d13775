"""DeepChain's closed form: Value(p) of Sec. 4.2.2 verbatim, the worker's derived value,
per-strategy utilities, conditions and funding.

Every formula is written once with plain arithmetic and the generic ops, so it evaluates
floats, :class:`~fractions.Fraction`, numpy grids and z3 terms.

Value(p) (Sec. 4.2.2, verbatim)
-------------------------------
With the party's honesty level ``p = Pr_c(P)``, the verification probability ``Pr_v(P)``,
the payoff ``π_P``, the deposit ``f_P`` and the contribution ``ω_P``::

    Pr_vc(P) = Pr_v(P) * (1 - Pr_c(P))
    Value(Pr_c(P)) = π_P * (1 - Pr_vc(P)) - f_P * Pr_vc(P) - ω_P * Pr_c(P)

(:func:`value`).  It is affine in p with slope ``(π_P + f_P) * Pr_v(P) - ω_P``, so its
maximum over [0, 1] is at p = 1 exactly when ``(π_P + f_P) * Pr_v(P) >= ω_P`` (claim
``deepchain.tight_condition``), not always as the paper says.

Party strategies (derived from Value)
-------------------------------------
A deviant party with honesty level p (``honesty``) realises Value(p) with the Pr_v of its
fault: ``pr_v_crypto`` for the cryptographically verified faults (``Malformed``: a
ciphertext whose proof of correct encryption fails, Sec. 4.2.4 ``verifyGradientTX``;
``BadDecShare``: a decryption share whose proof fails, ``f_sver2``; ``Late``: a missed time
point, ``checkTimeout``) and ``pr_v_sem`` for the semantic faults (``Lazy`` and ``Poison``:
a correctly encrypted but useless or harmful gradient, which no proof in the paper
checks).  Every party also pays its fee share, ``fee_total`` per iteration split
∝ 1/D_j (equal shards: ``fee_total * period / N`` per round); the fee does not depend on
p, so it shifts IR, never IC.  ``U_N = Value(1) - fee = π_P - ω_P - fee``.

Worker value (derived; the paper only says "similar ... except that the worker's payoff
is obtained with probability Pr_leader")
-----------------------------------------------------------------------------------
A worker's payoff is the leader's: the block reward plus the round's fees,
``π_W = block_reward + fee_total * period`` (per group).  The ABM's rules (Sec. 4.2.4
``verifyTX``): only the leader's result is checked against the workers' majority and only
a mismatching leader loses her stake ``f_W``.  Hence reward and penalty both arrive only
when the worker leads (probability ``Pr_leader``; ``1/W`` with equal valid stakes)::

    Value_W(q) = Pr_leader * (π_W * (1 - Pr_vc(W)) - f_W * Pr_vc(W)) - ω_W * q,
    Pr_vc(W) = Pr_v(W) * (1 - q)

with ``ω_W = c_eval`` (computing the average once) and ``Pr_v(W) = pr_v_crypto`` (the
majority recomputation is exact while the majority is honest).  This is reading (B) of
``deepchain.thm2_readings``; reading (A) charges the penalty with certainty.

* ``Correct``: ``Pr_leader * π_W - c_eval - c_tx``.
* ``WrongAggregate``: Value_W(0) ``- c_eval - c_tx`` (it computes, then perturbs).
* ``IdleCopy``: publishes the first result it sees.  Among honest workers that result is
  correct, matches the majority and is never caught: ``Pr_leader * π_W - c_tx``.  It beats
  ``Correct`` by ``c_eval`` whenever computing costs anything (condition ``W_IC_IdleCopy``).
* ``Coalition`` (k = ``coalition_workers`` workers publish one wrong result and sign only
  their own blocks).  Leaders are drawn until one matches the majority (symmetric stakes:
  a uniformly random order).  With ``2k < W`` the honest result is the majority: the
  coalition's leaders drawn before the first honest one lose f_W (expected
  ``k / (W - k + 1)`` of them, per member ``1 / (W - k + 1)``), and the honest block is
  signed only by the honest ``W - k``.  With ``2k > W`` the coalition's result is the
  majority and its block is valid iff ``k > committee_threshold * W``; the member that
  leads then earns ``π_W`` (per member ``π_W / k``).  With ``2k = W`` there is no majority
  and every drawn leader mismatches (per member ``-f_W``).

Conditions
----------
``P_IR``; ``P_IC_sem`` and ``P_IC_crypto`` (the tight condition with the fault's Pr_v,
exact); ``W_IR``; ``W_IC_WrongAggregate``; ``W_IC_IdleCopy``; ``W_IC_Coalition``;
``liveness_committee`` (safety: the honest workers alone exceed the committee threshold).
"""

from __future__ import annotations

from typing import Any

from derelay.mechanism import Condition, Funding, Role, Strategy
from derelay.mechanism.ops import all_of, ite

# ---------------------------------------------------------------------------------------
# Sec. 4.2.2, verbatim
# ---------------------------------------------------------------------------------------


def pr_vc(pr_v: Any, honesty: Any) -> Any:
    """Pr_vc(P) = Pr_v(P) * (1 - Pr_c(P)): the probability that a party is caught."""
    return pr_v * (1 - honesty)


def value(honesty: Any, pi: Any, f: Any, omega: Any, pr_v: Any) -> Any:
    """Value(Pr_c(P)) = π_P (1 - Pr_vc(P)) - f_P Pr_vc(P) - ω_P Pr_c(P)  (Sec. 4.2.2)."""
    x = pr_vc(pr_v, honesty)
    return pi * (1 - x) - f * x - omega * honesty


def party_value(p: Any, honesty: Any, pr_v: Any = None) -> Any:
    """Value(honesty) at the space point ``p`` (Pr_v defaults to ``p.pr_v``)."""
    return value(honesty, p.pi_p, p.deposit, p.omega_p, p.pr_v if pr_v is None else pr_v)


def value_slope(p: Any, pr_v: Any = None) -> Any:
    """dValue/dp = (π_P + f_P) Pr_v - ω_P (Value is affine in p)."""
    pv = p.pr_v if pr_v is None else pr_v
    return (p.pi_p + p.deposit) * pv - p.omega_p


def tight_condition(p: Any, pr_v: Any = None) -> Any:
    """Full honesty is optimal over q in [0, 1] iff (π_P + f_P) Pr_v >= ω_P."""
    pv = p.pr_v if pr_v is None else pr_v
    return (p.pi_p + p.deposit) * pv >= p.omega_p


def thm1_premise(p: Any) -> Any:
    """Thm 1's premise f_P / π_P > (1 - Pr_vc) / Pr_vc, Pr_vc = Pr_v (1 - θ), division-free
    (equivalent when π_P > 0 and Pr_vc > 0, which the claims assume)."""
    x = pr_vc(p.pr_v, p.theta)
    return p.deposit * x > p.pi_p * (1 - x)


# ---------------------------------------------------------------------------------------
# fees (Sec. 4.2.2: "the large amount of data a party has, the less fee she will pay")
# ---------------------------------------------------------------------------------------


def fee_shares(data_sizes: Any, fee_total: Any) -> Any:
    """Each party's share of ``fee_total`` ∝ 1/D_j (derelay's form of "less fee for more
    data"); numpy arrays or sequences of Fractions."""
    inv = [1 / d for d in data_sizes]
    tot = sum(inv)
    return [fee_total * x / tot for x in inv]


def party_fee(p: Any) -> Any:
    """A party's fee per round with equal shards: fee_total * period / N."""
    return p.fee_total * p.period / p.n_parties


# ---------------------------------------------------------------------------------------
# party strategies
# ---------------------------------------------------------------------------------------

#: Deviation -> (family, which verification probability applies, ABM behaviour).
PARTY_DEVIATIONS: dict[str, tuple[str, str, dict]] = {
    "Lazy": ("lazy", "pr_v_sem", {"trains": False, "fault": "semantic"}),
    "Poison": ("poison", "pr_v_sem", {"trains": True, "data": "label_flip", "fault": "semantic"}),
    "Malformed": ("malformed", "pr_v_crypto", {"trains": True, "fault": "malformed"}),
    "BadDecShare": ("malformed", "pr_v_crypto", {"trains": True, "fault": "bad_dec_share"}),
    "Late": ("withhold", "pr_v_crypto", {"trains": True, "fault": "late"}),
}


def party_utility(p: Any, strategy: str) -> Any:
    """Realised party utility per round of ``strategy`` (derived from Value)."""
    if strategy == "N":
        return party_value(p, 1) - party_fee(p)
    pr_key = PARTY_DEVIATIONS[strategy][1]
    return party_value(p, p.honesty, getattr(p, pr_key)) - party_fee(p)


# ---------------------------------------------------------------------------------------
# worker (derived)
# ---------------------------------------------------------------------------------------


def pr_leader(p: Any) -> Any:
    """A worker's chance to lead with equal valid stakes: 1 / W."""
    return 1 / p.n_workers


def worker_payoff(p: Any) -> Any:
    """π_W: block reward plus the round's fees (per group)."""
    return p.block_reward + p.fee_total * p.period


def worker_value(p: Any, q: Any, lead: Any = None, pr_v: Any = None) -> Any:
    """Value_W(q) (derived, reading B): reward and penalty only as leader, cost ω_W q."""
    lead = pr_leader(p) if lead is None else lead
    pv = p.pr_v_crypto if pr_v is None else pr_v
    x = pv * (1 - q)
    return lead * (worker_payoff(p) * (1 - x) - p.f_w * x) - p.c_eval * q


def coalition_member_utility(p: Any) -> Any:
    """Expected utility of one member of a k-worker coalition (see module docstring)."""
    k, w = p.coalition_workers, p.n_workers
    caught = p.pr_v_crypto * p.f_w
    minority = -caught / (w - k + 1)
    majority = ite(k > p.committee_threshold * w, worker_payoff(p) / k, 0 * k)
    return ite(2 * k > w, majority, ite(2 * k < w, minority, -caught)) - p.c_tx


def worker_utility(p: Any, strategy: str) -> Any:
    if strategy == "Correct":
        return worker_value(p, 1) - p.c_tx
    if strategy == "WrongAggregate":
        return worker_value(p, 0) - p.c_eval - p.c_tx
    if strategy == "IdleCopy":
        return pr_leader(p) * worker_payoff(p) - p.c_tx
    if strategy == "Coalition":
        return coalition_member_utility(p)
    raise KeyError(strategy)


# ---------------------------------------------------------------------------------------
# declarations
# ---------------------------------------------------------------------------------------


def _party_strategy(abbr: str, name: str, description: str) -> Strategy:
    family, pr_key, behaviour = PARTY_DEVIATIONS[abbr]
    return Strategy(
        "P",
        abbr,
        name,
        description,
        f"Value(honesty) with Pr_v = {pr_key}, minus the fee share (derived from Sec. 4.2.2)",
        lambda p, a=abbr: party_utility(p, a),
        strict_ic=True,
        family=family,
        behaviour=behaviour,
        derived=True,
    )


PARTY = Role(
    "P",
    "Party",
    "trains locally on its shard and trades encrypted gradients (Sec. 4.2.4)",
    (
        Strategy(
            "P",
            "N",
            "Normal",
            "trains honestly, valid ciphertext and decryption share in time",
            "Value(1) = π_P - ω_P (Sec. 4.2.2), minus the fee share",
            lambda p: party_utility(p, "N"),
            family="honest",
            behaviour={"trains": True, "fault": None},
        ),
        _party_strategy("Lazy", "Lazy party", "shares an untrained (noisy) gradient"),
        _party_strategy("Poison", "Poisoning party", "trains on flipped labels"),
        _party_strategy("Malformed", "Malformed gradient", "a ciphertext whose proof fails"),
        _party_strategy("BadDecShare", "Bad decryption share", "a decryption share that fails"),
        _party_strategy("Late", "Late party", "misses the time point T_t1"),
    ),
)


def _worker_strategy(abbr, name, description, family, behaviour, equation) -> Strategy:
    return Strategy(
        "W",
        abbr,
        name,
        description,
        equation,
        lambda p, a=abbr: worker_utility(p, a),
        strict_ic=abbr != "N",
        family=family,
        behaviour=behaviour,
        derived=True,
    )


WORKER = Role(
    "W",
    "Worker",
    "aggregates the parties' ciphertexts; the leader's block is checked by majority (Sec. 4.2.4)",
    (
        _worker_strategy(
            "Correct",
            "Correct worker",
            "computes the average",
            "honest",
            {"result": "average"},
            "Pr_leader π_W - ω_W - c_tx (derived)",
        ),
        _worker_strategy(
            "WrongAggregate",
            "Wrong aggregate",
            "publishes a perturbed average",
            "misreport",
            {"result": "perturbed"},
            "Value_W(0) - ω_W - c_tx (derived)",
        ),
        _worker_strategy(
            "IdleCopy",
            "Idle copier",
            "publishes the first result it sees",
            "lazy_eval",
            {"result": "copy"},
            "Pr_leader π_W - c_tx (derived)",
        ),
        _worker_strategy(
            "Coalition",
            "Colluding worker",
            "a coalition (> 1/3) publishing one wrong result",
            "collude",
            {"result": "coalition"},
            "piecewise in k / W (derived)",
        ),
    ),
)


def _margin(role: str, dev: str):
    if role == "P":
        return lambda p: party_utility(p, "N") - party_utility(p, dev)
    return lambda p: worker_utility(p, "Correct") - worker_utility(p, dev)


def _cond(
    name,
    equation,
    role,
    protects,
    deviation,
    exactness,
    strict,
    description,
    holds,
    paper_form,
    divisors=(),
):
    return Condition(
        name,
        equation,
        "",
        role,
        protects,
        deviation,
        exactness,
        strict,
        description,
        holds,
        paper_form,
        divisors,
    )


CONDITIONS = (
    _cond(
        "P_IR",
        "π_P - ω_P - fee >= 0",
        "P",
        "IR",
        None,
        "exact",
        False,
        "an honest party gains from collaborating (Value(1) = π_P - ω_P, Sec. 4.2.2)",
        lambda p: party_utility(p, "N") >= 0,
        lambda p: (p.pi_p - p.omega_p - party_fee(p), ">=", 0),
    ),
    _cond(
        "P_IC_sem",
        "(π_P + f_P) Pr_v_sem > ω_P",
        "P",
        "IC",
        "Lazy",
        "exact",
        True,
        "semantic deviations (Lazy, Poison) do not pay; fails when Pr_v_sem = 0",
        lambda p: (p.pi_p + p.deposit) * p.pr_v_sem > p.omega_p,
        lambda p: ((p.pi_p + p.deposit) * p.pr_v_sem, ">", p.omega_p),
    ),
    _cond(
        "P_IC_crypto",
        "(π_P + f_P) Pr_v_crypto > ω_P",
        "P",
        "IC",
        "Malformed",
        "exact",
        True,
        "verified deviations (Malformed, BadDecShare, Late) do not pay",
        lambda p: (p.pi_p + p.deposit) * p.pr_v_crypto > p.omega_p,
        lambda p: ((p.pi_p + p.deposit) * p.pr_v_crypto, ">", p.omega_p),
    ),
    _cond(
        "W_IR",
        "π_W / W - ω_W - c_tx >= 0",
        "W",
        "IR",
        None,
        "exact",
        False,
        "a correct worker's expected leader payoff covers computing and uploading",
        lambda p: worker_utility(p, "Correct") >= 0,
        lambda p: (worker_payoff(p) / p.n_workers, ">=", p.c_eval + p.c_tx),
        ("n_workers",),
    ),
    _cond(
        "W_IC_WrongAggregate",
        "Pr_v(W) (π_W + f_W) > 0",
        "W",
        "IC",
        "WrongAggregate",
        "exact",
        True,
        "a leader with a wrong aggregate is caught by the majority check",
        lambda p: p.pr_v_crypto * (worker_payoff(p) + p.f_w) > 0,
        lambda p: (p.pr_v_crypto * (worker_payoff(p) + p.f_w), ">", 0),
    ),
    _cond(
        "W_IC_IdleCopy",
        "ω_W = c_eval <= 0",
        "W",
        "IC",
        "IdleCopy",
        "exact",
        True,
        "copying a correct result is never caught: only free computation keeps workers honest",
        lambda p: _margin("W", "IdleCopy")(p) > 0,
        lambda p: (0, ">", p.c_eval),
    ),
    _cond(
        "W_IC_Coalition",
        "U_Correct > U_Coalition",
        "W",
        "IC",
        "Coalition",
        "exact",
        True,
        "a member of a k-worker coalition gains less than a correct worker",
        lambda p: _margin("W", "Coalition")(p) > 0,
        lambda p: (worker_utility(p, "Correct"), ">", coalition_member_utility(p)),
    ),
    _cond(
        "liveness_committee",
        "(W - k) > committee_threshold * W",
        "W",
        "safety",
        "Coalition",
        "exact",
        True,
        "the honest workers alone sign with more than the committee threshold (else a "
        "coalition of k leaves every block empty)",
        lambda p: p.n_workers - p.coalition_workers > p.committee_threshold * p.n_workers,
        lambda p: (p.n_workers - p.coalition_workers, ">", p.committee_threshold * p.n_workers),
    ),
)

FUNDING = Funding(
    minted=lambda p: p.block_reward + 0 * p.n_workers,
    external=lambda p: 0 * p.block_reward,
    description="one block per round: the block reward is minted to its leader; fees, "
    "deposits and forfeits move between participants; nothing comes from outside",
)


def all_conditions(p: Any) -> Any:
    return all_of(*[c.holds(p) for c in CONDITIONS])
