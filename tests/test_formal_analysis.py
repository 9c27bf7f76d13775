"""analysis/feasibility.py and analysis/deviations.py: tidy data and figures."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.deviations import (
    coalition_curve,
    deviation_gains,
    lazy_curve,
    plot_coalition,
    plot_lazy,
)
from analysis.feasibility import plot_region, region_frame
from derelay.formal.deviations import coalition, lazy


def test_region_frame_and_plot(tmp_path):
    df = region_frame(points=8, max_rewards={"r_cited": 0.001})
    assert {"beta", "s", "feasible", "min_issuance", "reason"} <= set(df.columns)
    assert df["min_issuance"].isna().eq(~df["feasible"]).all()
    fig = plot_region(df)
    fig.savefig(tmp_path / "region.png")
    assert (tmp_path / "region.png").stat().st_size > 0


def test_lazy_curve_crosses_zero_at_p_star():
    df = lazy_curve(ps=np.linspace(0, 1, 1001))
    _, info = lazy()
    scaled = df[df["citations"] == "scaled"]
    first_positive = scaled.loc[scaled["gain"] > 0, "p"].min()
    assert first_positive == pytest.approx(info["p_star"], abs=1e-3)
    assert plot_lazy(df).axes


def test_coalition_curve_crosses_zero_at_q_star():
    df = coalition_curve(qs=np.linspace(0, 1, 1001))
    _, info = coalition()
    last_positive = df.loc[df["gain"] > 0, "q"].max()
    assert last_positive == pytest.approx(info["q_star"], abs=1e-3)
    assert plot_coalition(df).axes


def test_deviation_gains_frame():
    df = deviation_gains(scope="coalition")
    assert list(df.columns) == ["kind", "roles", "deviation", "parameter", "gain", "replayed_gain"]
    assert (df["kind"] == "coalition").all()
    assert np.allclose(df["gain"], df["replayed_gain"])
