"""A shared link brings a crowd (real browser, a fresh server): heavy work runs in the server's worker processes
through one fair queue. A second long sweep shows its place in the queue and an estimate; live training moves
while sweeps run and wait; a visitor who leaves frees the queue for the next; Cancel says what it did."""
import os
import re
import time
from pathlib import Path

import pytest
from browser import CHART, CHROMIUM, server_log, streamlit_server

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
    pytest.skip("Debian chromium not installed (apt-get install -y chromium)", allow_module_level=True)

PROGRESS = '[data-testid="stProgress"]'
SWEEP = "lr+%C3%97+%CE%BB+sweep"


def progress_text(page) -> str:
    return " ".join(page.locator(PROGRESS).all_inner_texts())


def wait_text(page, pattern: str, seconds: float) -> str:
    """The progress bars' text once it matches pattern (a regular expression)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        text = progress_text(page)
        if re.search(pattern, text):
            return text
        page.wait_for_timeout(250)
    raise AssertionError(f"no {pattern!r} within {seconds} s; the page shows {progress_text(page)!r}")


def run_sweep(page, base: str, query: str) -> None:
    page.goto(f"{base}/?view={SWEEP}&{query}")
    page.get_by_role("button", name="▶ Run sweep").click()
    anyway = page.get_by_role("button", name=re.compile("Run it anyway"))
    anyway.wait_for(timeout=60_000)          # these sweeps take minutes: the page asks first
    anyway.click()


def test_a_crowd_queues_fairly_live_training_moves_and_a_visitor_who_leaves_frees_the_queue(chromium):
    with streamlit_server() as (base, proc):
        contexts = [chromium.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(3)]
        first, second, live = (c.new_page() for c in contexts)
        run_sweep(first, base, "s_steps=6000&s_seeds=4")
        wait_text(first, r"Sweep: \d+%", 90)
        # a second long sweep (another grid) waits for the first: long jobs leave a worker for short work
        run_sweep(second, base, "s_steps=3000&s_seeds=4")
        queued = wait_text(second, r"position 1 in the queue", 30)
        assert re.search(r"about \d", queued), queued          # with a forecast of when it is done
        # live training gets the other worker: steps within seconds, while both sweeps run and wait
        live.goto(f"{base}/?view=Live+training&t_steps=1500")
        live.get_by_role("button", name="▶ Start").click()
        wait_text(live, r"step [1-9][\d,]* / 1,500", 60)
        live.wait_for_selector(CHART, timeout=30_000)
        assert "position" in progress_text(second)               # still waiting its turn
        # the first visitor leaves: their sweep is cancelled and the second starts
        contexts[0].close()
        wait_text(second, r"Sweep: \d+%", 60)
        # Cancel stops it at once and says so; nothing is kept
        second.get_by_role("button", name="■ Cancel").click()
        second.get_by_text(re.compile(r"Sweep: cancelled at \d+%")).wait_for(timeout=15_000)
        assert "Traceback" not in server_log(proc)
        for c in contexts[1:]:
            c.close()
