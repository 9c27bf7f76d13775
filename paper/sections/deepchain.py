"""DeepChain (issue 15): a thin wrapper around ``derelay.mechanisms.deepchain.report``.

Claim ids C230-C241 and errata ids E230-E239 (the section's ORDER block, so the related
mechanisms' sections never collide with DeRelayL's C0-C18 / E1-E12).
"""

from __future__ import annotations

from ..core import Check, Claim, Erratum, Q, Section, Table, need

KEY = "deepchain"
TITLE = "DeepChain: Value(p), Theorems 1-2, valid-coin lottery, threshold and packing"
ORDER = 230

Z3 = "z3 (rlimit), exact replay"


def _fig9() -> dict:
    from derelay.mechanisms.deepchain.timing import FIG_9

    return FIG_9


def _claim(c: dict, cid: str) -> dict:
    return {"id": cid, "where": c["source"], "paper": c["statement"]}


def run(ctx) -> Section:
    need("derelay.mechanisms.deepchain", "the DeepChain plug-in, issue 15")
    from derelay.mechanisms.deepchain import report

    quick = bool(ctx.quick)
    data = report.reproduce(quick=quick)
    cmd = "derelay paper --only deepchain" + (" --quick" if quick else "")
    sec = Section(KEY, TITLE)
    cl = {c["name"]: c for c in data["claims"]}

    def meas(name: str) -> dict[str, Q]:
        return {m["name"]: Q(m["value"], m["unit"], m["sample"], "g") for m in cl[name]["measured"]}

    c = cl["deepchain.thm1_literal"]
    sec.claims.append(
        Claim(
            **_claim(c, "C230"),
            summary="z3 finds {counterexamples} counterexample(s) to the proof's statement",
            measured=meas(c["name"]),
            checks=[
                Check(
                    "every honesty level below θ has negative value under the premise",
                    c["status"] == "proved",
                    "proof",
                )
            ],
            command=cmd,
        )
    )
    c = cl["deepchain.thm1_intended"]
    sec.claims.append(
        Claim(
            **_claim(c, "C231"),
            summary="counterexample replayed; a strict one: Value at zero {value_at_0}; at θ "
            "{value_at_theta}; at full honesty {value_at_1} (coins)",
            measured=meas(c["name"]),
            checks=[
                Check(
                    "under the premise no honesty level below θ beats the best level in "
                    "[θ, full honesty]",
                    c["status"] == "proved",
                    "solver",
                )
            ],
            command=cmd,
            note="the proof shows `Value(q) < 0`, which does not make `Value(θ)` larger",
        )
    )
    c = cl["deepchain.thm1_with_ir"]
    sec.claims.append(
        Claim(
            **_claim(c, "C232"),
            summary="z3 finds {counterexamples} counterexample(s) once π_P >= ω_P is added",
            measured=meas(c["name"]),
            checks=[
                Check(
                    "Theorem 1 as stated",
                    cl["deepchain.thm1_intended"]["status"] == "proved",
                    "solver",
                ),
                Check(
                    "Theorem 1 with individual rationality π_P >= ω_P added",
                    c["status"] == "proved",
                    "proof",
                    part="correction",
                ),
            ],
            command=cmd,
        )
    )
    c = cl["deepchain.tight_condition"]
    sec.claims.append(
        Claim(
            id="C233",
            where="Sec. 4.2.2",
            paper="The value reaches its maximum only when the party behaves honestly",
            summary="Value is affine in p; z3 finds {counterexamples_to_iff} counterexample(s) "
            "to: full honesty optimal iff `(π + f) Pr_v >= ω`",
            measured=meas(c["name"]),
            checks=[
                Check("full honesty maximises Value for every parameter point", False, "proof"),
                Check(
                    "full honesty maximises Value exactly when `(π + f) Pr_v >= ω`",
                    c["status"] == "proved",
                    "proof",
                    part="correction",
                ),
            ],
            command=cmd,
        )
    )
    c = cl["deepchain.thm2_readings"]
    rd = c["readings"]
    sec.claims.append(
        Claim(
            **_claim(c, "C234"),
            summary="of {readings} readings of the premise, the literal conclusion holds under "
            "{readings_holding}; implications proved {implications_proved}; refuted "
            "{implications_refuted}",
            measured=meas(c["name"]),
            checks=[
                Check(
                    f"reading ({r}) of the premise",
                    r in rd["holds_under"],
                    "proof" if r in rd["holds_under"] else "solver",
                )
                for r in ("a", "b", "c")
            ],
            command=cmd,
            note="premises: (a) printed order, (b) Pr_leader divides π_W, (c) Pr_leader cancels",
        )
    )
    c = cl["deepchain.threshold_table_vs_text"]
    sec.claims.append(
        Claim(
            **_claim(c, "C235"),
            summary="the two rules disagree at {n_disagree} of the seven values of N (the "
            "ceiling reading at {n_disagree_ceil_reading})",
            measured=meas(c["name"]),
            checks=[
                Check(
                    "Table 2's minimal threshold equals the text's rule for every N",
                    c["status"] == "proved",
                    "proof",
                )
            ],
            command=cmd,
        )
    )
    c = cl["deepchain.packing"]
    sec.claims.append(
        Claim(
            **_claim(c, "C236"),
            summary="{values_per_ciphertext} values per ciphertext ({values_per_ciphertext_1bit} "
            "for one-bit values) against {cnn_parameters} parameters: {ciphertexts_per_party} "
            "ciphertexts per party",
            measured=meas(c["name"]),
            checks=[
                Check("one ciphertext holds the whole gradient", c["status"] == "proved", "proof")
            ],
            command=cmd,
        )
    )
    # learning: E-4 / E-10
    t = data["tables"]
    ex = t["e4_e10_digits_mlp"]["experiments"]
    e4, e10 = ex[4], ex[10]
    smp = f"digits MLP, {t['e4_e10_digits_mlp']['local_steps']} local steps, one seed"
    learn_m = {
        "e4_party_mean": Q(e4["party_mean"], "% accuracy", smp),
        "e10_party_mean": Q(e10["party_mean"], "% accuracy", smp),
        "e4_above_solo": Q(e4["parties_above_own_solo"], "parties of E-4", smp, "d"),
        "e10_above_solo": Q(e10["parties_above_own_solo"], "parties of E-10", smp, "d"),
        "baseline": Q(e4["baseline_party"], "% accuracy", smp),
    }
    ppr = t["e4_e10_paper"]
    ref = {
        "paper_e4_mean": Q(ppr[4]["party_mean"], "% accuracy", "Fig. 6"),
        "paper_e10_mean": Q(ppr[10]["party_mean"], "% accuracy", "Fig. 7"),
    }
    for k, n in (("e4_above_base", 4), ("e10_above_base", 10)):
        learn_m[k] = Q(ex[n]["parties_above_baseline"], f"parties of E-{n}", smp, "d")
        learn_m[k.replace("above_base", "federated")] = Q(ex[n]["global"], "% accuracy", smp)
    sec.claims.append(
        Claim(
            id="C237",
            where="Sec. 6, Figs. 6-7",
            paper="Collaborative parties achieve higher training accuracy than the baseline party",
            summary="the downloaded federated model: {e4_federated}% (four parties) and "
            "{e10_federated}% (ten) against the baseline party's {baseline}%; the parties' "
            "local models above the baseline: {e4_above_base} of four and {e10_above_base} of "
            "ten; above their own solo model: {e4_above_solo} and {e10_above_solo}",
            measured={
                k: learn_m[k]
                for k in (
                    "e4_federated",
                    "e10_federated",
                    "e4_above_base",
                    "e10_above_base",
                    "e4_above_solo",
                    "e10_above_solo",
                    "baseline",
                )
            },
            checks=[
                Check(
                    "the federated model every party downloads beats the baseline party and "
                    "every party's solo model",
                    all(
                        ex[n]["federated_above_baseline"] and ex[n]["federated_above_every_solo"]
                        for n in (4, 10)
                    ),
                    "learning",
                ),
                Check(
                    "every party's local model (after its last local steps) above the "
                    "baseline party",
                    e4["parties_above_baseline"] == 4 and e10["parties_above_baseline"] == 10,
                    "learning",
                ),
                Check(
                    "every party above its own solo model",
                    e4["parties_above_own_solo"] == 4 and e10["parties_above_own_solo"] == 10,
                    "learning",
                ),
            ],
            command=cmd,
        )
    )
    sec.claims.append(
        Claim(
            id="C238",
            where="Sec. 6",
            paper="The more parties participate in collaborative training, the higher the "
            "training accuracy",
            summary="party mean {e4_party_mean}% with four parties, {e10_party_mean}% with ten "
            "(the paper's own: {paper_e4_mean}% and {paper_e10_mean}%)",
            measured={k: learn_m[k] for k in ("e4_party_mean", "e10_party_mean")},
            reference=ref,
            checks=[
                Check(
                    "more parties, higher party accuracy in derelay's run",
                    e10["party_mean"] > e4["party_mean"],
                    "learning",
                ),
                Check(
                    "more parties, higher party accuracy in the paper's own numbers",
                    ppr[10]["party_mean"] > ppr[4]["party_mean"],
                    "settings",
                ),
            ],
            command=cmd,
        )
    )
    # validity and wealth concentration
    ab = report.validity_abm(data)
    vs = f"ABM, {ab[(1, False)]['rounds']} rounds x {ab[(1, False)]['seeds']} seeds"
    vm = {
        "gini_v1": Q(ab[(1, False)]["gini_final"], "Gini", vs),
        "gini_inf": Q(ab[("inf", False)]["gini_final"], "Gini", vs),
        "rich_v1_expire": Q(100 * ab[(1, True)]["richest_win_share"], "% of rounds", vs),
        "gini_v1_expire": Q(ab[(1, True)]["gini_final"], "Gini", vs),
    }
    sec.claims.append(
        Claim(
            id="C239",
            where="Sec. 4.2.5",
            paper="Counting only coins with validity eliminates wealth accumulation",
            summary="genesis kept: Gini {gini_v1} (validity one round) vs {gini_inf} (no expiry); "
            "genesis expiring: the richest worker wins {rich_v1_expire}% of rounds (Gini "
            "{gini_v1_expire})",
            measured=vm,
            checks=[
                Check(
                    "validity lowers concentration while genesis coins stay valid",
                    ab[(1, False)]["gini_final"] < ab[("inf", False)]["gini_final"],
                    "simulation",
                ),
                Check(
                    "validity prevents a monopoly when genesis coins expire too",
                    ab[(1, True)]["richest_win_share"] < 1.0,
                    "simulation",
                ),
            ],
            command=cmd,
        )
    )
    tm = t["time_model"]["fit"]
    sec.claims.append(
        Claim(
            id="C240",
            where="Sec. 6, Fig. 9, Table 4",
            paper="The total time cost grows steadily with the number of parties; beyond 1306 "
            "parties it grows significantly",
            summary="affine fit {slope} s per party (R² {r2}); decreasing steps {n_dec}; the fit "
            "bounds the break-even at {bound} parties",
            measured={
                "slope": Q(tm["slope_s_per_party"], "s per party", "Fig. 9, seven totals"),
                "r2": Q(tm["r2"], "", "Fig. 9, seven totals"),
                "n_dec": Q(len(tm["decreasing_steps"]), "steps", "Fig. 9", "d"),
                "bound": Q(tm["break_even_upper_bound_parties"], "parties", "fit", ".4g"),
            },
            checks=[
                Check(
                    "the published totals increase with every added party",
                    tm["monotone"],
                    "settings",
                ),
                Check(
                    "the break-even implied by the fit reaches the text's value",
                    tm["break_even_upper_bound_parties"] >= tm["break_even_text_parties"],
                    "settings",
                ),
            ],
            command=cmd,
        )
    )
    # ABM: deviations
    fam_rows = []
    lazy_gain = None
    for r in data["abm"]["families"]:
        for k, v in r["plays"].items():
            fam_rows.append(
                {
                    "family": r["family"],
                    "share": r["share"],
                    "play": k,
                    "plays": v["plays"],
                    "realised": v["realised_mean"],
                    "SE": v["realised_se"],
                    "closed form": v["closed_form"],
                    "within 4 SE": v["within_4se"],
                    "valid blocks": r["block_valid_share"],
                }
            )
            if r["family"] == "lazy" and k == "P.Lazy":
                lazy_gain = v["realised_mean"]
    honest_n = next(
        r["plays"]["P.N"]["realised_mean"]
        for r in data["abm"]["families"]
        if r["family"] == "honest"
    )
    abm_s = (
        f"ABM, {data['abm']['families'][0]['rounds']} rounds x "
        f"{data['abm']['families'][0]['seeds']} seeds, share 0.25"
    )
    sec.claims.append(
        Claim(
            id="C241",
            where="Sec. 4.2.2, Theorem 1",
            paper="The deposit makes parties honest",
            summary="a lazy party realises {lazy} coins per round, an honest one {honest}",
            measured={
                "lazy": Q(lazy_gain, "coin per round", abm_s),
                "honest": Q(honest_n, "coin per round", abm_s),
            },
            checks=[
                Check(
                    "no deviation pays more than honesty in the simulation",
                    lazy_gain <= honest_n,
                    "simulation",
                )
            ],
            command=cmd,
            note="semantic faults (lazy, poisoned gradients) are checked by no proof",
        )
    )
    learn_rows = []
    for key, label in (("e4_e10_digits_mlp", "digits, MLP"), ("e4_e10_mnist_cnn", "MNIST-5k, CNN")):
        if key not in t:
            continue
        for n, e in t[key]["experiments"].items():
            for j, (acc, solo) in enumerate(zip(e["parties"], e["solo"], strict=True)):
                learn_rows.append(
                    {
                        "data": label,
                        "experiment": f"E-{n}",
                        "party": j + 1,
                        "accuracy (%)": acc,
                        "own solo (%)": solo,
                        "baseline party (%)": e["baseline_party"],
                        "federated (%)": e["global"],
                    }
                )
    fit = t["time_model"]
    time_rows = [
        {
            "N": n,
            "Fig. 9 (s)": total,
            "affine fit (s)": fit["model_s"][n],
            "residual (s)": total - fit["model_s"][n],
        }
        for n, total in sorted(_fig9().items())
    ]
    sec.intro = (
        "The DeepChain plug-in (derelay.mechanisms.deepchain; docs/deepchain.md): Value(p) of "
        "Sec. 4.2.2 verbatim, the worker's value derived, the ABM round on the engine, the "
        "valid-coin lottery. DeepChain's CNN has {cnn} parameters; Table 2's rule reproduces "
        "{t2} of its {t2n} printed rows."
    )
    sec.values = {
        "cnn": Q(t["cnn_parameters"], "parameters", "Sec. 6 shapes", "d"),
        "t2": Q(sum(bool(r["matches"]) for r in t["table_2"]), "rows", "Table 2", "d"),
        "t2n": Q(len(t["table_2"]), "rows", "Table 2", "d"),
    }
    sec.tables += [
        Table("DeepChain: E-4 and E-10, every party against its own solo model", learn_rows),
        Table("DeepChain: Table 4's time model (affine in N) against Fig. 9", time_rows),
        Table("DeepChain: Table 2 from its rule (a = floor((n-1)/3), t > a)", t["table_2"]),
        Table("DeepChain: minimal decryption threshold, Table 2 vs the text", t["thresholds"]),
        Table("DeepChain: packing in a 1024-bit Paillier plaintext", t["packing"]),
        Table("DeepChain: the ABM per deviation family (abstract learning)", fam_rows),
        Table(
            "DeepChain: leader lottery alone, validity and genesis expiry",
            report.validity_study(data)["lottery_alone"],
        ),
        Table("DeepChain: leader lottery in the ABM", report.validity_study(data)["abm"]),
    ]
    for i, e in enumerate(data["errata"]):
        sec.errata.append(
            Erratum(f"E{230 + i}", e["where"], e["text"], "see docs/deepchain.md", cmd)
        )
    return sec
