"""ABM benchmarks (plain script: python benchmarks/bench_model.py [--quick] [--simulated]).

Prints
* Fig. 3 setting (256 participants, 5,000 rounds) for both presets: total time and
  per-round time around round 100 and around round 5,000 (must not grow with the round
  index although every model's ancestor chain does);
* 100,000 participants for 1,000 rounds (agents.parquet sampled);
* the citation fast path against the naive ancestor walk on the same lineage;
* paper_text on the simulated PoW chain (``--chain simulated``) with the round's real
  block contents and with the chain part's synthetic workload: total, per round, per
  stage (DB/EB/TB/SB, payload building, validation and hashing included) and the final
  chain metrics (settled-ledger replay).  ``--simulated`` runs only this part.
Numbers taken on a shared 2-core machine are pessimistic.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from derelay.model import DeRelayModel, SimConfig


def per_round_profile(cfg, rounds, seed=0, window=100):
    m = DeRelayModel(cfg, seed=seed)
    times = np.empty(rounds)
    c_all = time.process_time()
    t_all = time.perf_counter()
    for i in range(rounds):
        t = time.perf_counter()
        m.step()
        times[i] = time.perf_counter() - t
    total = time.perf_counter() - t_all
    m.cpu_s = time.process_time() - c_all
    early = 1000 * np.median(times[max(0, 100 - window // 2) : 100 + window // 2])
    late = 1000 * np.median(times[-window:])
    return m, total, early, late


def simulated_chain(rounds: int, seed: int = 0) -> None:
    """paper_text on the simulated chain: real block contents vs synthetic payloads."""
    import resource

    for contents in ("real", "synthetic"):
        cfg = SimConfig.from_preset("paper_text").with_updates(
            chain="simulated", chain_contents=contents
        )
        m = DeRelayModel(cfg, seed=seed)
        stage = {k: 0.0 for k in ("DB", "EB", "TB", "SB")}
        mine = m.chain.mine

        def timed(kind, *a, _mine=mine, _stage=stage):
            t = time.perf_counter()
            out = _mine(kind, *a)
            _stage[kind] += time.perf_counter() - t
            return out

        m.chain.mine = timed
        times = np.empty(rounds)
        c0, t0 = time.process_time(), time.perf_counter()
        for i in range(rounds):
            t = time.perf_counter()
            m.step()
            times[i] = time.perf_counter() - t
        total = time.perf_counter() - t0
        t = time.perf_counter()
        metrics = m.chain.metrics()
        t_metrics = time.perf_counter() - t
        cpu = time.process_time() - c0
        per_stage = ", ".join(f"{k} {1e6 * v / rounds:.0f}" for k, v in stage.items())
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"paper_text simulated chain ({contents:9s}) 256 x {rounds} rounds: "
            f"{total + t_metrics:6.2f} s wall, {cpu:6.2f} s CPU ({1000 * total / rounds:.3f} "
            f"ms/round, median at ~100: {1000 * np.median(times[50:150]):.3f} ms, at "
            f"~{rounds}: {1000 * np.median(times[-100:]):.3f} ms); per stage us: {per_stage}; "
            f"simulator {1e6 * m.chain.sim.wall_seconds / max(1, m.chain.sim.stages):.0f} "
            f"us/stage; final metrics {t_metrics:.2f} s (stale rate "
            f"{metrics['stale_rate']:.3f}, conserved {metrics['ledger_conserved']}); "
            f"max RSS so far {rss:.0f} MB"
        )


def main(quick: bool = False, simulated_only: bool = False) -> None:
    rounds = 1000 if quick else 5000
    if simulated_only:
        simulated_chain(rounds)
        return
    for preset in ("paper_text", "authors_code"):
        cfg = SimConfig.from_preset(preset).with_updates(mesa_agents=True)
        m, total, early, late = per_round_profile(cfg, rounds)
        print(
            f"{preset:13s} 256 participants x {rounds} rounds: {total:6.2f} s wall, "
            f"{m.cpu_s:6.2f} s CPU "
            f"({1000 * total / rounds:.3f} ms/round; median at round ~100: {early:.3f} ms, "
            f"at round ~{rounds}: {late:.3f} ms; ancestral tree below the trunk: "
            f"{m.settlement.engine.tree_size} nodes, trunk depth {m.settlement.engine.top_depth})"
        )
    n, r = (20_000, 200) if quick else (100_000, 1000)
    cfg = SimConfig.from_preset("authors_code").with_updates(
        params={"n_participants": n, "n_miners": n // 2}, record_every=100, record_sample=1000
    )
    t = time.perf_counter()
    c = time.process_time()
    m = DeRelayModel(cfg, seed=0)
    t_setup = time.perf_counter() - t
    m.run(r)
    t_run = time.perf_counter() - t - t_setup
    print(
        f"authors_code {n} participants x {r} rounds: {t_setup + t_run:6.2f} s wall, "
        f"{time.process_time() - c:6.2f} s CPU "
        f"(setup incl. {n} Mesa agents {t_setup:.2f} s, {1000 * t_run / r:.1f} ms/round)"
    )
    cfg = SimConfig.from_preset("paper_text").with_updates(
        params={"n_participants": n, "n_miners": n // 2}, record_every=100, record_sample=1000
    )
    t = time.perf_counter()
    c = time.process_time()
    m = DeRelayModel(cfg, seed=0)
    m.run(r)
    print(
        f"paper_text   {n} participants x {r} rounds: {time.perf_counter() - t:6.2f} s wall, "
        f"{time.process_time() - c:6.2f} s CPU (ancestral tree {m.settlement.engine.tree_size} nodes)"
    )
    # fast citation path vs naive walk on one lineage
    from derelay.model import naive_citations

    cfg = SimConfig.from_preset("paper_text").with_updates(keep_lineage=True)
    m = DeRelayModel(cfg, seed=1)
    m.run(2000)
    tab = m.lineage.table()
    sel = tab["model_id"][tab["selected"] & (tab["round"] == 2000)]
    t = time.perf_counter()
    naive_citations(tab["parent"], tab["recipient"], tab["pays"], sel, m.n)
    t_naive = time.perf_counter() - t
    print(
        f"citations of round 2000 ({len(sel)} selected models, depth ~2000): naive ancestor "
        f"walk {1000 * t_naive:.1f} ms vs {1000 * m.timings['rounds_s'] / 2000:.3f} ms for a "
        "whole model round with the interval engine"
    )
    simulated_chain(rounds)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv, simulated_only="--simulated" in sys.argv)
