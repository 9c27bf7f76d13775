"""``derelay run``: one agent-based simulation of a mechanism, written to a directory.

DeRelayL (the default) takes its :class:`derelay.model.SimConfig` (presets, every option
as before); any other mechanism (``--mechanism NAME`` or a config file with
``mechanism = "NAME"``) takes a :class:`derelay.engine.RunConfig` file (``params``,
``options``, ``types``, ...).  Both write rounds, agents, utilities and flows .parquet and
run.json.

Parameters of the mechanism may sit at the top level of ``--config`` (``s = 0.7``) or in
its ``[params]`` table, the same way ``check --params`` reads them (a key in both places
is refused); ``--set KEY=VALUE`` (repeatable) changes one on the command line and is
validated by the mechanism's parameter space.

Output layout.  ``--out DIR`` holds exactly one run's files: they are written into a
temporary directory beside it and swapped in whole at the end.  A directory holding an
earlier ``derelay run`` output (``run.json`` or ``replications.json``) is replaced whole;
any other non-empty directory is refused unless ``--force``.  With ``--replications N``
(N >= 2) replication ``k`` is written to ``DIR/rep-{k:03d}/`` (the same files) with seed
``SeedSequence(seed).spawn(N)[k].generate_state(1, uint64)[0] >> 1`` (the sweep runner's
derivation), and ``DIR/replications.json`` lists the seeds and directories.

Limits.  ``--rounds`` is at most 10**8; the work ``rounds x participants x replications``
is at most :data:`MAX_WORK` agent-rounds (about an hour on one core) unless ``--force``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import fail, out_console, print_json
from ._inputs import check_count, parse_set, read_config, run_output

#: Largest rounds x participants x replications run without --force (agent-rounds).
MAX_WORK = 2 * 10**9
MAX_ROUNDS = 10**8
MAX_SEED = 2**63 - 1
MAX_REPLICATIONS = 10_000
RUN_MARKERS = ("run.json", "replications.json")


def run(
    mechanism: str = typer.Option(
        None,
        "--mechanism",
        "-m",
        help="Mechanism to simulate (default derelayl; see `derelay mechanisms`).",
    ),
    config: Path = typer.Option(
        None,
        "--config",
        "-c",
        help="Simulation config (TOML/JSON; may set `preset = ...`; mechanism parameters at "
        "top level or in a [params] table).",
    ),
    set_: list[str] = typer.Option(
        None,
        "--set",
        help="KEY=VALUE: set one mechanism parameter (repeatable), e.g. --set s=0.7.",
    ),
    rounds: int = typer.Option(
        100, "--rounds", "-r", help="Number of relay rounds (1 .. 10**8).", show_default=True
    ),
    seed: int = typer.Option(
        0, "--seed", "-s", help="Random seed, >= 0 (same seed, same files).", show_default=True
    ),
    replications: int = typer.Option(
        1,
        "--replications",
        help="Independent runs; seeds spawned from --seed, one DIR/rep-NNN/ each.",
        show_default=True,
    ),
    out: Path = typer.Option(
        Path("runs/latest"), "--out", "-o", help="Output directory.", show_default=True
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Replace a non-empty --out whole, and lift the work limit (rounds x participants).",
    ),
    preset: str = typer.Option(
        None, "--preset", help="Start from a shipped preset: paper_text (default) or authors_code."
    ),
    learning: str = typer.Option(None, "--learning", help="Learning backend: abstract or torch."),
    chain: str = typer.Option(None, "--chain", help="Chain component: draw or simulated."),
    adaptation: str = typer.Option(
        None, "--adaptation", help="fixed, imitation, best_response or replicator."
    ),
    participants: int = typer.Option(None, "--participants", help="Override n_participants."),
    miners: int = typer.Option(None, "--miners", help="Override n_miners."),
    record_every: int = typer.Option(None, "--record-every", help="agents.parquet every k rounds."),
    record_sample: int = typer.Option(
        None, "--record-sample", help="agents.parquet: only this many sampled participants."
    ),
    lineage: bool = typer.Option(
        False,
        "--lineage",
        help="Also write lineage.parquet (parent, owner, trainer of every model).",
    ),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", help="Show a progress bar.", show_default=True
    ),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
    utilities: bool = typer.Option(
        False,
        "--utilities",
        help="Also compare simulated utility per (role, strategy) with Table II "
        "(analysis/utilities.py) and write utilities_vs_table2.csv.",
    ),
    burn_in: int = typer.Option(
        20, "--burn-in", help="Rounds skipped by --utilities (< --rounds).", show_default=True
    ),
) -> None:
    """Run the agent-based model and write rounds, agents, utilities, flows .parquet, run.json.

    With --replications N >= 2: one OUT/rep-NNN/ per replication plus OUT/replications.json.
    Exit status 0 on success, 2 for bad input (the message names the key and the
    allowed range).
    """
    check_count("--rounds", rounds, 1, MAX_ROUNDS)
    check_count("--seed", seed, 0, MAX_SEED)
    check_count("--replications", replications, 1, MAX_REPLICATIONS)
    for opt, val in (
        ("--participants", participants),
        ("--miners", miners),
        ("--record-every", record_every),
        ("--record-sample", record_sample),
    ):
        if val is not None and val > 10**12:  # lower bounds: the config's own message
            check_count(opt, val, 0, 10**12)
    if utilities:
        check_count("--burn-in", burn_in, 0, rounds - 1, "--utilities needs rounds after burn-in")
    data = None if config is None else read_config(config, "--config")
    sets = parse_set(set_)
    name = _mechanism_of(mechanism, data)
    if name != "derelayl":
        return _run_generic(
            name, config, data, sets, rounds, seed, replications, out, force, preset, learning,
            chain, adaptation, participants, miners, record_every, record_sample, lineage,
            utilities, progress, json_out,
        )  # fmt: skip
    from derelay.engine.ledger import LedgerOverflowError
    from derelay.model import SimConfig, SimConfigError, run_simulation
    from derelay.params import PARAM_INFO

    if config is not None and preset is not None:
        fail("give either --config or --preset, not both (a config file may set `preset`)")
    _check_set_keys(sets, list(PARAM_INFO), "derelayl")
    try:
        if data is not None:
            cfg = _sim_config(SimConfig, data, str(config), set(PARAM_INFO))
        else:
            cfg = SimConfig.from_preset(preset or "paper_text")
        changes: dict = {}
        if learning is not None:
            changes["learning"] = learning
        if chain is not None:
            changes["chain"] = chain
        if adaptation is not None:
            changes["adaptation"] = adaptation
        if record_every is not None:
            changes["record_every"] = record_every
        if record_sample is not None:
            changes["record_sample"] = record_sample
        if lineage:
            changes["keep_lineage"] = True
        params = {**sets, **SimConfig.population_params(participants, miners)}
        if params:
            changes["params"] = params
        if changes:
            cfg = cfg.with_updates(**changes)
    except SimConfigError as exc:
        fail(str(exc).splitlines()[0])
    _check_work(int(cfg.params.n_participants), rounds, replications, force)
    seeds = _seeds(seed, replications)
    results = []
    with run_output(out, force, RUN_MARKERS) as tmp:
        for k, sd in enumerate(seeds):
            try:
                res = run_simulation(
                    cfg, rounds=rounds, seed=sd, progress=progress and not json_out
                )
            except (RuntimeError, LedgerOverflowError) as exc:
                # a selected component is unavailable, or a balance would pass the
                # ledger's exact limit (the message names the account and the limit)
                fail(str(exc).splitlines()[0])
            where = tmp if replications == 1 else tmp / f"rep-{k:03d}"
            res.write(where)
            comparison = None
            if utilities:
                from analysis.utilities import compare_utilities

                comparison = compare_utilities(res, burn_in=burn_in)
                comparison.to_csv(where / "utilities_vs_table2.csv", index=False)
            results.append((sd, res, comparison))
        if replications > 1:
            _write_index(tmp, seed, seeds)
    summaries = [_summary_derelayl(out, cfg, rounds, sd, res, cmp) for sd, res, cmp in results]
    if replications > 1:
        for k, s in enumerate(summaries):
            s["out"] = str(Path(out) / f"rep-{k:03d}")
    if json_out:
        print_json(summaries[0] if replications == 1 else _rep_summary(out, seed, summaries))
        return
    from rich.markup import escape

    for (_, _, comparison), s in zip(results, summaries, strict=True):
        if comparison is not None:
            _print_comparison(comparison)
        out_console.print(
            f"[green]wrote[/] {escape(s['out'])}/ rounds.parquet, agents.parquet, "
            f"utilities.parquet, flows.parquet, blocks.parquet"
            f"{', lineage.parquet' if lineage else ''}, run.json "
            f"({rounds} rounds, seed {s['seed']}, {s['seconds']} s); total coins "
            f"{s['total_coins']:.6g}, latest version {s['latest_version']}, mean trainers "
            f"{s['mean_trainers']:.2f}"
        )
    if replications > 1:
        out_console.print(f"wrote {escape(str(out))}/replications.json ({replications} runs)")


def _seeds(seed: int, n: int) -> list[int]:
    """One seed per replication: ``seed`` itself for one, else spawned (see module doc)."""
    if n == 1:
        return [seed]
    import numpy as np

    children = np.random.SeedSequence(seed).spawn(n)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


def _write_index(tmp: Path, seed: int, seeds: list[int]) -> None:
    import json

    index = {
        "seed": seed,
        "replications": len(seeds),
        "seeding": "SeedSequence(seed).spawn(replications)[k].generate_state(1, uint64)[0] >> 1",
        "runs": [{"replication": k, "seed": s, "dir": f"rep-{k:03d}"} for k, s in enumerate(seeds)],
    }
    (tmp / "replications.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")


def _rep_summary(out: Path, seed: int, summaries: list[dict]) -> dict:
    import statistics

    keys = [k for k, v in summaries[0].items() if isinstance(v, int | float) and k != "seed"]
    return {
        "out": str(out),
        "seed": seed,
        "replications": len(summaries),
        "mean": {k: statistics.fmean(float(s[k]) for s in summaries) for k in keys},
        "runs": summaries,
    }


def _check_work(participants: int, rounds: int, replications: int, force: bool) -> None:
    work = participants * rounds * replications
    if work > MAX_WORK and not force:
        fail(
            f"the run is {work:.3g} agent-rounds (participants {participants} x rounds {rounds} "
            f"x replications {replications}): allowed at most {MAX_WORK:.3g} without --force"
        )


def _check_set_keys(sets: dict, keys: list[str], mech: str) -> None:
    import difflib

    for k in sets:
        if k not in keys:
            close = difflib.get_close_matches(k, keys, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            fail(f"option '--set': '{k}' is not a parameter of mechanism {mech!r}{hint}")


def _lift_params(data: dict, param_keys: set[str], fields: set[str], source: str) -> dict:
    """Top-level mechanism parameters -> the ``params`` table (as ``check --params``)."""
    data = dict(data)
    top = {k: data.pop(k) for k in list(data) if k in param_keys and k not in fields}
    if top:
        inner = data.get("params")
        if inner is None:
            inner = {}
        if not isinstance(inner, dict):
            fail(f"{source}: 'params' must be a table, got {type(inner).__name__}")
        both = sorted(set(top) & set(inner))
        if both:
            fail(f"{source}: parameter '{both[0]}' is given both at top level and in [params]")
        data["params"] = {**inner, **top}
    return data


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k != "strategies":
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _sim_config(SimConfig, data: dict, source: str, param_keys: set[str]):
    data = _lift_params(data, param_keys, set(SimConfig.model_fields) | {"preset"}, source)
    preset = data.pop("preset", None)
    if preset is not None:
        base = SimConfig.from_preset(str(preset)).model_dump()
        data = _merge(base, data)
    return SimConfig.from_mapping(data, source=source)


def _summary_derelayl(out, cfg, rounds, seed, res, comparison) -> dict:
    last = res.rounds.iloc[-1]
    summary = {
        "out": str(out),
        "config": cfg.name,
        "rounds": rounds,
        "seed": seed,
        "total_coins": float(last["total_coins"]),
        "minted": float(last["minted"]),
        "latest_version": int(last["latest_version"]),
        "mean_trainers": float(res.rounds["n_trainers"].mean()),
        "share_none": float(last["share_none"]),
        "forks": int(res.rounds["forks"].sum()),
        "seconds": round(res.meta["timings"]["rounds_s"], 3),
    }
    if comparison is not None:
        summary["utilities"] = comparison[
            ["role", "strategy", "plays", "simulated", "se", "closed_form", "z", "agrees"]
        ].to_dict(orient="records")
    return summary


def _mechanism_of(mechanism: str | None, data: dict | None) -> str:
    """The mechanism to run: --mechanism, else a config file's ``mechanism`` key."""
    from derelay.mechanism import get_mechanism, mechanism_names

    name = mechanism
    source = "option '--mechanism'"
    if name is None and data is not None:
        name = data.get("mechanism")
        source = "config key 'mechanism'"
    name = "derelayl" if name is None else name
    if not isinstance(name, str):
        fail(f"{source} = {name!r} has the wrong type: expected a mechanism name")
    try:
        mech = get_mechanism(name)
    except KeyError:
        fail(f"{source} = {name!r} is not a mechanism: allowed {', '.join(mechanism_names())}")
    return "derelayl" if mech.name == "derelayl" else mech.name


