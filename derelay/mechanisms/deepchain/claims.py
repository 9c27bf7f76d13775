"""DeepChain's claims (issue 15 names), encoded over the space plus bound variables.

Thm 1 (Sec. 4.2.2).  "If f_P/π_P > (1 - Pr_vc(P))/Pr_vc(P), where Pr_vc(P) = Pr_v(P)(1 - θ),
then a party is honest at least with probability θ."  The premise divides by π_P and by
Pr_vc; every encoding assumes ``π_P > 0`` and ``Pr_v (1 - θ) > 0`` and uses the
division-free form ``f_P Pr_vc > π_P (1 - Pr_vc)`` (equivalent there).

* ``deepchain.thm1_literal``: what the proof shows: under the premise, Value(q) < 0 for
  every q < θ (the proof's "without loss of generality").
* ``deepchain.thm1_intended``: what the theorem states: under the premise, the optimal
  honesty level is at least θ, i.e. every q < θ is worse than the best level in [θ, 1]
  (Value is affine, so that best is max(Value(θ), Value(1))).
* ``deepchain.thm1_with_ir``: premise and individual rationality π_P >= ω_P give
  Value(1) >= Value(q) for every q in [0, 1].
* ``deepchain.tight_condition``: (∀q ∈ [0,1]: Value(1) >= Value(q)) iff
  (π_P + f_P) Pr_v >= ω_P, encoded quantifier-free as both directions: the condition gives
  Value(1) >= Value(q) for the bound q, and its failure gives Value(1) < Value(0) (q = 0
  breaks full honesty).

Thm 2 (the worker's analogue, proof omitted) is read three ways (``deepchain.thm2_readings``,
premises with x = Pr_v(W)(1 - ε) and L = Pr_leader):

* (a) literal precedence ``(f_W/π_W) * L > (1-x)/x``;
* (b) L divides the payoff, ``f_W / (π_W L) > (1-x)/x`` (the expected payoff π_W L is in the
  place of Thm 1's π_P: the reading "payoff obtained with probability L");
* (c) Thm 1 applied to the worker's leader-conditional value, ``f_W/π_W > (1-x)/x`` (L
  cancels when reward and penalty both come only as leader);

against two worker values: (A) penalty certain, ``L π_W (1 - x_q) - f_W x_q - ω_W q``; (B) the
derived ABM value, reward and penalty only as leader, ``L (π_W (1-x_q) - f_W x_q) - ω_W q``.
The claim states Thm 2's literal conclusion (every q < ε has negative value) under every
premise reading for the derived value (B); the evaluation also decides the implications
between the premises and every (premise, value) pair, intended conclusion included.

``deepchain.threshold_table_vs_text`` and ``deepchain.packing`` are combinatorial
(``evaluate=``).

Symbolic claims are decided by the generic prover ``derelay.formal.claims.prove_claim``
(fresh z3 context, deterministic ``rlimit``, exact replay); ``thm2_readings`` runs its own
z3 queries the same way (a fresh context per query, ``rlimit``) and replays its witnesses exactly.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from derelay.mechanism import Claim
from derelay.mechanism.ops import all_of, implies, maximum, negate
from derelay.params import Domain

from . import crypto
from .closed import pr_vc, thm1_premise, value

RLIMIT = 5_000_000
Q = {"q": Domain(lower=0.0, upper=1.0)}
THM1_KEYS = ("pi_p", "deposit", "omega_p", "pr_v", "theta")


def _thm1_hyps(p, v) -> list:
    return [p.pi_p > 0, pr_vc(p.pr_v, p.theta) > 0, thm1_premise(p)]


def _v(p, q):
    return value(q, p.pi_p, p.deposit, p.omega_p, p.pr_v)


THM1_LITERAL = Claim(
    "deepchain.thm1_literal",
    "Thm 1 and its proof (Sec. 4.2.2)",
    "If f_P/π_P > (1 - Pr_vc)/Pr_vc with Pr_vc = Pr_v (1 - θ), then Value(q) < 0 for every "
    "honesty level q < θ",
    "∀ π_P > 0, f_P, ω_P >= 0, Pr_v ∈ [0,1], θ ∈ [0,1) with Pr_v (1-θ) > 0, q ∈ [0, θ): "
    "f_P Pr_vc > π_P (1 - Pr_vc) ⇒ Value(q) < 0",
    hypotheses=lambda p, v: [*_thm1_hyps(p, v), v.q < p.theta],
    conclusion=lambda p, v: _v(p, v.q) < 0,
    bound=Q,
    free=THM1_KEYS,
)

THM1_INTENDED = Claim(
    "deepchain.thm1_intended",
    "Thm 1 (Sec. 4.2.2)",
    "If f_P/π_P > (1 - Pr_vc)/Pr_vc with Pr_vc = Pr_v (1 - θ), then the optimal honesty level "
    "is at least θ",
    "∀ ... q ∈ [0, θ): premise ⇒ Value(q) < max(Value(θ), Value(1)) (Value is affine)",
    hypotheses=lambda p, v: [*_thm1_hyps(p, v), v.q < p.theta],
    conclusion=lambda p, v: _v(p, v.q) < maximum(_v(p, p.theta), _v(p, 1)),
    bound=Q,
    free=THM1_KEYS,
)

THM1_WITH_IR = Claim(
    "deepchain.thm1_with_ir",
    "Thm 1 (Sec. 4.2.2) with individual rationality",
    "Thm 1's premise together with π_P >= ω_P makes full honesty optimal",
    "∀ ... q ∈ [0,1]: premise ∧ π_P >= ω_P ⇒ Value(1) >= Value(q)",
    hypotheses=lambda p, v: [*_thm1_hyps(p, v), p.pi_p >= p.omega_p],
    conclusion=lambda p, v: _v(p, 1) >= _v(p, v.q),
    bound=Q,
    free=THM1_KEYS,
)


def _tight(p, v):
    cond = (p.pi_p + p.deposit) * p.pr_v >= p.omega_p
    return all_of(
        implies(cond, _v(p, 1) >= _v(p, v.q)),
        implies(negate(cond), _v(p, 1) < _v(p, 0)),
    )


TIGHT = Claim(
    "deepchain.tight_condition",
    "Sec. 4.2.2 (Value(p)); derelay",
    "Full honesty is optimal against every alternative q ∈ [0, 1] if and only if "
    "(π_P + f_P) Pr_v >= ω_P",
    "∀ π_P, f_P, ω_P >= 0, Pr_v ∈ [0,1], q ∈ [0,1]: (C ⇒ Value(1) >= Value(q)) ∧ "
    "(¬C ⇒ Value(1) < Value(0)), C = (π_P + f_P) Pr_v >= ω_P",
    hypotheses=lambda p, v: [],
    conclusion=_tight,
    bound=Q,
    free=("pi_p", "deposit", "omega_p", "pr_v"),
)


# ---------------------------------------------------------------------------------------
# Thm 2 readings
# ---------------------------------------------------------------------------------------

PREMISES = {
    "a": "(f_W/π_W) * Pr_leader > (1-x)/x  (the printed order)",
    "b": "f_W/(π_W * Pr_leader) > (1-x)/x  (expected payoff π_W Pr_leader)",
    "c": "f_W/π_W > (1-x)/x  (Pr_leader cancels)",
}
VALUES = {
    "A": "Pr_leader π_W (1-x_q) - f_W x_q - ω_W q  (penalty certain)",
    "B": "Pr_leader (π_W (1-x_q) - f_W x_q) - ω_W q  (derived, the ABM's rule)",
}


def _thm2_premise(reading, f, pi, lead, x):
    if reading == "a":
        return f * lead * x > pi * (1 - x)
    if reading == "b":
        return f * x > pi * lead * (1 - x)
    return f * x > pi * (1 - x)


def _thm2_value(model, q, f, pi, lead, omega, pv):
    xq = pv * (1 - q)
    if model == "A":
        return lead * pi * (1 - xq) - f * xq - omega * q
    return lead * (pi * (1 - xq) - f * xq) - omega * q


def _z3_valid(hyps, concl, names, rlimit=RLIMIT) -> dict:
    """Decide ∀ names: hyps ⇒ concl.  proved / counterexample (exact witness) / unknown."""
    import z3

    s = z3.Solver(ctx=concl.ctx)  # the query's own fresh context (see _thm2_vars)
    s.set("rlimit", rlimit)
    s.add(*hyps, z3.Not(concl))
    r = s.check()
    if r == z3.unsat:
        return {"status": "proved", "witness": None}
    if r == z3.sat:
        m = s.model()
        wit = {}
        for n, var in names.items():
            val = m.eval(var, model_completion=True)
            wit[n] = Fraction(val.numerator_as_long(), val.denominator_as_long())
        return {"status": "counterexample", "witness": wit}
    return {"status": "unknown", "witness": None, "reason": s.reason_unknown()}


def _thm2_vars():
    """Fresh variables in a fresh z3 context: every query is independent of the others."""
    import z3

    ctx = z3.Context()
    names = {
        n: z3.Real(n, ctx)
        for n in ("f_w", "pi_w", "pr_leader", "omega_w", "pr_v_w", "epsilon", "q")
    }
    z = names
    x = z["pr_v_w"] * (1 - z["epsilon"])
    dom = [
        z["pi_w"] > 0,
        z["f_w"] >= 0,
        z["omega_w"] >= 0,
        z["pr_leader"] > 0,
        z["pr_leader"] <= 1,
        z["pr_v_w"] >= 0,
        z["pr_v_w"] <= 1,
        z["epsilon"] >= 0,
        z["epsilon"] < 1,
        x > 0,
        z["q"] >= 0,
        z["q"] <= 1,
    ]
    return names, z, x, dom


def _fmt_witness(w):
    return None if w is None else {k: str(v) for k, v in w.items()}


def _replay_thm2(kind, reading, model, w) -> bool:
    """Exact replay of a Thm 2 counterexample: premise true and conclusion false."""
    x = w["pr_v_w"] * (1 - w["epsilon"])
    prem = _thm2_premise(reading, w["f_w"], w["pi_w"], w["pr_leader"], x)
    args = (w["f_w"], w["pi_w"], w["pr_leader"], w["omega_w"], w["pr_v_w"])
    vq = _thm2_value(model, w["q"], *args)
    if kind == "literal":
        return bool(prem and w["q"] < w["epsilon"] and not vq < 0)
    best = max(_thm2_value(model, w["epsilon"], *args), _thm2_value(model, 1, *args))
    return bool(prem and w["q"] < w["epsilon"] and not vq < best)


def thm2_readings(point: Any = None, **opts) -> dict:
    implications = []
    for a in PREMISES:
        for b in PREMISES:
            if a == b:
                continue
            names, z, x, dom = _thm2_vars()
            res = _z3_valid(
                dom,
                _implies_z3(
                    _thm2_premise(a, z["f_w"], z["pi_w"], z["pr_leader"], x),
                    _thm2_premise(b, z["f_w"], z["pi_w"], z["pr_leader"], x),
                ),
                names,
            )
            implications.append(
                {
                    "from": a,
                    "to": b,
                    "status": res["status"],
                    "witness": _fmt_witness(res["witness"]),
                }
            )
    cells = []
    for kind in ("literal", "intended"):
        for r in PREMISES:
            for m in VALUES:
                names, z, x, dom = _thm2_vars()
                args = (z["f_w"], z["pi_w"], z["pr_leader"], z["omega_w"], z["pr_v_w"])
                prem = _thm2_premise(r, z["f_w"], z["pi_w"], z["pr_leader"], x)
                vq = _thm2_value(m, z["q"], *args)
                if kind == "literal":
                    concl = vq < 0
                else:
                    import z3

                    ve = _thm2_value(m, z["epsilon"], *args)
                    v1 = _thm2_value(m, 1, *args)
                    concl = vq < z3.If(ve >= v1, ve, v1)
                res = _z3_valid([*dom, prem, z["q"] < z["epsilon"]], concl, names)
                replay = (
                    _replay_thm2(kind, r, m, res["witness"])
                    if res["status"] == "counterexample"
                    else None
                )
                cells.append(
                    {
                        "conclusion": kind,
                        "premise": r,
                        "value": m,
                        "status": res["status"],
                        "replayed": replay,
                        "witness": _fmt_witness(res["witness"]),
                    }
                )
    derived = [c for c in cells if c["conclusion"] == "literal" and c["value"] == "B"]
    failing = [c for c in derived if c["status"] == "counterexample"]
    unknown = [c for c in derived if c["status"] == "unknown"]
    status = "counterexample" if failing else ("unknown" if unknown else "proved")
    return {
        "status": status,
        "witness": (
            {"premise": failing[0]["premise"], **failing[0]["witness"]} if failing else None
        ),
        "replayed": failing[0]["replayed"] if failing else None,
        "premises": PREMISES,
        "values": VALUES,
        "implications": implications,
        "cells": cells,
        "holds_under": sorted(c["premise"] for c in derived if c["status"] == "proved"),
        "fails_under": sorted(c["premise"] for c in failing),
    }


def _implies_z3(a, b):
    import z3

    return z3.Implies(a, b)


THM2_READINGS = Claim(
    "deepchain.thm2_readings",
    "Thm 2 (Sec. 4.2.2)",
    "Thm 2's literal conclusion (every worker honesty level q < ε has negative value) holds "
    "under each of the readings (a), (b), (c) of its premise, for the derived worker value",
    "z3 over f_W >= 0, π_W > 0, Pr_leader ∈ (0,1], ω_W >= 0, Pr_v(W) ∈ [0,1], ε ∈ [0,1) with "
    "x = Pr_v(W)(1-ε) > 0, q ∈ [0, ε); also every implication between (a), (b), (c) and "
    "every (premise, value A/B, literal/intended) cell",
    evaluate=thm2_readings,
)


# ---------------------------------------------------------------------------------------
# combinatorial claims
# ---------------------------------------------------------------------------------------


def threshold_table_vs_text(point: Any = None, ns=range(4, 11), **opts) -> dict:
    rows = crypto.threshold_comparison(ns)
    bad = [r for r in rows if not r["agree"]]
    table2 = crypto.table_2_reproduced()
    return {
        "status": "counterexample" if bad else "proved",
        "witness": (
            {
                "n": bad[0]["n"],
                "table_t_min": bad[0]["table_t_min"],
                "text_t_min": bad[0]["text_t_min"],
            }
            if bad
            else None
        ),
        "rows": rows,
        "disagree_at": [r["n"] for r in bad],
        "disagree_at_ceil_reading": [r["n"] for r in rows if not r["agree_ceil"]],
        "table_2_rule_reproduces_printed_rows": all(r["matches"] for r in table2),
    }


THRESHOLD = Claim(
    "deepchain.threshold_table_vs_text",
    "Sec. 4.2.4 and Table 2",
    "Table 2's minimal decryption threshold equals the text's rule t ∈ {N/3 + 1, ..., N} for "
    "N = 4..10",
    "Table 2 extended by its own rule t_min = floor((N-1)/3) + 1 against the text's "
    "t_min = floor(N/3) + 1 (and the ceiling reading ceil(N/3 + 1))",
    evaluate=threshold_table_vs_text,
)


def packing(point: Any = None, d: int = 2**16 - 1, n_params: int | None = None, **opts) -> dict:
    bits = int(getattr(point, "paillier_bits", 1024)) if point is not None else 1024
    n = int(getattr(point, "n_parties", 4)) if point is not None else 4
    main = crypto.packing_report(n, d, bits, n_params)
    sweep = [
        crypto.packing_report(nn, dd, bits, n_params)
        for nn in (4, 10)
        for dd in (1, 2**16 - 1, 2**32 - 1)
    ]
    return {
        "status": "proved" if main["one_ciphertext_suffices"] else "counterexample",
        "witness": None
        if main["one_ciphertext_suffices"]
        else {
            "n_parties": n,
            "value_bound_d": d,
            "values_per_ciphertext": main["values_per_ciphertext"],
            "cnn_parameters": main["cnn_parameters"],
        },
        **main,
        "sweep": sweep,
    }


PACKING = Claim(
    "deepchain.packing",
    "Sec. 4.2.4 (super-increasing packing), Sec. 6 (one cipher per party, 1024-bit)",
    "A party's whole gradient of DeepChain's CNN fits one 1024-bit Paillier ciphertext under "
    "the paper's packing scheme",
    "largest l with (N d + 1)^l - 1 < 2^1023 (the least super-increasing α meeting conditions "
    "(1) and (2)) against the CNN's 252,398 parameters; d = 2^16 - 1 (16-bit values) by "
    "default, also d = 1 and d = 2^32 - 1, N = 4 and 10",
    evaluate=packing,
)

CLAIMS = (THM1_LITERAL, THM1_INTENDED, THM1_WITH_IR, TIGHT, THM2_READINGS, THRESHOLD, PACKING)
