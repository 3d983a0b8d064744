"""The app on a phone (390 × 844, touch) in a real browser: on every tab the charts (or, before a run, what stands
in for them) come before the tab's controls, and nothing makes the page scroll sideways — wide tables, charts and
formulas scroll inside their own box. Checked again after a live run finishes (its summary table) and after a
small sweep (its heat maps)."""
import os
from pathlib import Path

import pytest
from browser import CHART, CHROMIUM

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
    pytest.skip("Debian chromium not installed (apt-get install -y chromium)", allow_module_level=True)

WIDTH = 390
PHONE = {"viewport": {"width": WIDTH, "height": 844}, "is_mobile": True, "has_touch": True}
SWEEP = "view=lr+%C3%97+%CE%BB+sweep&s_n_lr=2&s_n_wd=2&s_seeds=1&s_steps=100&s_samples=100"   # 12 cells, ~1 s
CONTROLS = ", ".join(f'[data-testid="{kind}"]' for kind in
                     ("stSlider", "stSelectbox", "stRadio", "stCheckbox", "stNumberInput", "stTextInput"))

# Tops (px, page coordinates) of the active tab's first chart, first info box and first control, and how wide the
# page scrolls: the document's and that of stMain, Streamlit's scrolling box.
LAYOUT = """controls => {
  const main = document.querySelector('[data-testid="stMain"]');
  const panel = [...document.querySelectorAll('[data-testid="stTabPanel"]')]
    .find(e => e.getBoundingClientRect().height > 0);                           // the active tab's
  const top = selector => {
    const tops = [...panel.querySelectorAll(selector)].map(e => e.getBoundingClientRect())
      .filter(r => r.height > 0).map(r => r.top + main.scrollTop);
    return tops.length ? Math.min(...tops) : null;
  };
  return {chart: top('[data-testid="stVegaLiteChart"]'), info: top('[data-testid="stAlert"]'), control: top(controls),
          width: Math.max(document.documentElement.scrollWidth, main.scrollWidth)};
}"""


def settle(page, timeout=120_000):
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)
    page.wait_for_timeout(700)              # charts and tables take their final size


def layout(page) -> dict:
    assert page.locator('[data-testid="stException"]').count() == 0
    return page.evaluate(LAYOUT, CONTROLS)


def first_before_controls(shown: dict, what: str = "chart") -> None:
    assert shown[what] is not None and shown["control"] is not None, shown
    assert shown[what] < shown["control"], f"the tab's first control comes before its first {what}: {shown}"
    assert shown["width"] <= WIDTH, f"the page scrolls sideways: {shown}"


@pytest.fixture()
def phone(chromium):
    context = chromium.new_context(**PHONE)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("query", ["", "view=Insights"], ids=["2-D trajectories", "Insights"])
def test_charts_come_first_on_a_phone(app_server, phone, query):
    base, _ = app_server
    phone.goto(f"{base}/?{query}")
    phone.wait_for_selector(CHART, timeout=120_000)
    settle(phone)
    first_before_controls(layout(phone))


def test_live_training_on_a_phone_before_and_after_a_run(app_server, phone):
    """Before a run: its Start button and note first; after it: the curves first, and the summary table (wider
    than a phone) scrolls in its own box."""
    base, _ = app_server
    phone.goto(f"{base}/?view=Live+training&t_steps=100")
    start = phone.get_by_role("button", name="Start")
    start.wait_for(timeout=120_000)
    settle(phone)
    first_before_controls(layout(phone), "info")
    assert start.bounding_box()["y"] < layout(phone)["control"]
    start.click()
    phone.wait_for_function("() => /· done/.test(document.body.innerText)", timeout=120_000)
    phone.wait_for_selector(CHART, timeout=60_000)
    settle(phone)
    assert phone.locator('[data-testid="stMarkdownContainer"] table').count() >= 2    # the summary tables
    first_before_controls(layout(phone))


def test_the_sweep_on_a_phone_before_and_after_a_run(app_server, phone):
    base, _ = app_server
    phone.goto(f"{base}/?{SWEEP}")
    run = phone.get_by_role("button", name="Run sweep")
    run.wait_for(timeout=120_000)
    settle(phone)
    if run.is_enabled():                      # (another test may have run this sweep: it is then shown at once)
        first_before_controls(layout(phone), "info")
        assert run.bounding_box()["y"] < layout(phone)["control"]
        run.click()
    phone.wait_for_selector(CHART, timeout=120_000)
    settle(phone)
    first_before_controls(layout(phone))
