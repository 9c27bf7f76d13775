"""BRAIN's section of the reproduction report, as data: ``reproduce(quick) -> dict``.

* ``claims``: the five claims of issue 13, each with its prover status, a verdict earned
  by the rule below, the ``criterion``, numeric ``measured`` fields (with units and the
  sample they come from) and the exact ``command`` that reproduces them;
* ``tables``: Table II recomputed (per call, per phase, the implied token prices), the
  total gas of one inference request and one training update for several (Q_C, Q_R), the
  Sec. VII-A latency arithmetic, Alg. 1 against the windowed average (erratum E1) and the
  committee adversarial-majority probabilities;
* ``errata``: E1-E6 with the numbers behind them;
* ``abm``: one run per deviation family and adversarial share 0 .. 0.6 (plus the all-honest
  baseline), with the deviants' utility gain against the paired all-honest run and the
  closed-form IC margin of the matching strategy at the run's measured rates.

Verdict rule (issue 17): ✅ the claim holds as stated, in the paper's terms; ⚠️ it holds
only under a stated correction or condition (reported), or at the paper-default point but
not for every parameter; ❌ it fails at the point the mechanism runs at (the defaults, or
the rates its own ABM measures).

Command line: ``python -m derelay.mechanisms.brain.report [--quick] [--claim NAME]
[--abm]`` prints the JSON (the whole section, one claim, or the ABM table).
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from typing import Any

import numpy as np

CMD = "python -m derelay.mechanisms.brain.report"

#: family -> (role, strategy) that agents of the family play where it matters
FAMILY_STRATEGY = {
    "lazy": ("P", "Lazy"),
    "lazy:stale": ("P", "Stale"),
    "poison": ("P", "Poison"),
    "lazy_eval": ("C", "RandomScore"),
    "collude": ("C", "Inflate"),
    "misreport": ("C", "Deflate"),
    "withhold": ("C", "Withhold"),
    "malformed": ("C", "BadReveal"),
    "censor": ("A", "OmitUpdates"),
    # a coalition: half the share poisons, half inflates every score (collusion)
    "poison+collude": ("P", "Poison"),
}


def _mech():
    from derelay.mechanism import get_mechanism

    return get_mechanism("brain")


def _f(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


# -- ABM -----------------------------------------------------------------------------------


def _run(family: str | None, share: float, seed: int, rounds: int, params=None):
    from derelay.engine import RunConfig, run_simulation

    opts = {}
    fam = family
    if family == "lazy:stale":
        fam, opts = "lazy", {"lazy_strategy": "Stale"}
    types = {fam: share} if fam and share > 0 else {}
    if fam == "poison+collude" and share > 0:
        types = {"poison": share / 2, "collude": share / 2}
    cfg = RunConfig(mechanism="brain", params=params or {}, types=types, options=opts)
    return run_simulation(cfg, rounds=rounds, seed=seed)


def abm(
    quick: bool = True,
    params: dict | None = None,
    families: tuple[str, ...] | None = None,
    shares: list[float] | None = None,
    rounds: int | None = None,
) -> dict:
    """Every deviation family against adversarial shares 0 .. 0.6, paired with all-honest."""
    from .calibrate import calibrated_point, measured_rates

    mech = _mech()
    if shares is None:
        shares = [0.2, 0.4, 0.6] if quick else [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    seeds = [0] if quick else [0, 1, 2]
    if rounds is None:
        rounds = 15 if quick else 40
    honest = {s: _run(None, 0.0, s, rounds, params) for s in seeds}
    rows = [_row(None, 0.0, honest, honest, mech, calibrated_point, measured_rates)]
    for family in families or tuple(FAMILY_STRATEGY):
        for share in shares:
            runs = {s: _run(family, share, s, rounds, params) for s in seeds}
            rows.append(_row(family, share, runs, honest, mech, calibrated_point, measured_rates))
    return {
        "rows": rows,
        "shares": [0.0, *shares],
        "seeds": seeds,
        "rounds": rounds,
        "n_nodes": int(mech.space.defaults().n_nodes),
        "params": dict(params or {}),
        "command": f"{CMD} --abm" + (" --quick" if quick else ""),
    }


def _row(family, share, runs, honest, mech, calibrated_point, measured_rates) -> dict:
    gains, money, accs, hon_acc = [], [], [], []
    rates: dict[str, list[float]] = {}
    margins = []
    for s, res in runs.items():
        r = res.rounds
        accs.append(float(r.accuracy.iloc[-1]))
        hon_acc.append(float(r.honest_accuracy.iloc[-1]))
        for k, v in measured_rates(res).items():
            rates.setdefault(k, []).append(v)
        m = res.model
        dev = np.flatnonzero(m.types.family != 0)
        if family is not None and dev.size:
            hs = honest[s].model.state
            gains.append(float((m.state.cum_utility[dev] - hs.cum_utility[dev]).mean() / len(r)))
            money.append(float((m.state.money_cum[dev] - hs.money_cum[dev]).mean() / len(r)))
            role, abbr = FAMILY_STRATEGY[family]
            margins.append(float(mech.ic_margin(role, abbr, calibrated_point(mech, res))))
    r0 = next(iter(runs.values())).rounds
    row = {
        "family": family or "honest",
        "strategy": "/".join(FAMILY_STRATEGY[family]) if family else "-",
        "share": share,
        "final_accuracy": float(np.mean(accs)),
        "honest_accuracy": float(np.nanmean(hon_acc)) if np.isfinite(hon_acc).any() else None,
        "rates": {k: _f(np.nanmean(v)) if np.isfinite(v).any() else None for k, v in rates.items()},
        "quorum_fail_rate": float(
            np.mean([x.rounds.quorum_fail_rate.mean() for x in runs.values()])
        ),
        "gas_per_accepted": _f(
            np.nanmean(
                np.concatenate([x.rounds.gas_per_accepted.to_numpy() for x in runs.values()])
            )
        ),
        "models_identical": bool(
            all((x.rounds.models_identical == 1).all() for x in runs.values())
        ),
        "committee_adv_majority": _f(
            np.nanmean(
                np.concatenate([x.rounds.committee_adv_majority.to_numpy() for x in runs.values()])
            )
        ),
        "burned_per_round": float(
            np.mean([x.rounds.burned_penalties.mean() for x in runs.values()])
        ),
        "deviant_detected_share": _f(
            sum(x.rounds.deviant_detected.sum() for x in runs.values())
            / max(1, sum(x.rounds.deviant_actions.sum() for x in runs.values()))
        ),
        "rounds": int(len(r0)),
        "seeds": len(runs),
    }
    if family is not None:
        g = np.array(money) if money else np.array([np.nan])
        row["gain_per_round"] = _f(g.mean())  # coins: rewards - penalties - costs
        row["gain_se"] = _f(g.std(ddof=1) / np.sqrt(g.size)) if g.size > 1 else None
        row["gain_with_model_value"] = _f(np.mean(gains)) if gains else None
        row["closed_form_ic_margin"] = _f(np.mean(margins)) if margins else None
        sim_prof = row["gain_per_round"] is not None and row["gain_per_round"] > 0
        cf_prof = row["closed_form_ic_margin"] is not None and row["closed_form_ic_margin"] < 0
        row["profitable_sim"] = sim_prof
        row["profitable_closed_form"] = cf_prof
        row["disagree"] = (
            row["gain_per_round"] is not None
            and row["closed_form_ic_margin"] is not None
            and sim_prof != cf_prof
        )
    return row


def torch_check(rounds: int = 10, seed: int = 0) -> dict:
    """Real learning (torch, the learning part's default data): acceptance per proposer
    strategy with a lazy and a poisoning share of 0.3 (relative mode, the defaults)."""
    from derelay.engine import RunConfig, run_simulation

    from .calibrate import measured_rates

    out = {"rounds": rounds, "seed": seed, "rows": []}
    for fam in ("lazy", "poison"):
        cfg = RunConfig(mechanism="brain", types={fam: 0.3}, options={"learning": "torch"})
        res = run_simulation(cfg, rounds=rounds, seed=seed)
        r = res.rounds
        out["rows"].append({
            "family": fam,
            "share": 0.3,
            **{k: _f(v) for k, v in measured_rates(res).items() if k != "v_update"},
            "final_accuracy": float(r.accuracy.iloc[-1]),
            "models_identical": bool((r.models_identical == 1).all()),
        })  # fmt: skip
    out["command"] = f"{CMD} --torch"
    return out


# -- claims ---------------------------------------------------------------------------------


def claims(
    quick: bool = True, abm_table: dict | None = None, only: str | None = None
) -> list[dict]:
    """The five claims (``only``: just that one), with verdicts, criteria, measured numbers
    and commands; ``brain.proposer_ic`` uses the lazy rows of ``abm_table`` (run if None)."""
    from derelay.formal.claims import prove_claim

    mech = _mech()
    p = mech.space.defaults()
    pe = mech.space.exact(p)
    out = []

    def add(name, verdict, criterion, measured, extra=None):
        if only is not None and name != only:
            return
        res = prove_claim(mech, name)
        out.append(
            {
                "name": name,
                "source": res["source"],
                "statement": res["statement"],
                "encoding": res["encoding"],
                "status": res["status"],
                "witness": res.get("witness"),
                "verdict": verdict(res),
                "criterion": criterion,
                "measured": measured(res),
                "command": f"{CMD} --claim {name}" + (" --quick" if quick else ""),
                **(extra(res) if extra else {}),
            }
        )

    add(
        "brain.median_robust",
        lambda r: (
            "⚠️"
            if r["status"] == "proved" and r["even_m_fails_at_half"]
            else ("✅" if r["status"] == "proved" else "❌")
        ),
        "✅ if the median stays within the honest range whenever adversaries are not a "
        "majority (the paper's 'unless the majority of nodes are malicious'); ⚠️ if it "
        "needs strictly fewer than half; ❌ if it fails with an honest majority",
        lambda r: {
            "m_max": {"value": r["m_max"], "unit": "revealed scores"},
            "queries": {"value": r["queries"], "unit": "z3 queries (m, k)"},
            "robust_iff_k_below_half": {"value": int(r["robust_iff_k_below_half"]), "unit": "bool"},
            "even_m_fails_at_half": {"value": int(r["even_m_fails_at_half"]), "unit": "bool"},
            "sample": "every m = 1..Q_R and k = 0..m-1, scores in [0, 1]",
        },
        lambda r: {"tight_witnesses": r["tight_witnesses"]},
    )
    cond_w = bool(mech.condition("C_IC_Withhold").holds(pe))
    margin_w = float(mech.ic_margin("C", "Withhold", pe))
    add(
        "brain.reveal_ic",
        lambda r: "✅" if r["status"] == "proved" else ("⚠️" if cond_w else "❌"),
        "✅ if R_C = 0 alone makes revealing beat withholding; ⚠️ if it holds at the "
        "defaults only under R_R + P_R + R_U/Q_C > e C_eval + C_tx (R_C cancels); ❌ if "
        "it fails at the defaults",
        lambda r: {
            "margin_at_defaults": {"value": margin_w, "unit": "coin per seat"},
            "witness_p_r": {
                "value": r["witness"]["values"].get("p_r") if r["witness"] else None,
                "unit": "coin",
            },
            "sample": "closed form, z3 over R_C, R_R, R_U, P_R >= 0 at the default costs",
        },
    )
    margin_r = float(mech.ic_margin("C", "RandomScore", pe))
    add(
        "brain.honest_scoring_ic",
        lambda r: "✅" if r["status"] == "proved" else "❌",
        "✅ if U_C(N) >= U_C(RandomScore) at the default C_eval for every reward level; "
        "❌ otherwise",
        lambda r: {
            "margin_at_defaults": {"value": margin_r, "unit": "coin per seat"},
            "c_eval": {"value": float(p.c_eval), "unit": "coin per model"},
            "sample": "closed form, z3 over R_C, R_R, R_U >= 0",
        },
    )
    add(
        "brain.commit_reveal_no_freeride",
        lambda r: "✅" if r["status"] == "proved" else "❌",
        "✅ if the contract rejects every copying move; ❌ if one goes through",
        lambda r: {
            "attempts": {"value": r["attempts"], "unit": "copying moves"},
            "rejected": {"value": r["rejected"], "unit": "copying moves"},
            "u_copy": {"value": r["u_copy"], "unit": "coin per seat"},
            "u_guess": {"value": r["u_guess"], "unit": "coin per seat"},
            "sample": "all (victim, copier) pairs of a 5-member committee",
        },
    )
    # proposer_ic at the rates the ABM measures (all-honest run, and the lazy family)
    if only not in (None, "brain.proposer_ic"):
        return out
    if abm_table is None:
        abm_table = abm(quick=quick, families=("lazy",), shares=[0.2])
    lazy = [r for r in abm_table["rows"] if r["family"] == "lazy" and abs(r["share"] - 0.2) < 1e-9]
    row = lazy[0] if lazy else None
    pi_n = row["rates"]["pi_n"] if row else None
    pi_l = row["rates"]["pi_l"] if row else None
    pm = {}
    if pi_n is not None and pi_l is not None:
        q = mech.space.exact(p.replace(pi_n=pi_n, pi_l=pi_l))
        pm = {"margin_measured": float(mech.ic_margin("P", "Lazy", q))}
    margin_d = float(mech.ic_margin("P", "Lazy", pe))
    add(
        "brain.proposer_ic",
        lambda r: "❌" if pm and pm["margin_measured"] <= 0 else ("⚠️" if margin_d > 0 else "❌"),
        "❌ if U_P(N) <= U_P(Lazy) at the acceptance rates the ABM measures; ⚠️ if it "
        "holds there and at the defaults but needs pi_N - pi_L > C_train/(pi_Q(R_S+P_S))",
        lambda r: {
            "margin_at_defaults": {"value": margin_d, "unit": "coin per suggestion"},
            "needed_gap": {
                "value": float(pe.c_train / (pe.pi_q * (pe.r_s + pe.p_s))),
                "unit": "acceptance probability",
            },
            "pi_n_measured": {"value": pi_n, "unit": "acceptance rate"},
            "pi_l_measured": {"value": pi_l, "unit": "acceptance rate"},
            "margin_measured": {"value": pm.get("margin_measured"), "unit": "coin per suggestion"},
            "sample": (
                f"ABM lazy family, share {row['share']}, {row['seeds']} seed(s) x "
                f"{row['rounds']} rounds, n_nodes 21"
                if row
                else "none"
            ),
        },
    )
    return out


# -- tables and errata ----------------------------------------------------------------------


def alg1_vs_window() -> dict:
    """Alg. 1 as printed against the windowed weighted average its proof claims (E1)."""
    from .rules import wma_sequence

    one = Fraction(1)
    pairs = [(one, one), (one, one)]
    rec = wma_sequence(Fraction(0), pairs, 2)
    window = (pairs[0][0] * pairs[0][1] + pairs[1][0] * pairs[1][1]) / (pairs[0][1] + pairs[1][1])
    # a longer example: n = 3, M_r = r, a_r = 1
    seq = [(Fraction(r), one) for r in range(1, 7)]
    rec3 = wma_sequence(Fraction(0), seq, 3)
    win3 = [
        sum(Fraction(j) for j in range(max(0, r - 2), r + 1)) / min(3, r + 1) if r >= 2 else None
        for r in range(0, 7)
    ]
    return {
        "n2_recursion_M2": str(rec[-1]),
        "n2_window_M2": str(window),
        "n3_recursion": [str(x) for x in rec3],
        "n3_window": [str(x) if x is not None else None for x in win3],
        "agree": rec[-1] == window,
    }


def tables() -> dict:
    from .claims import adversarial_majority
    from .gas import latency, request_gas, table_ii

    mech = _mech()
    p = mech.space.defaults()
    return {
        "table_ii": table_ii(p),
        "request_gas": [
            request_gas(p, qc, qr) for qc, qr in ((11, 11), (15, 15), (21, 21), (11, 6))
        ],
        "latency": latency(),
        "alg1_vs_window": alg1_vs_window(),
        "adversarial_majority": [
            adversarial_majority(int(p.q_reveal), s / 20, int(p.n_nodes)) for s in range(0, 13)
        ],
    }


def paper_tables(rep: dict) -> dict[str, list[dict]]:
    """Display rows (columns as the paper report prints them) of :func:`reproduce`'s
    ``rep`` for ``paper/sections/brain.py``: ``request_gas`` (gas of one request per
    (Q_C, Q_R)), ``abm`` (every deviation family against its share) and, when the full
    report ran the real learning check, ``abm_torch`` (acceptance rates per family)."""
    out = {
        "request_gas": [
            {"Q_C": g["q_commit"], "Q_R": g["q_reveal"],
             "inference gas": g["inference"]["total_gas"],
             "inference USD": g["inference"]["total_usd"],
             "training gas": g["training"]["total_gas"],
             "training USD": g["training"]["total_usd"]}
            for g in rep["tables"]["request_gas"]
        ],
        "abm": [
            {"family": r["family"], "strategy": r["strategy"], "share": r["share"],
             "accuracy": r["final_accuracy"], "pi_N": r["rates"].get("pi_n"),
             "quorum fail": r["quorum_fail_rate"], "gain/round": r.get("gain_per_round"),
             "closed-form margin": r.get("closed_form_ic_margin"),
             "disagree": r.get("disagree"), "identical models": r["models_identical"]}
            for r in rep["abm"]["rows"]
        ],
    }  # fmt: skip
    if "abm_torch" in rep:
        keys = ("family", "share", "pi_n", "pi_l", "pi_p", "pi_q", "final_accuracy",
                "models_identical")  # fmt: skip
        out["abm_torch"] = [{k: r.get(k) for k in keys} for r in rep["abm_torch"]["rows"]]
    return out


def errata() -> list[dict]:
    from . import ERRATA

    return [{"id": e.id, "where": e.where, "text": e.text} for e in ERRATA]


def reproduce(quick: bool = True) -> dict:
    """BRAIN's section of the reproduction report (see the module docstring)."""
    mech = _mech()
    abm_table = abm(quick=quick)
    extra = {} if quick else {"abm_torch": torch_check()}
    return {
        **extra,
        "mechanism": mech.name,
        "title": mech.title,
        "paper": mech.paper,
        "verdict_rule": __doc__.split("Verdict rule (issue 17): ")[1].split("\n\n")[0],
        "claims": claims(quick=quick, abm_table=abm_table),
        "tables": tables(),
        "errata": errata(),
        "abm": abm_table,
        "command": f"{CMD}" + (" --quick" if quick else ""),
    }


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog=CMD, description="BRAIN's reproduction (JSON)")
    ap.add_argument("--quick", action="store_true", help="1 seed, 15 rounds, shares 0.2/0.4/0.6")
    ap.add_argument("--claim", default=None, help="one claim by name")
    ap.add_argument("--abm", action="store_true", help="only the ABM table")
    ap.add_argument("--torch", action="store_true", help="only the torch spot check")
    a = ap.parse_args(argv)
    if a.claim is not None:
        names = [c.name for c in _mech().claims]
        if a.claim not in names:
            print(
                f"error: unknown claim {a.claim!r}; claims are {', '.join(names)}", file=sys.stderr
            )
            return 2
        out = claims(quick=a.quick, only=a.claim)[0]
    elif a.abm:
        out = abm(quick=a.quick)
    elif a.torch:
        out = torch_check()
    else:
        out = reproduce(quick=a.quick)
    json.dump(out, sys.stdout, indent=1, default=str, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
