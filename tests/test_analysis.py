"""analysis/: statistics, closed-form regions, figures; experiments.sensitivity."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from analysis.plots import plot_gini, plot_heatmap, plot_timeseries, save_figure
from analysis.stats import closed_form_region, confidence_band, final_values, gini, gini_over_rounds
from derelay.check import check_point
from derelay.cli import app
from derelay.params import Params
from experiments.runner import load_results, run_sweep
from experiments.sensitivity import run_sensitivity
from experiments.spec import spec_from_mapping


def test_gini_known_values_and_invariances():
    assert gini([5, 5, 5, 5]) == 0.0
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75)  # (n-1)/n: one holds everything
    assert gini([0, 0, 0]) == 0.0
    x = np.random.default_rng(0).exponential(size=200)
    assert gini(x) == pytest.approx(gini(3.7 * x))  # scale invariant
    assert gini(x) == pytest.approx(gini(np.random.default_rng(1).permutation(x)))
    # mean absolute difference formula: G = sum |xi - xj| / (2 n^2 mean)
    mad = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    assert gini(x) == pytest.approx(mad)
    np.testing.assert_allclose(gini(np.stack([x, x * 0 + 1])), [gini(x), 0.0])
    with pytest.raises(ValueError, match="non-negative"):
        gini([-1, 2])


def test_gini_over_rounds_groups():
    agents = pd.DataFrame(
        {
            "run_id": [0] * 6,
            "round": [0, 0, 0, 1, 1, 1],
            "participant": [0, 1, 2] * 2,
            "coins": [1, 1, 1, 0, 0, 3],
        }
    )
    g = gini_over_rounds(agents)
    assert g["gini_coins"].tolist() == pytest.approx([0.0, 2 / 3])


def test_confidence_band_is_the_t_interval():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"round": np.repeat([0, 1], 10), "m": rng.normal(size=20)})
    band = confidence_band(df, "m")
    sub = df[df["round"] == 1]["m"]
    lo, hi = stats.t.interval(0.95, len(sub) - 1, loc=sub.mean(), scale=stats.sem(sub))
    assert band.loc[1, "lo"] == pytest.approx(lo) and band.loc[1, "hi"] == pytest.approx(hi)
    pct = confidence_band(df, "m", method="percentile", level=0.5)
    assert pct.loc[1, "lo"] == pytest.approx(sub.quantile(0.25))


def test_closed_form_region_agrees_with_check_point():
    xs, ys = np.linspace(0.02, 0.98, 7), np.linspace(0.02, 0.98, 5)
    base = Params(b_t=0.8)
    reg = closed_form_region("beta", xs, "s", ys, base=base)
    assert len(reg) == 35
    for _, row in reg.sample(8, random_state=0).iterrows():
        res = check_point(base.model_copy(update={"beta": row.beta, "s": row.s}))
        eq = all(res["ir"].values()) and all(res["ic"].values())
        assert bool(row.value) == eq
    assert 0 < reg["value"].mean() < 1  # both regimes present
    t8 = closed_form_region("beta", xs, "s", ys, base=base, what="T8")
    assert set(t8["value"]) <= {0.0, 1.0}


def test_figures_png_and_pdf(tmp_path):
    sp = spec_from_mapping(
        {
            "kind": "dynamics",
            "replications": 3,
            "base": {"rounds": 20, "params": {"beta": 0.05}},
            "sweep": {"axes": {"b_t": [0.5, 3.0], "s": [0.2, 0.5]}},
        }
    )
    run_sweep(sp, tmp_path / "o", workers=1)
    df = load_results(tmp_path / "o")
    ax = plot_timeseries(df[df["s"] == 0.2], "share_N_T", hue="b_t", ylabel="share of Normal T")
    assert ax.get_xlabel() == "round" and ax.get_legend() is not None
    paths = save_figure(ax.figure, tmp_path / "fig" / "ts")
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(
        p.stat().st_size > 0 for p in paths
    )
    fin = final_values(df)
    assert len(fin) == 12 and (fin["round"] == 20).all()
    ax = plot_heatmap(fin, "b_t", "s", "share_N_T", cbar_label="final share of Normal T")
    save_figure(ax.figure, tmp_path / "fig" / "hm")
    ax = plot_heatmap(
        closed_form_region("beta", [0.1, 0.5], "s", [0.2, 0.6]), "beta", "s", "value", binary=True
    )
    save_figure(ax.figure, tmp_path / "fig" / "bin")
    g = pd.DataFrame(
        {"run_id": [0, 0, 1, 1], "round": [0, 1, 0, 1], "gini_coins": [0, 0.2, 0, 0.3]}
    )
    save_figure(plot_gini(g).figure, tmp_path / "fig" / "gini")
    assert len(list((tmp_path / "fig").glob("*.png"))) == 4


def test_morris_finds_the_parameters_that_matter(tmp_path):
    # U^DBM_N = Q_Deposit R_Deposit - C_Mine: beta must have no effect, r_deposit must
    sp = spec_from_mapping(
        {
            "name": "sens",
            "kind": "check",
            "seed": 5,
            "sensitivity": {
                "method": "morris",
                "samples": 6,
                "outputs": ["u_DBM_N", "u_T_N"],
                "ranges": {"beta": [0.1, 0.9], "r_deposit": [0.0, 0.01], "c_mine": [0.0, 0.02]},
            },
        }
    )
    res, result = run_sensitivity(sp, tmp_path / "s", workers=1)
    assert res.failed == 0
    idx = result["indices"]["u_DBM_N"]
    mu = dict(zip(result["parameters"], idx["mu_star"], strict=True))
    assert mu["beta"] == pytest.approx(0.0, abs=1e-12)
    # linear output: elementary effect = slope x range (64 x 0.01 and 1 x 0.02)
    assert mu["r_deposit"] == pytest.approx(0.64) and mu["c_mine"] == pytest.approx(0.02)
    assert (
        dict(zip(result["parameters"], result["indices"]["u_T_N"]["mu_star"], strict=True))["beta"]
        > 0
    )
    saved = json.loads((tmp_path / "s" / "sensitivity.json").read_text())
    assert saved["method"] == "morris"
    assert (tmp_path / "s" / "sensitivity_u_DBM_N.png").exists()


def test_sobol_cli(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(
        'name = "sob"\nkind = "check"\n[sensitivity]\nmethod = "sobol"\nsamples = 32\n'
        'outputs = ["u_DBM_N"]\n[sensitivity.ranges]\nr_deposit = [0.0, 0.01]\n'
        "q_deposit = [32.0, 96.0]\nbeta = [0.1, 0.9]\n"
    )
    res = CliRunner().invoke(
        app, ["sensitivity", str(spec), "--out", str(tmp_path / "o"), "--workers", "1", "--json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    st = dict(zip(out["parameters"], out["indices"]["u_DBM_N"]["ST"], strict=True))
    assert st["beta"] == pytest.approx(0.0, abs=1e-9)
    assert st["r_deposit"] > 0.3 and st["q_deposit"] > 0.05
    bad = tmp_path / "bad.toml"
    bad.write_text('kind = "check"\n')
    res = CliRunner().invoke(app, ["sensitivity", str(bad), "--out", str(tmp_path / "b")])
    assert res.exit_code == 2 and "[sensitivity]" in res.output


def test_dynamics_agree_with_closed_form_region(tmp_path):
    """Simulation and closed form agree: the population keeps Normal exactly where
    the mechanism's formulas say Normal is IR and IC (cells off the boundary)."""
    axes = {"beta": [0.05, 0.5, 0.95], "s": [0.05, 0.5, 0.95]}
    sp = spec_from_mapping(
        {
            "kind": "dynamics",
            "seed": 4,
            "base": {"rounds": 80, "revision_rate": 0.2, "params": {"b_t": 0.5}},
            "sweep": {"axes": axes},
        }
    )
    run_sweep(sp, tmp_path / "o", workers=1)
    dyn = final_values(load_results(tmp_path / "o"))
    cf = closed_form_region("beta", axes["beta"], "s", axes["s"], base=Params(b_t=0.5))
    both = dyn.merge(cf, on=["beta", "s"])
    assert len(both) == 9 and 0 < both["value"].mean() < 1
    assert ((both["share_N_min"] >= 0.5) == (both["value"] > 0.5)).all()


def test_gini_of_presorted_integer_balances_is_bit_identical():
    """standard_columns passes balances sorted as integers: their float conversion is in
    ascending order too, so gini(..., is_sorted=True) is the same float, even beyond
    2^53 where conversion merges neighbours."""
    from derelay.engine.metrics import gini

    rng = np.random.default_rng(2)
    for scale in (10**3, 10**12, 2**60):
        a = rng.integers(0, scale, size=257, dtype=np.int64)
        assert gini(np.sort(a), is_sorted=True) == gini(a)
