"""The dashboard in a real browser: headless Chromium driven by Playwright, offline.

The test starts ``python -m derelay dashboard --port 0`` (127.0.0.1, any free port), loads
the page with every request that is not to loopback aborted, moves the b_t slider, checks
the T7 verdict against the closed form at the slider's new value, steps and plays the ABM,
checks that the plots' data sources received the new rounds, and saves a screenshot to
``tests/artifacts/dashboard_browser.png``.  It waits for each re-render (the verdicts'
``data-rev`` counter, the status line's ``data-round``) before the next interaction.

Measured and printed (``-s`` shows them; also in ``tests/artifacts/dashboard_timings.json``):
time to first render, and time per ABM round while playing as fast as the page allows.

Needs Debian's ``chromium`` (``/usr/bin/chromium``, or ``DERELAY_CHROMIUM``) and the
``playwright`` package (no browser download: it drives that binary).  Without either, the
test skips saying which is missing; the in-process tests in ``test_dashboard.py`` still run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from derelay.mechanism import get_mechanism
from derelay.params import Params, as_values

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("DERELAY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
TIMEOUT_MS = 60_000  # generous: CI machines can be loaded; a pass never waits this long

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(
        sync_playwright is None,
        reason="browser test needs the playwright package (pip install playwright==1.65.2)",
    ),
    pytest.mark.skipif(
        not Path(CHROMIUM).is_file(),
        reason=f"browser test needs Chromium at {CHROMIUM} (apt-get install -y chromium)",
    ),
]

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _loopback(url: str) -> bool:
    u = urlparse(url)
    if u.scheme in ("data", "blob", "about"):
        return True
    return (u.hostname or "") in LOOPBACK


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import pandas as pd

    results = tmp_path_factory.mktemp("compare")
    rows = [
        {"mechanism": m, "family": f, "deviant_share": 0.1, "seed": s, "deviation_gain": g + s}
        for m, f, g in (
            ("derelayl", "lazy", -1.0),
            ("derelayl", "poison", -2.0),
            ("pot", "lazy", 0.5),
        )
        for s in range(2)
    ]
    pd.DataFrame(rows).to_parquet(results / "compare.parquet")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "derelay", "dashboard", "--port", "0", "--compare", str(results)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = None
    t0 = time.perf_counter()
    lines = []
    while time.perf_counter() - t0 < 60:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "serving at " in line:
            url = line.split("serving at ", 1)[1].split()[0]
            break
    if url is None:
        proc.kill()
        pytest.fail("dashboard did not start:\n" + "".join(lines))
    start_s = time.perf_counter() - t0
    try:
        yield url, start_s
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _rev(page) -> int:
    return int(page.locator("[data-rev]").get_attribute("data-rev"))


def _round(page) -> int:
    return int(page.locator("[data-round]").get_attribute("data-round"))


def _model_value(page, name: str, attr: str = "value"):
    return page.evaluate("([n, a]) => Bokeh.documents[0].get_model_by_name(n)[a]", [name, attr])


def _rows(page, source: str, column: str = "round") -> int:
    return page.evaluate(
        "([s, c]) => Bokeh.documents[0].get_model_by_name(s).data[c].length", [source, column]
    )


ROUND_JS = (
    "Number(Bokeh.documents[0].get_model_by_name('sim-status').text"
    ".match(/data-round='(\\d+)'/)[1])"
)


def _play_rate(page, rounds: int) -> float:
    """Seconds per round while playing, over ``rounds`` rounds (after a short warm-up)."""
    r = _round(page)
    page.wait_for_function(f"n => {ROUND_JS} >= n", arg=r + 2)
    r0, t0 = _round(page), time.perf_counter()
    page.wait_for_function(f"n => {ROUND_JS} >= n", arg=r0 + rounds)
    r1 = _round(page)
    return (time.perf_counter() - t0) / (r1 - r0)


def test_dashboard_in_chromium_offline(server):
    url, start_s = server
    assert urlparse(url).hostname == "127.0.0.1"
    blocked: list[str] = []
    seen: list[str] = []
    timings: dict[str, float] = {"server_start_s": start_s}
    mech = get_mechanism("derelayl")

    def route(r):
        seen.append(r.request.url)
        if _loopback(r.request.url):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.route("**/*", route)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            idle: list[float] = []  # BokehJS logs "document idle at N ms" once drawn
            page.on(
                "console",
                lambda m: (
                    idle.append(float(m.text.split(" at ")[1].split()[0]))
                    if "document idle at" in m.text
                    else None
                ),
            )

            # --- first render -----------------------------------------------------
            t0 = time.perf_counter()
            page.goto(url)
            page.locator("[data-rev]").wait_for()
            page.locator("[data-cond=T7]").wait_for()
            timings["first_render_s"] = time.perf_counter() - t0
            page.wait_for_function("() => true")
            if idle:
                timings["bokehjs_document_idle_ms"] = idle[0]
            assert page.locator("[data-cond=T7]").get_attribute("data-holds") == "true"
            rev = _rev(page)

            # --- move the b_t slider to about a tenth of its range -------------------
            handle = page.locator(".slider-b_t .noUi-handle")
            handle.scroll_into_view_if_needed()
            hb = handle.bounding_box()
            tb = page.locator(".slider-b_t .noUi-target").bounding_box()
            y = hb["y"] + hb["height"] / 2
            page.mouse.move(hb["x"] + hb["width"] / 2, y)
            page.mouse.down()
            page.mouse.move(tb["x"] + 0.1 * tb["width"], y, steps=3)
            page.mouse.up()
            page.wait_for_function(
                "r => Number(document.querySelector('body') && "
                "Bokeh.documents[0].get_model_by_name('verdicts').text"
                '.match(/data-rev="(\\d+)"/)[1]) > r',
                arg=rev,
            )
            b_t = _model_value(page, "slider-b_t")
            # wait until the page shows the verdicts of the slider's final value
            page.wait_for_function(
                "v => Bokeh.documents[0].get_model_by_name('input-b_t').value === v", arg=b_t
            )
            page.wait_for_timeout(300)
            b_t = _model_value(page, "slider-b_t")
            assert 0 < b_t < 2, b_t
            p = as_values(Params(b_t=b_t))
            expected = bool(mech.condition("T7").holds(p))  # b_t > v_rec - v_now_t = 2
            assert expected is False
            page.wait_for_function(
                "() => document.querySelector('body') && "
                "Bokeh.documents[0].get_model_by_name('verdicts').text"
                '.includes(\'data-cond="T7" data-holds="false"\')'
            )
            assert page.locator("[data-cond=T7]").get_attribute("data-holds") == "false"
            ic_ntr = page.locator("[data-ic=T-NTr]").get_attribute("data-holds")
            assert ic_ntr == str(bool(mech.ic_against("T", "NTr", p))).lower() == "true"
            failing = page.locator("[data-failing]").inner_text()
            assert "T7" in failing
            # the exact derelay design answer arrives after the fast updates
            page.locator("[data-exact-status=region]").wait_for()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dashboard_design.png"))

            # --- the ABM: step, then play, then stop ----------------------------------
            page.get_by_text("Simulation", exact=True).click()
            page.locator(".step button").wait_for()
            # the tab shows at once; the model and its plots follow (next server tick)
            page.locator("[data-round='0']").wait_for()
            page.wait_for_function(
                "() => Bokeh.documents[0].get_model_by_name('src-coins') !== null"
            )
            assert _rows(page, "src-coins") == 0
            page.locator(".step button").click()
            page.locator("[data-round='1']").wait_for()
            assert _rows(page, "src-coins") == 1
            page.locator(".step button").click()
            page.locator("[data-round='2']").wait_for()
            assert _rows(page, "src-ledger") == 2
            page.locator(".speed select").select_option("20")
            page.wait_for_function(
                "() => Bokeh.documents[0].get_model_by_name('speed').value === '20'"
            )
            page.locator(".play button").click()
            # time per round while playing: one round per update, then ten
            timings["play_round_s"] = _play_rate(page, 12)
            page.locator(".batch select").select_option("10")
            page.wait_for_function(
                "() => Bokeh.documents[0].get_model_by_name('batch').value === '10'"
            )
            timings["play_round_s_batch10"] = _play_rate(page, 60)
            page.locator(".play button").click()
            page.wait_for_function(
                "() => !Bokeh.documents[0].get_model_by_name('sim-status').text.includes('playing')"
            )
            stopped = _round(page)
            page.wait_for_timeout(300)
            assert _round(page) == stopped  # stop stops
            for src in ("src-coins", "src-shares", "src-trainers", "src-ledger"):
                assert _rows(page, src) == stopped, src
            versions = page.evaluate(
                "() => Bokeh.documents[0].get_model_by_name('src-versions').data.value"
            )
            assert abs(sum(versions) - 1.0) < 1e-9
            status = _model_value(page, "sim-status", "text")
            timings["server_ms_per_round"] = float(status.split("last update ")[1].split(" ms")[0])
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / "dashboard_browser.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot: {shot}")

            # --- the compare tab on the results directory given with --compare ----------
            page.get_by_text("Compare", exact=True).click()
            page.locator("[data-rows='6']").wait_for()
            heat = page.evaluate(
                "() => Bokeh.documents[0].get_model_by_name('src-compare-heat').data.value"
            )
            assert len(heat) == 4 and sum(v is None or v != v for v in heat) == 1  # pot x poison
            page.locator(".bk-DataTable").wait_for()
            page.screenshot(path=str(ARTIFACTS / "dashboard_compare.png"))

            # --- an unknown ?mechanism= gets a page naming the allowed ones ------------
            page.goto(url + "?mechanism=nope")
            page.get_by_text("unknown mechanism").wait_for()
            assert page.locator("a[href='?mechanism=derelayl']").count() == 1
            assert not errors, errors
        finally:
            browser.close()

    assert blocked == [], f"the page asked for outside resources: {blocked}"
    assert any("/static/js/bokeh" in u for u in seen)  # BokehJS came from our server
    (ARTIFACTS / "dashboard_timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    print("timings:", json.dumps(timings))
