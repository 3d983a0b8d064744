"""The app against a bare one-chart Streamlit page (benchmarks/bare_page.py), in real browsers
(Playwright + Debian chromium), one run, side by side:

  first chart     a FRESH server per measurement, its first visitor: page load → chart drawn
  second visitor  the same server, a new browser context
  slider → redraw (app) one slider key press → the page idle again, median and max over --moves
  peak RSS        the server's VmHWM with 1 session, then with --sessions sessions moving sliders for
                  --seconds; exceptions shown on the pages counted

    python benchmarks/bench_sessions.py [--sessions 4] [--seconds 30] [--moves 10] [--repeats 3]

Goals (issue 13): first chart within 1.5 s of the bare page's, slider → redraw median ≤ 0.5 s.
The load average is printed: other programs on the machine make every number slower.
"""
import argparse
import contextlib
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser import CHART, CHROMIUM, CHROMIUM_ARGS, streamlit_server
from playwright.sync_api import sync_playwright

ap = argparse.ArgumentParser()
ap.add_argument("--sessions", type=int, default=4)
ap.add_argument("--seconds", type=float, default=30)
ap.add_argument("--moves", type=int, default=10)
ap.add_argument("--repeats", type=int, default=3, help="fresh servers per page for the first chart")
a = ap.parse_args()

BARE, APP = "benchmarks/bare_page.py", "app.py"
VIEW = {"viewport": {"width": 1400, "height": 1000}}
SLIDERS = ["Learning rate", "Decay λ", "Steps", "Gradient noise", "Start x", "Start y"]
DRAWN = CHART + " :is(canvas, svg)"          # vega-embed has drawn, not only the element placed
EXCEPTION = '[data-testid="stException"]'


def status_kb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def idle(page, timeout=60_000):
    page.wait_for_timeout(150)
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=timeout)


def visit(browser, base: str):
    """A new visitor (fresh browser context): seconds from navigation to the first chart drawn."""
    page = browser.new_context(**VIEW).new_page()
    t0 = time.perf_counter()
    page.goto(base + "/")
    page.wait_for_selector(DRAWN, timeout=120_000)
    return page, time.perf_counter() - t0


def slider(page, rng):
    """A random one of SLIDERS on the shown tab (the others' are in the page, hidden)."""
    shown = '[data-testid="stSlider"]:visible'
    labels = [s for s in SLIDERS if page.locator(shown, has_text=s).count()]
    return page.locator(shown, has_text=rng.choice(labels)).first.get_by_role("slider")


def move(page, rng) -> float:
    """Move one slider by a key press; seconds until the page has redrawn."""
    thumb = slider(page, rng)
    thumb.focus()
    t0 = time.perf_counter()
    thumb.press(rng.choice(["ArrowLeft", "ArrowRight"]))
    idle(page)
    return time.perf_counter() - t0


def fmt(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} s (runs: {', '.join(f'{x:.2f}' for x in xs)})"


def import_seconds(module: str, repeats: int = 3) -> float:
    """Wall time of `import module` in a fresh interpreter (median): a fresh server's first visitor
    waits for it before the first chart can be computed."""
    import subprocess
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return statistics.median(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                                  check=True).stdout) for _ in range(repeats))


print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    rng = random.Random(0)
    warm = browser.new_context(**VIEW).new_page()      # the browser's own first-page costs, paid once
    warm.goto("about:blank")
    warm.context.close()

    first, ready = {BARE: [], APP: []}, {BARE: [], APP: []}

    @contextlib.contextmanager
    def server(script: str):
        """A fresh server for `script`, the seconds from its start to answering its health check recorded."""
        t0 = time.perf_counter()
        with streamlit_server(script=script) as (base, proc):
            ready[script].append(time.perf_counter() - t0)
            yield base, proc

    for _ in range(a.repeats - 1):                      # alternate, so load drifts hit both alike
        for script in (BARE, APP):
            with server(script) as (base, proc):
                page, t = visit(browser, base)
                first[script].append(t)
                page.context.close()

    def first_and_next(script: str, base: str):
        """The server's first visitor (page kept open, its time recorded) and the next one's time."""
        page, t = visit(browser, base)
        first[script].append(t)
        idle(page)
        other, next_visitor = visit(browser, base)
        other.context.close()
        return page, next_visitor

    with server(BARE) as (base, proc):
        page, bare_second = first_and_next(BARE, base)
        bare_rss = status_kb(proc.pid, "VmHWM")
        page.context.close()

    with server(APP) as (base, proc):
        page, app_second = first_and_next(APP, base)
        moves = [move(page, rng) for _ in range(a.moves)]
        errors_one = page.locator(EXCEPTION).count()
        one = status_kb(proc.pid, "VmHWM")

        pages = [page] + [visit(browser, base)[0] for _ in range(a.sessions - 1)]
        end, times, errors = time.time() + a.seconds, [], 0
        while time.time() < end:
            for pg in pages:            # round-robin: the sessions' reruns overlap on the server
                thumb = slider(pg, rng)
                thumb.focus()
                thumb.press(rng.choice(["ArrowLeft", "ArrowRight"]))
            for pg in pages:
                t1 = time.perf_counter()
                idle(pg, timeout=120_000)
                times.append(time.perf_counter() - t1)
        errors = sum(pg.locator(EXCEPTION).count() for pg in pages)
        many, now = status_kb(proc.pid, "VmHWM"), status_kb(proc.pid, "VmRSS")
    browser.close()

fb, fa = statistics.median(first[BARE]), statistics.median(first[APP])
red = statistics.median(moves)
print(f"{'':32s}{'bare page':>12s}{'app':>12s}")
print(f"{'first chart, fresh server':32s}{fb:11.2f}s{fa:11.2f}s   (median of {a.repeats} fresh servers each)")
print(f"{'server start → ready':32s}{statistics.median(ready[BARE]):11.2f}s{statistics.median(ready[APP]):11.2f}s")
print(f"{'second visitor':32s}{bare_second:11.2f}s{app_second:11.2f}s")
print(f"{'peak RSS, 1 session':32s}{bare_rss:9.0f} MB{one:9.0f} MB")
print(f"app first chart, each server: {fmt(first[APP])}; bare: {fmt(first[BARE])}")
print(f"app slider → redraw: median {red:.2f} s, max {max(moves):.2f} s ({len(moves)} moves), "
      f"{errors_one} exceptions on the page")
print(f"app, {a.sessions} sessions × {a.seconds:.0f} s: {len(times)} slider moves (median wait "
      f"{statistics.median(times):.2f} s, max {max(times):.2f} s), {errors} exceptions on the pages, "
      f"peak RSS {many:.0f} MB (now {now:.0f} MB)")
print(f"first chart app − bare: {fa - fb:+.2f} s (goal ≤ 1.5 s: {'met' if fa - fb <= 1.5 else 'NOT met'}); "
      f"redraw median {red:.2f} s (goal ≤ 0.5 s: {'met' if red <= 0.5 else 'NOT met'})")
torch_s = import_seconds("torch")
print(f"import torch alone, fresh interpreter: {torch_s:.2f} s — paid when the server starts (app.py is an st.App: "
      f"`streamlit run` imports it before serving anyone), not by the first visitor")
print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
