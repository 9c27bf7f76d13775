"""``derelay chain``: simulate the forkable four-stage chain alone and measure it."""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.table import Table

from ._common import fail, load_params_or_exit, out_console, print_json
from ._inputs import guard_input, guard_table, preflight_output, run_output

#: Most blocks x replicates simulated without --force (about 10 minutes on one core).
MAX_BLOCK_WORK = 10**7
#: Hard bound on --blocks (with or without --force).
MAX_BLOCKS = 10**9
CHAIN_MARKERS = ("metrics.json",)

TOPOLOGY_NAMES = ("random_regular", "small_world", "scale_free", "complete", "file")
POLICY_NAMES = ("invalid", "withhold")
FINAL_RULES = ("longest", "honest")
MODES = ("continuous", "staged")


def _check_range(name: str, value: float, ok: bool, allowed: str) -> None:
    if not ok:
        fail(f"{name} must be {allowed}; got {value}")


def chain(
    blocks: int = typer.Option(
        10_000,
        "--blocks",
        help="Blocks to mine (1 .. 10**9; blocks x replicates above 10**7 needs --force).",
    ),
    nodes: int = typer.Option(128, "--nodes", help="Network nodes (>= 2; ignored for --graph)."),
    topology: str = typer.Option(
        "random_regular",
        "--topology",
        help="random_regular | small_world | scale_free | complete | file (needs --graph).",
    ),
    latency: float = typer.Option(0.5, "--latency", help="Mean per-hop delay in seconds (>= 0)."),
    interval: float = typer.Option(10.0, "--interval", help="Mean time between blocks (> 0 s)."),
    adversary: float = typer.Option(
        0.0, "--adversary", help="Adversary's share alpha of hash power, in [0, 1)."
    ),
    policy: str = typer.Option(
        "invalid",
        "--policy",
        help="invalid: mine invalid blocks on an own branch; withhold: selfish mining.",
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed (>= 0)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    difficulty: float = typer.Option(1.0, "--difficulty", help="Work per block multiplier (> 0)."),
    confirmations: int = typer.Option(
        6, "--confirmations", "-k", help="Confirmation depth k (>= 1)."
    ),
    degree: int = typer.Option(
        None, "--degree", help="Peers per node, 1 .. nodes - 1 (default 8, or nodes - 1 if fewer)."
    ),
    jitter: float = typer.Option(
        0.5, "--jitter", help="Coefficient of variation of edge latencies (>= 0; 0 = constant)."
    ),
    graph: Path = typer.Option(
        None, "--graph", help="Graph file (edge list, .graphml, .json); implies --topology file."
    ),
    adversary_nodes: int = typer.Option(
        1, "--adversary-nodes", help="Nodes the adversary's power sits on (>= 1)."
    ),
    final_rule: str = typer.Option(
        "longest", "--final-rule", help="longest (any published block) | honest (valid only)."
    ),
    give_up: int = typer.Option(
        None, "--give-up", help="invalid policy: abandon own branch this far behind (default k)."
    ),
    hash_skew: float = typer.Option(
        0.0, "--hash-skew", help="Zipf exponent of hash power over nodes (>= 0; 0 = equal)."
    ),
    mode: str = typer.Option(
        "continuous",
        "--mode",
        help="continuous (free-running chain) | staged (the ABM's stage-by-stage race).",
    ),
    params: Path = typer.Option(
        None, "--params", "-p", help="Parameter file (JSON/TOML) for the Table II coinbases."
    ),
    rewards: str = typer.Option(
        "mechanism", "--rewards", help="mechanism (Table II inclusion revenue) | flat."
    ),
    replicates: int = typer.Option(
        1, "--replicates", "-r", help="Independent runs (seeds spawned from --seed); >= 1."
    ),
    out: Path = typer.Option(
        None, "--out", help="Directory for metrics.json and blocks.parquet (every block, its fate)."
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Replace a non-empty --out whole, and lift the work limit (blocks x replicates).",
    ),
) -> None:
    """Simulate the DeRelayL chain alone (honest and adversarial miners, no training).

    Prints stale/orphan rate, reorganisation depths, time to finality, invalid blocks on
    the final chain and the dishonest-block orphan rate. Exit 2 on bad input.
    """
    import numpy as np
    from pydantic import ValidationError

    _check_range("--blocks", blocks, 1 <= blocks <= MAX_BLOCKS, f">= 1 and <= {MAX_BLOCKS:,}")
    _check_range("--nodes", nodes, 2 <= nodes <= 10_000, "in [2, 10000] (dense delay matrix)")
    _check_range("--latency", latency, 0 <= latency <= 1e6, ">= 0 and <= 1e6 seconds")
    _check_range("--interval", interval, 0 < interval <= 1e9, "> 0 and <= 1e9 seconds")
    _check_range(
        "--adversary", adversary, math.isfinite(adversary) and 0 <= adversary < 1, "in [0, 1)"
    )
    _check_range("--seed", seed, 0 <= seed < 2**63, "in [0, 2**63)")
    _check_range("--replicates", replicates, 1 <= replicates <= 10_000, "in [1, 10000]")
    _check_range("--difficulty", difficulty, 0 < difficulty <= 1e9, "in (0, 1e9]")
    _check_range("--confirmations", confirmations, 1 <= confirmations <= 10**6, "in [1, 1000000]")
    if degree is not None:
        _check_range("--degree", degree, 1 <= degree <= 10**6, "in [1, nodes - 1]")
    _check_range("--jitter", jitter, 0 <= jitter <= 100, "in [0, 100] (a coefficient of variation)")
    _check_range(
        "--adversary-nodes", adversary_nodes, 1 <= adversary_nodes <= 10**6, ">= 1 and < nodes"
    )
    _check_range("--hash-skew", hash_skew, 0 <= hash_skew <= 100, ">= 0 and <= 100")
    if give_up is not None:
        _check_range("--give-up", give_up, 0 <= give_up <= 10**6, "in [0, 1000000] blocks")
    if blocks * replicates > MAX_BLOCK_WORK and not force:
        fail(
            f"option '--blocks' = {blocks} x '--replicates' = {replicates} is "
            f"{blocks * replicates:,} blocks: allowed at most {MAX_BLOCK_WORK:,} without --force"
        )
    if graph is not None:
        topology = "file"
    if topology not in TOPOLOGY_NAMES:
        fail(f"--topology must be one of {', '.join(TOPOLOGY_NAMES)}; got {topology!r}")
    if topology == "file" and graph is None:
        fail("--topology file needs --graph PATH")
    if policy not in POLICY_NAMES:
        fail(f"--policy must be one of {', '.join(POLICY_NAMES)}; got {policy!r}")
    if final_rule not in FINAL_RULES:
        fail(f"--final-rule must be one of {', '.join(FINAL_RULES)}; got {final_rule!r}")
    if rewards not in ("mechanism", "flat"):
        fail(f"--rewards must be one of mechanism, flat; got {rewards!r}")
    if mode not in MODES:
        fail(f"--mode must be one of {', '.join(MODES)}; got {mode!r}")
    if out is not None:
        preflight_output(out, force, CHAIN_MARKERS)
    guard_table(params, "--params")
    guard_input(graph, "--graph")
    if mode == "staged" and policy == "withhold" and adversary > 0:
        fail("--policy withhold needs --mode continuous (stages are played in the open)")

    from derelay.chain import ChainConfig, ChainSimulator, config_error_message
    from derelay.network import NetworkError, load_graph

    n_nodes = nodes
    if graph is not None:
        try:
            n_nodes = load_graph(graph).number_of_nodes()
        except NetworkError as exc:
            fail(f"--graph: {exc}")
    if degree is None:
        degree = min(8, n_nodes - 1)  # the documented default, never a silent clip
    elif topology not in ("complete", "file") and degree > n_nodes - 1:
        fail(
            f"option '--degree' = {degree} is out of range: allowed 1 <= --degree <= nodes - 1 "
            f"= {n_nodes - 1} (a node has at most nodes - 1 peers)"
        )
    if adversary > 0 and adversary_nodes >= n_nodes:
        fail(f"--adversary-nodes must be < the number of nodes ({n_nodes}); got {adversary_nodes}")
    try:
        cfg = ChainConfig(
            n_nodes=n_nodes,
            topology=topology,
            latency=latency,
            interval=interval,
            difficulty=difficulty,
            confirmation_depth=confirmations,
            degree=degree,
            latency_jitter=jitter,
            graph_path=None if graph is None else str(graph),
            adversary=adversary,
            policy=policy,
            adversary_nodes=adversary_nodes,
            give_up=give_up,
            final_rule=final_rule,
            hash_skew=hash_skew,
            rewards=rewards,
        )
    except ValidationError as exc:
        fail(config_error_message(exc))
    p = load_params_or_exit(params)
    if replicates == 1:
        rngs = [np.random.default_rng(seed)]
    else:
        rngs = [np.random.default_rng(ss) for ss in np.random.SeedSequence(seed).spawn(replicates)]
    runs, sim = [], None
    for rng in rngs:
        try:
            sim = ChainSimulator(cfg, rng=rng, params=p)
        except (NetworkError, ValueError) as exc:
            fail(str(exc))
        runs.append(_simulate(sim, mode, blocks, show_progress=not json_out and replicates == 1))
    if replicates == 1:
        metrics = runs[0]
    else:
        metrics = _aggregate(runs)
    metrics = {
        **metrics,
        "mode": mode,
        "seed": seed,
        "config": cfg.model_dump(),
    }
    metrics["config"]["block_reward_nano"] = cfg.block_reward  # nano-coins: the same value
    if out is not None:
        with run_output(out, force, CHAIN_MARKERS) as tmp:
            _write_outputs(tmp, metrics, sim if replicates == 1 else None, runs)
    if json_out:
        print_json(metrics)
        return
    _print_table(metrics)
    if out is not None:
        second = "blocks.parquet" if replicates == 1 else "replicates.parquet"
        from rich.markup import escape

        out_console.print(
            f"wrote {escape(str(out / 'metrics.json'))} and {escape(str(out / second))}"
        )


def _simulate(sim, mode: str, blocks: int, show_progress: bool) -> dict:
    from derelay.chain import KIND_ORDER

    if mode == "continuous":
        if show_progress and blocks >= 20_000:
            from rich.progress import Progress

            from ._common import err_console

            with Progress(console=err_console, transient=True) as bar:
                task = bar.add_task("mining", total=blocks)
                return sim.run(blocks, progress=lambda k: bar.update(task, completed=k))
        return sim.run(blocks)
    stage = 0
    while sim.n_mined < blocks:
        sim.mine_stage(KIND_ORDER[stage % 4], stage // 4)
        stage += 1
    return sim.metrics()


def _aggregate(runs: list[dict]) -> dict:
    """Mean of each numeric measurement over replicates, with a 95% Student-t interval.

    Top-level keys keep their single-run names (the JSON contract) and hold the means
    (``max_reorg_depth`` too: the mean of the per-run maxima; the largest is in
    ``per_replicate``); constant values keep their type;
    ``seconds`` is the total; ``ci95`` maps each key to ``[low, high]`` and
    ``per_replicate`` lists every run's measurements.  Undefined values (NaN) are left
    out of a key's mean; a key undefined in every run stays NaN.
    """
    import numpy as np
    from scipy import stats

    agg: dict = {}
    ci: dict = {}
    for key, first in runs[0].items():
        if isinstance(first, bool) or not isinstance(first, int | float):
            agg[key] = first if all(r[key] == first for r in runs) else [r[key] for r in runs]
            continue
        if key != "seconds" and all(r[key] == first for r in runs):
            agg[key] = first  # constant over replicates (e.g. blocks): keep its type
            continue
        vals = np.array([float(r[key]) for r in runs])
        vals = vals[np.isfinite(vals)]
        if key == "seconds":
            agg[key] = float(vals.sum())
            continue
        if vals.size == 0:
            agg[key] = float("nan")
            continue
        mean = float(vals.mean())
        agg[key] = mean
        if vals.size > 1:
            half = float(stats.t.ppf(0.975, vals.size - 1) * vals.std(ddof=1) / np.sqrt(vals.size))
            ci[key] = [mean - half, mean + half]
    agg["ledger_conserved"] = all(bool(r["ledger_conserved"]) for r in runs)
    agg["replicates"] = len(runs)
    agg["ci95"] = ci
    agg["per_replicate"] = [{k: v for k, v in r.items() if k != "network"} for r in runs]
    return agg


def _write_outputs(out: Path, metrics: dict, sim, runs: list[dict]) -> None:
    """Write the files to temporaries first, then rename: nothing is half-written."""
    import json
    import os

    import pandas as pd

    from ._common import to_jsonable

    out.mkdir(parents=True, exist_ok=True)
    tmp_json = out / ".metrics.json.tmp"
    name = "blocks.parquet" if sim is not None else "replicates.parquet"
    tmp_pq = out / f".{name}.tmp"
    try:
        tmp_json.write_text(json.dumps(to_jsonable(metrics), indent=2) + "\n")
        if sim is not None:
            sim.blocks_frame().to_parquet(tmp_pq, index=False)
        else:
            rows = [{k: v for k, v in r.items() if k != "network"} for r in runs]
            pd.DataFrame(rows).assign(replicate=range(len(rows))).to_parquet(tmp_pq, index=False)
        os.replace(tmp_pq, out / name)
        os.replace(tmp_json, out / "metrics.json")
    finally:
        for t in (tmp_json, tmp_pq):
            if t.exists():
                t.unlink()


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else f"{v:.6g}"
    return str(v)


def _print_table(m: dict) -> None:
    reps = m.get("replicates", 1)
    title = f"derelay chain ({m['mode']}, seed {m['seed']}"
    title += f", mean of {reps} replicates)" if reps > 1 else ")"
    t = Table(title=title)
    t.add_column("measurement")
    t.add_column("value", justify="right")
    rows = [
        ("blocks mined", "blocks"),
        ("main chain length", "main_chain_length"),
        ("stale rate (valid blocks off the final chain)", "stale_rate"),
        ("orphan rate (all blocks off the final chain)", "orphan_rate"),
        ("mean reorganisation depth", "mean_reorg_depth"),
        ("max reorganisation depth", "max_reorg_depth"),
        ("reorganisations at honest nodes", "reorg_events"),
        ("reorganisations >= k deep", "deep_reorg_events"),
        ("mean time to finality (s)", "mean_time_to_finality"),
        ("invalid blocks on the final chain (>= k deep)", "invalid_final_blocks"),
        ("invalid blocks on the main chain (any depth)", "invalid_main_chain_blocks"),
        ("dishonest blocks mined", "dishonest_blocks"),
        ("dishonest-block orphan rate", "dishonest_orphan_rate"),
        ("adversary's share of the main chain", "adversary_main_share"),
        ("adversary's share of settled coinbases", "adversary_revenue_share"),
        ("adversary's largest lead (blocks)", "max_adversary_lead"),
        ("selfish-mining gamma (races won via honest miners)", "selfish_gamma"),
        (
            "deposit contracts packed on two branches (forks re-pack them; settled once)",
            "deposit_contracts_packed_on_two_branches",
        ),
        ("ledger conserves coins", "ledger_conserved"),
        ("mean block interval (s)", "mean_block_interval"),
        ("wall-clock seconds", "seconds"),
    ]
    ci = m.get("ci95", {})
    if ci:
        t.add_column("95% interval", justify="right")
    for label, key in rows:
        cells = [label, _fmt(m[key])]
        if ci:
            lo_hi = ci.get(key)
            cells.append("" if lo_hi is None else f"{_fmt(lo_hi[0])} .. {_fmt(lo_hi[1])}")
        t.add_row(*cells)
    out_console.print(t)
    nets = m["network"] if isinstance(m["network"], list) else [m["network"]]
    net = nets[0]
    more = f" (first of {len(nets)} replicates)" if len(nets) > 1 else ""
    out_console.print(
        f"network{more}: {net['topology']}, {net['nodes']} nodes, {net['edges']} edges, "
        f"mean delay {net['mean_delay']:.3g} s, max delay {net['max_delay']:.3g} s"
    )


def register(app: typer.Typer) -> None:
    app.command("chain")(chain)
