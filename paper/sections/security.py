"""Forks and security versus the adversary's share and latency (C13), and the relay on the
simulated PoW chain (C18).

The chain's *final* blocks depend on the observer (``ChainConfig.final_rule``):
``longest`` takes the longest published chain, valid or not (a light client's view);
``honest`` takes the longest chain of valid blocks (a full node that validates).  The
same runs are measured under both; counts are per run of the spec's ``blocks`` blocks.
"""

from __future__ import annotations

from ..core import Check, Claim, Q, Section, Table
from ._util import records, sample, seeds_of, spec_value

KEY = "security"
TITLE = "Forks and security versus adversary share and latency"
ORDER = 90

COLS = ["stale_rate", "orphan_rate", "adversary_main_share", "invalid_final_blocks",
        "dishonest_orphan_rate", "max_reorg_depth"]  # fmt: skip


def run(ctx) -> Section:
    from analysis.plots import PALETTE, new_figure
    from analysis.stats import confidence_band, final_values
    from experiments.runner import load_results

    sec = Section(KEY, TITLE)
    quick = {
        "replications": 1,
        "base.blocks": 600,
        "sweep.axes.adversary": [0.0, 0.2, 0.4, 0.55],
        "sweep.axes.latency": [0.5, 5.0],
    }
    out_l, cmd_l = ctx.sweep("paper_security", quick=quick)
    # the validating observer: one replication per (α, latency) cell is all its claim
    # needs (every dishonest block orphaned, no invalid final block)
    out_h, cmd_h = ctx.sweep(
        "paper_security", quick=quick, label="paper_security_honest",
        **{"base.final_rule": "honest", "replications": 1},
    )  # fmt: skip
    rl = final_values(load_results(out_l))
    rh = final_values(load_results(out_h))
    blocks = int(spec_value(out_l, "base.blocks", 2000))
    reps = int(rl["replication"].max()) + 1
    per = f"per {blocks:,}-block run"
    smp = sample(reps, None, seeds_of(out_l), f"runs of {blocks:,} blocks per (α, latency) cell")

    # --- figure 1: natural forks and the adversary's share, α on a numeric axis --------
    fig, axes = new_figure(11, 4.2, ncols=2)
    for i, (lat, sub) in enumerate(rl.groupby("latency")):
        c = PALETTE[i % 8]
        for ax, col in ((axes[0][0], "stale_rate"), (axes[0][1], "adversary_main_share")):
            b = confidence_band(sub, col, by=("adversary",))
            ax.plot(b["adversary"], b["mean"], "o-", color=c, label=f"latency {lat:g} s")
    axes[0][1].plot([0, 1], [0, 1], "k:", linewidth=1, label="share = α (fair share)")
    axes[0][0].set(xlabel="adversary's hash share α", ylabel="stale rate (blocks orphaned)",
                   title="Natural forks grow with latency")  # fmt: skip
    axes[0][1].set(xlabel="adversary's hash share α",
                   ylabel="adversary's share of the final chain (longest rule)",
                   title="Adversary's blocks on the final chain", ylim=(-0.02, 1.02))  # fmt: skip
    for ax in axes[0]:
        ax.set_xlim(-0.02, max(0.6, float(rl["adversary"].max()) + 0.02))
        ax.legend(fontsize=7)
    sec.figures += ctx.fig(fig, "security_alpha_latency")

    # --- figure 2: invalid final blocks, both observers -------------------------------
    fig, ax = new_figure(6.8, 4.2)
    for i, (lat, sub) in enumerate(rl.groupby("latency")):
        b = confidence_band(sub, "invalid_final_blocks", by=("adversary",))
        ax.plot(b["adversary"], b["mean"], "o-", color=PALETTE[i % 8],
                label=f"longest chain, latency {lat:g} s")  # fmt: skip
    bh = confidence_band(rh, "invalid_final_blocks", by=("adversary",))
    ax.plot(bh["adversary"], bh["mean"], "s--", color="k", label="honest (validating) observer, "
            "every latency")  # fmt: skip
    ax.axvline(0.5, color="0.5", linestyle=":", linewidth=1)
    ax.set_yscale("symlog", linthresh=1)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("adversary's hash share α")
    ax.set_ylabel(f"invalid blocks that became final ({per})")
    ax.set_title("Invalid final blocks: a light client's view versus a validating node")
    ax.legend(fontsize=7)
    sec.figures += ctx.fig(fig, "security_invalid_final_vs_alpha")

    def table(df):
        return records(df.groupby(["adversary", "latency"])[[c for c in COLS if c in df]]
                       .mean().reset_index())  # fmt: skip

    sec.tables += [
        Table(f"Observer `final_rule = longest` (means {per})", table(rl), ".3g"),
        Table(f"Observer `final_rule = honest` (means {per})", table(rh), ".3g"),
    ]
    half = 0.5
    fast_lat = 1.0
    below_l, below_h = rl[rl["adversary"] < half], rh[rh["adversary"] < half]
    above_l = rl[rl["adversary"] > half]
    fast = below_l[below_l["latency"] <= fast_lat]
    slow = below_l[below_l["latency"] > fast_lat]
    bad_fast = fast[fast["invalid_final_blocks"] > 0]
    bad_slow = slow[slow["invalid_final_blocks"] > 0]
    safe = (
        float(fast["adversary"].max())
        if bad_fast.empty
        else float(fast[fast["adversary"] < bad_fast["adversary"].min()]["adversary"].max())
    )
    a_fast = float(bad_fast["adversary"].min()) if len(bad_fast) else float("nan")
    a_slow = float(bad_slow["adversary"].min()) if len(bad_slow) else float("nan")
    k = int(rl["confirmation_depth"].iloc[0]) if "confirmation_depth" in rl else 6
    honest_stale = rl[rl["adversary"] == 0].groupby("latency")["stale_rate"].mean()
    nan = float("nan")

    def mean_at(df, alpha, lat_ok):
        s = df[(df["adversary"] == alpha) & lat_ok(df["latency"])]["invalid_final_blocks"]
        return float(s.mean()) if len(s) else nan

    meas = {
        "safe": Q(safe, "", smp + ", latency <= 1 s", ".2g"),
        "a_fast": Q(a_fast, "", smp, ".2g"),
        "inv_fast": Q(
            mean_at(rl, a_fast, lambda x: x <= fast_lat),
            "invalid final blocks",
            per + ", longest rule, latency <= 1 s",
            ".3g",
        ),
        "a_slow": Q(a_slow, "", smp, ".2g"),
        "inv_slow": Q(
            mean_at(rl, a_slow, lambda x: x > fast_lat),
            "invalid final blocks",
            per + ", longest rule, latency > 1 s",
            ".3g",
        ),
        "stale_max": Q(
            100 * float(honest_stale.max()), "% of honest blocks", smp + ", α = 0", ".2g"
        ),
        "inv_above": Q(
            float(above_l["invalid_final_blocks"].mean()) if len(above_l) else nan,
            "invalid final blocks",
            per + ", longest rule, α > 1/2",
            ".3g",
        ),
        "inv_honest": Q(
            int(below_h["invalid_final_blocks"].sum()),
            "invalid final blocks",
            "all α < 1/2 cells, honest rule, summed over runs",
            "d",
        ),
        "orph_honest": Q(
            100 * float(below_h[below_h["adversary"] > 0]["dishonest_orphan_rate"].mean())
            if "dishonest_orphan_rate" in below_h
            else nan,
            "% of dishonest blocks",
            "α in (0, 1/2), honest rule",
            ".3g",
        ),
        "blocks": Q(blocks, "blocks per run", "spec", "d"),
        "k": Q(k, "confirmations", "ChainConfig.confirmation_depth", "d"),
    }
    sec.claims.append(Claim(
        "C13", "Sec. III-C2 (forking), Sec. V-A",
        "honest participants fork dishonest blocks away; only a 51% attacker can change the "
        "chain",
        "validating observer (final_rule honest): {inv_honest} invalid final blocks for "
        "α < {half} and {orph_honest}% of dishonest blocks orphaned; longest-chain observer "
        "(light client, the default): none for α <= {safe} at latency <= {fast_lat} s"
        + (", but {inv_fast} per {blocks}-block run from α = {a_fast} (a minority adversary "
           "still overtakes k = {k} confirmations now and then)" if len(bad_fast) else "")
        + (", {inv_slow} per run at α = {a_slow} and latency > {fast_lat} s (honest miners "
           "alone lose up to {stale_max}% of their blocks to natural forks there)"
           if len(bad_slow) else "")
        + ", {inv_above} per run for α > {half}",
        meas,
        [Check("longest-chain observer: no invalid block becomes final while α < {half}",
               int(below_l["invalid_final_blocks"].sum()) == 0, "chain"),
         Check("an adversary with α > {half} does make invalid blocks final (longest rule)",
               len(above_l) > 0 and float(above_l["invalid_final_blocks"].mean()) > 0, "chain"),
         Check("for a validating observer every dishonest block is forked away while "
               "α < {half} (invalid blocks are never final under its rule)",
               int(below_h["invalid_final_blocks"].sum()) == 0
               and float(below_h[below_h["adversary"] > 0]["dishonest_orphan_rate"].min()) == 1.0,
               "chain", part="correction")],
        f"{cmd_l} ; {cmd_h}",
        reference={"half": Q(half, "", "the paper's honest majority", ".2g"),
                   "fast_lat": Q(fast_lat, "s", "criterion", ".2g")},
        note="Which blocks are final depends on who looks: a node that validates blocks "
        "never accepts an invalid one (that is its rule; what the runs show is that every "
        "dishonest block is orphaned); a light client "
        "that follows the longest published chain does, when a minority adversary wins a "
        "race of k confirmations or when slow propagation splits the honest miners.",
    ))  # fmt: skip

    out2, cmd2 = ctx.sweep("paper_abm_chain", quick={"replications": 1, "base.rounds": 40})
    a = load_results(out2)
    lat = "chain_config.latency"
    tail = a[a["round"] > a["round"].max() / 2]
    per_run = tail.groupby([lat, "run_id"])[["forks", "n_selected"]].mean().reset_index()
    last = a[a["round"] == a["round"].max()].groupby(lat)["latest_version"].mean()
    rounds = int(a["round"].max())
    fig, ax = new_figure(6.8, 4.2)
    b = per_run.groupby(lat)["forks"].agg(["mean", "min", "max"])
    ax.errorbar(
        b.index, b["mean"], yerr=[b["mean"] - b["min"], b["max"] - b["mean"]],
        fmt="o-", color=PALETTE[0], capsize=3, label="orphaned blocks per round",
    )  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("mean per-hop latency (s, log scale)")
    ax.set_ylabel("orphaned blocks per relay round (2nd half mean)")
    ax2 = ax.twinx()
    ax2.plot(last.index, last.to_numpy(), "s--", color=PALETTE[1],
             label="model version at the last round")  # fmt: skip
    ax2.set_ylabel("latest model version at the last round")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper left")
    ax.set_title("The relay on the simulated PoW chain")
    sec.figures += ctx.fig(fig, "abm_chain_forks_vs_latency")
    reps2 = int(a["replication"].max()) + 1
    s2 = sample(reps2, rounds, seeds_of(out2), "per latency")
    gained_all = bool(last.min() >= rounds)
    sec.claims.append(Claim(
        "C18", "Sec. V-B (forking), Sec. IV-A(4)-(5)",
        "forks are resolved by honest participants without harming the relay",
        "in the ABM on the simulated chain, orphaned blocks per round rise from {lo} "
        "(latency {lat_lo} s) to {hi} ({lat_hi} s); the final model version is "
        "{v_min}..{v_max} after {rounds} rounds",
        {"lo": Q(float(b["mean"].iloc[0]), "orphaned blocks per round", s2, ".3g"),
         "hi": Q(float(b["mean"].iloc[-1]), "orphaned blocks per round", s2, ".3g"),
         "lat_lo": Q(float(b.index[0]), "s", "spec", ".2g"),
         "lat_hi": Q(float(b.index[-1]), "s", "spec", ".2g"),
         "v_min": Q(float(last.min()), "model versions", s2, ".0f"),
         "v_max": Q(float(last.max()), "model versions", s2, ".0f"),
         "rounds": Q(rounds, "rounds", s2, "d")},
        [Check("the relay gains one model version per round at every latency",
               gained_all, "simulation")],
        cmd2,
    ))  # fmt: skip
    return sec
