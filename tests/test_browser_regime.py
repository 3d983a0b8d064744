"""The regime map's user path in a real browser: a link asking for the heaviest map (the whole sweep at five batch
sizes up to 256) restores its controls, keeps them in the address bar and computes nothing until a click."""
import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from browser import CHART, CHROMIUM, streamlit_server

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
    pytest.skip("Debian chromium not installed (apt-get install -y chromium)", allow_module_level=True)



def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")      # utime + stime


def test_a_heavy_map_link_computes_nothing_until_a_click(chromium):
    """A fresh server: its CPU time while this page idles is what is measured."""
    link = "view=lr+%C3%97+%CE%BB+sweep&s_map_axis=batch_size&s_map_batch_size=8,256"
    with streamlit_server() as (base, proc):
        page = chromium.new_context(viewport={"width": 1366, "height": 900}).new_page()
        page.goto(f"{base}/?{link}")
        page.get_by_role("button", name="▶ Run map").wait_for(timeout=120_000)
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)
        assert page.get_by_text("6 points: 8, 16, 32, 64, 128, 256").count() == 1
        assert page.get_by_text("nothing is computed before").count() == 1
        # the default preset's three heat maps and its slopes' spread over variants, shipped with the app (no sweep
        # ran), and no map
        assert page.get_by_text("· precomputed").count() == 1
        assert page.locator(CHART).count() == 4 and page.locator('[data-testid="stException"]').count() == 0
        query = parse_qs(urlsplit(page.url).query)
        assert query["s_map_axis"] == ["batch-size"] and query["s_map_batch_size"] == ["8,256"]
        before = cpu_seconds(proc.pid)
        page.wait_for_timeout(4000)
        assert cpu_seconds(proc.pid) - before < 1.0          # the server idles: no map runs from the link
        page.context.close()
