"""The app under real browsers: time to first chart, slider → updated chart, and server memory with
1 and with 8 concurrent sessions moving sliders for 60 s (Playwright + Debian chromium).
    python benchmarks/bench_sessions.py [--sessions 8] [--seconds 60]
Goals (issue 5): first chart ≤ 3 s, slider → chart ≤ 1 s, RSS ≤ 800 MB for one session.
"""
import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser import CHART, CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--sessions", type=int, default=8)
ap.add_argument("--seconds", type=float, default=60)
a = ap.parse_args()


def rss_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def idle(page, timeout=60_000):
    page.wait_for_timeout(150)
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=timeout)


SLIDERS = ["Learning rate", "Decay λ", "Steps", "β1", "Start x", "Start y"]


def move(page, rng) -> float:
    """Move one slider by a key press; seconds until the page has redrawn."""
    label = rng.choice(SLIDERS)
    thumb = page.locator('[data-testid="stSlider"]', has_text=label).first.get_by_role("slider")
    thumb.focus()
    t0 = time.perf_counter()
    thumb.press(rng.choice(["ArrowLeft", "ArrowRight"]))
    idle(page)
    return time.perf_counter() - t0


with streamlit_server() as (base, proc), sync_playwright() as p:
    browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    rng = random.Random(0)
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    t0 = time.perf_counter()
    page.goto(base + "/")
    page.wait_for_selector(CHART, timeout=60_000)
    first = time.perf_counter() - t0
    idle(page)
    warm = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    t0 = time.perf_counter()
    warm.goto(base + "/")
    warm.wait_for_selector(CHART, timeout=60_000)
    second = time.perf_counter() - t0
    warm.context.close()
    moves = [move(page, rng) for _ in range(10)]
    one = rss_mb(proc.pid, "VmHWM")
    print(f"first chart: {first:.2f} s on a fresh server (imports torch etc.), {second:.2f} s for the next visitor")
    print(f"slider → redrawn page: median {statistics.median(moves):.2f} s, max {max(moves):.2f} s (10 moves)")
    print(f"peak RSS, 1 session: {one:.0f} MB")

    pages = []
    for _ in range(a.sessions):
        pg = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        pg.goto(base + "/")
        pages.append(pg)
    for pg in pages:
        pg.wait_for_selector(CHART, timeout=120_000)
    end, times, errors = time.time() + a.seconds, [], 0
    while time.time() < end:
        for pg in pages:            # round-robin: the sessions' reruns overlap on the server
            thumb = pg.locator('[data-testid="stSlider"]', has_text=rng.choice(SLIDERS)).first.get_by_role("slider")
            thumb.focus()
            thumb.press(rng.choice(["ArrowLeft", "ArrowRight"]))
        for pg in pages:
            t1 = time.perf_counter()
            idle(pg, timeout=120_000)
            times.append(time.perf_counter() - t1)
            errors += pg.locator('[data-testid="stException"]').count()
    print(f"{a.sessions} sessions × {a.seconds:.0f} s: {len(times)} slider moves, {errors} exceptions on the pages,"
          f" peak RSS {rss_mb(proc.pid, 'VmHWM'):.0f} MB (now {rss_mb(proc.pid, 'VmRSS'):.0f} MB)")
    browser.close()
