"""``derelay compare``: pairing, missing families, the declared schema, the report."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from derelay.cli import app
from derelay.mechanism import register_mechanism

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "derelay_toy"))
from derelay_toy import TOY  # noqa: E402

from experiments.compare import (  # noqa: E402
    SCHEMA,
    CompareConfig,
    compare_kind,
    plan,
    run_compare,
    verdict,
)

register_mechanism(TOY)
runner = CliRunner()
BASE = {
    "rounds": 6,
    "learning": "abstract",
    "compute": "equal",
    "trainers_per_round": 8,
    "n_participants": 20,
    "forks": False,
}


def test_honest_twin_is_a_run_without_deviants():
    from derelay.engine import RunConfig, run_simulation

    twin = compare_kind(
        {**BASE, "mechanism": "toy", "design": "paper_defaults", "family": "honest", "share": 0.0},
        seed=7,
    )
    plain = run_simulation(RunConfig(mechanism="toy", params={"n_participants": 20}), 6, seed=7)
    a = twin["agents"].set_index("agent_id")["cum_utility"].to_numpy()
    b = plain.model.state.cum_utility
    assert (a == b).all()
    assert twin["summary"]["n_deviants"].iloc[0] == 0
    dev = compare_kind(
        {**BASE, "mechanism": "toy", "design": "paper_defaults", "family": "lazy", "share": 0.25},
        seed=7,
    )
    assert dev["summary"]["n_deviants"].iloc[0] == 5
    # the same seed gives the same roles: the rounds' role draws do not depend on types
    assert len(dev["agents"]) == len(twin["agents"])


def test_missing_family_is_never_run_and_shows_a_dash(tmp_path):
    cfg = CompareConfig(
        mechanisms=["toy"],
        families=["lazy", "poison"],
        seeds=2,
        rounds=5,
        n_participants=20,
        designs=["paper_defaults"],
        unilateral=False,
        accuracy_families=["lazy"],
        accuracy_shares=[0.3],
    )
    pts = plan(cfg, ["toy"])["group"]
    assert {p["family"] for p in pts} == {"honest", "lazy"}  # poison: toy has none
    summary = run_compare(cfg, tmp_path / "c", workers=1, figures=False)
    cells = summary["tables"]["paper_defaults"][0]["cells"]
    assert cells["poison"] is None and cells["lazy"]["verdict"] in (
        "unprofitable",
        "profitable",
        "inconclusive",
    )
    report = (tmp_path / "c" / "report.md").read_text()
    assert "| toy |" in report and " – |" in report
    df = pd.read_parquet(tmp_path / "c" / "compare.parquet")
    assert list(df.columns) == list(SCHEMA)
    assert {str(t) for t in df.dtypes} <= {"string", "float64", "int64", "boolean"}
    assert not (df["family"] == "poison").any()
    assert set(df["setting"]) == {"group", "accuracy"}


def test_cli_quick_on_the_toy_with_figures(tmp_path):
    out = tmp_path / "q"
    r = runner.invoke(
        app,
        [
            "compare",
            "--mechanisms",
            "toy",
            "--quick",
            "--rounds",
            "4",
            "--seeds",
            "2",
            "--workers",
            "1",
            "--no-progress",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert (out / "compare.parquet").exists() and (out / "report.md").exists()
    assert {p.name for p in (out / "figures").iterdir()} >= {
        "gain_heatmap.png",
        "accuracy_vs_share.png",
        "outlay_vs_accuracy.png",
        "gini_over_rounds.png",
    }
    # the report's Reproduce command names compare.toml, the effective settings
    # (--quick and the options folded in): reading it back gives the same configuration
    import json

    from derelay.space import parse_table

    assert "--config compare.toml" in (out / "report.md").read_text(encoding="utf-8")
    back = CompareConfig(**dict(parse_table((out / "compare.toml").read_text(), "toml", "f")))
    used = json.loads((out / "summary.json").read_text())["config"]
    assert back.model_dump() == used and back.rounds == 4 and back.mechanisms == ["toy"]
    # a used directory is refused, --resume finishes it, bad input exits 2
    r = runner.invoke(app, ["compare", "--mechanisms", "toy", "--quick", "--out", str(out)])
    assert r.exit_code == 2 and "is not empty" in r.output
    r = runner.invoke(
        app,
        [
            "compare",
            "--mechanisms",
            "toy",
            "--quick",
            "--rounds",
            "4",
            "--seeds",
            "2",
            "--workers",
            "1",
            "--no-progress",
            "--resume",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    for args, needle in [
        (["--mechanisms", "bogus"], "unknown mechanism 'bogus'"),
        (["--learning", "gpu"], "'--learning' = 'gpu'"),
        (["--mechanisms", ","], "'--mechanisms' is empty"),
    ]:
        r = runner.invoke(app, ["compare", *args, "--out", str(tmp_path / "z")])
        assert r.exit_code == 2 and needle in r.output, r.output
    bad = tmp_path / "bad.toml"
    bad.write_text("share = 0.9\n")
    r = runner.invoke(app, ["compare", "--config", str(bad), "--out", str(tmp_path / "z")])
    assert r.exit_code == 2 and "share" in r.output
    assert not (tmp_path / "z").exists()


@pytest.mark.parametrize(
    ("lo", "hi", "want"),
    [
        (-2, -1, "unprofitable"),
        (1, 2, "profitable"),
        (-1, 1, "inconclusive"),
        (float("nan"), 1, "inconclusive"),
    ],
)
def test_verdict_rule(lo, hi, want):
    assert verdict(lo, hi) == want


def test_shipped_compare_config_is_valid():
    import tomllib

    from derelay.strict import validate

    data = tomllib.loads((ROOT / "experiments" / "compare.toml").read_text())
    cfg = validate(CompareConfig, data, "experiments/compare.toml")
    assert cfg.mechanisms == ["derelayl", "pot", "brain", "flchain", "deepchain"]
    assert cfg == CompareConfig(unilateral_seeds=10)


@pytest.fixture(scope="module")
def quick_all(tmp_path_factory):
    """`derelay compare --quick` on every mechanism (the CI-size comparison)."""
    out = tmp_path_factory.mktemp("quick") / "c"
    r = runner.invoke(
        app, ["compare", "--quick", "--no-progress", "--workers", "2", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    return out


def test_quick_comparison_of_all_five(quick_all):
    df = pd.read_parquet(quick_all / "compare.parquet")
    assert list(df.columns) == list(SCHEMA)
    assert set(df["mechanism"]) == {"derelayl", "pot", "brain", "flchain", "deepchain"}
    from derelay.mechanism import get_mechanism
    from experiments.compare import families_of

    for m, g in df.groupby("mechanism"):
        fams = set(families_of(get_mechanism(m)))
        assert set(g["family"]) - {"honest"} <= fams  # a missing family is never run
    # every deviant row is paired with its honest twin (same seed): a finite gain
    dev = df[(df["family"] != "honest") & (df["setting"] == "group")]
    assert dev["gain_per_round"].notna().mean() > 0.9
    report = (quick_all / "report.md").read_text()
    assert "## Design: paper_defaults" in report and "| derelayl |" in report
    assert " – |" in report  # e.g. DeRelayL has no poison strategy


@pytest.mark.slow
def test_torch_comparison_runs(tmp_path):
    """The comparison with real learning (a reduced size of the documented full run)."""
    cfg = CompareConfig(
        learning="torch",
        seeds=2,
        rounds=6,
        n_participants=64,
        trainers_per_round=8,
        families=["lazy", "poison"],
        unilateral=False,
        designs=["paper_defaults"],
        accuracy_families=["poison"],
        accuracy_shares=[0.5],
    )
    s = run_compare(cfg, tmp_path / "t", workers=2)
    assert s["failed_runs"] == 0 and not s["missing_mechanisms"]
    df = pd.read_parquet(tmp_path / "t" / "compare.parquet")
    assert df["accuracy_final"].between(0, 100).all()


@pytest.mark.slow
@pytest.mark.timeout(4 * 3600)
def test_the_documented_full_torch_comparison(tmp_path):
    """The documented full comparison, exactly as README and docs/compare.md give it
    (experiments/compare.toml with real learning: 1,040 runs of 50 rounds; its measured
    duration is in docs/compare.md)."""
    import subprocess

    out = tmp_path / "full"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "derelay",
            "compare",
            "--config",
            str(ROOT / "experiments" / "compare.toml"),
            "--learning",
            "torch",
            "--workers",
            "2",
            "--no-progress",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    df = pd.read_parquet(out / "compare.parquet")
    assert list(df.columns) == list(SCHEMA)
    assert set(df["mechanism"]) == {"derelayl", "pot", "brain", "flchain", "deepchain"}
    assert set(df["setting"]) == {"group", "unilateral", "accuracy"}
    assert df.loc[df["setting"] != "accuracy", "accuracy_final"].between(0, 100).all()
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Design: paper_defaults" in report and "## Design: min_feasible" in report
    assert len(list((out / "figures").glob("*.png"))) >= 4


def test_every_mechanism_learns_from_the_same_data_in_the_comparison():
    """Common random numbers (issue 16): in a comparison run every mechanism's learning
    comes from the engine's shared "data" stream, so for one seed all five start from the
    same model and hold the same shards (DeRelayL and PoT used their own "learn" stream
    once; DeRelayL's standalone runs still do, data_stream = "learn", for its golden files)."""
    pytest.importorskip("torch")
    import numpy as np

    from derelay.engine import build_model
    from experiments.compare import run_config

    base = {
        "learning": "torch",
        "compute": "equal",
        "trainers_per_round": 8,
        "n_participants": 128,
        "family": "honest",
        "share": 0.0,
    }
    attr = {
        "derelayl": "backend",
        "pot": "learning",
        "brain": "learn",
        "flchain": "learning",
        "deepchain": "learn",
    }
    backends = {}
    for mech, name in attr.items():
        model = build_model(run_config({**base, "mechanism": mech}), seed=11)
        backends[mech] = getattr(model.protocol, name)
    genesis = {m: b.hashes([b.genesis()])[0] for m, b in backends.items()}
    assert len(set(genesis.values())) == 1, genesis
    ref = backends["brain"].data
    for mech, b in backends.items():
        assert all(np.array_equal(b.data.shard(i), ref.shard(i)) for i in range(0, 128, 17)), mech
