"""The dashboard's page: a Bokeh document built from the mechanism's declarations.

Three tabs:

* **Design**: one slider and one number box per parameter (generated from the parameter
  space: symbol, meaning, domain, default, unit, group), the live verdicts (every condition
  with its margin, IR and IC per role, the failing ones named), the region map over two
  chosen parameters and the one-parameter design interval (a labelled scan).
* **Simulation**: the live ABM at the Design tab's point with a strategy mix per role, a seed
  and an adaptation rule; step, play and reset; the plots the model adapter declares
  (coins, version distribution, strategy shares, trainers, ledger), streamed row by row.
* **Compare**: a ``derelay compare`` results directory as a table and a heatmap.

Every widget and plot is a Bokeh model; the Python callbacks run in the Bokeh server
(:mod:`derelay.dashboard.server`), so the page works with the tests' in-process document
as well as in a browser.  Models the browser test reads carry a ``name``.
"""

from __future__ import annotations

import html
import math
import time
from typing import Any

import numpy as np
from bokeh.document import Document
from bokeh.layouts import column, row
from bokeh.models import (
    BasicTicker,
    Button,
    Checkbox,
    ColorBar,
    ColumnDataSource,
    CustomJS,
    DataTable,
    Div,
    FactorRange,
    HoverTool,
    LinearColorMapper,
    NumberFormatter,
    NumericInput,
    Select,
    Slider,
    TableColumn,
    TabPanel,
    Tabs,
    TextInput,
    Toggle,
)
from bokeh.palettes import Category20_20, PuOr11, RdYlGn11
from bokeh.plotting import figure

from . import compare as compare_mod
from . import logic, spaces
from .sim import ADAPTATIONS, SimError, make_sim, sim_class

#: green for positive margins, red for negative (RdYlGn11 runs green -> red)
DIVERGING = tuple(reversed(RdYlGn11))
PLAY_PERIOD_MS = 100
PLAY_PERIODS = (20, 50, 100, 250, 500)
BATCHES = (1, 2, 5, 10, 25)
#: Playing steps only while the browser is at most this many rounds behind (backpressure:
#: the page acknowledges each round once it has painted it).
MAX_IN_FLIGHT = 1
#: Runs in the browser whenever the status line changes: acknowledge the round it shows
#: after the next paint.
ACK_JS = """
const m = cb_obj.text.match(/data-round='(\\d+)'/);
if (m) {
  const r = Number(m[1]);
  requestAnimationFrame(() => { ack.value = r; });
}
"""
MAP_POINTS = 120
EXACT_DELAY_MS = 250
GOOD, BAD = "#1a7f37", "#cf222e"


def _fmt(x: Any) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return html.escape(str(x))
    if math.isnan(x):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.6g}"


def _mark(ok: bool) -> str:
    return f'<b style="color:{GOOD if ok else BAD}">{"✓" if ok else "✗"}</b>'


def signed_log(m: np.ndarray) -> np.ndarray:
    """Colour scale of the region map: sign(m) * log10(1 + |m| / eps), eps a hundredth of
    the median |margin|, so both near-zero and large margins stay visible."""
    a = np.abs(m[np.isfinite(m)])
    eps = max(float(np.median(a)) * 1e-2, 1e-12) if a.size else 1.0
    with np.errstate(invalid="ignore"):
        return np.sign(m) * np.log10(1.0 + np.abs(m) / eps)


