"""Real learning per relay step; relay vs federated vs centralised (C14, C17)."""

from __future__ import annotations

from ..core import Check, Claim, Q, Section, Table
from ._util import band, sample, seeds_of

KEY = "learning"
TITLE = "Real learning per relay step; relay vs federated vs centralised"
ORDER = 100

METHODS = (
    ("relay_best_accuracy", "relay", "relay (DeRelayL, best selected model)"),
    ("fedavg_accuracy", "fedavg", "federated averaging"),
    ("central_accuracy", "central", "centralised"),
)


def run(ctx) -> Section:
    from analysis.plots import PALETTE, new_figure
    from derelay.formal.deviations import lazy as lazy_search
    from experiments.runner import load_results

    sec = Section(KEY, TITLE)
    out, cmd = ctx.sweep(
        "paper_learning",
        quick={"replications": 1, "base.rounds": 10, "sweep.axes.lazy_share": [0.3]},
    )
    r = load_results(out)
    shares = sorted(r["lazy_share"].unique())
    rounds = int(r["round"].max())
    reps = int(r["replication"].max()) + 1
    smp0 = sample(reps, rounds, seeds_of(out), f"lazy share {shares[0]:g}, last round")
    fig, axes = new_figure(5.5 * len(shares), 4.0, ncols=len(shares))
    rows = []
    final: dict[tuple[float, str], float] = {}
    for ax, ls in zip(axes[0], shares, strict=True):
        sub = r[r["lazy_share"] == ls]
        for i, (col, short, name) in enumerate(METHODS):
            if col not in sub.columns or sub[col].isna().all():
                continue
            b = band(sub.dropna(subset=[col]), col, clip=(0.0, 1.0))
            ax.plot(b["round"], 100 * b["mean"], color=PALETTE[i], label=name)
            ax.fill_between(b["round"], 100 * b["lo"], 100 * b["hi"], color=PALETTE[i],
                            alpha=0.2, lw=0)  # fmt: skip
            last = sub[sub["round"] == sub["round"].max()]
            final[(ls, short)] = 100 * float(last[col].mean())
            rows.append({"lazy share": ls, "method": name,
                         "final accuracy (%)": final[(ls, short)]})  # fmt: skip
        ax.set_xlabel("round (relay step)")
        ax.set_ylabel("held-out accuracy (%)")
        ax.set_title(f"lazy trainers: {100 * ls:.0f}%")
        ax.legend(fontsize=7)
    sec.figures += ctx.fig(fig, "learning_relay_fedavg_central")
    gain = (r[r["lazy_share"] == shares[0]].groupby("run_id")["relay_best_accuracy"]
            .agg(["first", "last"]))  # fmt: skip
    sec.intro = (
        "Torch MLP on scikit-learn digits, {rounds} rounds, {reps} replication(s); same "
        "shards, trainers and budget for all three methods (derelay.learning.experiment)."
    )
    sec.values = {"rounds": Q(rounds, "rounds", "spec", "d"), "reps": Q(reps, "runs", "spec", "d")}
    sec.tables.append(Table("", rows, ".3g"))
    improved = bool((gain["last"] > gain["first"]).all())
    pct = "% held-out accuracy"
    s0 = shares[0]
    sec.claims.append(Claim(
        "C14", "Sec. III (relay learning)",
        "relayed training improves the shared model round after round",
        "with {lazy0}% lazy trainers, relay accuracy rises from {first}% to {last}% in "
        "{rounds} rounds; at the last round relay {relay}%, federated averaging {fedavg}%, "
        "centralised {central}%",
        {"lazy0": Q(100 * s0, "% of trainers", "spec", ".2g"),
         "first": Q(100 * float(gain["first"].mean()), pct, smp0.replace("last", "first"), ".3g"),
         "last": Q(100 * float(gain["last"].mean()), pct, smp0, ".3g"),
         "rounds": Q(rounds, "rounds", "spec", "d"),
         "relay": Q(final.get((s0, "relay"), float("nan")), pct, smp0, ".3g"),
         "fedavg": Q(final.get((s0, "fedavg"), float("nan")), pct, smp0, ".3g"),
         "central": Q(final.get((s0, "central"), float("nan")), pct, smp0, ".3g")},
        [Check("the relay's accuracy at the last round exceeds the first in every run",
               improved, "learning")],
        cmd,
    ))  # fmt: skip

    lazy_rows = r[r["lazy_share"] > 0]
    if len(lazy_rows) and "lazy_submitted" in lazy_rows.columns:
        ls, lsub = int(lazy_rows["lazy_selected"].sum()), int(lazy_rows["lazy_submitted"].sum())
        hs, hsub = int(lazy_rows["honest_selected"].sum()), int(lazy_rows["honest_submitted"].sum())
        p_lazy = ls / lsub if lsub else float("nan")
        p_honest = hs / hsub if hsub else float("nan")
        late = lazy_rows[lazy_rows["round"] > lazy_rows["round"].max() / 2]
        p_late = (late["lazy_selected"].sum() / late["lazy_submitted"].sum()
                  if late["lazy_submitted"].sum() else float("nan"))  # fmt: skip
        _, info = lazy_search(None, None, "scaled", 10.0)
        p_star = float(info["p_star"])
        share = float(sorted(lazy_rows["lazy_share"].unique())[0])
        sl = sample(reps, rounds, seeds_of(out), f"lazy share {share:g}, pooled over rounds")
        sec.claims.append(Claim(
            "C17", "Sec. III-C2 (T7), Step 9 (ranking)",
            "a Not-Training trainer cannot pass off the received model: ranking on test cases "
            "and the deposit make laziness unprofitable",
            "with real training, lazy submissions (parent + white noise) reach the top share "
            "{p_lazy}% of the time ({ls} of {lsub}) against {p_honest}% for honest ones "
            "({p_late}% over the second half of the rounds); the solver's break-even is "
            "p* = {p_star} (laziness pays iff p > p*)",
            {"p_lazy": Q(100 * p_lazy, "% of lazy submissions", sl, ".2g"),
             "ls": Q(ls, "submissions", sl, "d"), "lsub": Q(lsub, "submissions", sl, "d"),
             "p_honest": Q(100 * p_honest, "% of honest submissions", sl, ".2g"),
             "p_late": Q(100 * p_late, "% of lazy submissions", sl + ", second half", ".2g"),
             "p_star": Q(p_star, "probability", "exact solver break-even at the defaults",
                         ".3f")},
            [Check("lazy submissions are selected less often than the break-even p*",
                   p_lazy <= p_star, "learning")],
            f"{cmd} ; derelay deviations --scope lazy",
        ))  # fmt: skip
    return sec
