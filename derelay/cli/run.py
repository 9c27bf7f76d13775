"""``derelay run``: one agent-based simulation of a mechanism, written to a directory.

DeRelayL (the default) takes its :class:`derelay.model.SimConfig` (presets, every option
as before); any other mechanism (``--mechanism NAME`` or a config file with
``mechanism = "NAME"``) takes a :class:`derelay.engine.RunConfig` file (``params``,
``options``, ``types``, ...).  Both write rounds, agents, utilities and flows .parquet and
run.json.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import fail, out_console, print_json


def run(
    mechanism: str = typer.Option(
        None,
        "--mechanism",
        "-m",
        help="Mechanism to simulate (default derelayl; see `derelay mechanisms`).",
    ),
    config: Path = typer.Option(
        None, "--config", "-c", help="Simulation config (TOML/JSON; may set `preset = ...`)."
    ),
    rounds: int = typer.Option(100, "--rounds", "-r", help="Number of relay rounds (>= 1)."),
    seed: int = typer.Option(0, "--seed", "-s", help="Random seed (same seed, same files)."),
    out: Path = typer.Option(Path("runs/latest"), "--out", "-o", help="Output directory."),
    preset: str = typer.Option(
        None, "--preset", help="Start from a shipped preset: paper_text or authors_code."
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
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
    utilities: bool = typer.Option(
        False,
        "--utilities",
        help="Also compare simulated utility per (role, strategy) with Table II "
        "(analysis/utilities.py) and write utilities_vs_table2.csv.",
    ),
    burn_in: int = typer.Option(20, "--burn-in", help="Rounds skipped by --utilities."),
) -> None:
    """Run the agent-based model and write rounds, agents, utilities, flows .parquet, run.json.

    Exit status 0 on success, 2 for bad input (the message names the key and the
    allowed range).
    """
    if rounds < 1:
        fail(f"--rounds = {rounds} is out of range: allowed rounds >= 1")
    name = _mechanism_of(mechanism, config)
    if name != "derelayl":
        return _run_generic(
            name,
            config,
            rounds,
            seed,
            out,
            preset,
            learning,
            chain,
            adaptation,
            participants,
            miners,
            record_every,
            record_sample,
            lineage,
            utilities,
            progress,
            json_out,
        )
    from derelay.model import SimConfig, SimConfigError, run_simulation

    if config is not None and preset is not None:
        fail("give either --config or --preset, not both (a config file may set `preset`)")
    try:
        if config is not None:
            cfg = SimConfig.load(config)
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
        params = {}
        if participants is not None:
            params["n_participants"] = participants
        if miners is not None:
            params["n_miners"] = miners
        if params:
            changes["params"] = params
        if changes:
            cfg = cfg.with_updates(**changes)
    except SimConfigError as exc:
        fail(str(exc))
    try:
        res = run_simulation(cfg, rounds=rounds, seed=seed, progress=progress and not json_out)
    except RuntimeError as exc:  # a selected component is unavailable
        fail(str(exc))
    try:
        res.write(out)
    except OSError as exc:
        fail(f"cannot write to {out}: {exc.strerror or exc}")
    comparison = None
    if utilities:
        from analysis.utilities import compare_utilities

        comparison = compare_utilities(res, burn_in=max(0, burn_in))
        comparison.to_csv(Path(out) / "utilities_vs_table2.csv", index=False)
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
    if json_out:
        print_json(summary)
    else:
        if comparison is not None:
            _print_comparison(comparison)
        out_console.print(
            f"[green]wrote[/] {out}/ rounds.parquet, agents.parquet, utilities.parquet, "
            f"flows.parquet, blocks.parquet{', lineage.parquet' if lineage else ''}, run.json "
            f"({rounds} rounds, {summary['seconds']} s); total coins {summary['total_coins']:.6g}, "
            f"latest version {summary['latest_version']}, mean trainers {summary['mean_trainers']:.2f}"
        )


def _mechanism_of(mechanism: str | None, config: Path | None) -> str:
    """The mechanism to run: --mechanism, else a config file's ``mechanism`` key."""
    from derelay.mechanism import get_mechanism

    name = mechanism
    if name is None and config is not None and config.is_file():
        import json
        import tomllib

        try:
            text = config.read_text(encoding="utf-8")
            data = json.loads(text) if config.suffix.lower() == ".json" else tomllib.loads(text)
        except (OSError, ValueError):
            data = {}  # the loader reports the problem
        name = data.get("mechanism") if isinstance(data, dict) else None
    name = name or "derelayl"
    try:
        mech = get_mechanism(str(name))
    except KeyError as exc:
        fail(f"--mechanism = {name!r}: {exc}")
    if hasattr(mech.load_protocol(), "build_model"):  # DeRelayL's protocol (or a variant)
        return "derelayl" if mech.name == "derelayl" else mech.name
    return mech.name


def _run_generic(
    name,
    config,
    rounds,
    seed,
    out,
    preset,
    learning,
    chain,
    adaptation,
    participants,
    miners,
    record_every,
    record_sample,
    lineage,
    utilities,
    progress,
    json_out,
) -> None:
    from derelay.engine.run import RunConfigError, load_run_config, run_config, run_simulation

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
    changes: dict = {"mechanism": name}
    if adaptation is not None:
        changes["adaptation"] = adaptation
    if record_every is not None:
        changes["record_every"] = record_every
    if record_sample is not None:
        changes["record_sample"] = record_sample
    if participants is not None:
        changes["params"] = {"n_participants": participants}
    try:
        if config is not None:
            cfg = load_run_config(config, changes)
        else:
            cfg = run_config(changes)
        res = run_simulation(cfg, rounds=rounds, seed=seed, progress=progress and not json_out)
    except (RunConfigError, ValueError) as exc:
        fail(str(exc).splitlines()[0])
    try:
        res.write(out)
    except OSError as exc:
        fail(f"cannot write to {out}: {exc.strerror or exc}")
    last = res.rounds.iloc[-1]
    summary = {
        "out": str(out),
        "mechanism": name,
        "config": cfg.name,
        "rounds": rounds,
        "seed": seed,
        "total_coins": float(last["total_coins"]),
        "minted": float(last["minted"]),
        "external": float(last["external"]),
        "burned": float(last["burned"]),
        "flows": len(res.flows),
        "seconds": round(res.meta["timings"]["rounds_s"], 3),
    }
    if json_out:
        print_json(summary)
    else:
        out_console.print(
            f"[green]wrote[/] {out}/ rounds.parquet, agents.parquet, utilities.parquet, "
            f"flows.parquet, run.json ({name}, {rounds} rounds, {summary['seconds']} s); "
            f"total coins {summary['total_coins']:.6g}"
        )


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
