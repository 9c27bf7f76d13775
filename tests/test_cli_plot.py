"""`derelay plot`: time series with 95% bands and heatmaps from sweep and run directories."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from derelay.cli import app

SPEC = """
name = "tiny"
kind = "abm"
replications = 2
seed = 3
[base]
preset = "paper_text"
rounds = 4
[base.params]
n_participants = 200
[sweep]
mode = "grid"
[sweep.axes]
s = [0.3, 0.5]
beta = [0.5, 0.9]
[outputs]
tables = ["rounds"]
metrics = ["n_trainers", "mean_coins"]
"""


def _cli(*args):
    return CliRunner().invoke(app, list(args))


def test_plot_sweep_timeseries_and_heatmap(tmp_path):
    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC)
    sweep = tmp_path / "sweep"
    r = _cli("sweep", str(spec), "--out", str(sweep), "--workers", "1", "--no-progress")
    assert r.exit_code == 0, r.output
    png = tmp_path / "ts.png"
    r = _cli("plot", str(sweep), "-y", "n_trainers", "-y", "mean_coins", "--hue", "s",
             "--facet", "beta", "--out", str(png), "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["runs"] == 8 and png.read_bytes()[:4] == b"\x89PNG"
    hm = tmp_path / "hm.png"
    r = _cli("plot", str(sweep), "-y", "mean_coins", "--heatmap", "beta,s", "--out", str(hm))
    assert r.exit_code == 0, r.output
    assert hm.read_bytes()[:4] == b"\x89PNG"
    r = _cli("plot", str(sweep), "-y", "gini", "--out", str(tmp_path / "x.png"))
    assert r.exit_code == 2 and "'gini'" in r.output
    assert not (tmp_path / "x.png").exists()


def test_plot_run_replications(tmp_path):
    run = tmp_path / "run"
    r = _cli("run", "--rounds", "4", "--participants", "200", "--replications", "2",
             "--out", str(run), "--no-progress")  # fmt: skip
    assert r.exit_code == 0, r.output
    png = tmp_path / "a.png"
    r = _cli("plot", str(run), "-y", "total_coins", "--out", str(png), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["layout"] == "replications"
    r = _cli("plot", str(tmp_path / "nope"), "-y", "total_coins", "--out", str(png))
    assert r.exit_code == 2 and "not a directory" in r.output
    r = _cli("plot", str(run), "-y", "total_coins", "--out", str(tmp_path / "a.jpg"))
    assert r.exit_code == 2 and "--out" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "run"]
