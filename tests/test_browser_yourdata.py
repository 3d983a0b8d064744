"""Your data through the real uploader (Playwright + Debian chromium): a file chosen in the browser reaches the Live
tab, which trains on it; the address bar and the share box never hold it, and the box says the link opens on
digits; a bad file is one message and a traceback never."""
import os
from pathlib import Path

import pytest
from browser import CHART, CHROMIUM
from test_browser_paths import EXCEPTION, open_view, wait_idle
from test_yourdata import csv

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
    pytest.skip("Debian chromium not installed (apt-get install -y chromium)", allow_module_level=True)


def choose_file(page, name: str, raw: bytes, shows: str) -> None:
    """Choose a file in the uploader, as a visitor does, and wait until the page says `shows`."""
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": raw})
    try:
        page.wait_for_function("s => document.body.innerText.includes(s)", arg=shows, timeout=30_000)
    except Exception:
        raise AssertionError(page.locator("body").inner_text()[-2000:]) from None
    wait_idle(page)


def test_an_uploaded_csv_trains_live_and_stays_out_of_the_link(app_server, page):
    base, _ = app_server
    open_view(page, base + "/?view=Live+training&t_steps=100")
    page.get_by_text("Your data (CSV)").click()
    wait_idle(page)
    choose_file(page, "bad.csv", b"f0,label\n1,a\n2\n", "trains on digits until")
    assert page.locator('[data-testid="stAlertContentError"]').count() == 1
    assert "row 3" in page.locator('[data-testid="stAlertContentError"]').inner_text()
    choose_file(page, "secretfile.csv", csv(rows=90, features=3, classes=("cat", "dog", "eel"), name="secretcol"),
                "90 rows, 3 features, 3 classes")
    body = page.locator("body").inner_text()
    assert "90 rows, 3 features, 3 classes" in body and page.locator(EXCEPTION).count() == 0
    page.get_by_role("button", name="Start").click()
    page.wait_for_function("() => /step 100 \\/ 100/.test(document.body.innerText)", timeout=90_000)
    wait_idle(page)
    assert page.locator(CHART).count() >= 6 and page.locator(EXCEPTION).count() == 0
    assert "secret" not in page.url and "data" not in page.url.split("?")[-1]
    page.get_by_role("button", name="Share this view").click()
    box = page.locator('[data-testid="stPopoverBody"]')
    box.wait_for(timeout=10_000)
    text = box.inner_text()
    assert "opens on digits" in text and "secret" not in text
