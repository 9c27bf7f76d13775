"""The dashboard's page logic in-process (a Bokeh Document, no browser, no server)."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bokeh.document import Document
from typer.testing import CliRunner

from derelay.cli import app as cli_app
from derelay.dashboard import compare, logic, spaces
from derelay.dashboard.app import make_document
from derelay.dashboard.sim import SimError, make_sim
from derelay.mechanism import get_mechanism, mechanism_names
from derelay.params import Params, as_values

MECH = get_mechanism("derelayl")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "derelay_toy"


@pytest.fixture(scope="module")
def toy():
    """The engine's example plug-in (examples/derelay_toy), registered as a user would."""
    sys.path.insert(0, str(EXAMPLE))
    try:
        from derelay_toy import TOY

        from derelay.mechanism import register_mechanism

        register_mechanism(TOY)
        yield TOY
    finally:
        sys.path.remove(str(EXAMPLE))


@pytest.fixture(scope="module")
def dash():
    d = make_document(Document(), "derelayl")
    d.tabs.active = 1  # builds the Simulation tab as a click on it does
    d.open_tab(2)
    return d


def _cond(d, name):
    return next(c for c in d.last_verdicts.conditions if c["name"] == name)


def test_widgets_come_from_the_declared_parameters(dash):
    assert set(dash.sliders) == {k.name for k in spaces.knobs(MECH) if k.numeric}
    for k in spaces.knobs(MECH):
        s = dash.sliders[k.name]
        lo, hi, _ = k.slider_range()
        assert k.domain.contains(s.start) and k.domain.contains(s.end), k.name
        assert dash.inputs[k.name].value == k.default
        assert k.symbol in s.title
    assert dash.last_verdicts.equilibrium  # the documented defaults are an equilibrium


def test_slider_moves_verdict_as_the_closed_form_says(dash):
    before = dash.revision
    # T7 (eq. 13): b_t > (v_rec - v_now_t) * coin = 2 at the defaults
    dash.sliders["b_t"].value = 1.5
    assert dash.revision == before + 1
    assert dash.inputs["b_t"].value == 1.5
    p = as_values(Params(b_t=1.5))
    assert _cond(dash, "T7")["holds"] is bool(MECH.condition("T7").holds(p)) is False
    assert 'data-cond="T7" data-holds="false"' in dash.verdict_div.text
    # T7 is only sufficient: IC of T against NTr still holds, exactly as U_N - U_NTr says
    t = next(r for r in dash.last_verdicts.roles if r["role"] == "T")
    ntr = next(x for x in t["ic"] if x["deviation"] == "NTr")
    assert ntr["holds"] and math.isclose(ntr["margin"], MECH.ic_margin("T", "NTr", p))
    assert "T7" in dash.last_verdicts.failing
    dash.inputs["b_t"].value = 3.0  # the number box moves the slider too
    assert dash.sliders["b_t"].value == 3.0 and _cond(dash, "T7")["holds"]


def test_bad_value_gets_one_line_and_nothing_clipped(dash):
    rev = dash.revision
    dash.inputs["beta"].value = 1.5
    assert dash.error is not None and "beta" in dash.error and "1.5" in dash.error
    assert "0 < beta < 1" in dash.error and "\n" not in dash.error
    assert dash.revision == rev  # verdicts are not recomputed at an invalid point
    assert dash.sliders["beta"].end == 1.5  # shown as typed, not clipped
    dash.inputs["beta"].value = 0.9
    assert dash.error is None and dash.revision == rev + 1


def test_region_map_agrees_with_evaluate_pointwise():
    base = spaces.defaults(MECH)
    reg = logic.region(MECH, base, "r_cited", (0.0, 0.2), "b_t", (0.0, 6.0), n=25)
    assert reg.holds.shape == (25, 25) and 0 < reg.share < 1
    rng = np.random.default_rng(0)
    for i, j in rng.integers(0, 25, size=(30, 2)):
        p = as_values(Params(**{**base, "r_cited": reg.xs[j], "b_t": reg.ys[i]}))
        ev = MECH.evaluate(p)
        want = all(bool(ev.ir[r]) and bool(ev.ic[r]) for r in ev.ir)
        assert bool(reg.holds[i, j]) is want
        m = min(x[3] for x in logic.role_margins(MECH, p))
        assert math.isclose(reg.margin[i, j], m, rel_tol=1e-9, abs_tol=1e-12)


