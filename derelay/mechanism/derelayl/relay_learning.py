"""DeRelayL's relay learning vs federated averaging vs centralised training, and calibration.

Part of DeRelayL's plug-in (its relay schedule, its Table III parameters, its calibration
of (c) and of the closed form's C4); :mod:`derelay.learning.experiment` is the same module
under its old name.  Built on the generic torch primitives of :mod:`derelay.learning`.

:func:`run_comparison` drives a self-contained relay schedule (Section IV-A steps
(1)-(5) without the coin economy, which lives in :mod:`derelay.model`) on the real
:class:`~derelay.learning.TorchBackend` and, on the *same* shards, the same trainers
and the same budget, two baselines:

* **FedAvg** (McMahan et al., 2017): each round the very participants who trained in
  the relay round (same ids, same success draws, same lazy types, same minibatch
  streams) start from the global model, train ``tau`` local steps, and the server
  averages the submitted models weighted by shard size.  Lazy clients submit the
  global model plus the same white noise; failed clients submit nothing.
* **Centralised**: one model trained on the union of all shards (plus the published
  test cases when they are reusable).  ``central_budget="compute"`` gives it the
  relay round's total number of local steps (tau x honest trainers) per round;
  ``"steps"`` gives it tau steps whose minibatch is that many times larger (same
  samples, same sequential depth as one relay step).

Relay schedule
--------------
Round 1: the genesis initiator (participant 0) is the only model owner (MO).  Each
round, the MOs are the previous round's selected trainers, ordered by their rank; of
the other participants ``n_miners`` are drawn as miners and the rest are candidate
trainers, shuffled and matched greedily: the first MO takes the first
``selection_limit`` trainers, and so on (Section IV-A (3); the deposit auction is
abstracted as a random order).  A trainer succeeds with probability
``p_train_success``; ``lazy_share`` of participants are persistently lazy (NTr)
types.  The SBM selects floor(s x eligible) models (:meth:`RoundLearning.select_top`);
if none is selected the MOs carry over.  All counts default to ``Params`` (Table III).

Calibration
-----------
:func:`calibrate` turns a run into inputs of the closed form: © is the measured
held-out accuracy gain of a selected model over its parent (one relay step = one
version), in percentage points, times ``coin_per_point`` (default 1 © per point;
the paper's unit is "the value of the knowledge gap between two adjacent model
versions", Section III-C, eqs. (8), (13), (30)); ``lazy_top_s_rate`` is the pooled
probability that a submitted lazy model is selected.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from derelay.learning.backend import RoundLearning, TorchBackend, round_metrics
from derelay.learning.config import LearningConfig, learning_config
from derelay.learning.data import TAG_SCHEDULE, build_data
from derelay.learning.model import evaluate
from derelay.learning.train import sample_batches, train_batched

TAG_CENTRAL = 7


def learning_config_from_params(params: Any, **overrides: Any) -> LearningConfig:
    """A :class:`~derelay.learning.LearningConfig` whose ``q_cases`` (Table III's Q_Cases,
    the test cases the TBM publishes) and ``s`` (the selection share) come from DeRelayL's
    :class:`derelay.params.Params` (one source of truth), unless ``overrides`` set them."""
    base = {"q_cases": int(params.q_cases), "s": float(params.s)}
    return learning_config(**{**base, **overrides})


METHODS = ("relay", "fedavg", "central")


@dataclass(frozen=True)
class Schedule:
    """Who trains in each relay round (defaults: Table III via ``Params``)."""

    n_participants: int = 256
    n_miners: int = 128
    selection_limit: int = 4
    p_train_success: float = 0.9
    s: float = 0.5
    lazy_share: float = 0.0

    @classmethod
    def from_params(cls, params: Any = None, lazy_share: float = 0.0) -> Schedule:
        from derelay.params import Params

        p = params or Params()
        return cls(
            n_participants=int(p.n_participants),
            n_miners=int(p.n_miners),
            selection_limit=int(p.selection_limit),
            p_train_success=float(p.p_train_success),
            s=float(p.s),
            lazy_share=float(lazy_share),
        )

    def validate(self) -> None:
        if self.n_participants < 2:
            raise ValueError(f"n_participants={self.n_participants} must be >= 2")
        if not 0 <= self.n_miners < self.n_participants - 1:
            raise ValueError(
                f"n_miners={self.n_miners} must satisfy 0 <= n_miners < n_participants - 1 "
                f"= {self.n_participants - 1}"
            )
        if self.selection_limit < 1:
            raise ValueError(f"selection_limit={self.selection_limit} must be >= 1")
        if not 0 < self.p_train_success <= 1:
            raise ValueError(f"p_train_success={self.p_train_success} must be in (0, 1]")
        if not 0 < self.s < 1:
            raise ValueError(f"s={self.s} must satisfy 0 < s < 1")
        if not 0 <= self.lazy_share <= 1:
            raise ValueError(f"lazy_share={self.lazy_share} must satisfy 0 <= lazy_share <= 1")


@dataclass
class ComparisonResult:
    """Accuracy-vs-round tables of the methods run, plus metadata."""

    rounds: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    relay_rounds: list[RoundLearning] = field(default_factory=list, repr=False)
    models: pd.DataFrame | None = None

    def summary(self) -> dict[str, Any]:
        r = self.rounds
        out: dict[str, Any] = {"rounds": int(len(r))}
        for col in ("relay_best_accuracy", "fedavg_accuracy", "central_accuracy"):
            if col in r and len(r):
                out[f"final_{col}"] = float(r[col].iloc[-1])
                out[f"max_{col}"] = float(r[col].max())
        if len(r):
            ls, lsub = int(r["lazy_selected"].sum()), int(r["lazy_submitted"].sum())
            hs, hsub = int(r["honest_selected"].sum()), int(r["honest_submitted"].sum())
            out["lazy_submitted"], out["lazy_selected"] = lsub, ls
            out["lazy_top_s_rate"] = ls / lsub if lsub else math.nan
            out["honest_top_s_rate"] = hs / hsub if hsub else math.nan
            out["mean_gain"] = (
                float(np.nanmean(r["mean_gain"])) if r["mean_gain"].notna().any() else math.nan
            )
            out["mean_trainers"] = float(r["n_trainers"].mean())
        return out


def run_comparison(
    cfg: LearningConfig,
    rounds: int,
    seed: int = 0,
    schedule: Schedule | None = None,
    methods: tuple[str, ...] = METHODS,
    central_budget: Literal["compute", "steps"] = "compute",
    trainer: Literal["batched", "looped"] = "batched",
    keep_rounds: bool = False,
    progress: Any = None,
) -> ComparisonResult:
    """Run relay learning (always; it defines who trains) and the chosen baselines."""
    schedule = schedule or Schedule()
    schedule.validate()
    if rounds < 1:
        raise ValueError(f"rounds={rounds} must be >= 1")
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ValueError(f"unknown method(s) {bad}; choose from {list(METHODS)}")
    t_start = time.perf_counter()
    n = schedule.n_participants
    data = build_data(cfg, n, seed)
    relay = TorchBackend(cfg, n, seed, data=data)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(TAG_SCHEDULE,)))
    lazy_type = np.zeros(n, dtype=bool)
    n_lazy = int(round(schedule.lazy_share * n))
    lazy_type[rng.permutation(n)[:n_lazy]] = True

    g = relay.genesis()
    owners = np.array([g])
    owner_who = np.array([0])
    fed = TorchBackend(cfg, n, seed, data=data) if "fedavg" in methods else None
    fed_global = fed.genesis() if fed else None
    central = relay.parameters(g).clone()[None] if "central" in methods else None
    union = data.train_union()
    X_eval, y_eval = data.X[data.eval_idx], data.y[data.eval_idx]
    rows, kept, model_rows = [], [], []
    best_so_far = relay.best_accuracy(g)
    acc0 = best_so_far
    timing = {"relay": 0.0, "fedavg": 0.0, "central": 0.0}
    for r in range(1, rounds + 1):
        t0 = time.perf_counter()
        # Roles: MOs are last round's selected trainers; miners drawn from the rest.
        others = np.setdiff1d(np.arange(n), owner_who)
        perm = rng.permutation(others)
        cands = perm[schedule.n_miners :]
        cap = schedule.selection_limit * len(owners)
        trainers = cands[:cap]
        k = len(trainers)
        parents = np.repeat(owners, schedule.selection_limit)[:k]
        succ = rng.random(k) < schedule.p_train_success
        lazy = lazy_type[trainers]
        res = relay.train_round(r, parents, trainers, lazy, succ, trainer=trainer)
        sel = res.select_top(schedule.s)
        m = round_metrics(res, sel, relay)
        order = [i for i in res.rank_order() if sel[i]]
        old = owners
        if order:
            owners = res.model_ids[order]
            owner_who = trainers[order]
        relay.release([x for x in res.model_ids if x >= 0 and x not in set(owners.tolist())])
        relay.release([x for x in old if x not in set(owners.tolist())])
        if not np.isnan(m["best_accuracy"]):
            best_so_far = max(best_so_far, m["best_accuracy"])
        t1 = time.perf_counter()
        timing["relay"] += t1 - t0
        row = {
            "round": r,
            "n_owners": len(old),
            "n_trainers": k,
            "relay_best_accuracy": m["best_accuracy"],
            "relay_best_accuracy_so_far": best_so_far,
            "relay_owner_mean_accuracy": float(np.mean(relay.eval_accuracy(owners))),
            **{k_: v for k_, v in m.items() if k_ != "best_accuracy"},
        }
        # FedAvg over the same participants, success draws, lazy types and batches.
        if fed is not None:
            fres = fed.train_round(r, np.full(k, fed_global), trainers, lazy, succ, trainer=trainer)
            sub = np.flatnonzero(fres.submitted)
            if len(sub):
                w = data.train_sizes()[trainers[sub]].astype(np.float64)
                old_global = fed_global
                (fed_global,) = fed.average([fres.model_ids[sub]], [w], parents=[old_global])
                fed.release(fres.model_ids[sub])
                fed.release([old_global])
            row["fedavg_accuracy"] = fed.best_accuracy(fed_global)
            t2 = time.perf_counter()
            timing["fedavg"] += t2 - t1
            t1 = t2
        # Centralised: union of shards (+ published cases), same budget.
        if central is not None:
            honest_k = max(int((succ & ~lazy).sum()), 1)
            pool = union
            pub = relay.public_pool(r)
            if len(pub):
                pool = np.concatenate([union, pub])
            crng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(TAG_CENTRAL, r)))
            if central_budget == "compute":
                b = sample_batches([pool], cfg.tau * honest_k, cfg.batch_size, [crng])
            else:
                b = sample_batches([pool], cfg.tau, cfg.batch_size * honest_k, [crng])
            central = train_batched(relay.spec, central, data.X, data.y, b, cfg)
            row["central_accuracy"] = float(evaluate(relay.spec, central, X_eval, y_eval)[0][0])
            timing["central"] += time.perf_counter() - t1
        rows.append(row)
        model_rows.append(models_frame(res, sel))
        if keep_rounds:
            kept.append(res)
        if progress is not None:
            progress(r, row)
    table = pd.DataFrame(rows)
    meta = {
        "seed": seed,
        "rounds": rounds,
        "methods": list(methods),
        "central_budget": central_budget,
        "trainer": trainer,
        "config": cfg.model_dump(mode="json"),
        "schedule": schedule.__dict__,
        "n_params": relay.n_params,
        "model": cfg.model,
        "dataset": cfg.dataset,
        "device": cfg.device,
        "n_samples": int(len(data.y_np)),
        "n_shards": data.n_shards,
        "shard_size_mean": float(data.shard_sizes().mean()),
        "shard_size_min": int(data.shard_sizes().min()),
        "train_size_mean": float(data.train_sizes().mean()),
        "val_size_mean": float((data.shard_sizes() - data.train_sizes()).mean()),
        "genesis_accuracy": acc0,
        "seconds": {k: round(v, 4) for k, v in timing.items() if k == "relay" or k in methods},
        "seconds_total": round(time.perf_counter() - t_start, 4),
        "torch_threads": torch.get_num_threads(),
    }
    models = pd.concat(model_rows, ignore_index=True) if model_rows else None
    return ComparisonResult(rounds=table, meta=meta, relay_rounds=kept, models=models)


def models_frame(res: RoundLearning, selected: np.ndarray) -> pd.DataFrame:
    """One row per trainer of a round: who, from which parent, lazy/failed, the model's
    test-case accuracy, loss, gain over the parent, rank (1 = best), selection, hash."""
    return pd.DataFrame(
        {
            "round": res.round_index,
            "trainer": res.trainer_ids,
            "parent_model": res.parent_ids,
            "model": res.model_ids,
            "lazy": res.lazy,
            "succeeded": res.succeeded,
            "performance": res.performance,
            "loss": res.loss,
            "gain": res.gain,
            "parent_performance": res.parent_performance,
            "rank": res.ranks(),
            "selected": np.asarray(selected, dtype=bool),
            "hash_changed": res.hash_changed,
            "hash": [h or "" for h in res.hashes],
        }
    )


def wilson_interval(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion k/n (95 % by default)."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


def lazy_closed_form(params: Any, p_hat: float) -> dict[str, Any] | None:
    """C4 in closed form at a measured lucky rate (uses DeRelayL's :mod:`.formal.deviations`).

    ``lazy_gain`` (U_lazy - U^T_N, built on eqs. (30), (31), (35)) is affine in the
    lucky probability, so the break-even ``p_star`` is its root.  Both citation
    readings of the formal part are reported.  ``None`` if ``p_hat`` is undefined.
    """
    if not math.isfinite(p_hat):
        return None
    # the old name: importing derelay.mechanism.derelayl.formal.deviations first fails
    # (derelay.formal's __init__ imports it back through derelay.formal.symbolic)
    from derelay.formal.deviations import lazy_gain
    from derelay.params import as_values

    pv = as_values(params)
    out: dict[str, Any] = {"lazy_p": p_hat}
    for reading in ("scaled", "unscaled"):
        g0, g1 = float(lazy_gain(pv, 0.0, reading)), float(lazy_gain(pv, 1.0, reading))
        gain = float(lazy_gain(pv, p_hat, reading))
        slope = g1 - g0
        p_star = -g0 / slope if slope != 0 else None
        out[reading] = {
            "lazy_gain_at_p": gain,
            "p_star": p_star,
            "lazy_pays": gain > 0,
        }
    return out


def calibrate(
    result: ComparisonResult,
    params: Any = None,
    coin_per_point: float = 1.0,
    skip_rounds: int = 0,
    model_size_from_net: bool = False,
) -> dict[str, Any]:
    """Inputs of the closed form and the solver's lazy-deviation search, measured.

    * ``gain_per_step_pp``: mean over rounds ``> skip_rounds`` and over every selected
      model of its held-out accuracy minus its parent's, in percentage points (one
      relay step adds one version, so this is the measured value of a version gap).
    * ``coin`` = ``coin_per_point`` x ``gain_per_step_pp`` (© per version).  The paper
      assumes © constant; ``gain_by_half`` shows how far that holds (learning curves
      flatten, Section V's "model size dilemma").  If the gain is not positive © is
      reported but ``params`` is ``None`` (the closed form needs © > 0).
    * ``lazy_top_s_rate``: pooled share of submitted lazy models that were selected,
      with a 95 % Wilson interval; ``honest_top_s_rate`` for comparison.
    * ``params``: ``params`` (default ``Params()``) with ``coin`` replaced, and
      ``check``: its failing conditions / IR / IC (``derelay check``).
    * ``model_size_from_net``: also set |M| (``model_size``, eqs. (7), (8), (10),
      (12), (14)) to the parameter count of the MLP actually trained.
    * ``closed_form_lazy``: the solver's C4 reading at the calibrated point
      (:func:`lazy_closed_form`): the lazy trainer's gain over Normal at the measured
      p and the break-even luck p*.  Pass ``lazy_top_s_rate`` to
      ``derelay deviations --scope lazy --lazy-p P --params calibrated.json``.
    """
    from derelay.params import Params, ParamsError, params_from_mapping

    if not coin_per_point > 0 or not math.isfinite(coin_per_point):
        raise ValueError(f"coin_per_point={coin_per_point} must be a positive finite number")
    r = result.rounds
    if skip_rounds < 0 or skip_rounds >= len(r):
        raise ValueError(
            f"skip_rounds={skip_rounds} must satisfy 0 <= skip_rounds < rounds={len(r)}"
        )
    w = r[r["round"] > skip_rounds]
    sel = w["n_selected"].to_numpy()
    g = w["mean_eval_gain"].to_numpy()
    ok = (sel > 0) & np.isfinite(g)
    gain = float(np.sum(g[ok] * sel[ok]) / np.sum(sel[ok])) if ok.any() else math.nan
    half = len(w) // 2
    halves = []
    for part in (w.iloc[:half], w.iloc[half:]):
        s_, g_ = part["n_selected"].to_numpy(), part["mean_eval_gain"].to_numpy()
        o = (s_ > 0) & np.isfinite(g_)
        halves.append(float(100 * np.sum(g_[o] * s_[o]) / np.sum(s_[o])) if o.any() else math.nan)
    lazy_halves = []
    for part in (w.iloc[:half], w.iloc[half:]):
        k_, n_ = int(part["lazy_selected"].sum()), int(part["lazy_submitted"].sum())
        lazy_halves.append(k_ / n_ if n_ else math.nan)
    ls, lsub = int(w["lazy_selected"].sum()), int(w["lazy_submitted"].sum())
    hs, hsub = int(w["honest_selected"].sum()), int(w["honest_submitted"].sum())
    base = params or Params()
    coin = coin_per_point * 100.0 * gain
    out: dict[str, Any] = {
        "coin": coin,
        "lazy_top_s_rate": ls / lsub if lsub else math.nan,
        "lazy_top_s_ci95": list(wilson_interval(ls, lsub)),
        "lazy_submitted": lsub,
        "lazy_selected": ls,
        "lazy_top_s_rate_by_half": lazy_halves,
        "honest_top_s_rate": hs / hsub if hsub else math.nan,
        "honest_top_s_ci95": list(wilson_interval(hs, hsub)),
        "gain_per_step_pp": 100.0 * gain,
        "gain_by_half_pp": halves,
        "test_case_gain_pp": 100.0 * float(np.nanmean(w["mean_gain"]))
        if w["mean_gain"].notna().any()
        else math.nan,
        "coin_per_point": coin_per_point,
        "n_params": result.meta.get("n_params"),
        "s": float(base.s),
        "rounds_used": int(len(w)),
        "skip_rounds": skip_rounds,
        "mapping": "coin = coin_per_point * (mean held-out accuracy gain of a selected model over its parent, in percentage points)",
        "params": None,
        "check": None,
    }
    if math.isfinite(coin) and coin > 0:
        try:
            update = {"coin": coin}
            if model_size_from_net and "n_params" in result.meta:
                update["model_size"] = float(result.meta["n_params"])
            p = params_from_mapping({**base.model_dump(), **update})
        except ParamsError as exc:  # pragma: no cover - coin > 0 is in the domain
            out["params_error"] = str(exc)
        else:
            from derelay.check import check_point

            out["params"] = p.model_dump()
            chk = check_point(p)
            out["check"] = {"failing": chk["failing"], "ir": chk["ir"], "ic": chk["ic"]}
            out["closed_form_lazy"] = lazy_closed_form(p, out["lazy_top_s_rate"])
    else:
        out["params_error"] = (
            f"measured gain per step {out['gain_per_step_pp']:.4g} pp is not positive: "
            "coin must be > 0 for the closed form"
        )
    return out


def lazy_noise_sweep(
    cfg: LearningConfig,
    noises: list[float],
    rounds: int,
    seed: int = 0,
    schedule: Schedule | None = None,
    skip_rounds: int = 0,
) -> pd.DataFrame:
    """The lucky-lazy rate as a function of the white-noise scale (challenge C4).

    One relay-only run per noise scale with the same seed (so the same roles, shards,
    success draws and honest minibatch streams); rows report the pooled lazy and honest
    top-s rates with 95 % Wilson intervals, the mean relative rank of lazy models
    (0 = best) and the final relay accuracy.  Rounds ``<= skip_rounds`` are left out of
    the rates.
    """
    schedule = schedule or Schedule(lazy_share=0.2)
    if schedule.lazy_share <= 0:
        raise ValueError("lazy_share must be > 0 for a lazy-noise sweep")
    rows = []
    for noise in noises:
        c = cfg.model_copy(update={"lazy_noise": float(noise)})
        res = run_comparison(c, rounds, seed=seed, schedule=schedule, methods=("relay",))
        r = res.rounds[res.rounds["round"] > skip_rounds]
        ls, lsub = int(r["lazy_selected"].sum()), int(r["lazy_submitted"].sum())
        hs, hsub = int(r["honest_selected"].sum()), int(r["honest_submitted"].sum())
        lo, hi = wilson_interval(ls, lsub)
        rows.append(
            {
                "lazy_noise": float(noise),
                "lazy_noise_mode": cfg.lazy_noise_mode,
                "lazy_top_s_rate": ls / lsub if lsub else math.nan,
                "lazy_ci_low": lo,
                "lazy_ci_high": hi,
                "honest_top_s_rate": hs / hsub if hsub else math.nan,
                "mean_lazy_rank_pct": float(np.nanmean(r["mean_lazy_rank_pct"]))
                if r["mean_lazy_rank_pct"].notna().any()
                else math.nan,
                "lazy_submitted": lsub,
                "final_relay_best_accuracy": float(
                    res.rounds["relay_best_accuracy_so_far"].iloc[-1]
                ),
            }
        )
    return pd.DataFrame(rows)


#: Settings of :func:`laziness_at_scale`: C17 as published (digits partitioned over 256
#: participants, ~4 samples each, no validation split) and three realistic shard sizes.
LAZINESS_SETTINGS: dict[str, dict[str, Any]] = {
    "digits_tiny_published": {"val_share": 0.0},
    "digits_125_sampled": {"shard_size": 125},
    "digits_125_sampled_iid": {"shard_size": 125, "partition": "iid"},
    "mnist_125_sampled": {"dataset": "mnist", "shard_size": 125},
    "mnist_125_sampled_iid": {"dataset": "mnist", "shard_size": 125, "partition": "iid"},
    "mnist_24_disjoint_shards": {"dataset": "mnist", "population": 24},
}


def laziness_at_scale(
    settings: dict[str, dict[str, Any]] | None = None,
    rounds: int = 30,
    lazy_share: float = 0.3,
    seeds: tuple[int, ...] = (0, 1, 2),
    schedule: Schedule | None = None,
    base: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Re-measure C17 (lazy models reach the top share more often than honest ones) at
    several shard sizes: one relay-only :func:`run_comparison` per setting with the same
    schedule (Table III: 256 participants, 128 miners, selection limit 4, p = 0.9,
    s = 0.5), ``lazy_share`` lazy (NTr) types and the default white noise (1e-3); counts
    are pooled over ``seeds`` (the published C17 pooled 3 replications).

    Default settings (:data:`LAZINESS_SETTINGS`): the published measurement (digits,
    disjoint partition, ~4 samples per trainer, ``val_share=0`` as then); digits with
    125-sample shards sampled per participant (100 trained on, 25 local validation;
    shards overlap, the trainers' pool is 1,078 images); MNIST-5k the same way (pool
    3,000); both also with IID labels instead of Dirichlet(0.5) label skew; MNIST-5k
    split into 24 disjoint shards of 125 (learning population 24, each shared by ~11
    economic participants).  Rows: pooled lazy and honest top-s rates
    with 95 % Wilson intervals, their difference, shard sizes, final accuracy, seconds.
    """
    settings = settings or LAZINESS_SETTINGS
    schedule = schedule or Schedule(lazy_share=lazy_share)
    if schedule.lazy_share <= 0:
        raise ValueError("lazy_share must be > 0 to measure laziness")
    rows = []
    for name, over in settings.items():
        cfg = learning_config(**{**(base or {}), **over})
        t0 = time.perf_counter()
        runs = [
            run_comparison(cfg, rounds, seed=sd, schedule=schedule, methods=("relay",))
            for sd in seeds
        ]
        res = runs[0]
        r = pd.concat([x.rounds for x in runs], ignore_index=True)
        ls, lsub = int(r["lazy_selected"].sum()), int(r["lazy_submitted"].sum())
        hs, hsub = int(r["honest_selected"].sum()), int(r["honest_submitted"].sum())
        half = r[r["round"] > rounds // 2]
        l2, l2n = int(half["lazy_selected"].sum()), int(half["lazy_submitted"].sum())
        h2, h2n = int(half["honest_selected"].sum()), int(half["honest_submitted"].sum())
        rows.append(
            {
                "setting": name,
                "dataset": cfg.dataset,
                "train_size_mean": res.meta["train_size_mean"],
                "shard_size_mean": res.meta["shard_size_mean"],
                "n_shards": res.meta["n_shards"],
                "lazy_top_s_rate": ls / lsub if lsub else math.nan,
                "lazy_ci": list(wilson_interval(ls, lsub)),
                "honest_top_s_rate": hs / hsub if hsub else math.nan,
                "honest_ci": list(wilson_interval(hs, hsub)),
                "lazy_minus_honest": (ls / lsub - hs / hsub) if lsub and hsub else math.nan,
                "lazy_selected": ls,
                "lazy_submitted": lsub,
                "honest_selected": hs,
                "honest_submitted": hsub,
                "lazy_top_s_rate_second_half": l2 / l2n if l2n else math.nan,
                "honest_top_s_rate_second_half": h2 / h2n if h2n else math.nan,
                "lazy_beats_honest": bool(lsub and hsub and ls / lsub > hs / hsub),
                "final_best_accuracy": float(
                    np.mean([x.rounds["relay_best_accuracy_so_far"].iloc[-1] for x in runs])
                ),
                "seeds": list(seeds),
                "mean_gain_honest": float(np.nanmean(r["mean_gain_honest"])),
                "seconds": round(time.perf_counter() - t0, 2),
            }
        )
    return pd.DataFrame(rows)
