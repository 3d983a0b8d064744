"""Helpers for the real-browser tests: a Streamlit server on a free port and Debian's Chromium, and the fixtures
that share them (one server and one browser per test worker; each test gets a page of its own)."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic"]
CHART = '[data-testid="stVegaLiteChart"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(timeout: float = 60, script: str | Path = "app.py"):
    """A fresh server for `script` (relative to the repository root, or absolute): (base URL, process)."""
    port = free_port()
    log = tempfile.TemporaryFile()          # not a pipe: a server that lives for many tests must never block on it
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / script), "--server.headless=true",
         f"--server.port={port}", "--browser.gatherUsageStats=false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
        env={k: v for k, v in os.environ.items() if k not in ("EXPLORER_WORKERS", "EXPLORER_WORKER_IDLE")})
    base = f"http://127.0.0.1:{port}"
    proc.log = log                           # what the server wrote so far: server_log(proc)
    try:
        end = time.time() + timeout
        while True:
            try:
                urllib.request.urlopen(base + "/_stcore/health", timeout=2)
                break
            except OSError:
                if time.time() > end or proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError("streamlit did not start: " + log.read().decode()[-2000:])
                time.sleep(0.3)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def server_log(proc) -> str:
    """The server's log so far (stderr, where Streamlit logs)."""
    proc.log.flush()
    proc.log.seek(0)
    return proc.log.read().decode(errors="replace")


# The fixtures below are registered in conftest.py (session scope there means once per xdist worker). The
# browser test modules share one xdist group, so one worker runs them all against one server and one browser.

@pytest.fixture(scope="session")
def app_server():
    """(base URL, process) of the app's server shared by the browser tests that need no fresh one: each test
    opens its own page, hence its own session; a test that measures the server itself starts its own."""
    with streamlit_server() as server:
        yield server


@pytest.fixture(scope="session")
def chromium():
    """One Chromium for all browser tests (a launch costs about a CPU-second); tests open their own contexts."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(chromium):
    """A fresh context (cookies, storage, downloads) and page, 1400×1000, closed after the test."""
    ctx = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    yield ctx.new_page()
    ctx.close()