def test_region_map_masks_cross_constraints():
    base = spaces.defaults(MECH)
    reg = logic.region(MECH, base, "v_now_t", (0.0, 20.0), "q_deposit", (0.0, 64.0), n=21)
    # v_now_t <= v_rec = 10 and q_deposit_less = 32 < q_deposit
    assert not reg.inside[:, reg.xs > 10].any()
    assert not reg.inside[reg.ys <= 32, :].any()
    assert np.isnan(reg.margin[~reg.inside]).all()


def test_design_scan_ends_match_the_closed_form():
    base = {**spaces.defaults(MECH), "r_cited": 0.02}
    res = logic.design_scan(MECH, base, "b_t", 0.0, 12.0, "T IR and IC")
    assert res.status == "region" and len(res.intervals) == 1
    iv = res.intervals[0]
    p0 = as_values(Params(**{**base, "b_t": 0.0}))
    # U_T_N is linear in b_t with slope -(1 - s): IR T ends at U_N(0) / (1 - s)
    ir_end = MECH.ir_margin("T", p0) / (1 - p0.s)
    # U_N - U_dev has slope s for both NTr and NBr (the deposit is lost): IC starts where
    # the later of the two crosses 0 (here NBr's, i.e. T8 as an equality)
    ic_start = max(-MECH.ic_margin("T", d, p0) / p0.s for d in ("NTr", "NBr"))
    assert math.isclose(iv.hi, ir_end, rel_tol=1e-9) and not iv.hi_edge
    assert math.isclose(iv.lo, max(ic_start, 0.0), rel_tol=1e-9, abs_tol=1e-12)
    assert "scan" in res.method


def test_design_scan_names_the_conflict():
    # a cheap relay: tiny citation reward, expensive training; no deposit works
    base = {**spaces.defaults(MECH), "r_cited": 0.001, "p_comp": 2.2e-8}
    res = logic.design_scan(MECH, base, "b_t", 0.0, 12.0, "T IR and IC")
    assert res.status == "empty"
    labels = [c["label"] for c in res.conflict]
    assert "IR T" in labels and any(lab.startswith("IC T vs") for lab in labels)
    assert res.summary().startswith("conflict:") and "no b_t satisfies all" in res.summary()
    ir = next(c for c in res.conflict if c["label"] == "IR T")["intervals"]
    p0 = as_values(Params(**{**base, "b_t": 0.0}))
    assert len(ir) == 1 and math.isclose(ir[0].hi, MECH.ir_margin("T", p0) / (1 - p0.s))


def test_simulation_step_play_reset(dash):
    dash.reset()
    for _ in range(3):
        dash.step()
    src = dash.sim_sources["coins"]
    assert src.data["round"] == [1.0, 2.0, 3.0]
    ledger = dash.sim_sources["ledger"].data
    assert ledger["minted"][-1] > 0 and ledger["external"][-1] == 0.0
    versions = dash.sim_sources["versions"].data
    assert math.isclose(sum(versions["value"]), 1.0, rel_tol=1e-9)
    assert "data-round='3'" in dash.sim_status.text
    dash.play(True)
    assert dash._play_cb is not None and len(dash.doc.session_callbacks) == 1
    dash.play(False)
    assert dash._play_cb is None and len(dash.doc.session_callbacks) == 0
    # backpressure: a tick steps only once the page has painted the update before the last
    dash.tick()
    assert dash.sim.round == 4
    dash.tick()  # round 4 sent, round 3 not yet acknowledged as painted: skipped
    assert dash.sim.round == 4 and dash.skipped_ticks == 1
    dash.ack.value = 3
    dash.batch.value = "5"
    dash.tick()
    assert dash.sim.round == 9 and dash.sim_sources["coins"].data["round"][-5:] == [
        5.0,
        6.0,
        7.0,
        8.0,
        9.0,
    ]
    dash.batch.value = "1"
    dash.mix["T"]["NTr"].value = 0.25
    dash.seed_input.value = 3
    dash.reset()
    assert dash.sim_sources["coins"].data["round"] == []
    dash.step()
    assert math.isclose(dash.sim_sources["shares"].data["share_T_NTr"][-1], 0.25, abs_tol=1 / 256)
    dash.mix["T"]["NBr"].value = 0.9
    dash.reset()  # 0.25 + 0.9 > 1: refused with one line, the old run stays
    assert "deviations sum to 1.15" in dash.sim_status.text
    dash.mix["T"]["NTr"].value = dash.mix["T"]["NBr"].value = 0.0