def _run_generic(
    name, config, data, sets, rounds, seed, replications, out, force, preset, learning, chain,
    adaptation, participants, miners, record_every, record_sample, lineage, utilities, progress,
    json_out,
) -> None:  # fmt: skip
    from derelay.engine.ledger import LedgerOverflowError
    from derelay.engine.run import RunConfig, RunConfigError, run_config, run_simulation
    from derelay.mechanism import get_mechanism

    for opt, val in (
        ("--preset", preset),
        ("--learning", learning),
        ("--chain", chain),
        ("--miners", miners),
    ):
        if val is not None:
            fail(f"{opt} is DeRelayL's; mechanism {name!r} takes its options in --config")
    if lineage or utilities:
        fail(f"--lineage and --utilities are DeRelayL's; mechanism {name!r} has neither")
    mech = get_mechanism(name)
    keys = list(mech.space.keys)
    _check_set_keys(sets, keys, name)
    source = f"option '--config' = '{config}'" if config is not None else "the command line"
    base = (
        {} if data is None else _lift_params(data, set(keys), set(RunConfig.model_fields), source)
    )
    base["mechanism"] = name
    if adaptation is not None:
        base["adaptation"] = adaptation
    if record_every is not None:
        base["record_every"] = record_every
    if record_sample is not None:
        base["record_sample"] = record_sample
    params = base.get("params", {})
    if not isinstance(params, dict):
        fail(f"{source}: 'params' must be a table, got {type(params).__name__}")
    params = dict(params)
    params.update(sets)
    if participants is not None:
        params["n_participants"] = participants
    base["params"] = params
    try:
        cfg = run_config(base, source=None if config is None else str(config))
        point = mech.space.validate(cfg.params, source="params")
    except (RunConfigError, ValueError) as exc:
        fail(str(exc).splitlines()[0])
    n = getattr(point, "n_participants", None)
    _check_work(int(n) if n is not None else 1, rounds, replications, force)
    seeds = _seeds(seed, replications)
    results = []
    with run_output(out, force, RUN_MARKERS) as tmp:
        for k, sd in enumerate(seeds):
            try:
                res = run_simulation(
                    cfg, rounds=rounds, seed=sd, progress=progress and not json_out
                )
            except (RunConfigError, ValueError, LedgerOverflowError) as exc:
                fail(str(exc).splitlines()[0])
            res.write(tmp if replications == 1 else tmp / f"rep-{k:03d}")
            results.append((sd, res))
        if replications > 1:
            _write_index(tmp, seed, seeds)
    summaries = []
    for k, (sd, res) in enumerate(results):
        last = res.rounds.iloc[-1]
        summaries.append(
            {
                "out": str(out) if replications == 1 else str(Path(out) / f"rep-{k:03d}"),
                "mechanism": name,
                "config": cfg.name,
                "rounds": rounds,
                "seed": sd,
                "total_coins": float(last["total_coins"]),
                "minted": float(last["minted"]),
                "external": float(last["external"]),
                "burned": float(last["burned"]),
                "flows": len(res.flows),
                "seconds": round(res.meta["timings"]["rounds_s"], 3),
            }
        )
    if json_out:
        print_json(summaries[0] if replications == 1 else _rep_summary(out, seed, summaries))
        return
    from rich.markup import escape

    for s in summaries:
        out_console.print(
            f"[green]wrote[/] {escape(s['out'])}/ rounds.parquet, agents.parquet, "
            f"utilities.parquet, flows.parquet, run.json ({name}, {rounds} rounds, seed "
            f"{s['seed']}, {s['seconds']} s); total coins {s['total_coins']:.6g}"
        )
    if replications > 1:
        out_console.print(f"wrote {escape(str(out))}/replications.json ({replications} runs)")


def _print_comparison(df) -> None:
    from rich.table import Table

    t = Table(title="Simulated utility vs Table II (matching parameters, 'now' part)")
    for col in ("role", "strategy", "plays", "simulated", "SE", "Table II", "z", "agrees"):
        t.add_column(col, justify="right" if col not in ("role", "strategy") else "left")
    for r in df.itertuples():
        t.add_row(
            r.role,
            r.strategy,
            str(r.plays),
            f"{r.simulated:.5g}",
            f"{r.se:.2g}",
            f"{r.closed_form:.5g}",
            f"{r.z:.2f}",
            "[green]yes[/]" if r.agrees else "[red]no[/]",
        )
    out_console.print(t)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
