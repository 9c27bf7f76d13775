"""BRAIN's claims (issue 13 names) and the ``check --json`` extras.

* ``brain.median_robust`` (Sec. V-A, VII-A): with m revealed scores of which at most k are
  adversarial, the median lies within the honest scores' range.  Combinatorial: for every
  m <= Q_R and every k, z3 searches scores in [0, 1] whose median (order statistics encoded
  by counting, the even-count mean of the two middle values included) leaves the honest
  range; the claim is proved when no such scores exist for every k < m / 2, and the
  witnesses at k = ceil(m / 2) show the bound is tight.  For an even m the median already
  fails at k = m / 2 - half the revealers, not a majority - which the paper's "unless the
  majority of nodes are malicious" overlooks (erratum E3; reachable under b-I fallback).
* ``brain.reveal_ic`` (Sec. III-B): with R_C = 0, revealing beats withholding.  Symbolic,
  rewards and penalties free, costs at the base point.
* ``brain.honest_scoring_ic``: honest scoring is at least as good as random scoring, given
  the evaluation cost.  Symbolic, the rewards free (no reward level repairs it), C_eval
  at the base point.
* ``brain.commit_reveal_no_freeride`` (Sec. III-A, IV-C): commit-reveal stops copying other
  members' scores.  Combinatorial: every copying move against :class:`rules.Request`.
* ``brain.proposer_ic`` (Sec. V-C): honest training beats a lazy suggestion given the
  acceptance rates and costs.  Symbolic: for every pi_N > pi_L at the base point's rewards
  and costs.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from derelay.mechanism import Claim

from . import closed_form as cf
from .rules import Request, commitment, median

#: z3 resource limit per median query (deterministic).
MEDIAN_RLIMIT = 5_000_000


def _median_query(m: int, k: int, rlimit: int = MEDIAN_RLIMIT):
    """(status, witness scores): scores in [0,1], m - k honest first, median outside the
    honest range?  ``status`` is "unsat" (robust), "sat" or "unknown"."""
    import z3

    ctx = z3.Context()
    s = [z3.Real(f"s{i}", ctx) for i in range(m)]
    solver = z3.Solver(ctx=ctx)
    solver.set("rlimit", int(rlimit))
    for x in s:
        solver.add(x >= 0, x <= 1)
    one, zero = z3.IntVal(1, ctx), z3.IntVal(0, ctx)

    def order_stat(j: int):
        x = z3.Real(f"x{j}", ctx)
        solver.add(z3.Or(*[x == si for si in s]))
        solver.add(z3.Sum(*[z3.If(si <= x, one, zero) for si in s]) >= j)
        solver.add(z3.Sum(*[z3.If(si < x, one, zero) for si in s]) <= j - 1)
        return x

    if m % 2:
        med = order_stat((m + 1) // 2)
    else:
        med = (order_stat(m // 2) + order_stat(m // 2 + 1)) / 2
    honest = s[: m - k]
    below = z3.And(*[med < h for h in honest])
    above = z3.And(*[med > h for h in honest])
    solver.add(z3.Or(below, above))
    r = solver.check()
    if r == z3.unsat:
        return "unsat", None
    if r == z3.unknown:
        return "unknown", None
    mod = solver.model()
    vals = []
    for x in s:
        v = mod.eval(x, model_completion=True)
        vals.append(Fraction(v.numerator_as_long(), v.denominator_as_long()))
    return "sat", vals


def _replays(vals: list[Fraction], k: int) -> bool:
    honest = vals[: len(vals) - k]
    med = median(vals)
    return med < min(honest) or med > max(honest)


def median_robust(p: Any, m_max: int | None = None, **_: Any) -> dict:
    m_max = int(p.q_reveal) if m_max is None else int(m_max)
    rows, failures, unknown, tight = [], [], [], []
    for m in range(1, m_max + 1):
        for k in range(0, m):  # k = m: no honest score, nothing to lie within
            status, vals = _median_query(m, k)
            expect_robust = 2 * k < m
            if status == "unknown":
                unknown.append((m, k))
                continue
            if status == "sat" and not _replays(vals, k):
                unknown.append((m, k))
                continue
            robust = status == "unsat"
            rows.append({"m": m, "k": k, "robust": robust})
            if expect_robust and not robust:
                failures.append({"m": m, "k": k, "scores": [str(v) for v in vals]})
            if not expect_robust and robust:
                failures.append({"m": m, "k": k, "scores": None, "note": "robust beyond m/2"})
            if not robust and k == (m + 1) // 2:
                tight.append({"m": m, "k": k, "scores": [str(v) for v in vals]})
    even_half = [r for r in rows if r["m"] % 2 == 0 and 2 * r["k"] == r["m"]]
    status = "counterexample" if failures else ("unknown" if unknown else "proved")
    return {
        "status": status,
        "witness": failures[0] if failures else None,
        "m_max": m_max,
        "queries": len(rows) + len(unknown),
        "robust_iff_k_below_half": not failures and not unknown,
        "even_m_fails_at_half": bool(even_half) and not any(r["robust"] for r in even_half),
        "tight_witnesses": tight[:4],
        "unknown": unknown,
    }


def commit_reveal_no_freeride(p: Any, members: int = 5, **_: Any) -> dict:
    """Every way of copying another member's score, played against the contract rules.

    For each (victim, copier) pair of a committee of ``members`` (quorum = all of them, so
    the copier can commit last, after seeing every other commitment): (a) the copier
    commits the victim's commitment verbatim and, once the victim has opened it, replays
    the victim's opening; (b) it reveals the victim's score with a nonce of its own; (c) an
    outsider tries to commit after the reveals began; (d) the proposer tries to join its
    own committee.  The claim holds when the contract rejects every such move.
    """
    q = int(members)
    proposer, outsider = q, q + 1
    tc, tr = int(p.t_commit), int(p.t_reveal)
    score = {a: (Fraction(a + 1, q + 1),) for a in range(q)}
    nonce = {a: bytes([a + 1]) * 16 for a in range(q)}
    attempts, leaks = 0, []

    def attempt(ok: bool, move: str, victim: int, copier: int) -> None:
        nonlocal attempts
        attempts += 1
        if ok:
            leaks.append({"victim": victim, "copier": copier, "move": move})

    for victim in range(q):
        for copier in range(q):
            if copier == victim:
                continue
            req = Request(proposer, 0, q, q, tc, tr)
            for a in range(q):
                if a != copier:
                    req.commit(a, commitment(score[a], a, nonce[a]), 1, True)
            req.commit(copier, req.commits[victim], 1, True)  # (a) the copied commitment
            attempt(
                req.commit(proposer, commitment(score[0], proposer, b"p"), 1, True),
                "proposer commits",
                victim,
                proposer,
            )  # (d)
            req.reveal(victim, score[victim], nonce[victim], 2)
            attempt(
                req.reveal(copier, score[victim], nonce[victim], 2),
                "replay the victim's opening",
                victim,
                copier,
            )  # (a)
            attempt(
                req.reveal(copier, score[victim], nonce[copier], 2),
                "reveal the victim's score",
                victim,
                copier,
            )  # (b)
            attempt(
                req.commit(outsider, commitment(score[victim], outsider, b"o"), 2, True),
                "commit after the reveals began",
                victim,
                outsider,
            )  # (c)
    return {
        "status": "counterexample" if leaks else "proved",
        "witness": leaks[0] if leaks else None,
        "attempts": attempts,
        "rejected": attempts - len(leaks),
        "u_copy": float(cf.u_committee_badreveal(p)),
        "u_guess": float(cf.u_committee_noeval(p)),
        "u_honest": float(cf.u_committee_normal(p)),
        "note": "copying is rejected, so a copier is paid as a bad revealer (R_C - P_C - "
        "2 C_tx); committing a guess without evaluating is not prevented (brain."
        "honest_scoring_ic)",
    }


CLAIMS = (
    Claim(
        "brain.median_robust",
        "Sec. V-A, VII-A",
        "with m revealed scores of which at most k are adversarial, k < m/2, the median "
        "lies within the honest scores' range",
        "for each m <= Q_R and k < m: z3 over scores in [0,1], order statistics by counting, "
        "even m: mean of the two middle values",
        evaluate=median_robust,
    ),
    Claim(
        "brain.reveal_ic",
        "Sec. III-B",
        "with R_C = 0, revealing beats committing and withholding",
        "R_C = 0 => U_C(N) > U_C(Withhold); rewards and penalties free, costs at the base",
        hypotheses=lambda p, v: [p.r_c == 0],
        conclusion=lambda p, v: cf.u_committee_normal(p) > cf.u_committee_withhold(p),
        free=("r_c", "r_r", "r_u", "p_r"),
    ),
    Claim(
        "brain.honest_scoring_ic",
        "Sec. III-B, V-A",
        "honest scoring is at least as good for a member as random scoring, given the "
        "evaluation cost",
        "U_C(N) >= U_C(RandomScore) for every R_C, R_R, R_U >= 0 at the base point's C_eval",
        hypotheses=lambda p, v: [],
        conclusion=lambda p, v: cf.u_committee_normal(p) >= cf.u_committee_noeval(p),
        free=("r_c", "r_r", "r_u"),
    ),
    Claim(
        "brain.commit_reveal_no_freeride",
        "Sec. III-A, IV-C",
        "commit-reveal prevents free-riding on other members' scores",
        "every copying move (copy a commitment and replay its opening, commit after the "
        "reveals, the proposer on its own committee) against the contract rules",
        evaluate=commit_reveal_no_freeride,
    ),
    Claim(
        "brain.proposer_ic",
        "Sec. V-C",
        "honest training beats a lazy suggestion for a proposer, given acceptance rates and costs",
        "pi_N > pi_L => U_P(N) > U_P(Lazy); pi_N, pi_L free, rewards and costs at the base",
        hypotheses=lambda p, v: [p.pi_n > p.pi_l],
        conclusion=lambda p, v: (
            cf.PROPOSER.normal.utility(p) > cf.PROPOSER.strategy("Lazy").utility(p)
        ),
        free=("pi_n", "pi_l"),
    ),
)


# -- extras ------------------------------------------------------------------------------


def _binom_tail(m: int, s: float, kmin: int) -> float:
    return sum(math.comb(m, k) * s**k * (1 - s) ** (m - k) for k in range(kmin, m + 1))


def _hyper_tail(pop: int, bad: int, m: int, kmin: int) -> float:
    if m > pop:
        return float("nan")
    tot = math.comb(pop, m)
    return (
        sum(math.comb(bad, k) * math.comb(pop - bad, m - k) for k in range(kmin, min(bad, m) + 1))
        / tot
    )


def adversarial_majority(q_reveal: int, share: float, n_nodes: int) -> dict:
    """P(a random committee of Q_R revealers has an adversarial majority), and P(the median
    can leave the honest range: k >= Q_R / 2), binomial and finite-population."""
    m = int(q_reveal)
    maj = m // 2 + 1  # k > m/2
    unsafe = (m + 1) // 2  # k >= m/2
    pop = int(n_nodes) - 1  # the proposer is excluded (taken honest)
    bad = min(pop, int(round(share * n_nodes)))
    return {
        "q_reveal": m,
        "share": share,
        "binomial_majority": _binom_tail(m, share, maj),
        "binomial_median_unsafe": _binom_tail(m, share, unsafe),
        "n_nodes": int(n_nodes),
        "adversarial_nodes": bad,
        "hypergeometric_majority": _hyper_tail(pop, bad, m, maj),
        "hypergeometric_median_unsafe": _hyper_tail(pop, bad, m, unsafe),
    }


def commit_quorum_probability(p: Any) -> float:
    """P(Q_C distinct eligible nodes are elected within T_C blocks), closed form.

    A request starting at offset o in {0..E-1} of an epoch sees 1 + floor((o + T_C - 1)/E)
    sortition epochs whose electees can still commit in time (a commit lands one block
    after its election is known); each of the n - 1 eligible nodes is elected at least
    once with probability 1 - (1 - p_elect)^e.  The offset is uniform.
    """
    n_el = int(p.n_nodes) - 1
    e_blocks, tc, q = int(p.epoch_blocks), int(p.t_commit), int(p.q_commit)
    pe = float(p.p_elect)
    total = 0.0
    for o in range(e_blocks):
        epochs = 1 + (o + tc - 1) // e_blocks
        pi = 1 - (1 - pe) ** epochs
        total += _binom_tail(n_el, pi, q)
    return total / e_blocks


def extras(mech: Any, p: Any) -> dict:
    from .gas import request_gas

    shares = [round(0.05 * i, 2) for i in range(13)]
    share = float(getattr(p, "adv_share", 0.1))
    return {
        "adversarial_majority": {
            "at": adversarial_majority(int(p.q_reveal), share, int(p.n_nodes)),
            "grid": [adversarial_majority(int(p.q_reveal), s, int(p.n_nodes)) for s in shares],
            "rule": "majority: k > Q_R/2; median unsafe: k >= Q_R/2 (even counts break at half)",
        },
        "commit_quorum_probability": commit_quorum_probability(p),
        "gas": request_gas(p),
        "external_per_round": float(cf.external_per_round(p)),
        "burned_per_round_all_honest": float(cf.penalties_per_round(p)),
    }