@pytest.mark.parametrize("preset", ["paper_text", "authors_code"])
def test_simulation_is_the_run_derelay_run_makes(preset):
    from derelay.model import SimConfig, run_simulation

    p = Params(r_cited=0.5)
    sim = make_sim(MECH, p, {"T": {"NTr": 0.2}}, seed=7, preset=preset)
    rows = [sim.step() for _ in range(5)]
    cfg = SimConfig.from_preset(preset).with_updates(
        params={"r_cited": 0.5}, strategies={"T": {"N": 0.8, "NTr": 0.2}}
    )
    ref = run_simulation(cfg, rounds=5, seed=7).rounds
    for key in ("minted", "burned", "n_trainers", "n_selected", "mean_coins", "share_T_NTr"):
        assert [r[key] for r in rows] == ref[key].astype(float).tolist(), key


def test_simulation_is_deterministic_per_seed():
    p = Params()
    a = make_sim(MECH, p, {"T": {"NTr": 0.2}}, seed=5)
    b = make_sim(MECH, p, {"T": {"NTr": 0.2}}, seed=5)
    ra = [a.step() for _ in range(4)]
    rb = [b.step() for _ in range(4)]
    assert ra == rb
    with pytest.raises(SimError, match="allowed"):
        make_sim(MECH, p, {}, seed=0, adaptation="telepathy")


def _compare_frame() -> pd.DataFrame:
    rows = []
    for mech in ("derelayl", "pot"):
        for fam in ("lazy", "poison"):
            if mech == "pot" and fam == "poison":
                continue  # a family with no counterpart: no rows
            for share in (0.0, 0.1):
                for seed in range(3):
                    gain = (-1.0 if mech == "derelayl" else 0.5) * share + 0.01 * seed
                    rows.append(
                        {
                            "mechanism": mech,
                            "family": fam,
                            "deviant_share": share,
                            "seed": seed,
                            "deviation_gain": gain,
                            "final_accuracy": 0.9 - share,
                        }
                    )
    return pd.DataFrame(rows)


def test_compare_tab_reads_parquet(tmp_path, dash):
    _compare_frame().to_parquet(tmp_path / "compare.parquet")
    data = compare.load(tmp_path)
    assert data.metrics == ["deviation_gain", "final_accuracy"]
    mechs, fams, z = data.heatmap("deviation_gain", 0.1)
    assert mechs == ["derelayl", "pot"] and fams == ["lazy", "poison"]
    assert math.isclose(z[0, 0], -0.1 + 0.01) and math.isclose(z[1, 0], 0.05 + 0.01)
    assert np.isnan(z[1, 1])  # no rows: no cell, never a zero
    dash.cmp_dir.value = str(tmp_path)
    dash.load_compare(str(tmp_path))
    heat = dash.cmp_heat_src.data
    assert len(heat["value"]) == 4 and dash.cmp_share.value == "0.1"
    missing = heat["text"].index("–")  # pot x poison: a "–" cell, not a zero
    assert (heat["mechanism"][missing], heat["family"][missing]) == ("pot", "poison")
    assert math.isnan(heat["value"][missing])
    assert dash.cmp_table_src.data["seeds"] == [3] * 6
    assert "data-rows='18'" in dash.cmp_msg.text
    # `derelay dashboard --compare DIR`: the tab opens on that directory
    page = make_document(Document(), "derelayl", compare_dir=str(tmp_path))
    page.open_tab(2)
    assert len(page.cmp_heat_src.data["value"]) == 4 and page.cmp_metric.value == "deviation_gain"


def test_compare_tab_bad_input(tmp_path, dash):
    dash.load_compare(str(tmp_path / "nowhere"))
    assert "no compare.parquet" in dash.cmp_msg.text
    _compare_frame().drop(columns=["seed"]).to_parquet(tmp_path / "compare.parquet")
    with pytest.raises(compare.CompareError, match="missing column"):
        compare.load(tmp_path)
    (tmp_path / "compare.parquet").write_bytes(b"not parquet")
    with pytest.raises(compare.CompareError, match="cannot read"):
        compare.load(tmp_path)


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--mechanism", "nope"], "--mechanism = 'nope' is unknown"),
        (["--port", "70000"], "--port = 70000 is out of range"),
        (["--compare", "/nonexistent/dir"], "is not a directory"),
    ],
)
def test_cli_bad_input_exits_2(args, needle):
    res = CliRunner().invoke(cli_app, ["dashboard", *args])
    assert res.exit_code == 2
    text = re.sub(r"\s+", " ", res.output)
    assert needle in text and "Traceback" not in text


