"""One scrub step of the race player at many steps, in Chromium (Playwright + Debian chromium): the player's
input → all four trajectory charts redrawn and painted, median over 30 steps, no message to the server.

    python benchmarks/bench_scrub.py [--steps 5000]

The load average is printed: other programs on the machine make every number slower.
"""
import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from browser import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from explorer.viz import chartkit  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--steps", type=int, default=5000)
a = ap.parse_args()
PLAYER, INPUTS = "#player-race_step", f'.vega-bindings input[name="{chartkit.RACE}"]'

with streamlit_server() as (base, _), sync_playwright() as p:
    browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(f)))
    page.goto(f"{base}/?steps={a.steps}")
    page.wait_for_function(f"() => document.querySelectorAll('{INPUTS}').length === 4", timeout=120_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=120_000)
    quiet = len(sent)
    ms = page.evaluate(f"""async () => {{
        const range = document.querySelector('{PLAYER} input'), times = [];
        for (let i = 0; i < 30; i++) {{
            const t = performance.now();
            range.value = i * 6; range.dispatchEvent(new Event('input'));
            await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
            times.push(performance.now() - t);
        }}
        times.sort((a, b) => a - b);
        return times[15];
    }}""")
    steps = set(page.eval_on_selector_all(INPUTS, "els => els.map(e => e.value)"))
    print(f"{a.steps} steps: one scrub step redraws all four charts in a median {ms:.1f} ms "
          f"(charts at step {', '.join(sorted(steps))}; {len(sent) - quiet} messages to the server); "
          f"load average {os.getloadavg()[0]:.1f}")
    browser.close()
