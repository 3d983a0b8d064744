"""The app in a real browser: Playwright driving Debian's Chromium (installed by apt in CI)."""
import csv
import io
import os
import time
from pathlib import Path

import pytest
from browser import CHART, CHROMIUM, server_log

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
    pytest.skip("Debian chromium not installed (apt-get install -y chromium)", allow_module_level=True)



@pytest.fixture()
def server(app_server):
    return app_server


def wait_idle(page, timeout=30_000):
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)


def slider_value(page, label):
    box = page.locator('[data-testid="stSlider"]', has_text=label).first
    return box.get_by_role("slider").get_attribute("aria-valuetext")


def test_first_chart_then_slider_changes_chart_and_url(server, chromium):
    """The first view at 1366×768: both trajectory panels and the sentence above them on screen without
    scrolling, and no request to anyone but this server (a hosted demo's visitors talk to it alone; the page
    icon came from a font server); then a slider moves the chart and the URL."""
    base, proc = server
    page = chromium.new_context(viewport={"width": 1366, "height": 768}).new_page()
    elsewhere = []
    page.on("request", lambda r: elsewhere.append(r.url) if r.url.split(":")[0] in ("http", "https", "ws", "wss")
            and not r.url.split("//", 1)[-1].startswith(base.split("//", 1)[-1]) else None)
    t0 = time.time()
    page.goto(base + "/")
    page.wait_for_selector(CHART, timeout=60_000)
    print(f"first chart after {time.time() - t0:.2f} s")
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator(CHART).count() >= 4
    for i in range(2):
        box = page.locator(CHART).nth(i).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 768, box     # whole panel, no scrolling
    assert page.get_by_text("◆ marks where each rule must end").first.is_visible()
    assert not elsewhere, elsewhere
    assert page.get_by_role("button", name="Deploy").count() == 0        # a visitor's toolbar (.streamlit/config)
    log = server_log(proc)      # the pages' caches are the server's (imported before it ran, each fell back)
    assert "No runtime found" not in log and "Traceback" not in log, log[-2000:]
    first = page.locator(CHART).first
    before = first.screenshot()
    thumb = page.locator('[data-testid="stSlider"]', has_text="Learning rate").get_by_role("slider")
    thumb.focus()
    t1 = time.time()
    thumb.press("ArrowLeft")
    page.wait_for_function("() => window.location.search.includes('lr=')", timeout=10_000)
    wait_idle(page)
    print(f"slider → updated chart after {time.time() - t1:.2f} s")
    assert "lr=0.02" in page.url
    assert first.screenshot() != before
    assert page.locator('[data-testid="stException"]').count() == 0
    page.context.close()


def test_share_link_restores_widgets(server, page):
    base, _ = server
    page.goto(base + "/?surface=rosenbrock&lr=0.01&wd=0.1&steps=800&pair=adam&form=paper")
    page.wait_for_selector(CHART, timeout=60_000)
    wait_idle(page)
    assert page.get_by_role("combobox", name="Surface").input_value() == "rosenbrock"
    assert slider_value(page, "Learning rate") == "0.01"
    assert slider_value(page, "Steps") == "800"
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "AdamW (paper form)" in page.content()


def test_garbage_link_shows_a_warning_not_an_exception(server, page):
    base, _ = server
    page.goto(base + "/?lr=abc&surface=nowhere&steps=-1&zzz=1")
    page.wait_for_selector(CHART, timeout=60_000)
    wait_idle(page)
    text = page.locator('[data-testid="stAlert"]').first.inner_text()
    for name in ("lr", "surface", "steps", "zzz"):
        assert name in text
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator(CHART).count() >= 4


def test_download_buttons_give_valid_files(server, page, tmp_path):
    """Each format of the first panel's export menu, from one page (a page load costs the browser seconds);
    then the CSV eight times in a row: every click downloads and no rerun closes the menu."""
    base, _ = server
    page.goto(base + "/")
    page.wait_for_selector(CHART, timeout=60_000)
    wait_idle(page)
    for fmt, magic in [("PNG", b"\x89PNG"), ("SVG", b"<svg"), ("CSV", b"optimizer,step"), ("JSON", b"{")]:
        download = None
        for attempt in range(4):        # a rerun that lands mid-click closes the popover: open it again
            try:
                button = page.get_by_role("button", name=fmt, exact=True).first
                if not button.is_visible():
                    page.get_by_role("button", name="Export").first.click()
                button.wait_for(state="visible", timeout=10_000)
                with page.expect_download(timeout=30_000) as dl:
                    button.click()
                download = dl.value
                break
            except Exception:
                page.keyboard.press("Escape")
                page.wait_for_timeout(1000)
                wait_idle(page)
        assert download is not None, f"no {fmt} download after four tries"
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        data = path.read_bytes()
        assert data.lstrip()[:len(magic)] == magic, (fmt, data[:80])
        assert path.suffix == "." + fmt.lower()
        if fmt == "PNG":
            from PIL import Image
            assert Image.open(path).size[0] > 300
    wait_idle(page)
    button = page.get_by_role("button", name="CSV", exact=True).first
    if not button.is_visible():
        page.get_by_role("button", name="Export").first.click()
    button.wait_for(state="visible", timeout=10_000)
    for _ in range(8):
        with page.expect_download(timeout=20_000) as dl:
            button.click()
        rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
        assert {r["optimizer"] for r in rows} == {"adam-l2", "adamw-torch"} and len(rows) == 2 * 501
        assert button.is_visible()                                        # no rerun closed the menu


def test_tabs_render_on_click_and_keep_their_state(server, page):
    base, _ = server
    page.goto(base + "/?lr=0.01")
    page.wait_for_selector(CHART, timeout=60_000)
    wait_idle(page)
    page.get_by_role("tab", name="Live training").click()
    page.get_by_role("button", name="Start").wait_for(timeout=30_000)
    assert "view=Live" in page.url
    page.get_by_role("tab", name="2-D trajectories").click()
    page.wait_for_selector(CHART, timeout=30_000)
    wait_idle(page)
    assert slider_value(page, "Learning rate") == "0.01"          # the hidden tab kept its value
    assert page.locator('[data-testid="stException"]').count() == 0
