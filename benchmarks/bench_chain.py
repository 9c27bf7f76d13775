"""Chain benchmarks (plain script, prints numbers; no assertions).

    python benchmarks/bench_chain.py [--blocks 100000] [--nodes 1000] [--stages 20000]

1. network build: 1,000-node random regular graph, latencies, all-pairs delays;
2. continuous race: ``--blocks`` blocks over ``--nodes`` nodes (target: 100,000 over
   1,000 in < 30 s), honest and with an adversary of each policy;
3. ``mine_stage`` at 128 nodes: microseconds per stage with the synthetic payloads
   and with a precomputed payload (the chain's own cost; the ABM's payload callable
   adds its own).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from derelay.chain import KIND_ORDER, ChainConfig, ChainSimulator
from derelay.network import Network


def bench_network(nodes: int) -> None:
    t = time.perf_counter()
    net = Network.build("random_regular", nodes, 0.5, np.random.default_rng(0))
    dt = time.perf_counter() - t
    print(f"network build ({nodes} nodes, {net.graph.number_of_edges()} edges): {dt:.3f} s")


def bench_continuous(
    blocks: int, nodes: int, adversary: float = 0.0, policy: str = "invalid"
) -> None:
    cfg = ChainConfig(n_nodes=nodes, latency=0.5, interval=10.0, adversary=adversary, policy=policy)
    t = time.perf_counter()
    sim = ChainSimulator(cfg, rng=np.random.default_rng(1))
    build = time.perf_counter() - t
    t, c = time.perf_counter(), time.process_time()
    m = sim.run(blocks)
    run, cpu = time.perf_counter() - t, time.process_time() - c
    label = "honest" if adversary == 0 else f"alpha={adversary} {policy}"
    print(
        f"continuous {blocks} blocks / {nodes} nodes ({label}): wall {run:.2f} s, "
        f"cpu {cpu:.2f} s ({cpu / blocks * 1e6:.1f} us/block cpu; metrics incl.), "
        f"setup {build:.2f} s, "
        f"stale {m['stale_rate']:.4f}, max reorg {m['max_reorg_depth']}"
    )


def bench_stages(stages: int, nodes: int = 128) -> None:
    cfg = ChainConfig(n_nodes=nodes, latency=0.5, interval=10.0)
    honest = np.ones(nodes, dtype=bool)
    honest[: nodes // 10] = False
    sim = ChainSimulator(cfg, rng=np.random.default_rng(2))
    t, c = time.perf_counter(), time.process_time()
    for s in range(stages):
        sim.mine_stage(KIND_ORDER[s % 4], s // 4, honest, None)
    dt, cpu = time.perf_counter() - t, time.process_time() - c
    print(
        f"mine_stage at {nodes} nodes, synthetic payloads: {dt / stages * 1e6:.1f} us/stage "
        f"wall, {cpu / stages * 1e6:.1f} us/stage cpu"
    )

    sim = ChainSimulator(
        cfg.model_copy(update={"strict_honest_payloads": False}), rng=np.random.default_rng(2)
    )
    fixed = {"contracts": [], "broadcast": 0}

    def payload(m: int, h: bool) -> dict:
        return fixed

    t, c = time.perf_counter(), time.process_time()
    for s in range(stages):
        sim.mine_stage(KIND_ORDER[0], s, honest, payload)
    dt, cpu = time.perf_counter() - t, time.process_time() - c
    print(
        f"mine_stage at {nodes} nodes, precomputed payload: {dt / stages * 1e6:.1f} us/stage "
        f"wall, {cpu / stages * 1e6:.1f} us/stage cpu"
    )
    t = time.perf_counter()
    sim.metrics()
    print(f"metrics() after {stages} stages: {(time.perf_counter() - t) * 1e3:.1f} ms")


def main() -> None:
    print("(wall-clock numbers are pessimistic on a shared machine; cpu = process time)")
    ap = argparse.ArgumentParser()
    ap.add_argument("--blocks", type=int, default=100_000)
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--stages", type=int, default=20_000)
    a = ap.parse_args()
    bench_network(a.nodes)
    bench_stages(a.stages)
    bench_continuous(a.blocks, a.nodes)
    bench_continuous(a.blocks // 5, a.nodes, 0.3, "invalid")
    bench_continuous(a.blocks // 5, a.nodes, 0.3, "withhold")


if __name__ == "__main__":
    main()
