"""Eq. (21) across s: where the fixed point holds and where flooring stalls the relay (C7)."""

from __future__ import annotations

import numpy as np

from ..core import Check, Claim, Q, Section, Table, need
from ._util import records, sample, seeds_of

KEY = "eq21"
TITLE = "Eq. (21) across the selection rate s"
ORDER = 30


def run(ctx) -> Section:
    from analysis.plots import PALETTE, new_figure
    from analysis.stats import confidence_band
    from derelay.mechanism import get_mechanism
    from derelay.params import Params
    from experiments.runner import load_results

    need("derelay.model", "the ABM, issue 5")
    sec = Section(KEY, TITLE)
    spec, _ = ctx.spec("paper_eq21")
    # the swept selection rate: the spec's one axis that is a mechanism parameter
    (s,) = (a for a in spec.sweep.axes if a in get_mechanism().space.keys)
    out, cmd = ctx.sweep(
        "paper_eq21",
        quick={"replications": 1, "base.rounds": 80, f"sweep.axes.{s}": [0.3, 0.5, 0.7, 0.9]},
    )
    r = load_results(out)
    p = Params()
    q_mot = p.n_participants - p.n_miners
    pr = p.p_train_success
    rounds = int(r["round"].max())
    reps = int(r["replication"].max()) + 1
    smp = sample(reps, rounds, seeds_of(out), "per (preset, s) cell; means over the 2nd half")
    half = r[r["round"] > r["round"].max() / 2]
    per_run = half.groupby(["run_id", "preset", s])["n_trainers"].mean().reset_index()
    band = confidence_band(per_run, "n_trainers", by=("preset", s))
    fig, ax = new_figure(6.4, 4.2)
    ss = np.linspace(0.05, 0.95, 50)
    ax.plot(ss, q_mot / (1 + ss), "k--", label=f"eq. (21): {q_mot} / (1 + s)")
    ax.plot(ss, q_mot / (1 + pr * ss), "k:", label=f"with Pr_Training: {q_mot} / (1 + {pr:g} s)")
    for i, (pre, sub) in enumerate(band.groupby("preset")):
        ax.errorbar(
            sub[s], sub["mean"], yerr=[sub["mean"] - sub["lo"], sub["hi"] - sub["mean"]],
            fmt="o-", color=PALETTE[i], capsize=3, label=f"ABM, {pre}",
        )  # fmt: skip
    ax.set_xlabel("selection rate s")
    ax.set_ylabel("trainers per round, 2nd half mean")
    ax.set_title("Eq. (21) versus the simulated relay")
    ax.legend(fontsize=8)
    sec.figures += ctx.fig(fig, "eq21_trainers_vs_s")
    tab = band.assign(eq21=q_mot / (1 + band[s]), eq21_pr=q_mot / (1 + pr * band[s]))
    tab = tab[["preset", s, "mean", "lo", "hi", "eq21", "eq21_pr"]].rename(
        columns={"mean": "trainers (mean)", "lo": "95% lo", "hi": "95% hi"}
    )
    sec.tables.append(Table("", records(tab), ".3g"))
    s_half = 0.5
    ok = band[band[s] >= s_half]
    bad = band[band[s] < s_half]
    dev21 = float(np.max(np.abs(ok["mean"] / (q_mot / (1 + ok[s])) - 1))) if len(ok) else np.nan
    dev_pr = (
        float(np.max(np.abs(ok["mean"] / (q_mot / (1 + pr * ok[s])) - 1))) if len(ok) else np.nan
    )
    stall_at = 10
    stalled = bad[bad["mean"] < stall_at]
    tol = 2.0
    sec.claims.append(Claim(
        "C7", "eq. (16)-(21)",
        "for any 0 < s < 1 the number of trainers converges to `Q_MO&T/(1+s)`",
        "for s >= {s_half} the simulated relay is within {dev21}% of eq. (21) and within "
        "{dev_pr}% of `Q_MO&T/(1 + s Pr_Training)` (E12); for s < {s_half} the relay stalls "
        "(fewer than {stall_at} trainers per round) in {n_stalled} of {n_low} (preset, s) "
        "cells",
        {"dev21": Q(100 * dev21, "%", smp + ", worst cell", ".2g"),
         "dev_pr": Q(100 * dev_pr, "%", smp + ", worst cell", ".2g"),
         "n_stalled": Q(len(stalled), "cells", smp, "d"),
         "n_low": Q(len(bad), "cells", smp, "d")},
        [Check("s >= {s_half}: within {tol}% of eq. (21) in every cell", dev21 <= tol / 100),
         Check("s < {s_half}: the relay grows (no stalled cell)", len(bad) > 0 and
               len(stalled) == 0),
         Check("corrected (E12, E8): for s >= {s_half} within {tol}% of `Q_MO&T/(1 + s "
               "Pr_Training)`; for s < {s_half} flooring stalls the cold start",
               dev_pr <= tol / 100, part="correction")],
        cmd,
        reference={"s_half": Q(s_half, "", "criterion", ".2g"),
                   "tol": Q(tol, "%", "criterion", ".2g"),
                   "stall_at": Q(stall_at, "trainers per round", "criterion", "d")},
        note="With flooring (Sec. IV-A(5)) and Q_SelectionLimit an owner's trainers yield "
        "`floor(s x limit x successes)` new owners, fewer than two for small s, so a relay "
        "started by one genesis owner never grows (E8).",
    ))  # fmt: skip
    return sec
