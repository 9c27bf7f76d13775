"""Figs. 3 and 4, eq. (15) and (21) checks and coin inequality, both presets (C1-C6, E9)."""

from __future__ import annotations

import numpy as np

from ..core import Check, Claim, Erratum, Q, Section, Table
from ._util import loglog_slope, sample, seeds_of

KEY = "fig34"
TITLE = "Sustainability and accessibility: Figs. 3 and 4, eqs. (15) and (21)"
ORDER = 20

PRESETS = ("paper_text", "authors_code")
TITLES = {"paper_text": "paper's text (preset paper_text)", "authors_code": "authors' code"}


def run(ctx) -> Section:
    import matplotlib

    from analysis.plots import PALETTE, new_figure, plot_timeseries
    from analysis.stats import confidence_band, gini
    from derelay.params import Params
    from experiments.runner import load_results

    sec = Section(KEY, TITLE)
    rounds_total = 200 if ctx.quick else 500
    out, cmd = ctx.sweep(
        "paper_fig34",
        quick={"replications": 2, "base.rounds": rounds_total, "base.record_every": 4},
    )
    r = load_results(out, "rounds")
    a = load_results(out, "agents")
    reps = int(r["replication"].max()) + 1
    smp = sample(reps, rounds_total, seeds_of(out), "per preset")
    p = Params()
    q_total = p.n_participants

    # --- Fig. 3: coins per participant over rounds --------------------------------------
    fig, axes = new_figure(11, 4.2, ncols=2)
    for ax, pre in zip(axes[0], PRESETS, strict=True):
        sub = a[(a["preset"] == pre) & (a["replication"] == 0)]
        wide = sub.pivot_table(index="round", columns="agent_id", values="coins")
        ax.plot(wide.index, wide.to_numpy(), color="0.55", linewidth=0.4, alpha=0.5)
        b = confidence_band(r[r["preset"] == pre], "mean_coins")
        ax.plot(b["round"], b["mean"], color=PALETTE[1], linewidth=2.0, label="mean")
        ax.plot([], [], color="0.55", linewidth=0.8, label="one participant (replication 0)")
        ax.set_xlabel("round")
        ax.set_ylabel("coins held (©)")
        ax.set_title(f"Fig. 3 reproduced: {TITLES[pre]}")
        ax.legend(fontsize=8)
    sec.figures += ctx.fig(fig, "fig3_coins_per_participant")

    # --- eq. (15): growth exponent and magnitude ----------------------------------------
    fig, ax = new_figure(6.4, 4.2)
    m: dict[str, dict[str, float]] = {}
    rows = []
    for i, pre in enumerate(PRESETS):
        rs = r[r["preset"] == pre]
        slopes = []
        for _, one in rs.groupby("run_id"):
            half = one[one["round"] >= one["round"].max() / 2]
            slopes.append(
                loglog_slope(half["round"].to_numpy(float), half["mean_coins"].to_numpy())
            )
        b = confidence_band(rs, "mean_coins")
        ax.loglog(b["round"], b["mean"], color=PALETTE[i], label=f"{pre} (mean coins)")
        last_round = rs["round"].max()
        mean_end = float(rs[rs["round"] == last_round]["mean_coins"].mean())
        n_sel = float(rs["n_selected"].mean())
        ap = a[a["preset"] == pre]
        coins_last = ap[ap["round"] == ap["round"].max()]
        zero = float((coins_last["coins_nano"] == 0).mean())
        g = float(np.mean([gini(c["coins_nano"].to_numpy(float))
                           for _, c in coins_last.groupby("run_id")]))  # fmt: skip
        eq15 = rounds_total**2 / (2 * q_total)
        m[pre] = {"k": float(np.mean(slopes)), "kmin": min(slopes), "kmax": max(slopes),
                  "end": mean_end, "zero": zero, "gini": g, "n_sel": n_sel, "eq15": eq15,
                  "ratio": mean_end / eq15, "corr": mean_end / (n_sel * eq15)}  # fmt: skip
        rows.append({
            "preset": pre,
            "growth exponent k (2nd half)": m[pre]["k"],
            "k min over runs": m[pre]["kmin"],
            "k max over runs": m[pre]["kmax"],
            "mean coins at end (©)": mean_end,
            "eq. (15) r²/(2Q) (©)": eq15,
            "models selected per round": n_sel,
            "share with 0 coins": zero,
            "Gini of coins at end": g,
        })  # fmt: skip
    x = np.array([10, rounds_total], float)
    ax.loglog(x, m["paper_text"]["end"] * (x / rounds_total) ** 2, "k--", linewidth=1,
              label="slope 2 (eq. 15: O(round²))")  # fmt: skip
    ax.set_xlabel("round")
    ax.set_ylabel("mean coins per participant (©)")
    ax.set_title("Eq. (15): coins grow quadratically in rounds")
    ax.legend(fontsize=8)
    sec.figures += ctx.fig(fig, "eq15_growth_exponent")

    # --- Gini over rounds (the sweep records it every few rounds: NaN in between) -----
    fig, ax = new_figure(6.4, 4.0)
    plot_timeseries(
        r.dropna(subset=["gini_coins"]), "gini_coins", hue="preset", ax=ax,
        ylabel="Gini coefficient of coins (0 = equal)", title="Coin inequality over rounds",
        label_fmt="{value}",
    )  # fmt: skip
    sec.figures += ctx.fig(fig, "gini_coins_over_rounds")

    # --- Fig. 4: model-version distribution -------------------------------------------
    fig, axes = new_figure(11, 4.2, ncols=2)
    cols = [f"share_latest_{k}" for k in range(11)] + ["share_older", "share_none"]
    cmap = matplotlib.colormaps["viridis"]
    colors = [cmap(k / 10) for k in range(11)] + ["0.6", "0.85"]
    labels = ["Latest"] + [f"Latest-{k}" for k in range(1, 11)] + ["older", "none"]
    stable = {}
    for ax, pre in zip(axes[0], PRESETS, strict=True):
        rs = r[r["preset"] == pre].groupby("round")[cols].mean()
        ax.stackplot(rs.index, *(100 * rs[c].to_numpy() for c in cols), colors=colors,
                     labels=labels)  # fmt: skip
        ax.set_xlabel("round")
        ax.set_ylabel("participants holding the model (%)")
        ax.set_ylim(0, 100)
        ax.set_xlim(r["round"].min(), r["round"].max())
        ax.set_title(f"Fig. 4 reproduced: {TITLES[pre]}")
        tail = r[(r["preset"] == pre) & (r["round"] > r["round"].max() / 2)]
        end = r[(r["preset"] == pre) & (r["round"] == r["round"].max())]
        stable[pre] = {
            "sd": 100 * float(tail.groupby("run_id")["share_latest_0"].std().mean()),
            "none": 100 * float(end["share_none"].mean()),
            "latest": 100 * float(tail["share_latest_0"].mean()),
        }
    axes[0][1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5),
                      title="version held")  # fmt: skip
    sec.figures += ctx.fig(fig, "fig4_version_distribution")

    # --- eq. (21) at s = 0.5 -------------------------------------------------------------
    q_mot = p.n_participants - p.n_miners
    eq21 = {}
    for pre in PRESETS:
        tail = r[(r["preset"] == pre) & (r["round"] > r["round"].max() / 2)]
        per_run = tail.groupby("run_id")["n_trainers"].mean()
        eq21[pre] = (float(per_run.mean()), float(per_run.min()), float(per_run.max()))

    sec.intro = (
        "ABM runs of {rounds} rounds, {reps} replications per preset (Table III settings; "
        "`paper_text` follows the paper's text, `authors_code` the authors' published "
        "simulation; see docs/abm.md)."
    )
    sec.values = {"rounds": Q(rounds_total, "rounds", smp, "d"), "reps": Q(reps, "runs", smp, "d")}
    sec.tables.append(Table("", rows))

    pt, ac = m["paper_text"], m["authors_code"]
    half = f"second half of {smp}"
    cf = "closed form at Table III"
    K = {"k_pt": Q(pt["k"], "", half), "k_ac": Q(ac["k"], "", half)}
    sec.claims.append(Claim(
        "C1", "Sec. IV-B, Fig. 3",
        "coins per participant grow and the growth rate accelerates over time",
        "mean coins grow as round^k with k = {k_pt} (paper_text) and {k_ac} (authors_code)",
        K,
        [Check("growth accelerates: k > {k_one} in both presets",
               min(pt["k"], ac["k"]) > 1.0)],
        cmd, reference={"k_one": Q(1, "", "accelerating growth means k > 1", "d")},
    ))  # fmt: skip

    tol = 0.1
    sec.claims.append(Claim(
        "C2", "eq. (15)",
        "coins received grow quadratically, x(x-1)Q/2 = O(i_m^2)",
        "exponent k = {k_pt} / {k_ac}; after {rounds} rounds mean coins are {end_pt} © "
        "against {eq15} © from eq. (15)'s one model per round in round-robin order "
        "(x{ratio}); scaled by the {n_sel} models selected per round, eq. (15) is within "
        "{corr_pct}% of the simulation",
        {**K,
         "rounds": Q(rounds_total, "rounds", smp, "d"),
         "end_pt": Q(pt["end"], "coins", f"end of {smp}, paper_text"),
         "ratio": Q(pt["ratio"], "", "measured / eq. (15), paper_text", ".0f"),
         "n_sel": Q(pt["n_sel"], "models per round", f"{smp}, paper_text", ".0f"),
         "corr_pct": Q(100 * max(abs(pt["corr"] - 1), abs(ac["corr"] - 1)), "%",
                       "both presets, worst", ".2g")},
        [Check("exponent: |k - {two}| <= {tol} in both presets",
               max(abs(pt["k"] - 2), abs(ac["k"] - 2)) <= tol),
         Check("magnitude: mean coins within a factor {fac} of eq. (15)'s {eq15} ©",
               1 / 2 <= pt["ratio"] <= 2 and 1 / 2 <= ac["ratio"] <= 2),
         Check("corrected magnitude: eq. (15) times the models selected per round within "
               "{corr_tol}% in both presets",
               max(abs(pt["corr"] - 1), abs(ac["corr"] - 1)) <= 0.05, part="correction")],
        cmd,
        reference={"two": Q(2, "", "eq. (15)", "d"), "tol": Q(tol, "", "criterion", ".2g"),
                   "fac": Q(2, "", "criterion", "d"),
                   "eq15": Q(pt["eq15"], "coins", cf + f", r = {rounds_total}, Q = {q_total}"),
                   "corr_tol": Q(5, "%", "criterion", "d")},
    ))  # fmt: skip

    zs = f"end of {smp}"
    C3 = {
        "zero_pt": Q(100 * pt["zero"], "% of participants", zs + ", paper_text", ".2g"),
        "zero_ac": Q(100 * ac["zero"], "% of participants", zs + ", authors_code", ".2g"),
        "gini_pt": Q(pt["gini"], "", zs + ", paper_text", ".2f"),
        "gini_ac": Q(ac["gini"], "", zs + ", authors_code", ".2f"),
        "rounds": Q(rounds_total, "rounds", smp, "d"),
    }
    sec.claims.append(Claim(
        "C3", "Sec. IV-B",
        "all participants have positive estimated future rewards to continue",
        "after {rounds} rounds {zero_pt}% (paper_text) and {zero_ac}% (authors_code) of "
        "participants hold no coins; Gini of coins {gini_pt} / {gini_ac}",
        C3,
        [Check("paper_text: every participant holds coins", pt["zero"] == 0),
         Check("authors_code: every participant holds coins", ac["zero"] == 0)],
        cmd,
    ))  # fmt: skip
    sec.errata.append(Erratum(
        "E9", "eq. (15)",
        "Eq. (15) assumes every participant trains in round-robin order; under rank/bid "
        "matching coins are unequal (Gini {gini_pt} paper_text, {gini_ac} authors_code after "
        "{rounds} rounds) and {zero_ac}% of participants hold no coins under authors_code "
        "({zero_pt}% under paper_text), so 'all participants have positive future rewards' "
        + _e9_verdict(pt["zero"], ac["zero"])
        + " (C3); mean coins do grow quadratically (C2).",
        "Measured (Gini, share with zero coins).", cmd, measured=C3,
    ))  # fmt: skip

    sec.claims.append(Claim(
        "C4", "Sec. IV-C, Fig. 4",
        "all participants possess models after rounds of training",
        "share holding no model at the end: {none_pt}% (paper_text) / {none_ac}% (authors_code)",
        {"none_pt": Q(stable["paper_text"]["none"], "%", zs + ", paper_text", ".2g"),
         "none_ac": Q(stable["authors_code"]["none"], "%", zs + ", authors_code", ".2g")},
        [Check("nobody is without a model at the end",
               max(v["none"] for v in stable.values()) == 0)],
        cmd,
    ))  # fmt: skip
    thr = 5.0
    sec.claims.append(Claim(
        "C5", "Sec. IV-C, Fig. 4",
        "after convergence the possession percentages of versions are stable",
        "share holding the latest version over the second half: {lat_pt}% (sd {sd_pt} "
        "points, paper_text) / {lat_ac}% (sd {sd_ac} points, authors_code)",
        {"lat_pt": Q(stable["paper_text"]["latest"], "%", half + ", paper_text"),
         "sd_pt": Q(stable["paper_text"]["sd"], "percentage points", half + ", paper_text", ".2g"),
         "lat_ac": Q(stable["authors_code"]["latest"], "%", half + ", authors_code"),
         "sd_ac": Q(stable["authors_code"]["sd"], "percentage points", half + ", authors_code",
                    ".2g")},
        [Check("per-run sd of the latest-version share below {thr} points in both presets",
               max(v["sd"] for v in stable.values()) < thr)],
        cmd, reference={"thr": Q(thr, "percentage points", "criterion", ".2g")},
    ))  # fmt: skip

    target = q_mot / (1 + p.s)
    target_pr = q_mot / (1 + p.s * p.p_train_success)
    rel = 1.0
    sec.claims.append(Claim(
        "C6", "eq. (21)",
        "trainers per round settle at `Q_MO&T/(1+s)` = {target} (s = {s})",
        "mean trainers per round over the second half: {n_pt} (runs {lo_pt}..{hi_pt}, "
        "paper_text), {n_ac} (authors_code); eq. (20) with the training success rate "
        "Pr_Training it omits gives `Q_MO&T/(1 + s Pr)` = {target_pr}",
        {"n_pt": Q(eq21["paper_text"][0], "trainers per round", half + ", paper_text", ".4g"),
         "lo_pt": Q(eq21["paper_text"][1], "trainers per round", "run means", ".3g"),
         "hi_pt": Q(eq21["paper_text"][2], "trainers per round", "run means", ".3g"),
         "n_ac": Q(eq21["authors_code"][0], "trainers per round", half + ", authors_code", ".4g")},
        [Check("within {rel}% of `Q_MO&T/(1+s)` in both presets",
               all(abs(v[0] / target - 1) < rel / 100 for v in eq21.values())),
         Check("within {rel}% of `Q_MO&T/(1 + s Pr_Training)` (E12) in both presets",
               all(abs(v[0] / target_pr - 1) < rel / 100 for v in eq21.values()),
               part="correction")],
        cmd,
        reference={"target": Q(target, "trainers per round", "eq. (21)", ".4g"),
                   "target_pr": Q(target_pr, "trainers per round", cf, ".4g"),
                   "s": Q(p.s, "", "Table III", ".2g"),
                   "rel": Q(rel, "%", "criterion", ".2g")},
    ))  # fmt: skip
    return sec


def _e9_verdict(zero_pt: float, zero_ac: float) -> str:
    ok = [name for name, z in (("the paper's text", zero_pt), ("the authors' code", zero_ac))
          if z == 0]  # fmt: skip
    if len(ok) == 2:
        return "holds under both readings"
    if not ok:
        return "holds under neither reading"
    other = "the authors' code" if ok[0] == "the paper's text" else "the paper's text"
    return f"holds for {ok[0]} but not for {other}"
