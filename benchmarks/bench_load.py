"""The hosted demo under load: what a visitor waits for, in a real browser (Playwright + Debian chromium), while
six heavy sessions run on the same server. One fresh server, one run:

  quiet       a new visitor: page load → first chart drawn; the λ slider of the 2-D trajectories tab moved by a
              key press → the summary table shows the new numbers (median, max); a live run's ▶ Start → progress
  load        six heavy sessions started together, each its own browser context: the long-runs sweep with 4 seeds,
              the default sweep, live training 512 wide × 6 hidden layers and mlp-ln (10,000 steps each), every
              heavy Insights panel, a 5,000-step race exported as a GIF; then the same visitor measurements
  memory      the RSS of the server's whole process tree (the streamlit process and its descendants), every 0.5 s:
              the peak under load, and 60 s after every visitor left (all browser contexts closed)
  server log  stdout and stderr: any "Traceback"

    python benchmarks/bench_load.py [--quick] [--json FILE] [--keep-server-log FILE] [--port N] [--heavy a,b,…]

A full run takes about 6 minutes (at least 90 s of load, then 60 s after). --quick: a smoke run (the default sweep
and one live run, 20 s of load, 15 s after: 2–4 minutes). --heavy picks heavy sessions by letter (see --help).
Exit code 0 whatever the figures: this is a measurement, not a test; goals that fail are marked in the table, and
a heavy session that did not start is reported (the load was then lighter than intended).

The heavy sessions' browser runs at nice 10, the visitor's at the normal priority: a hosted demo's heavy visitors
draw their pages on their own machines, here they share the server's cores (the CPU both browsers used is
printed). The load average is printed: other programs on the machine make every number slower.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser import CHART, CHROMIUM, CHROMIUM_ARGS, ROOT, free_port  # noqa: E402
from playwright.sync_api import Error as PlaywrightError  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

VIEW = {"viewport": {"width": 1400, "height": 1000}}
DRAWN = CHART + " :is(canvas, svg)"          # vega-embed has drawn, not only the element placed
EXCEPTION = '[data-testid="stException"]'
SWEEP_VIEW, TRAIN_VIEW = "view=" + quote("lr × λ sweep"), "view=" + quote("Live training")
# the texts that change with λ on the 2-D trajectories tab: the summary table (end points, distance to ◆)
TABLE_CHANGED = """b => { const t = [...document.querySelectorAll('[data-testid="stMarkdownContainer"] table')]
    .map(x => x.textContent).join('\\n'); return t.length > 0 && t !== b; }"""
TABLE_TEXT = TABLE_CHANGED.replace("return t.length > 0 && t !== b;", "return t;")
# a live run has started: its progress text "step N / …" with N > 0, or a queued job's position
QUEUE_WORDS = r"/in queue|position|waiting/gi"
STARTED = ("base => { const t = document.body.innerText; if (/step [1-9][0-9,]* \\//.test(t)) return 'progress';"
           f" return (t.match({QUEUE_WORDS}) || []).length > base ? 'queue' : false; }}")
GOALS = {"first_chart_ratio": 2.5, "redraw_quiet_s": 0.5, "redraw_load_s": 1.0, "live_start_s": 5.0,
         "peak_rss_mb": 1200, "after_rss_mb": 700}


# ---- processes: the server's tree, its memory and CPU ----------------------------------------------------------

def process_table() -> dict[int, tuple[int, int]]:
    """pid → (parent pid, CPU ticks used), for every process (this kernel has no /proc/<pid>/task/*/children)."""
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue
            rest = stat[stat.rindex(")") + 2:].split()      # after the command name, which may hold spaces
            table[int(name)] = (int(rest[1]), int(rest[11]) + int(rest[12]))
    return table


def tree(root: int, table: dict) -> list[int]:
    """root and all its descendants (that are alive)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root] if root in table else []
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def kb(path: str, field: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class Sampler(threading.Thread):
    """Every 0.5 s: the server tree's RSS (sum of VmRSS), PSS (shared pages counted once) and process count, and
    the CPU seconds of the server tree and each browser's tree. Keeps the heavy sessions' browser at nice 10."""

    def __init__(self, server_pid: int):
        super().__init__(daemon=True)
        self.server_pid, self.phase, self.samples = server_pid, "start", []
        self.heavy_root: int | None = None
        self.visitor_root: int | None = None
        self.reniced: set[int] = set()
        self.stopping = threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK")

    def run(self) -> None:
        t0 = time.perf_counter()
        while not self.stopping.wait(0.5):
            table = process_table()
            pids = tree(self.server_pid, table)
            cpu = {name: sum(table[p][1] for p in tree(root, table)) / self.tick if root else 0.0
                   for name, root in (("server", self.server_pid), ("heavy_browser", self.heavy_root),
                                      ("visitor_browser", self.visitor_root))}
            self.samples.append({
                "t": round(time.perf_counter() - t0, 2), "phase": self.phase, "procs": len(pids),
                "rss_mb": round(sum(kb(f"/proc/{p}/status", "VmRSS") for p in pids) / 1024, 1),
                "server_rss_mb": round(kb(f"/proc/{self.server_pid}/status", "VmRSS") / 1024, 1),
                "pss_mb": round(sum(kb(f"/proc/{p}/smaps_rollup", "Pss") for p in pids) / 1024, 1),
                **{f"cpu_{k}_s": round(v, 2) for k, v in cpu.items()}})
            if self.heavy_root:
                self.renice(tree(self.heavy_root, table))

    def renice(self, pids: list[int]) -> None:
        """Niceness is per thread on Linux: every thread of every process of the heavy sessions' browser."""
        for pid in pids:
            try:
                tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
            except OSError:
                continue
            for tid in tids:
                if tid not in self.reniced:
                    try:
                        os.setpriority(os.PRIO_PROCESS, tid, 10)
                    except OSError:
                        pass
                    self.reniced.add(tid)

    def of(self, *phases: str) -> list[dict]:
        return [s for s in self.samples if s["phase"] in phases]


def start_server(port: int, log) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", f"--server.port={port}",
         "--browser.gatherUsageStats=false"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base, end = f"http://127.0.0.1:{port}", time.time() + 90
    while True:
        try:
            urllib.request.urlopen(base + "/_stcore/health", timeout=2)
            return proc, base
        except OSError:
            if time.time() > end or proc.poll() is not None:
                stop_server(proc)
                raise RuntimeError(f"streamlit did not start on port {port}; see its log")
            time.sleep(0.3)


def stop_server(proc: subprocess.Popen) -> None:
    """The server, then any of its descendants still alive (worker processes), each by its own id."""
    family = [p for p in tree(proc.pid, process_table()) if p != proc.pid]
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    for pid in family:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


# ---- the pages -------------------------------------------------------------------------------------------------

class Budget:
    """A phase's time box: each wait gets at most what is left of it (and at least a second)."""

    def __init__(self, seconds: float):
        self.end = time.perf_counter() + seconds

    def ms(self, cap_s: float) -> float:
        return max(1.0, min(cap_s, self.end - time.perf_counter())) * 1000

    @property
    def over(self) -> bool:
        return time.perf_counter() >= self.end


def idle(page, timeout_ms: float) -> bool:
    """The page's script run has finished (no "Running…" status); False if not within the time."""
    try:
        page.wait_for_timeout(150)
        page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=timeout_ms)
        return True
    except PlaywrightError:
        return False


def first_chart(browser, url: str, budget: Budget) -> tuple[object, float | None]:
    """A new visitor (fresh browser context): seconds from navigation until the first chart is drawn."""
    page = browser.new_context(**VIEW).new_page()
    t0 = time.perf_counter()
    try:
        page.goto(url, timeout=budget.ms(60))
        page.wait_for_selector(DRAWN, state="visible", timeout=budget.ms(90))
        return page, time.perf_counter() - t0
    except PlaywrightError as e:
        print(f"  first chart: no chart ({type(e).__name__})")
        return page, None


def slider_redraws(page, presses: int, budget: Budget, between=lambda: None) -> list[float | None]:
    """The 2-D trajectories tab's λ slider moved one stop down per key press (1 → 0.5 → 0.2 …, every stop a
    setting not computed before); seconds from each press until the summary table shows new numbers (None: not
    within 30 s)."""
    thumb = page.locator('[data-testid="stSlider"]', has_text="Decay λ").first.get_by_role("slider")
    times: list[float | None] = []
    for _ in range(presses):
        if budget.over:
            break
        between()                       # the heavy sessions' late clicks, outside the timed part
        idle(page, budget.ms(30))
        try:
            before = page.evaluate(f"() => ({TABLE_TEXT})(null)")
            thumb.focus(timeout=budget.ms(10))
            t0 = time.perf_counter()
            thumb.press("ArrowLeft")
            page.wait_for_function(TABLE_CHANGED, arg=before, polling=50, timeout=budget.ms(30))
            times.append(time.perf_counter() - t0)
        except PlaywrightError as e:
            print(f"  slider press: no new numbers ({type(e).__name__})")
            times.append(None)
    return times


def visitor(browser, base: str, seed: int, presses: int, budget: Budget, between=lambda: None) -> dict:
    """First chart on the landing page, then the slider on a link no one opened yet (`seed` changes only the
    cache key: without gradient noise the numbers are the same)."""
    page, chart = first_chart(browser, base + "/", budget)
    times: list[float | None] = []
    try:
        page.goto(f"{base}/?seed={seed}", timeout=budget.ms(60))
        page.wait_for_selector(DRAWN, state="visible", timeout=budget.ms(90))
        times = slider_redraws(page, presses, budget, between)
    except PlaywrightError as e:
        print(f"  slider page: {type(e).__name__}")
    errors = page.locator(EXCEPTION).count()
    page.context.close()
    done = [t for t in times if t is not None]
    return {"first_chart_s": chart, "redraws_s": times, "exceptions": errors,
            "redraw_median_s": statistics.median(done) if done and len(done) == len(times) else None,
            "redraw_max_s": max(done) if done and len(done) == len(times) else None}


def live_start(browser, base: str, budget: Budget) -> dict:
    """A fresh visitor opens Live training and presses ▶ Start: seconds until progress (step N / … with N > 0) or
    a queue position shows."""
    page = browser.new_context(**VIEW).new_page()
    out = {"seconds": None, "shown": None}
    try:
        page.goto(f"{base}/?{TRAIN_VIEW}", timeout=budget.ms(60))
        start = page.get_by_role("button", name="▶ Start", exact=True)
        start.wait_for(state="visible", timeout=budget.ms(60))
        idle(page, budget.ms(30))
        words = page.evaluate(f"() => (document.body.innerText.match({QUEUE_WORDS}) || []).length")
        t0 = time.perf_counter()
        start.click(timeout=budget.ms(10))
        shown = page.wait_for_function(STARTED, arg=words, polling=50, timeout=budget.ms(30))
        out = {"seconds": time.perf_counter() - t0, "shown": shown.json_value()}
    except PlaywrightError as e:
        print(f"  live start: nothing shown ({type(e).__name__})")
    out["exceptions"] = page.locator(EXCEPTION).count()
    page.context.close()
    return out


# ---- the heavy sessions ----------------------------------------------------------------------------------------
# Each session's clicks are a generator that yields while it waits for its page: the driver (start_heavy) steps
# them in turn, so the six pages load and start together and a slow one does not hold up the others.

def until(check, seconds: float, what: str):
    """Yield until check() is true (a page still loading counts as false); TimeoutError after `seconds`."""
    end = time.perf_counter() + seconds
    while True:
        try:
            if check():
                return
        except PlaywrightError:
            pass
        if time.perf_counter() > end:
            raise TimeoutError(f"no {what} within {seconds:.0f} s")
        yield


SWEEP_ASKED = ("() => document.querySelector('[data-testid=stProgress]') || [...document.querySelectorAll('button')]"
               ".some(b => b.innerText.includes('Run it anyway'))")
COMPUTE_BUTTONS = ("() => [...document.querySelectorAll('button')].filter(b => b.innerText.trim()"
                   ".startsWith('Compute:')).length")


def run_sweep(page):
    """▶ Run sweep, and "Run it anyway" when the page asks (an estimate over a minute)."""
    run = page.get_by_role("button", name="Run sweep")
    yield from until(lambda: run.is_visible() and run.is_enabled(), 120, "Run sweep button")  # after the estimate
    run.click(timeout=20_000)
    yield from until(lambda: page.evaluate(SWEEP_ASKED), 60, "progress bar or confirmation")
    anyway = page.get_by_role("button", name=re.compile("Run it anyway"))
    if anyway.count():
        anyway.click(timeout=20_000)
        return "confirmed (Run it anyway)"
    return "started"


def start_live(page):
    start = page.get_by_role("button", name="▶ Start", exact=True)
    yield from until(start.is_visible, 120, "▶ Start button")
    start.click(timeout=20_000)
    return "started"


class Started(str):
    """Yielded by a session that has started its work but still has a click to make later (the driver then steps
    it between the measurements, in the background)."""


def compute_insights(page):
    """The link switched every heavy toggle on; a link never starts work, so press each panel's Compute button.
    The panels draw one after another, and under load the landscape panel (the last) can take minutes: the buttons
    shown after 60 s are pressed, the rest as they appear (up to three more minutes)."""
    clicked: list[str] = []

    def press_new() -> None:
        for button in page.get_by_role("button", name=re.compile("^Compute:")).all():
            name = button.inner_text().strip()
            if name not in clicked:
                page.get_by_role("button", name=name, exact=True).click(timeout=20_000)
                clicked.append(name)

    with contextlib.suppress(TimeoutError):
        yield from until(lambda: page.evaluate(COMPUTE_BUTTONS) >= 3, 60, "three Compute buttons")
    yield from until(lambda: page.evaluate(COMPUTE_BUTTONS) >= 1, 60, "Compute button")
    press_new()
    if len(clicked) < 3:
        yield Started(f"{len(clicked)} panels computing, waiting for the others")
        with contextlib.suppress(TimeoutError):
            yield from until(lambda: page.evaluate(COMPUTE_BUTTONS) >= 3, 180, "three Compute buttons")
        press_new()
    return f"{len(clicked)} panels computing"


def export_gif(page):
    """The race's GIF from the first panel's Export menu (rendered when clicked); the download is recorded when
    it arrives (page.on('download'))."""
    yield from until(lambda: page.locator(DRAWN).first.is_visible(), 120, "chart")
    gif = page.get_by_role("button", name="GIF (the race, animated)").first
    for _ in range(3):                  # a rerun landing mid-click closes the popover: open it again
        if not gif.is_visible():
            page.get_by_role("button", name="Export").first.click(timeout=20_000)
        try:
            yield from until(gif.is_visible, 15, "GIF button")
        except TimeoutError:
            page.keyboard.press("Escape")
            continue
        page.gif_clicked = time.perf_counter()
        gif.click(timeout=10_000)
        return "GIF asked for"
    raise TimeoutError("no GIF button after three tries")


HEAVY = {   # name → (link, clicks); the link restores the controls, the clicks are the visitor's
    "sweep long-runs, 4 seeds": (f"/?{SWEEP_VIEW}&s_preset=long-runs&s_seeds=4", run_sweep),
    # the preset's own grid is shipped with the app (shown at once): 3 seeds make it a grid that computes
    "sweep default preset, 3 seeds": (f"/?{SWEEP_VIEW}&s_seeds=3", run_sweep),
    "live 512 wide × 6 layers, 10,000 steps": (f"/?{TRAIN_VIEW}&t_width=512&t_depth=6&t_steps=10000", start_live),
    "live mlp-ln, 10,000 steps": (f"/?{TRAIN_VIEW}&t_model=mlp-ln&t_steps=10000", start_live),
    "insights, every heavy panel": ("/?view=Insights&i1_model=true&i3_model=true&i5_go=true", compute_insights),
    "GIF of a 5,000-step race": ("/?steps=5000", export_gif),
}
LETTERS = dict(zip("abcdef", HEAVY))      # --heavy b,c picks sessions by their letter in this table
QUICK = "b,c"


def start_heavy(browser, base: str, names, seconds: float) -> dict:
    """Open every heavy session's link, then step all their clicks in turn until each has started (or failed);
    `seconds` from when the pages are open. Sessions with clicks left go on in the background (pump)."""
    sessions, steps = {}, {}
    for name in names:
        page = browser.new_context(**VIEW, accept_downloads=True).new_page()
        page.gif_clicked = page.gif_ready = None
        page.on("download", lambda d, p=page: setattr(p, "gif_ready", time.perf_counter()))
        sessions[name] = {"page": page, "state": "opened"}
        try:
            page.goto(base + HEAVY[name][0], wait_until="commit", timeout=30_000)
            steps[name] = HEAVY[name][1](page)
        except PlaywrightError as e:
            sessions[name]["state"] = f"FAILED to open: {type(e).__name__}"
    sessions["_t0"], sessions["_background"] = time.perf_counter(), {}
    budget = Budget(seconds)
    while steps:
        for name in list(steps):
            step(sessions, steps, name, budget)
        if steps:
            sessions[next(iter(steps))]["page"].wait_for_timeout(250)
    return sessions


def step(sessions: dict, steps: dict, name: str, budget: Budget | None = None) -> None:
    """One step of a session's clicks: when it has started (or failed), its state is recorded and printed."""
    now = f"+{time.perf_counter() - sessions['_t0']:.0f} s"
    try:
        out = next(steps[name])
        if isinstance(out, Started):
            sessions[name]["state"] = str(out)
            sessions["_background"][name] = steps.pop(name)
            print(f"  {name}: {out} ({now})")
        elif budget is not None and budget.over:
            raise TimeoutError("the phase's time box ran out")
        return
    except StopIteration as done:
        sessions[name]["state"] = done.value
    except (PlaywrightError, TimeoutError) as e:
        was = sessions[name]["state"]
        why = f"{type(e).__name__}: {str(e).splitlines()[0][:100]}"
        sessions[name]["state"] = f"FAILED to start: {why}" if budget is not None else f"{was}; then FAILED: {why}"
    del steps[name]
    print(f"  {name}: {sessions[name]['state']} ({now})")


def pump(sessions: dict) -> None:
    """Step the sessions that go on in the background (a click to make when their page is ready)."""
    background = sessions.get("_background", {})
    for name in list(background):
        step(sessions, background, name)


def heavy_snapshot(sessions: dict) -> dict:
    """What each heavy page shows: its progress texts, exceptions, and the GIF's time from click to download."""
    out = {}
    for name, s in sessions.items():
        if name.startswith("_"):
            continue
        page = s["page"]
        try:
            bars = [t.replace("\n", " ")[:80] for t in page.locator('[data-testid="stProgress"]').all_inner_texts()]
            errors, charts = page.locator(EXCEPTION).count(), page.locator(CHART).count()
        except PlaywrightError:
            bars, errors, charts = ["(page gone)"], None, None
        row = {"state": s["state"], "progress": bars, "exceptions": errors, "charts": charts}
        if page.gif_clicked:
            row["gif_seconds"] = round(page.gif_ready - page.gif_clicked, 1) if page.gif_ready else None
        out[name] = row
    return out


# ---- the report ------------------------------------------------------------------------------------------------

def f(x, unit="s", digits=2) -> str:
    return "—" if x is None else f"{x:,.{digits}f} {unit}".strip()


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else "pass" if ok else "FAIL"


def ratio(a, b) -> str:
    return f"{b / a:.2f}×" if a and b else "—"


def table(r: dict) -> list[list[str]]:
    q, lo = r["quiet"], r["load"]
    qc, lc = q["visitor"]["first_chart_s"], lo["visitor"]["first_chart_s"]
    qm, lm = q["visitor"]["redraw_median_s"], lo["visitor"]["redraw_median_s"]
    ls = lo["live_start"]
    mem = r["memory"]
    heavy = lo["heavy_at_end"]
    started = sum("FAILED" not in str(h["state"]) for h in heavy.values())
    rows = [
        ["first chart (new visitor)", f(qc), f(lc), ratio(qc, lc), f"load ≤ {GOALS['first_chart_ratio']}× quiet",
         verdict(bool(qc and lc and lc <= GOALS["first_chart_ratio"] * qc))],
        ["slider → new numbers, median", f(qm), f(lm), ratio(qm, lm),
         f"≤ {GOALS['redraw_quiet_s']} s quiet, ≤ {GOALS['redraw_load_s']} s load",
         verdict(qm is not None and lm is not None and qm <= GOALS["redraw_quiet_s"] and lm <= GOALS["redraw_load_s"])],
        ["slider → new numbers, max", f(q["visitor"]["redraw_max_s"]), f(lo["visitor"]["redraw_max_s"]),
         ratio(q["visitor"]["redraw_max_s"], lo["visitor"]["redraw_max_s"]), "—", ""],
        [f"▶ Start → {ls['shown'] or 'nothing'} shown", f(q["live_start"]["seconds"]), f(ls["seconds"]),
         ratio(q["live_start"]["seconds"], ls["seconds"]), f"≤ {GOALS['live_start_s']:.0f} s (progress or queue)",
         verdict(ls["seconds"] is not None and ls["seconds"] <= GOALS["live_start_s"])],
        ["peak RSS, server tree", f(mem["quiet_peak_mb"], "MB", 0), f(mem["load_peak_mb"], "MB", 0),
         ratio(mem["quiet_peak_mb"], mem["load_peak_mb"]), f"≤ {GOALS['peak_rss_mb']:,} MB",
         verdict(mem["load_peak_mb"] is not None and mem["load_peak_mb"] <= GOALS["peak_rss_mb"])],
        [f"RSS {mem['after_seconds']:.0f} s after visitors left", "", f(mem["after_mb"], "MB", 0), "",
         f"≤ {GOALS['after_rss_mb']} MB (60 s after)",
         verdict(mem["after_mb"] is not None and mem["after_mb"] <= GOALS["after_rss_mb"])],
        ["Traceback in the server log", "", f"{r['server_log']['tracebacks']}", "", "none",
         verdict(r["server_log"]["tracebacks"] == 0)],
        ["heavy sessions started (validity)", "", f"{started} / {len(heavy)}", "", "all (else the load was lighter)",
         verdict(started == len(heavy))],
    ]
    return rows


def print_table(rows: list[list[str]]) -> None:
    head = ["measure", "quiet", "under load", "ratio", "goal", "result"]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = "  ".join("{:<%d}" % w for w in widths)
    print(line.format(*head))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line.format(*row))


def peak(samples: list[dict], key: str = "rss_mb") -> float | None:
    return max((s[key] for s in samples), default=None)


def cpu_used(samples: list[dict]) -> dict:
    if len(samples) < 2:
        return {}
    a, b = samples[0], samples[-1]
    return {k[4:-2]: round(b[k] - a[k], 1) for k in a if k.startswith("cpu_")} | {"wall": round(b["t"] - a["t"], 1)}


# ---- the run ---------------------------------------------------------------------------------------------------

def measure(a, p, base: str, sampler: Sampler) -> dict:
    """Both browsers, the quiet baseline, the load and the visitors' leaving; the memory figures from the sampler."""
    r: dict = {"quiet": {}, "load": {}}
    known = set(tree(os.getpid(), process_table()))
    heavy_browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    table_now = process_table()
    new = [q for q in tree(os.getpid(), table_now) if q not in known]
    sampler.heavy_root = next((q for q in new if table_now[q][0] not in new), None)
    known |= set(new)
    browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    table_now = process_table()
    new = [q for q in tree(os.getpid(), table_now) if q not in known]
    sampler.visitor_root = next((q for q in new if table_now[q][0] not in new), None)

    sampler.phase = "warm-up"
    print(f"warm-up: the server's first visitor ({time.strftime('%X')})")
    page, r["first_visit_s"] = first_chart(browser, base + "/", Budget(120))
    idle(page, 60_000)
    page.context.close()

    sampler.phase = "quiet"
    print(f"quiet: a new visitor ({time.strftime('%X')})")
    r["quiet"]["visitor"] = visitor(browser, base, 1, a.presses, Budget(90))
    r["quiet"]["live_start"] = live_start(browser, base, Budget(45))
    r["load_average_quiet"] = os.getloadavg()

    sampler.phase = "load"
    t_load = time.perf_counter()
    print(f"load: starting {len(a.heavy)} heavy sessions ({time.strftime('%X')})")
    sessions = start_heavy(heavy_browser, base, a.heavy, 150 if not a.quick else 120)
    time.sleep(a.settle)
    r["load"]["heavy_at_start"] = heavy_snapshot(sessions)
    print(f"load: a new visitor ({time.strftime('%X')})")
    r["load"]["visitor"] = visitor(browser, base, 2, a.presses, Budget(150), lambda: pump(sessions))
    print(f"load: a live run started ({time.strftime('%X')})")
    r["load"]["live_start"] = live_start(browser, base, Budget(45))
    r["load_average_load"] = os.getloadavg()
    waiter = browser.new_context().new_page()
    while time.perf_counter() - t_load < a.load_seconds:
        waiter.wait_for_timeout(500)        # a Playwright call, so the download events arrive meanwhile
        pump(sessions)
    r["load"]["heavy_at_end"] = heavy_snapshot(sessions)
    r["load"]["seconds"] = round(time.perf_counter() - t_load, 1)

    sampler.phase = "after"
    t_left = time.perf_counter()
    print(f"every visitor leaves; RSS {a.after:.0f} s later ({time.strftime('%X')})")
    for b in (heavy_browser, browser):
        for ctx in b.contexts:
            ctx.close()
    while time.perf_counter() - t_left < a.after:
        time.sleep(0.5)
    heavy_browser.close()
    browser.close()
    return r


def memory(sampler: Sampler, after_seconds: float) -> dict:
    after, load = sampler.of("after"), sampler.of("load")
    return {"quiet_peak_mb": peak(sampler.of("warm-up", "quiet")), "load_peak_mb": peak(load),
            "run_peak_mb": peak(sampler.samples), "at_leaving_mb": load[-1]["rss_mb"] if load else None,
            "load_peak_pss_mb": peak(load, "pss_mb"), "load_peak_procs": peak(load, "procs"),
            "load_peak_server_mb": peak(load, "server_rss_mb"),
            "load_peak_workers_mb": peak([{"w": s["rss_mb"] - s["server_rss_mb"]} for s in load], "w"),
            "after_mb": after[-1]["rss_mb"] if after else None, "after_pss_mb": after[-1]["pss_mb"] if after else None,
            "after_seconds": after_seconds, "cpu_load_s": cpu_used(sampler.of("load"))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=None, help="the server's port (default: a free one)")
    ap.add_argument("--quick", action="store_true", help="a smoke run: the default sweep and one live run, 20 s")
    ap.add_argument("--json", type=Path, default=None, help="write the results (and the RSS series) here")
    ap.add_argument("--keep-server-log", type=Path, default=None, help="copy the server's stdout/stderr here")
    ap.add_argument("--presses", type=int, default=None, help="slider key presses per visitor (default 7; quick 3)")
    ap.add_argument("--heavy", default=None, help="which heavy sessions, by letter (default a,b,c,d,e,f; quick "
                    f"{QUICK}): " + "; ".join(f"{k} {v}" for k, v in LETTERS.items()))
    a = ap.parse_args()
    a.presses = a.presses or (3 if a.quick else 7)
    a.heavy = tuple(LETTERS[x.strip()] for x in (a.heavy or (QUICK if a.quick else ",".join(LETTERS))).split(","))
    a.settle, a.load_seconds, a.after = (3, 20, 15) if a.quick else (8, 90, 60)

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    t_start = time.perf_counter()
    log_path = Path(tempfile.mkstemp(prefix="bench_load_", suffix=".log")[1])
    with open(log_path, "wb") as log:
        proc, base = start_server(a.port or free_port(), log)
    sampler = Sampler(proc.pid)
    print(f"server {base} (pid {proc.pid}) ready in {time.perf_counter() - t_start:.1f} s")

    def time_box() -> None:             # the script never hangs: past 10 minutes, stop the server and leave
        print("time box of 10 minutes exceeded: stopping", flush=True)
        stop_server(proc)
        os._exit(3)

    watchdog = threading.Timer(600, time_box)
    watchdog.daemon = True
    watchdog.start()
    sampler.start()
    try:
        with sync_playwright() as p:
            r = measure(a, p, base, sampler)
    finally:
        sampler.stopping.set()
        stop_server(proc)
        watchdog.cancel()
    text = log_path.read_text(errors="replace")
    if a.keep_server_log:
        shutil.copy(log_path, a.keep_server_log)
    log_path.unlink()
    r["server_log"] = {"tracebacks": text.count("Traceback"), "lines": text.count("\n"),
                       "first_traceback": text[text.find("Traceback"):][:3000] if "Traceback" in text else None}
    r["memory"] = memory(sampler, a.after)
    r["settings"] = {"quick": a.quick, "heavy": list(a.heavy), "presses": a.presses, "load_seconds": a.load_seconds,
                     "after_seconds": a.after, "cores": os.cpu_count(), "goals": GOALS}
    r["total_seconds"] = round(time.perf_counter() - t_start, 1)
    report(r)
    if a.json:
        a.json.write_text(json.dumps({**r, "rss_series": sampler.samples}, indent=1, default=str))
        print(f"results: {a.json}")


def report(r: dict) -> None:
    print()
    for when in ("heavy_at_start", "heavy_at_end"):
        print(f"heavy sessions, {'after starting' if when.endswith('start') else 'when the visitors left'}:")
        for name, s in r["load"][when].items():
            gif = f" · GIF {f(s['gif_seconds'], 's', 1)} from click to download" if "gif_seconds" in s else ""
            print(f"  {name:40s} {s['state']}; {' | '.join(s['progress']) or 'no progress bar'}; "
                  f"{s['charts']} charts, {s['exceptions']} exceptions{gif}")
    for phase in ("quiet", "load"):
        v = r[phase]["visitor"]
        print(f"{phase}: slider presses {', '.join(f(x) for x in v['redraws_s'])}; exceptions on the visitor's "
              f"pages {v['exceptions'] + (r[phase]['live_start'].get('exceptions') or 0)}")
    m = r["memory"]
    print(f"server's first visitor (cold caches): first chart {f(r['first_visit_s'])}")
    print(f"server tree under load: peak {f(m['load_peak_mb'], 'MB', 0)} RSS (summed), "
          f"{f(m['load_peak_pss_mb'], 'MB', 0)} PSS, processes in the tree: up to {m['load_peak_procs']} (peaks: the "
          f"page's process {f(m['load_peak_server_mb'], 'MB', 0)}, "
          f"its workers {f(m['load_peak_workers_mb'], 'MB', 0)}); "
          f"{f(m['after_mb'], 'MB', 0)} RSS / "
          f"{f(m['after_pss_mb'], 'MB', 0)} PSS {m['after_seconds']:.0f} s after the visitors left (RSS "
          f"{f(m['at_leaving_mb'], 'MB', 0)} as they left; peak of the whole run {f(m['run_peak_mb'], 'MB', 0)})")
    cpu = m["cpu_load_s"]
    if cpu:
        print(f"CPU seconds during the {cpu['wall']:.0f} s of load: server {cpu['server']}, heavy sessions' browser "
              f"(nice 10) {cpu['heavy_browser']}, visitor's browser {cpu['visitor_browser']}")
    print(f"load average: quiet {r['load_average_quiet'][0]:.2f}, under load {r['load_average_load'][0]:.2f}; "
          f"whole run {r['total_seconds']:.0f} s")
    if r["server_log"]["tracebacks"]:
        print("first traceback in the server log:\n  " + "\n  ".join(r["server_log"]["first_traceback"]
                                                                      .splitlines()[-8:]))
    print()
    print_table(table(r))


if __name__ == "__main__":
    main()
