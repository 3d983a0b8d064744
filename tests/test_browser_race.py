"""Watching the race in a real browser (Playwright + Debian chromium): the player scrubs and plays every
trajectory chart without a message to the server, and a click on the surface sets the start for both runs
(URL and sliders follow; keyboard and sliders keep working). Its speed at 5,000 steps: benchmarks/bench_scrub.py."""
import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from browser import CHART, CHROMIUM

from explorer.core.surfaces import SURFACES
from explorer.viz import chartkit

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
    pytest.skip("Debian chromium not installed (apt-get install -y chromium)", allow_module_level=True)


PLAYER = "#player-race_step"
STEP_INPUTS = f'.vega-bindings input[name="{chartkit.RACE}"]'


def wait_idle(page, timeout=60_000):
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)


def query(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def chart_steps(page) -> list[str]:
    return page.eval_on_selector_all(STEP_INPUTS, "els => els.map(e => e.value)")


def panel_svg(page, i=0) -> str:
    return page.locator(CHART).nth(i).locator("svg.marks").inner_html()


def test_scrub_play_and_click_to_start(app_server, page):
    base, _ = app_server
    sent = []          # every message the page sends the server (a rerun is one)
    page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(f)))
    page.goto(base + "/")
    page.wait_for_selector(PLAYER, timeout=60_000)
    page.wait_for_function(f"() => document.querySelectorAll('{STEP_INPUTS}').length === 4", timeout=60_000)
    wait_idle(page)
    assert chart_steps(page) == ["500"] * 4                       # the whole race until the player moves
    assert page.locator(STEP_INPUTS).first.is_hidden()            # the player drives them
    before, quiet = panel_svg(page), len(sent)

    # scrub with the keyboard: every chart follows, nothing goes to the server
    rng = page.locator(f"{PLAYER} input")
    rng.focus()
    rng.press("Home")
    page.wait_for_function(f"() => [...document.querySelectorAll('{STEP_INPUTS}')].every(e => e.value === '0')")
    for _ in range(3):
        rng.press("ArrowRight")
    page.wait_for_timeout(300)
    third = int(chartkit.frame_steps(500)[3])                     # the player stops at the playback's steps
    assert chart_steps(page) == [str(third)] * 4
    assert page.locator(f"{PLAYER} output").inner_text() == f"step {third} / 500"
    svg = panel_svg(page)
    assert svg != before and f"step {third} · f = " in svg and "step 500 · " not in svg

    # play, then pause: the step runs on by itself and stops where paused
    page.locator(f"{PLAYER} button").click()
    page.wait_for_function(f"() => +document.querySelector('{PLAYER}').dataset.step > 60", timeout=10_000)
    page.locator(f"{PLAYER} button").click()
    paused = page.locator(PLAYER).get_attribute("data-step")
    page.wait_for_timeout(500)
    assert page.locator(PLAYER).get_attribute("data-step") == paused and 0 < int(paused) < 500
    assert chart_steps(page) == [paused] * 4
    assert f"step {int(paused)} · f = " in panel_svg(page)
    assert len(sent) == quiet, "scrubbing or playing sent a message to the server"

    # a click on the surface: both runs start there, the URL and the sliders follow, the charts redraw
    x, y = chartkit.start_of_cell("quadratic", 10, 30)               # (0, 2): a cell centre
    surf = SURFACES["quadratic"]
    image = page.locator(CHART).first.locator("svg.marks g.mark-image image").bounding_box()
    px = image["x"] + image["width"] * (x - surf.xlim[0]) / (surf.xlim[1] - surf.xlim[0])
    py = image["y"] + image["height"] * (surf.ylim[1] - y) / (surf.ylim[1] - surf.ylim[0])
    other_before = panel_svg(page, 1)
    page.mouse.click(px, py)
    page.wait_for_function("() => location.search.includes('x0=0') && location.search.includes('y0=2')",
                           timeout=30_000)
    wait_idle(page)
    assert len(sent) > quiet                                      # the detector above can see a rerun
    assert {k: query(page)[k] for k in ("x0", "y0")} == {"x0": "0", "y0": "2"}
    start_x = page.locator('[data-testid="stSlider"]', has_text="Start x").get_by_role("slider")
    assert start_x.get_attribute("aria-valuetext") in ("0.00", "0")
    # both panels draw from the new start (the settings line under them says it once for all four charts)
    page.wait_for_function("() => document.body.innerText.includes('start (0, 2)')", timeout=30_000)
    assert panel_svg(page, 1) != other_before                     # the other panel redrew from it too
    # the keyboard still moves the start, and clicking the same cell again brings it back
    start_x.focus()
    start_x.press("ArrowRight")
    page.wait_for_function("() => location.search.includes('x0=0.05')", timeout=30_000)
    wait_idle(page)
    page.mouse.click(px, py)
    page.wait_for_function("() => location.search.includes('x0=0&') || location.search.endsWith('x0=0')",
                           timeout=30_000)
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
