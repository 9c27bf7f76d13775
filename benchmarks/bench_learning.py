"""Benchmark real relay learning (issue 6).  Plain script: prints numbers.

    python benchmarks/bench_learning.py            # all
    python benchmarks/bench_learning.py --quick    # fewer repetitions / rounds

1. One round's local training of B trainers: batched (stacked parameters, baddbmm),
   torch.func (vmap of grad over functional_call) and looped (one nn.Sequential +
   optimiser per model), same minibatches; ratios.
2. A whole relay round through ``TorchBackend.train_round`` (training, noise, scoring,
   hashing), batched vs looped, 64 trainers.
3. 100 rounds of the paper's setting (Table III: 256 participants, 128 miners,
   selection limit 4, p=0.9, s=0.5, Q_Cases=100; ~85 trainers a round), relay only and
   relay + FedAvg + centralised, on digits and synthetic data.
4. One batched local step of 64 DeepChain CNNs (MNIST 28x28, batch 32; grouped
   convolution + batched matmuls, autograd) vs a loop over 64 ``nn.Sequential`` CNNs.
5. The MLP's hand-written SGD backward vs autograd on the same batched layout (the
   issue-11 question whether the hand-written path is worth keeping), with the max
   parameter difference after 10 steps.
6. 100 relay rounds on MNIST-5k with the MLP (Table III schedule, 20 % lazy).

    python benchmarks/bench_learning.py --only 4,5,6   # the issue-11 numbers

Numbers on a shared 2-core machine are pessimistic.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from derelay.learning import TorchBackend, build_data, learning_config
from derelay.learning.experiment import Schedule, run_comparison
from derelay.learning.model import CNNSpec, MLPSpec
from derelay.learning.train import sample_batches, train_batched, train_looped, train_vmap


def _best_of(fn, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def bench_training(reps: int) -> None:
    cfg = learning_config(tau=10, batch_size=32)
    data = build_data(cfg, 256, seed=0)
    spec = MLPSpec((64, *cfg.hidden, 10))
    print(f"[1] local training, tau={cfg.tau}, batch {cfg.batch_size}, |M|={spec.n_params}")
    for B in (8, 32, 64, 128):
        rng = np.random.default_rng(0)
        start = torch.stack([spec.init(rng) for _ in range(B)])
        pools = [data.shard(i) for i in range(B)]
        batches = sample_batches(
            pools, cfg.tau, cfg.batch_size, [np.random.default_rng(i) for i in range(B)]
        )
        tb = _best_of(
            lambda s=start, b=batches: train_batched(spec, s, data.X, data.y, b, cfg), reps
        )
        tl = _best_of(
            lambda s=start, b=batches: train_looped(spec, s, data.X, data.y, b, cfg),
            max(1, reps // 2),
        )
        tv = _best_of(lambda s=start, b=batches: train_vmap(spec, s, data.X, data.y, b, cfg), reps)
        print(
            f"    B={B:4d}  batched {tb * 1e3:8.2f} ms  torch.func vmap {tv * 1e3:8.2f} ms  "
            f"looped {tl * 1e3:8.2f} ms  looped/batched {tl / tb:6.1f}x  looped/vmap {tl / tv:6.1f}x"
        )


def bench_round(reps: int) -> None:
    cfg = learning_config()
    print("[2] full train_round, 64 trainers (10 % lazy, 10 % failed)")
    for mode in ("batched", "looped"):
        be = TorchBackend(cfg, 256, seed=0)
        g = be.genesis()
        rng = np.random.default_rng(1)
        lazy = rng.random(64) < 0.1
        succ = rng.random(64) < 0.9
        times = []
        for r in range(1, reps + 1):
            t = time.perf_counter()
            res = be.train_round(r, np.full(64, g), np.arange(64), lazy, succ, trainer=mode)
            times.append(time.perf_counter() - t)
            be.release(res.model_ids)
        print(f"    {mode:8s} {min(times) * 1e3:8.2f} ms / round (best of {reps})")


def bench_paper_setting(rounds: int) -> None:
    print(f"[3] {rounds} rounds of the paper's setting (Table III)")
    for ds in ("digits", "synthetic"):
        cfg = learning_config(dataset=ds)
        for methods in (("relay",), ("relay", "fedavg", "central")):
            t = time.perf_counter()
            res = run_comparison(
                cfg, rounds, seed=0, schedule=Schedule(lazy_share=0.2), methods=methods
            )
            dt = time.perf_counter() - t
            s = res.summary()
            print(
                f"    {ds:9s} {'+'.join(methods):20s} {dt:7.2f} s  "
                f"({res.meta['seconds']})  mean trainers {s['mean_trainers']:.1f}  "
                f"relay best {s['final_relay_best_accuracy']:.3f}  "
                f"lazy_top_s {s['lazy_top_s_rate']:.3f}"
            )


def bench_cnn_step(reps: int, B: int = 64) -> None:
    cfg = learning_config(dataset="mnist", model="cnn", population=B, partition="iid")
    data = build_data(cfg, B, seed=0)
    spec = CNNSpec(28, 28)
    rng = np.random.default_rng(0)
    start = torch.stack([spec.init(rng) for _ in range(B)])
    batches = sample_batches(
        [data.shard(i) for i in range(B)], 1, 32, [np.random.default_rng(i) for i in range(B)]
    )
    print(f"[4] one local SGD step of {B} CNNs (|M|={spec.n_params}, batch 32, MNIST 28x28)")
    train_batched(spec, start[:2], data.X, data.y, batches[:, :2], cfg)  # warm-up
    train_looped(spec, start[:2], data.X, data.y, batches[:, :2], cfg)
    train_vmap(spec, start[:2], data.X, data.y, batches[:, :2], cfg)
    tb = _best_of(lambda: train_batched(spec, start, data.X, data.y, batches, cfg), reps)
    tl = _best_of(lambda: train_looped(spec, start, data.X, data.y, batches, cfg), reps)
    tv = _best_of(lambda: train_vmap(spec, start, data.X, data.y, batches, cfg), reps)
    a = train_batched(spec, start, data.X, data.y, batches, cfg)
    b = train_looped(spec, start, data.X, data.y, batches, cfg)
    v = train_vmap(spec, start, data.X, data.y, batches, cfg)
    print(
        f"    batched (grouped conv + bmm, autograd) {tb * 1e3:8.1f} ms  torch.func vmap "
        f"{tv * 1e3:8.1f} ms  looped {tl * 1e3:8.1f} ms  looped/batched {tl / tb:5.2f}x  "
        f"looped/vmap {tl / tv:5.2f}x  max |diff| batched {float((a - b).abs().max()):.1e} "
        f"vmap {float((v - b).abs().max()):.1e}"
    )


def bench_mlp_backward(reps: int) -> None:
    cfg = learning_config(tau=10, batch_size=32)
    data = build_data(cfg, 256, seed=0)
    spec = MLPSpec((64, *cfg.hidden, 10))
    print("[5] MLP SGD, 10 steps: hand-written backward vs autograd (same layout)")
    for B in (8, 64, 128):
        rng = np.random.default_rng(0)
        start = torch.stack([spec.init(rng) for _ in range(B)])
        batches = sample_batches(
            [data.shard(i) for i in range(B)], 10, 32, [np.random.default_rng(i) for i in range(B)]
        )
        th = _best_of(
            lambda s=start, b=batches: train_batched(spec, s, data.X, data.y, b, cfg), reps
        )
        ta = _best_of(
            lambda s=start, b=batches: train_batched(
                spec, s, data.X, data.y, b, cfg, path="autograd"
            ),
            reps,
        )
        h = train_batched(spec, start, data.X, data.y, batches, cfg)
        g = train_batched(spec, start, data.X, data.y, batches, cfg, path="autograd")
        print(
            f"    B={B:4d}  hand-written {th * 1e3:7.2f} ms  autograd {ta * 1e3:7.2f} ms  "
            f"autograd/hand {ta / th:5.2f}x  max |diff| {float((h - g).abs().max()):.1e}  "
            f"bit-identical {bool(torch.equal(h, g))}"
        )


def bench_mnist_relay(rounds: int) -> None:
    cfg = learning_config(dataset="mnist")
    print(f"[6] {rounds} relay rounds on MNIST-5k, MLP (|M| = 784*64+64+64*32+32+32*10+10)")
    t = time.perf_counter()
    res = run_comparison(cfg, rounds, seed=0, schedule=Schedule(lazy_share=0.2), methods=("relay",))
    dt = time.perf_counter() - t
    s = res.summary()
    print(
        f"    {dt:7.2f} s total ({dt / rounds * 1e3:.0f} ms / round; {res.meta['seconds']})  "
        f"mean trainers {s['mean_trainers']:.1f}  relay best {s['final_relay_best_accuracy']:.3f}  "
        f"lazy_top_s {s['lazy_top_s_rate']:.3f}  honest_top_s {s['honest_top_s_rate']:.3f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="1,2,3,4,5,6", help="Comma list of benchmark numbers.")
    args = ap.parse_args()
    only = {int(x) for x in args.only.split(",") if x.strip()}
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    reps = 3 if args.quick else 7
    if 1 in only:
        bench_training(reps)
    if 2 in only:
        bench_round(reps)
    if 3 in only:
        bench_paper_setting(20 if args.quick else 100)
    if 4 in only:
        bench_cnn_step(3 if args.quick else 5)
    if 5 in only:
        bench_mlp_backward(reps)
    if 6 in only:
        bench_mnist_relay(20 if args.quick else 100)


if __name__ == "__main__":
    main()