def test_exact_design_answer_agrees_with_the_scan(dash):
    base = {**spaces.defaults(MECH), "r_cited": 0.001, "p_comp": 2.2e-8}
    ex = logic.exact_design(MECH, base, "b_t", "T IR and IC")
    assert ex["status"] == "empty"
    assert (
        "T IR needs b_t <= 0.9524" in ex["text"] and "T IC vs NTr needs b_t > 3.0276" in ex["text"]
    )
    scan = logic.design_scan(MECH, base, "b_t", 0.0, 12.0, "T IR and IC")
    ir = next(c for c in scan.conflict if c["label"] == "IR T")["intervals"][0]
    assert math.isclose(ir.hi, 2381 / 2500, rel_tol=1e-9)  # the exact bound, 2381/2500
    assert logic.exact_design(MECH, base, "b_t", "condition T7")["status"] == "n/a"
    # on the page: the design box shows both, the exact one labelled as such
    dash.design_want.value = "T IR and IC"
    dash.refresh_exact()
    assert "data-exact-status='region'" in dash.design_div.text
    assert "derelay design" in dash.design_div.text and "Scan:" in dash.design_div.text
    dash.design_want.value = "all roles IR and IC"


def test_a_new_mechanism_gets_its_page_with_no_dashboard_code(toy):
    doc = Document()
    d = make_document(doc, "derelayl")
    assert toy.name in d.mech_select.options
    d.mech_select.value = toy.name  # the selector rebuilds the page for the toy
    assert d.mech is toy and len(doc.roots) == 1 and doc.title.endswith(toy.name)
    assert set(d.sliders) == set(toy.space.numeric_keys)
    assert (d.map_x.value, d.map_y.value) == toy.space.levers[:2]  # its reward levers
    assert d.design_key.value == toy.space.levers[0]
    assert {c["name"] for c in d.last_verdicts.conditions} == {c.name for c in toy.conditions}
    # verdicts follow the toy's own formulas at the slider's value
    d.sliders["p_detect"].value = 0.01
    p = toy.space.values(toy.space.validate(d.values))
    for c in toy.conditions:
        assert _cond(d, c.name)["holds"] is bool(c.holds(p))
    ev = toy.evaluate(p)
    for r in d.last_verdicts.roles:
        assert r["ir"] is bool(ev.ir[r["role"]]) and r["ic_ok"] is bool(ev.ic[r["role"]])
    # the live ABM runs on the generic engine with the mix per role
    d.open_tab(1)
    assert d.sim.name == "derelay.engine.MechanismModel"
    lazy = next(s.abbr for s in toy.role("W").deviations)
    d.mix["W"][lazy].value = 0.2
    d.reset()
    d.step(2)
    coins = d.sim_sources["coins"].data
    assert coins["round"] == [1.0, 2.0]
    assert d.sim_sources["ledger"].data["external"][-1] > 0  # the toy's client pays in
    shares = d.sim_sources["shares"].data
    assert math.isclose(shares[f"share_W_{lazy}"][-1], 0.2, abs_tol=1 / 256)
    # and the same run is what derelay.engine gives for that config and seed
    from derelay.engine import RunConfig, run_simulation

    res = run_simulation(
        RunConfig(
            mechanism=toy.name,
            params=toy.space.validate(d.values).to_dict(),
            strategies={"W": {"N": 0.8, lazy: 0.2}},
        ),
        rounds=2,
        seed=0,
    )
    assert math.isclose(d.sim_sources["ledger"].data["burned"][-1], res.rounds["burned"].iloc[-1])