class Dashboard:
    """One browser session's page for one mechanism."""

    def __init__(self, doc: Document, mechanism: str = "derelayl", compare_dir: str = "") -> None:
        self.doc = doc
        self.compare_dir = compare_dir
        self.revision = 0
        self._play_cb = None
        self.sim = None
        self.step_times: list[float] = []
        self.build(mechanism)

    # ------------------------------------------------------------------------------
    # construction
    # ------------------------------------------------------------------------------
    def build(self, mechanism: str) -> None:
        self.stop()
        self.sim = None
        self.mech = spaces.get(mechanism)
        self.knobs = {k.name: k for k in spaces.knobs(self.mech)}
        self.values: dict[str, Any] = spaces.defaults(self.mech)
        self.point = spaces.validate(self.mech, self.values)
        self.model_point = spaces.validated_model(self.mech, self.values)
        self.error: str | None = None
        self.inputs: dict[str, Any] = {}
        self.sliders: dict[str, Slider] = {}

        names = spaces.mechanism_names()
        self.mech_select = Select(
            title="Mechanism", value=self.mech.name, options=names, name="mechanism", width=220
        )
        self.mech_select.on_change("value", lambda _a, _o, new: self._switch(new))
        header = Div(
            text=f"<h2 style='margin:4px 0'>derelay dashboard · "
            f"{html.escape(self.mech.title or self.mech.name)}"
            "</h2><span style='color:#555'>Every number below is computed by the mechanism's "
            "own formulas at the point you set.</span>",
            width=900,
        )
        # the Simulation and Compare tabs are built when first opened (a faster first render)
        self._builders: list[Any] = [None, self._sim_tab, self._compare_tab]
        self.tabs = Tabs(
            tabs=[
                TabPanel(child=self._design_tab(), title="Design"),
                TabPanel(child=column(Div(text="…")), title="Simulation"),
                TabPanel(child=column(Div(text="…")), title="Compare"),
            ],
            name="tabs",
        )
        self.tabs.on_change("active", lambda _a, _o, new: self.open_tab(new))
        self.root = column(row(self.mech_select, header), self.tabs, name="root")
        self.doc.clear()
        self.doc.title = f"derelay dashboard: {self.mech.name}"
        self.doc.add_root(self.root)
        self.refresh()

    def open_tab(self, index: int) -> None:
        """Build tab ``index`` if it has not been built yet."""
        build = self._builders[index]
        if build is not None:
            self._builders[index] = None
            self.tabs.tabs[index].child.children = [build()]

    def _switch(self, name: str) -> None:
        if name != self.mech.name:
            self.build(name)

    # --- design tab -------------------------------------------------------------
    def _param_widgets(self) -> Any:
        groups: dict[str, list[Any]] = {}
        for k in self.knobs.values():
            groups.setdefault(k.group, []).append(k)
        items: list[Any] = []
        for group, ks in groups.items():
            items.append(Div(text=f"<b>{html.escape(group)}</b>", width=380))
            for k in ks:
                items.append(self._knob_widget(k))
        return column(
            *items,
            height=760,
            width=410,
            styles={"overflow-y": "auto", "overflow-x": "hidden"},
            name="params",
        )

    def _knob_widget(self, k: spaces.Knob) -> Any:
        label = f"{k.symbol} · {k.name}" + (f" [{k.unit}]" if k.unit and k.unit != "1" else "")
        tip = f"{k.meaning}; allowed {k.domain.describe(k.name)}"
        if k.kind in ("real", "int"):
            lo, hi, step = k.slider_range()
            v = float(k.default)
            s = Slider(
                start=lo,
                end=max(hi, lo + step),
                value=min(max(v, lo), hi),
                step=step,
                title=label,
                show_value=False,
                width=230,
                name=f"slider-{k.name}",
                css_classes=[f"slider-{k.name}"],
            )
            box = NumericInput(
                value=int(v) if k.kind == "int" else v,
                mode="int" if k.kind == "int" else "float",
                width=130,
                name=f"input-{k.name}",
                css_classes=[f"input-{k.name}"],
                description=tip,
            )
            s.on_change("value", lambda _a, _o, new, key=k.name: self.set_value(key, new, "slider"))
            box.on_change("value", lambda _a, _o, new, key=k.name: self.set_value(key, new, "box"))
            self.sliders[k.name] = s
            self.inputs[k.name] = box
            return row(s, box)
        if k.kind == "choice":
            w = Select(title=label, value=str(k.default), options=list(k.choices), width=360)
        elif k.kind == "bool":
            w = Checkbox(label=label, active=bool(k.default), width=360)
            w.on_change("active", lambda _a, _o, new, key=k.name: self.set_value(key, new, "box"))
            self.inputs[k.name] = w
            return w
        else:  # list of reals
            w = TextInput(
                title=label + " (comma separated)",
                value=", ".join(f"{x:g}" for x in k.default),
                width=360,
            )
        w.name = f"input-{k.name}"
        w.on_change("value", lambda _a, _o, new, key=k.name: self.set_value(key, new, "box"))
        self.inputs[k.name] = w
        return w

    def _design_tab(self) -> Any:
        numeric = [k.name for k in self.knobs.values() if k.numeric]
        levers = [k for k in numeric if self.knobs[k].lever] or numeric
        self.error_div = Div(text="", width=900, name="error")
        self.verdict_div = Div(text="", width=620, name="verdicts")
        self.roles_div = Div(text="", width=420, name="roles")
        props = logic.property_names(self.mech)
        # region map
        x0, y0 = self._default_axes(numeric)
        self.map_x = Select(title="x", value=x0, options=numeric, width=160, name="map-x")
        self.map_y = Select(title="y", value=y0, options=numeric, width=160, name="map-y")
        self.map_want = Select(
            title="where", value=props[0], options=props, width=200, name="map-want"
        )
        for w in (self.map_x, self.map_y, self.map_want):
            w.on_change("value", lambda _a, _o, _n: self.refresh_map())
        self.map_src = ColumnDataSource(
            {"image": [np.zeros((2, 2))], "margin": [np.zeros((2, 2))]}, name="src-map"
        )
        self.map_mapper = LinearColorMapper(palette=DIVERGING, low=-1, high=1, nan_color="#d0d0d0")
        self.map_fig = figure(
            width=520,
            height=420,
            title="Region map",
            tools="pan,wheel_zoom,box_zoom,reset,save",
            name="map",
        )
        self.map_img = self.map_fig.image(
            image="image", source=self.map_src, x=0, y=0, dw=1, dh=1, color_mapper=self.map_mapper
        )
        self.map_fig.add_tools(
            HoverTool(renderers=[self.map_img], tooltips=[("tightest margin", "@margin")])
        )
        self.map_here = ColumnDataSource({"x": [0.0], "y": [0.0]}, name="src-map-point")
        self.map_fig.scatter(
            "x", "y", source=self.map_here, size=12, marker="x", line_width=3, color="black"
        )
        self.map_fig.add_layout(
            ColorBar(
                color_mapper=self.map_mapper,
                ticker=BasicTicker(),
                title="margin (signed log)",
                width=10,
            ),
            "right",
        )
        self.map_info = Div(text="", width=520, name="map-info")
        self._map_ranges: dict[str, tuple[float, float]] = {}
        # design scan
        hint = getattr(self.mech, "dashboard_free", None)
        default_key = hint if hint in numeric else levers[0]
        self.design_key = Select(
            title="free parameter", value=default_key, options=numeric, width=170, name="design-key"
        )
        self.design_want = Select(
            title="wanted", value=props[0], options=props, width=200, name="design-want"
        )
        lo, hi, _ = self.knobs[default_key].slider_range()
        self.design_lo = NumericInput(value=lo, mode="float", title="from", width=100)
        self.design_hi = NumericInput(value=hi, mode="float", title="to", width=100)
        self.design_key.on_change("value", lambda _a, _o, _n: self._design_key_changed())
        for w in (self.design_want, self.design_lo, self.design_hi):
            w.on_change("value", lambda _a, _o, _n: self.refresh_design())
        self.design_div = Div(text="", width=620, name="design")
        self._exact_token = 0
        self.scan_text = self.exact_text = ""
        map_box = column(row(self.map_x, self.map_y, self.map_want), self.map_fig, self.map_info)
        design_box = column(
            Div(text="<b>Design interval for one free parameter</b>", width=600),
            row(self.design_key, self.design_want, self.design_lo, self.design_hi),
            self.design_div,
        )
        right = column(
            self.error_div,
            row(self.verdict_div, self.roles_div),
            row(map_box, design_box),
        )
        return row(self._param_widgets(), right)

    def _default_axes(self, numeric: list[str]) -> tuple[str, str]:
        """The region map's first axes: the mechanism's ``dashboard_axes`` hint if it
        declares one, else its first two reward levers (then other numeric parameters)."""
        hint = tuple(getattr(self.mech, "dashboard_axes", None) or ())
        if len(hint) == 2 and all(h in numeric for h in hint) and hint[0] != hint[1]:
            return hint[0], hint[1]
        levers = [k for k in numeric if self.knobs[k].lever]
        pool = levers + [k for k in numeric if k not in levers]
        return pool[0], pool[1] if len(pool) > 1 else pool[0]

    # --- simulation tab ---------------------------------------------------------
    def _sim_tab(self) -> Any:
        self.sim_status = Div(text="", width=900, height=22, name="sim-status")
        self.ack = NumericInput(value=0, mode="int", visible=False, name="ack")
        self.sim_status.js_on_change("text", CustomJS(args={"ack": self.ack}, code=ACK_JS))
        cls = sim_class(self.mech)
        if cls is None:
            try:
                make_sim(self.mech, self.model_point, {}, 0)
            except SimError as exc:
                self.sim_status.text = html.escape(str(exc))
            self.sim_plots: dict[str, Any] = {}
            return column(self.sim_status)
        self.seed_input = NumericInput(value=0, mode="int", title="seed", width=80, name="seed")
        self.adapt_select = Select(
            title="adaptation", value="fixed", options=list(ADAPTATIONS), width=135
        )
        self.preset_select = Select(
            title="reading (preset)",
            value=cls.presets[0] if cls.presets else "",
            options=list(cls.presets),
            width=135,
            visible=bool(cls.presets),
            name="preset",
        )
        self.step_button = Button(
            label="Step", button_type="primary", width=80, name="step", css_classes=["step"]
        )
        self.play_toggle = Toggle(
            label="Play", button_type="success", width=80, name="play", css_classes=["play"]
        )
        self.reset_button = Button(label="Reset", width=80, name="reset", css_classes=["reset"])
        self.speed = Select(
            title="play: ms per round",
            value=str(PLAY_PERIOD_MS),
            options=[str(x) for x in PLAY_PERIODS],
            width=120,
            name="speed",
            css_classes=["speed"],
        )
        self.speed.on_change("value", lambda _a, _o, _n: self._restart_play())
        self.batch = Select(
            title="rounds per update",
            value="1",
            options=[str(x) for x in BATCHES],
            width=120,
            name="batch",
            css_classes=["batch"],
        )
        self.step_button.on_click(lambda: self.step())
        self.reset_button.on_click(lambda: self.reset())
        self.play_toggle.on_change("active", lambda _a, _o, new: self.play(bool(new)))
        self.mix: dict[str, dict[str, Slider]] = {}
        mix_rows = []
        for role in self.mech.roles:
            sliders = []
            for d in role.deviations:
                s = Slider(
                    start=0,
                    end=1,
                    step=0.01,
                    value=0.0,
                    title=f"{role.abbr}: {d.abbr} share",
                    width=170,
                    name=f"mix-{role.abbr}-{d.abbr}",
                    css_classes=[f"mix-{role.abbr}-{d.abbr}"],
                )
                self.mix.setdefault(role.abbr, {})[d.abbr] = s
                sliders.append(s)
            for i in range(0, len(sliders), 2):  # two per line: the column stays 400 px
                mix_rows.append(row(*sliders[i : i + 2]))
        controls = column(
            row(self.step_button, self.play_toggle, self.reset_button),
            row(self.seed_input, self.adapt_select, self.preset_select),
            row(self.speed, self.batch),
            Div(text="<b>Strategy mix per role</b> (Normal plays the rest; Reset applies)"),
            *mix_rows,
            width=400,
        )
        self.sim_sources: dict[str, ColumnDataSource] = {}
        self.sim_plots = {}
        self.sim_grid = column(name="sim-plots")
        if self.doc.session_context is not None:
            # served: show the tab first, then build the model (a protocol's first round
            # may take seconds to warm up its learning backend)
            self.sim_status.text = f"starting {html.escape(cls.name)} …"
            self.doc.add_next_tick_callback(self._start_sim)
        else:
            self._start_sim()
        return column(self.sim_status, self.ack, row(controls, self.sim_grid))

    def _start_sim(self) -> None:
        """The first model of the tab and its plots."""
        self.reset()
        figs = [self._sim_figure(spec) for spec in self.sim.plots] if self.sim else []
        self.sim_grid.children = [row(*figs[i : i + 2]) for i in range(0, len(figs), 2)]

    def _sim_figure(self, spec) -> Any:
        src = self.sim_sources[spec.key]
        if spec.kind == "bars":
            labels = [lab for _c, lab in spec.columns]
            f = figure(
                x_range=FactorRange(*labels),
                width=440,
                height=260,
                title=spec.title,
                tools="save",
                name=f"plot-{spec.key}",
            )
            f.vbar(x="label", top="value", width=0.8, source=src)
            f.y_range.start = 0
        else:
            f = figure(
                width=440,
                height=260,
                title=spec.title,
                tools="pan,wheel_zoom,reset,save",
                name=f"plot-{spec.key}",
            )
            for i, (col, lab) in enumerate(spec.columns):
                f.line(
                    "round",
                    col,
                    source=src,
                    legend_label=lab,
                    color=Category20_20[i % 20],
                    line_width=2,
                    visible=not spec.show_first or i < spec.show_first,
                )
            f.y_range.only_visible = True  # hidden lines do not stretch the axis
            f.legend.click_policy = "hide"
            f.legend.label_text_font_size = "8pt"
            f.legend.location = "top_left"
            if len(spec.columns) > 4:  # many lines: the legend beside the plot
                f.legend.spacing = 0
                f.legend.label_height = 10
                f.legend.glyph_height = 10
                f.add_layout(f.legend[0], "right")
                f.width = 560
            f.xaxis.axis_label = "round"
        f.yaxis.axis_label = spec.y_label
        self.sim_plots[spec.key] = f
        return f

    # --- compare tab ------------------------------------------------------------
    def _compare_tab(self) -> Any:
        self.cmp_dir = TextInput(
            title="results directory of `derelay compare`",
            value=self.compare_dir,
            width=480,
            name="compare-dir",
        )
        self.cmp_load = Button(label="Load", width=80, name="compare-load")
        self.cmp_metric = Select(title="metric", options=[], value="", width=200)
        self.cmp_share = Select(title="deviant share", options=[], value="", width=140)
        self.cmp_msg = Div(
            text="Load a directory holding compare.parquet.", width=900, name="compare-msg"
        )
        self.cmp_table_src = ColumnDataSource({}, name="src-compare-table")
        self.cmp_table = DataTable(source=self.cmp_table_src, columns=[], width=900, height=260)
        self.cmp_heat_src = ColumnDataSource(
            {"mechanism": [], "family": [], "value": [], "text": []}, name="src-compare-heat"
        )
        # diverging around zero without a good/bad colour: the sign's meaning is the metric's
        self.cmp_mapper = LinearColorMapper(palette=PuOr11, low=-1, high=1, nan_color="#e8e8e8")
        self.cmp_fig = figure(
            x_range=FactorRange(),
            y_range=FactorRange(),
            width=640,
            height=360,
            title="mechanisms × families",
            tools="hover,save",
            tooltips=[("mechanism", "@mechanism"), ("family", "@family"), ("mean", "@text")],
            name="compare-heatmap",
        )
        self.cmp_fig.rect(
            x="family",
            y="mechanism",
            width=1,
            height=1,
            source=self.cmp_heat_src,
            fill_color={"field": "value", "transform": self.cmp_mapper},
            line_color="white",
        )
        self.cmp_fig.text(
            x="family",
            y="mechanism",
            text="text",
            source=self.cmp_heat_src,
            text_align="center",
            text_baseline="middle",
            text_font_size="9pt",
        )
        self.cmp_fig.add_layout(ColorBar(color_mapper=self.cmp_mapper, width=10), "right")
        self.cmp_data = None
        self.cmp_load.on_click(lambda: self.load_compare(self.cmp_dir.value))
        self.cmp_metric.on_change("value", lambda _a, _o, _n: self.refresh_compare())
        self.cmp_share.on_change("value", lambda _a, _o, _n: self.refresh_compare())
        if self.compare_dir:
            self.load_compare(self.compare_dir)
        return column(
            row(self.cmp_dir, self.cmp_load, self.cmp_metric, self.cmp_share),
            self.cmp_msg,
            self.cmp_table,
            self.cmp_fig,
        )

    # ------------------------------------------------------------------------------
    # behaviour
    # ------------------------------------------------------------------------------
    def set_value(self, key: str, value: Any, source: str) -> None:
        """A widget changed ``key``: validate the whole point, then refresh everything."""
        k = self.knobs[key]
        if k.kind == "list":
            try:
                value = [float(x) for x in str(value).split(",") if x.strip()]
            except ValueError:
                self._show_error(
                    f"parameter '{key}' = {value!r}: expected numbers separated by commas"
                )
                return
        if value is None:
            self._show_error(f"parameter '{key}' is empty: allowed {k.domain.describe(key)}")
            return
        if k.numeric:
            value = int(round(value)) if k.kind == "int" and float(value).is_integer() else value
            if source == "slider" and self.inputs[key].value != value:
                self.inputs[key].value = value
            elif source == "box":
                s = self.sliders[key]
                v = float(value)
                if v < s.start:
                    s.start = v
                if v > s.end:
                    s.end = v
                if s.value != v:
                    s.value = v
        if self.values.get(key) == value and self.error is None:
            return
        self.values[key] = value
        self.refresh()

    def _show_error(self, msg: str) -> None:
        self.error = msg
        self.error_div.text = (
            f'<div style="color:{BAD};font-weight:bold" data-error="1">{html.escape(msg)}</div>'
        )

    def refresh(self) -> None:
        """Re-validate the point and redraw verdicts, region map and design interval."""
        try:
            self.point = spaces.validate(self.mech, self.values)
            self.model_point = spaces.validated_model(self.mech, self.values)
        except spaces.ParamsError as exc:
            self._show_error(str(exc).replace("\n", " "))
            self.verdict_div.styles = {"opacity": "0.45"}
            return
        self.error = None
        self.error_div.text = ""
        self.verdict_div.styles = {"opacity": "1"}
        self.revision += 1
        self.refresh_verdicts()
        self.refresh_map()
        self.refresh_design()
        self._status()

    def refresh_verdicts(self) -> None:
        v = logic.verdicts(self.mech, self.point)
        self.last_verdicts = v
        rows = []
        for c in v.conditions:
            rows.append(
                f'<tr data-cond="{html.escape(c["name"])}" data-holds="{str(c["holds"]).lower()}">'
                f"<td><b>{html.escape(c['name'])}</b> {html.escape(c['equation'])}</td>"
                f"<td>{html.escape(c['protects'])}</td>"
                f"<td style='text-align:right'>{_fmt(c['lhs'])}</td>"
                f"<td>{html.escape(c['relation'])}</td>"
                f"<td style='text-align:right'>{_fmt(c['rhs'])}</td>"
                f"<td style='text-align:right'>{_fmt(c['margin'])}</td>"
                f"<td>{_mark(c['holds'])}"
                + (" <i>sufficient</i>" if c["exactness"] == "sufficient" else "")
                + "</td></tr>"
            )
        eq = v.equilibrium
        conds = {c["name"]: c for c in v.conditions}
        bad_c = [
            n + (" (sufficient only)" if conds[n]["exactness"] == "sufficient" else "")
            for n in v.failing
            if n in conds
        ]
        bad_r = [n for n in v.failing if n not in conds]
        head = (
            f'<div data-rev="{self.revision}" data-equilibrium="{str(eq).lower()}">'
            f"<b>Normal is {'an equilibrium' if eq else 'NOT an equilibrium'}</b> {_mark(eq)}"
            f" (every role IR and IC) · tightest margin {_fmt(v.tightest)}<br>"
            f'failing IR/IC: <span data-failing-roles="1">'
            f"{html.escape(', '.join(bad_r) or 'none')}</span> · failing conditions: "
            f'<span data-failing="1">{html.escape(", ".join(bad_c) or "none")}</span></div>'
        )
        self.verdict_div.text = (
            head + "<table style='border-collapse:collapse;font-size:12px'>"
            "<tr><th>condition</th><th>protects</th><th>lhs</th><th></th><th>rhs</th>"
            "<th>margin</th><th>holds</th></tr>" + "".join(rows) + "</table>"
        )
        rrows = []
        for r in v.roles:
            ics = " ".join(
                f'<span data-ic="{r["role"]}-{x["deviation"]}" data-holds="{str(x["holds"]).lower()}">'
                f"{html.escape(str(x['deviation']))} {_fmt(x['margin'])} {_mark(x['holds'])}</span>"
                for x in r["ic"]
            )
            rrows.append(
                f'<tr data-role="{r["role"]}" data-ir="{str(r["ir"]).lower()}" '
                f'data-ic-ok="{str(r["ic_ok"]).lower()}">'
                f"<td><b>{html.escape(r['role'])}</b></td>"
                f"<td>{_fmt(r['ir_margin'])} {_mark(r['ir'])}</td><td>{ics or '–'}</td></tr>"
            )
        self.roles_div.text = (
            "<table style='border-collapse:collapse;font-size:12px'>"
            "<tr><th>role</th><th>IR: U_N</th><th>IC: U_N − U_dev</th></tr>"
            + "".join(rrows)
            + "</table>"
        )

    def refresh_map(self) -> None:
        if self.error is not None:
            return
        x, y, want = self.map_x.value, self.map_y.value, self.map_want.value
        if x == y:
            self.map_info.text = "choose two different parameters"
            return
        xr = self._range(x)
        yr = self._range(y)
        try:
            reg = logic.region(self.mech, self.values, x, xr, y, yr, MAP_POINTS, want)
        except (ValueError, ZeroDivisionError) as exc:
            self.map_info.text = html.escape(str(exc))
            return
        shade = signed_log(reg.margin)
        hi = float(np.nanmax(np.abs(shade))) if np.isfinite(shade).any() else 1.0
        self.map_mapper.low, self.map_mapper.high = -max(hi, 1e-12), max(hi, 1e-12)
        self.map_src.data = {"image": [shade], "margin": [reg.margin]}
        self.map_img.glyph.update(x=xr[0], y=yr[0], dw=xr[1] - xr[0], dh=yr[1] - yr[0])
        self.map_fig.x_range.update(start=xr[0], end=xr[1])
        self.map_fig.y_range.update(start=yr[0], end=yr[1])
        self.map_fig.xaxis.axis_label = x
        self.map_fig.yaxis.axis_label = y
        self.map_here.data = {"x": [float(self.values[x])], "y": [float(self.values[y])]}
        self.map_info.text = (
            f"<span data-share='{reg.share:.6f}'>'{html.escape(want)}' holds on "
            f"{100 * reg.share:.1f}% of the map</span> (green: holds, red: fails, grey: outside "
            f"the domain; {MAP_POINTS}×{MAP_POINTS} grid; × marks the current point)"
        )

    def _range(self, key: str) -> tuple[float, float]:
        s = self.sliders.get(key)
        if s is not None:
            return float(s.start), float(s.end)
        lo, hi, _ = self.knobs[key].slider_range()
        return lo, hi

    def _design_key_changed(self) -> None:
        lo, hi = self._range(self.design_key.value)
        self.design_lo.value, self.design_hi.value = lo, hi
        self.refresh_design()

    def refresh_design(self) -> None:
        if self.error is not None:
            return
        key, want = self.design_key.value, self.design_want.value
        lo, hi = self.design_lo.value, self.design_hi.value
        if lo is None or hi is None:
            self.design_div.text = "set the scan range"
            return
        try:
            res = logic.design_scan(self.mech, self.values, key, float(lo), float(hi), want)
        except (ValueError, ZeroDivisionError) as exc:
            self.design_div.text = f"<span style='color:{BAD}'>{html.escape(str(exc))}</span>"
            return
        self.last_design = res
        colour = GOOD if res.intervals else BAD
        self.scan_text = (
            f"<div data-design-status='{res.status}'>Scan: <b style='color:{colour}'>"
            f"{html.escape(res.summary())}</b><br><span style='color:#555'>"
            f"<i>{html.escape(res.method)}</i></span></div>"
        )
        self._exact_token += 1
        token = self._exact_token
        self.exact_text = "<div data-exact-status='pending'>Exact: computing…</div>"
        self._render_design()
        if self.doc.session_context is not None:
            # served: once the changes settle (a slider drag sends many), after the fast
            # updates are out; a superseded answer is skipped by its token
            self.doc.add_timeout_callback(lambda: self.refresh_exact(token), EXACT_DELAY_MS)

    def refresh_exact(self, token: int | None = None) -> None:
        """The exact answer of ``derelay design`` for the design box (skipped when a newer
        change has superseded it)."""
        if token is not None and token != self._exact_token:
            return
        key, want = self.design_key.value, self.design_want.value
        res = logic.exact_design(self.mech, self.values, key, want)
        self.last_exact = res
        colour = {"region": GOOD, "empty": BAD}.get(res["status"], "#555")
        self.exact_text = (
            f"<div data-exact-status='{res['status']}'>Exact (<code>derelay design</code>, "
            f"whole domain): <b style='color:{colour}'>{html.escape(res['text'])}</b></div>"
        )
        self._render_design()

    def _render_design(self) -> None:
        want = self.design_want.value
        self.design_div.text = (
            self.exact_text
            + self.scan_text
            + f"<span style='color:#555'>'{html.escape(want)}' with every other parameter "
            "at the current point</span>"
        )

    # --- simulation ---------------------------------------------------------------
    def _mix(self) -> dict[str, dict[str, float]]:
        return {r: {d: float(s.value) for d, s in ss.items()} for r, ss in self.mix.items()}

    def reset(self) -> None:
        """A new model at the current point, mix, adaptation and seed (round 0)."""
        if not hasattr(self, "seed_input"):
            return
        if self.error is not None:
            self.sim_status.text = f"<span style='color:{BAD}'>fix the parameters first</span>"
            return
        seed = self.seed_input.value
        if seed is None or int(seed) < 0:
            self.sim_status.text = (
                f"<span style='color:{BAD}'>seed = {seed!r}: allowed an integer >= 0</span>"
            )
            return
        try:
            sim = make_sim(
                self.mech,
                self.model_point,
                self._mix(),
                int(seed),
                self.adapt_select.value,
                self.preset_select.value or None,
            )
        except SimError as exc:
            self.sim_status.text = f"<span style='color:{BAD}'>{html.escape(str(exc))}</span>"
            return
        self.sim = sim
        self._sim_values = dict(self.values)
        self.ack.value = 0
        self._prev_round = 0
        self.skipped_ticks = 0
        self.step_times = []
        self.model_times: list[float] = []
        for spec in sim.plots:
            if spec.kind == "bars":
                data = {
                    "label": [lab for _c, lab in spec.columns],
                    "value": [0.0] * len(spec.columns),
                }
            else:
                data = {"round": [], **{c: [] for c, _l in spec.columns}}
            src = self.sim_sources.get(spec.key)
            if src is None:
                self.sim_sources[spec.key] = ColumnDataSource(data, name=f"src-{spec.key}")
            else:
                src.data = data
        self._status()

    def step(self, rounds: int = 1) -> None:
        """``rounds`` rounds: step the model, then stream the new rows into every plot at
        once (one message per plot, however many rounds)."""
        if self.sim is None:
            return
        t0 = time.perf_counter()
        rows = [self.sim.step() for _ in range(max(1, int(rounds)))]
        t1 = time.perf_counter()
        last = rows[-1]
        for spec in self.sim.plots:
            src = self.sim_sources[spec.key]
            if spec.kind == "bars":
                src.data = {
                    "label": [lab for _c, lab in spec.columns],
                    "value": [last[c] for c, _l in spec.columns],
                }
            else:
                new = {"round": [r["round"] for r in rows]}
                new.update({c: [r[c] for r in rows] for c, _l in spec.columns})
                src.stream(new)
        t2 = time.perf_counter()
        self.model_times.append((t1 - t0) / len(rows))
        self.step_times.append((t2 - t0) / len(rows))
        self._status()

    def tick(self) -> None:
        """One tick of play: ``batch`` rounds, unless the browser has not yet painted the
        update before the last one (it acknowledges each painted round through ``ack``), so
        a slow page is never flooded with updates it cannot draw."""
        if self.sim is None:
            return
        if int(self.ack.value or 0) < self._prev_round:
            self.skipped_ticks += 1
            return
        self._prev_round = self.sim.round
        self.step(int(self.batch.value))

    def _status(self) -> None:
        if self.sim is None:
            return
        last = (
            f" · last update {1e3 * self.step_times[-1]:.1f} ms per round "
            f"(model {1e3 * self.model_times[-1]:.1f} ms)"
            if self.step_times
            else ""
        )
        playing = " · playing" if self._play_cb is not None else ""
        if self.values != getattr(self, "_sim_values", self.values):
            playing += " · the Design point changed since Reset (Reset applies it)"
        self.sim_status.text = (
            f"<span data-round='{self.sim.round}'>{html.escape(self.sim.name)} · round "
            f"{self.sim.round}{last}{playing}</span>"
        )

    def _restart_play(self) -> None:
        if self._play_cb is not None:
            self.stop()
            self.play(True)

    def play(self, on: bool) -> None:
        if on and self._play_cb is None:
            period = int(self.speed.value) if hasattr(self, "speed") else PLAY_PERIOD_MS
            self._play_cb = self.doc.add_periodic_callback(self.tick, period)
        elif not on:
            self.stop()
        self._status()

    def forget_play(self) -> None:
        """The session ended: Bokeh drops its callbacks itself."""
        self._play_cb = None

    def stop(self) -> None:
        if self._play_cb is not None:
            try:
                self.doc.remove_periodic_callback(self._play_cb)
            except ValueError:
                pass
            self._play_cb = None

    # --- compare ----------------------------------------------------------------
    def load_compare(self, directory: str) -> None:
        try:
            self.cmp_data = compare_mod.load(directory)
        except compare_mod.CompareError as exc:
            self.cmp_data = None
            self.cmp_msg.text = f"<span style='color:{BAD}'>{html.escape(str(exc))}</span>"
            return
        d = self.cmp_data
        shares = [f"{s:g}" for s in d.shares()]
        self.cmp_metric.options = d.metrics
        self.cmp_metric.value = d.default_metric()
        self.cmp_share.options = shares
        nonzero = [s for s in d.shares() if s > 0]
        self.cmp_share.value = f"{(nonzero or d.shares())[0]:g}"
        self.refresh_compare()

    def refresh_compare(self) -> None:
        d = self.cmp_data
        if d is None or not self.cmp_metric.value or not self.cmp_share.value:
            return
        metric = self.cmp_metric.value
        t = d.table(metric)
        cols = list(t.columns)
        self.cmp_table_src.data = {c: t[c].tolist() for c in cols}
        fmt = NumberFormatter(format="0.[0000]")
        self.cmp_table.columns = [
            TableColumn(field=c, title=c, formatter=fmt)
            if c not in ("mechanism", "family")
            else TableColumn(field=c, title=c)
            for c in cols
        ]
        share = float(self.cmp_share.value)
        mechs, fams, z = d.heatmap(metric, share)
        mm, ff, vv, tt = [], [], [], []
        for i, m in enumerate(mechs):
            for j, f in enumerate(fams):
                mm.append(m)
                ff.append(f)
                ok = bool(np.isfinite(z[i, j]))
                vv.append(float(z[i, j]) if ok else math.nan)  # no rows: a grey "–" cell
                tt.append(f"{z[i, j]:.3g}" if ok else "–")
        self.cmp_fig.x_range.factors = fams
        self.cmp_fig.y_range.factors = mechs
        hi = max((abs(v) for v in vv if math.isfinite(v)), default=1.0) or 1.0
        self.cmp_mapper.low, self.cmp_mapper.high = -hi, hi
        self.cmp_heat_src.data = {"mechanism": mm, "family": ff, "value": vv, "text": tt}
        self.cmp_fig.title.text = f"{metric}: mean over seeds at deviant share {share:g}"
        self.cmp_msg.text = (
            f"<span data-rows='{len(d.frame)}'>{len(d.frame)} rows from "
            f"{html.escape(str(d.path))}; {len(mechs)} mechanisms × {len(fams)} families; "
            "“–”: no rows (that mechanism has no such strategy; never counted as zero)</span>"
        )


def make_document(doc: Document, mechanism: str = "derelayl", compare_dir: str = "") -> Dashboard:
    """Build the page into ``doc`` (used by the server for each browser session)."""
    dash = Dashboard(doc, mechanism, compare_dir)
    doc.on_session_destroyed(lambda _ctx: dash.forget_play())
    return dash
