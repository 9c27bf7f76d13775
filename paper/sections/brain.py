"""BRAIN (Park, Lee, Moon): the five claims, Table II, the latency arithmetic, the errata
and the ABM over every deviation family - a thin wrapper of
:func:`derelay.mechanisms.brain.report.reproduce` (issue 13)."""

from __future__ import annotations

from ..core import Check, Claim, Erratum, Q, Section, Table, need

KEY = "brain"
TITLE = "BRAIN: committee scoring, commit-reveal and aggregator-free learning (Alg. 1)"
ORDER = 210


def _q(m: dict, key: str, fmt: str = ".3g") -> Q:
    v = m[key]
    val = v["value"] if v["value"] is not None else float("nan")
    return Q(val, v["unit"], m.get("sample", ""), fmt)


def _abm_row(rep: dict, family: str, share: float | None = None) -> dict | None:
    rows = [r for r in rep["abm"]["rows"] if r["family"] == family]
    if share is not None:
        rows = [r for r in rows if abs(r["share"] - share) < 1e-9]
    return rows[0] if rows else None


def _gain(rep: dict, family: str) -> tuple[float, str]:
    r = _abm_row(rep, family)
    if r is None or r.get("gain_per_round") is None:
        return float("nan"), "no run"
    return r["gain_per_round"], (
        f"ABM {family} share {r['share']}, {r['seeds']} seed(s) x {r['rounds']} rounds, paired "
        "with the all-honest run"
    )