def test_the_docs_python_block_runs():
    text = (Path(__file__).resolve().parents[1] / "docs" / "dashboard.md").read_text("utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
    assert blocks
    for code in blocks:
        exec(compile(code, "docs/dashboard.md", "exec"), {"__name__": "docs_dashboard"})


def test_status_says_when_the_design_point_changed_since_reset(dash):
    dash.reset()
    assert "changed since Reset" not in dash.sim_status.text
    dash.inputs["r_cited"].value = 0.5
    assert "changed since Reset" in dash.sim_status.text
    dash.reset()
    assert "changed since Reset" not in dash.sim_status.text
    dash.inputs["r_cited"].value = 1.0


def _kinds_mechanism():
    """A mechanism with every parameter kind (real, int, bool, choice, list)."""
    from derelay.mechanism import Mechanism, Role, Strategy
    from derelay.params import Domain
    from derelay.space import COMMON_SPACE, ParamSpace, ParamSpec

    space = ParamSpace(
        "dash_kinds",
        [
            ParamSpec("reward", "R", "reward", "", Domain(0.0, True), 2.0, lever=True),
            ParamSpec("k", "K", "count", "", Domain(1.0), 3, kind="int", unit="agents"),
            ParamSpec("mode", "-", "a reading", "", kind="choice", choices=("a", "b"), default="a"),
            ParamSpec("flag", "-", "a switch", "", kind="bool", default=False),
            ParamSpec("rely", "RELY", "per-agent values", "", Domain(0.0), (1.0, 1.0), kind="list"),
        ],
        inherits=COMMON_SPACE,
    )

    def honest(p):
        return p.reward * sum(p.rely) / len(p.rely) - p.c_train * p.k

    def lazy(p):
        return 0.5 * p.reward + 0.0 * p.k

    class Kinds(Mechanism):
        name = "dash_kinds"
        title = "Every parameter kind"

    Kinds.space = space
    Kinds.roles = (
        Role(
            "W",
            "Worker",
            "works or shirks",
            (
                Strategy("W", "N", "Normal", "works", "-", honest),
                Strategy("W", "Lazy", "Lazy", "shirks", "-", lazy, family="lazy"),
            ),
        ),
    )
    return Kinds()


@pytest.fixture()
def kinds():
    from derelay.mechanism import register_mechanism
    from derelay.mechanism.registry import MECHANISMS

    mech = register_mechanism(_kinds_mechanism())
    yield mech
    MECHANISMS.pop(mech.name, None)  # leave the registry as found


def test_every_parameter_kind_gets_a_widget(kinds):
    mech = kinds
    d = make_document(Document(), mech.name)
    assert d.inputs["mode"].options == ["a", "b"] and d.inputs["flag"].active is False
    assert d.inputs["rely"].value == "1, 1"
    assert {"reward", "k"} <= set(d.sliders) and "rely" not in d.sliders
    # U_N - U_Lazy = 2 * mean(rely) - 0.3 - 1 at the defaults: 0.7 > 0
    ic = d.last_verdicts.roles[0]["ic"][0]
    assert ic["holds"] and math.isclose(ic["margin"], 0.7)
    d.inputs["rely"].value = "0.2, 0.4"  # mean 0.3: 0.6 - 0.3 - 1 < 0
    ic = d.last_verdicts.roles[0]["ic"][0]
    assert not ic["holds"] and math.isclose(ic["margin"], -0.7)
    d.inputs["rely"].value = "0.2, x"
    assert "rely" in d.error and "numbers separated by commas" in d.error
    d.inputs["rely"].value = "0.2, -1"
    assert "rely" in d.error  # the space's own message: out of its domain
    d.inputs["rely"].value = "1, 1"
    d.inputs["flag"].active = True
    d.inputs["mode"].value = "b"
    assert d.error is None and d.values["flag"] is True and d.values["mode"] == "b"
    d.open_tab(1)  # no round protocol: the tab says so in one line
    assert "declares no round protocol" in d.sim_status.text


@pytest.mark.parametrize("name", mechanism_names())
def test_every_registered_mechanism_gets_its_page_and_live_run(name):
    mech = get_mechanism(name)
    d = make_document(Document(), name)
    assert set(d.sliders) == {k.name for k in spaces.knobs(mech) if k.numeric}
    p = spaces.validate(mech, d.values)
    ev = mech.evaluate(p)
    for r in d.last_verdicts.roles:  # the page says what the mechanism's formulas say
        assert r["ir"] is bool(ev.ir[r["role"]]) and r["ic_ok"] is bool(ev.ic[r["role"]])
    for c in d.last_verdicts.conditions:
        assert c["holds"] is bool(mech.condition(c["name"]).holds(p))
    assert d.map_info.text and "data-design-status" in d.design_div.text
    d.open_tab(1)
    assert d.sim is not None, d.sim_status.text
    d.step(2)
    for spec in d.sim.plots:
        data = d.sim_sources[spec.key].data
        if spec.kind == "line":
            assert data["round"] == [1.0, 2.0] and all(len(data[c]) == 2 for c, _ in spec.columns)
    ledger = d.sim_sources["ledger"].data
    assert all(ledger[k][-1] >= 0 for k in ("minted", "external", "burned"))