def run(ctx) -> Section:
    report = need("derelay.mechanisms.brain.report", "the BRAIN plug-in, issue 13")
    sec = Section(KEY, TITLE)
    ctx.step(0, 3, "BRAIN claims and ABM")
    rep = report.reproduce(quick=ctx.quick)
    ctx.step(2, 3, "BRAIN tables")
    cl = {c["name"]: c for c in rep["claims"]}
    # the report's command re-runs this section (each claim also has a finer command,
    # ``python -m derelay.mechanisms.brain.report --claim NAME``, in reproduction.json)
    section_cmd = "derelay paper --only brain" + (" --quick" if ctx.quick else "")
    cmd = {n: section_cmd for n in cl}

    c = cl["brain.median_robust"]
    m = c["measured"]
    sec.claims.append(Claim(
        "C211", "Sec. V-A, VII-A",
        "the median can provide a reliable result unless the majority of nodes are malicious",
        "z3 over every count of revealed scores up to {m_max} ({queries} queries): the median "
        "stays within the honest scores' range iff strictly fewer than half are adversarial; "
        "with an even count exactly half already moves it out",
        {"m_max": _q(m, "m_max", "d"), "queries": _q(m, "queries", "d")},
        [Check("the median stays in the honest range whenever adversaries are not a majority",
               not m["even_m_fails_at_half"]["value"], "proof"),
         Check("with strictly fewer than half adversarial the median stays in the honest range",
               bool(m["robust_iff_k_below_half"]["value"]), "proof", part="correction")],
        cmd["brain.median_robust"],
    ))  # fmt: skip

    c = cl["brain.reveal_ic"]
    m = c["measured"]
    wg, ws = _gain(rep, "withhold")
    sec.claims.append(Claim(
        "C212", "Sec. III-B",
        "R_C is set to zero to encourage nodes to submit the following REVEAL",
        "z3 finds a counterexample with `R_C = 0` (P_R = {witness_p_r}); at the defaults revealing beats "
        "withholding by {margin} coin per seat, and withholders earn {gain} coin per round "
        "against their honest twins; R_C cancels from the comparison",
        {"witness_p_r": _q(m, "witness_p_r"), "margin": _q(m, "margin_at_defaults"),
         "gain": Q(wg, "coin per round", ws)},
        [Check("with `R_C = 0` revealing beats withholding for every reward and penalty",
               c["status"] == "proved", "solver"),
         Check("withholding loses coins in the ABM ({gain} per round)", wg < 0, "simulation"),
         Check("revealing wins iff `R_R + P_R + R_U/Q_C > e C_eval + C_tx`, met at the "
               "defaults (margin {margin})", m["margin_at_defaults"]["value"] > 0, "proof",
               part="correction")],
        cmd["brain.reveal_ic"],
    ))  # fmt: skip

    c = cl["brain.honest_scoring_ic"]
    m = c["measured"]
    rg, rs = _gain(rep, "lazy_eval")
    sec.claims.append(Claim(
        "C213", "Sec. III-B, V-A",
        "penalties encourage honest inference and evaluation",
        "no rule looks at what a member scored: random scoring saves the evaluation cost, "
        "honest minus random is {margin} coin per seat for every reward level, and random "
        "scorers earn {gain} coin per round against their honest twins",
        {"margin": _q(m, "margin_at_defaults"), "gain": Q(rg, "coin per round", rs)},
        [Check("honest scoring is at least as good as random scoring at the default "
               "evaluation cost", c["status"] == "proved", "solver"),
         Check("random scorers gain nothing in the ABM", rg <= 0, "simulation")],
        cmd["brain.honest_scoring_ic"],
    ))  # fmt: skip

    c = cl["brain.commit_reveal_no_freeride"]
    m = c["measured"]
    sec.claims.append(Claim(
        "C214", "Sec. III-A, IV-C",
        "commit-and-reveal prevents free-riders who copy another entity's result",
        "the contract rejects {rejected} of {attempts} copying moves; a copier is paid as a "
        "bad revealer ({u_copy} coin per seat), a guess as a random scorer ({u_guess})",
        {"rejected": _q(m, "rejected", "d"), "attempts": _q(m, "attempts", "d"),
         "u_copy": _q(m, "u_copy"), "u_guess": _q(m, "u_guess")},
        [Check("every copying move is rejected",
               m["rejected"]["value"] == m["attempts"]["value"], "simulation")],
        cmd["brain.commit_reveal_no_freeride"],
        note="committing a guess without evaluating is not prevented (C213)",
    ))  # fmt: skip

    c = cl["brain.proposer_ic"]
    m = c["measured"]
    lg, ls = _gain(rep, "lazy")
    sec.claims.append(Claim(
        "C215", "Sec. V-C",
        "the proposer is rewarded R_S if the agreed score exceeds the threshold and penalised "
        "P_S otherwise",
        "at the acceptance rates the ABM measures (honest {pi_n_measured}, lazy {pi_l_measured}) "
        "honest training minus a lazy suggestion is {margin_measured} coin per suggestion "
        "(needs a gap above {gap}); lazy proposers earn {gain} coin per round against their "
        "honest twins",
        {"pi_n_measured": _q(m, "pi_n_measured"), "pi_l_measured": _q(m, "pi_l_measured"),
         "margin_measured": _q(m, "margin_measured"), "gap": _q(m, "needed_gap"),
         "gain": Q(lg, "coin per round", ls)},
        [Check("honest training beats a lazy suggestion at the measured rates",
               (m["margin_measured"]["value"] or -1) > 0, "simulation"),
         Check("lazy proposers lose coins in the ABM", lg < 0, "simulation")],
        cmd["brain.proposer_ic"],
        note="relative mode accepts the current model plus noise (within epsilon of itself)",
    ))  # fmt: skip

    t = rep["tables"]
    sec.tables.append(Table("Table II recomputed (gas x gwei x implied price)", [
        {"call": r["call"], "gas avg": r["gas_avg"], "USD Ethereum (paper)": r["usd_eth_printed"],
         "USD Ethereum (derelay)": r["usd_eth"], "USD Polygon (paper)": r["usd_polygon_printed"],
         "USD Polygon (derelay)": r["usd_polygon"]} for r in t["table_ii"]["rows"]
    ] + [
        {"call": r["phase"], "gas avg": r["gas"], "USD Ethereum (paper)": r["usd_eth_printed"],
         "USD Ethereum (derelay)": r["usd_eth"], "USD Polygon (paper)": r["usd_polygon_printed"],
         "USD Polygon (derelay)": r["usd_polygon"]} for r in t["table_ii"]["phases"]
    ]))  # fmt: skip
    shown = report.paper_tables(rep)
    sec.tables.append(Table("Gas of one request", shown["request_gas"]))
    sec.tables.append(Table("Sec. VII-A arithmetic", [
        {"quantity": k, "paper": v["printed"], "derelay": v["recomputed"], "agrees": v["agrees"]}
        for k, v in t["latency"].items()
    ]))  # fmt: skip
    sec.tables.append(Table("Committee with an adversarial majority (Q_R revealers)", [
        {"share": a["share"], "binomial": a["binomial_majority"],
         "finite population": a["hypergeometric_majority"]} for a in t["adversarial_majority"]
    ]))  # fmt: skip
    sec.tables.append(Table("ABM: every deviation family against its share", shown["abm"],
                            note=f"command: {rep['abm']['command']}"))  # fmt: skip

    if "abm_torch" in rep:
        tc = rep["abm_torch"]
        sec.tables.append(Table("Real learning (torch): acceptance rates of decided suggestions",
                                shown["abm_torch"], note=f"command: {tc['command']}"))  # fmt: skip
    w = t["alg1_vs_window"]
    am = next(a for a in t["adversarial_majority"] if abs(a["share"] - 0.4) < 1e-9)
    tii = t["table_ii"]
    measured_e = {
        "E1": {
            "rec": Q(float(eval_fraction(w["n2_recursion_M2"])), "model value", "Alg. 1, n = 2"),
            "win": Q(float(eval_fraction(w["n2_window_M2"])), "model value", "window average"),
        },
        "E3": {
            "p": Q(am["binomial_majority"], "probability", "binomial, Q_R revealers"),
            "share": Q(am["share"], "share of nodes", "adversarial share"),
        },
        "E4": {
            "lo": Q(tii["eth_usd_interval"][0], "USD/ETH", "Table II"),
            "hi": Q(tii["eth_usd_interval"][1], "USD/ETH", "Table II"),
        },
    }
    issues = {
        "E1": "the recursion is not the windowed average its proof claims: M̄ is {rec} where "
        "the window average is {win}",
        "E3": "an honest majority of nodes does not give every random committee one: "
        "probability {p} of an adversarial majority at share {share}",
        "E4": "Table II states no ETH price; its figures imply one between {lo} and {hi}",
    }
    for e in rep["errata"]:
        sec.errata.append(
            Erratum(
                e["id"],
                e["where"],
                issues.get(e["id"], e["text"]),
                e["text"],
                cmd["brain.median_robust"].split(" --")[0],
                measured_e.get(e["id"], {}),
            )
        )
    sec.figures += _figure(ctx, rep)
    sec.intro = (
        "BRAIN's utilities are derived (the paper states none); every claim is checked "
        "against the ABM and z3. Verdicts follow the report's rule."
    )
    ctx.step(3, 3, "BRAIN done")
    return sec


def eval_fraction(text: str) -> float:
    from fractions import Fraction

    return float(Fraction(text))


def _figure(ctx, rep) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    base = _abm_row(rep, "honest")
    for fam in sorted({r["family"] for r in rep["abm"]["rows"]} - {"honest"}):
        rows = [r for r in rep["abm"]["rows"] if r["family"] == fam]
        xs = [0.0] + [r["share"] for r in rows]
        ys = [base["final_accuracy"]] + [r["final_accuracy"] for r in rows]
        ax.plot(xs, ys, marker="o", label=fam)
    ax.set_xlabel("deviant share")
    ax.set_ylabel("final accuracy of the shared model")
    ax.set_title("BRAIN: accuracy against the deviant share, per family")
    ax.legend(fontsize=7, ncol=2)
    paths = ctx.fig(fig, "brain_accuracy_vs_share")
    plt.close(fig)
    return paths
