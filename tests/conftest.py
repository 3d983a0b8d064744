"""Helpers shared by the tests: the app under AppTest (open from a link, switch tabs, read charts) and the CLI
in this process."""
import contextlib
import hashlib
import io
import json
import os
import time
from pathlib import Path

import pytest
from browser import app_server, chromium, page  # noqa: F401  (the browser tests' shared fixtures)
from hypothesis import settings

# Property tests draw the same examples on every run and every machine (a red suite is then the code's, not the
# draw's); `pytest --hypothesis-profile=explore` draws new ones each run, to look for trouble.
settings.register_profile("repeatable", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile("repeatable")

# torch, Streamlit and the explorer are imported where used: xdist's controller process loads this file too,
# and only its workers run tests (the imports cost the controller ~3 CPU-seconds for nothing)
# An AppTest run's limit: a passing run never waits for it, and on a 2-core CI machine whose other core runs the
# browser tests and the preset recomputes, the Insights tab's first run (six panels computed at once) took over 60 s
TIMEOUT = 180

if os.environ.get("PYTEST_XDIST_WORKER"):
    import torch
    torch.set_num_threads(1)          # the suite runs on one worker per core: one torch thread each
# The app run in this process (AppTest) computes in a pool of its own: one worker process, kept for the whole
# run (a worker's start costs ~3 CPU-seconds; on two cores more workers only compete). The servers the browser
# tests start get neither setting: they run as shipped (tests/browser.py).
os.environ.setdefault("EXPLORER_WORKERS", "1")
os.environ.setdefault("EXPLORER_WORKER_IDLE", "600")
# Workers at the tests' own priority (here and in the browser tests' servers): on a machine whose other core runs
# other tests, nice 10 starved them (an AppTest run waiting on its worker timed out).
os.environ.setdefault("EXPLORER_WORKER_NICE", "0")
APP = str(Path(__file__).resolve().parents[1] / "app.py")


VIEWS = {"train": "Live training", "sweep": "lr × λ sweep", "insights": "Insights", "traj": "2-D trajectories"}


@pytest.fixture(autouse=True)
def _no_job_outlives_its_test():
    """Cancel the work a test's app sessions left in this process's pool. A served session that leaves has its
    jobs cancelled once it has been gone 10 s; an AppTest session never leaves, so a live run a test did not
    finish would train to its end in the one worker, under the next tests' work."""
    yield
    import sys
    jobs = sys.modules.get("explorer.ui.jobs")
    if jobs is None:
        return
    pool = jobs.pool()
    for job in pool.jobs():
        pool.cancel(job)


def pytest_xdist_make_scheduler(config, log):
    """xdist's load balancing, except that the browser tests (tests/test_browser*.py) form one unit that one worker
    runs, so they share its server and browser, and the Ray tests (tests/test_ray.py) another, sharing one Ray
    instance. (--dist loadgroup would do this with marks, but with pytest 9 its group suffix never reaches the node
    ids, and the group is split.)"""
    from xdist.scheduler import LoadScopeScheduling

    class BrowserTestsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            # with CI set, the minutes-long preset recomputes run with the browser tests, one after another: beside
            # them they took a core for ten minutes and the servers' pages timed out
            slow = os.environ.get("CI") and nodeid.startswith("tests/test_presets.py::test_recomputing")
            if nodeid.startswith("tests/test_ray.py"):
                return "ray"
            return "browser" if nodeid.startswith("tests/test_browser") or slow else nodeid

    return BrowserTestsTogether(config, log)


def fresh(query=None, view=None, timeout=TIMEOUT):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if view:
        at.query_params["view"] = VIEWS[view]
    return at.run()


def finished_live_run(steps: int = 100):
    """The Live tab after a short run started and ticked to its end (one fragment run per AppTest run)."""
    at = fresh(view="train")
    at.select_slider(key="t_steps").set_value(steps).run()
    at.button(key="t_start").click().run()
    live_until(at, lambda live: not live.running)
    assert at.session_state["live"].done
    return at


def live_until(at, condition, seconds: float = 180.0):
    """Rerun the page until condition(the live run) holds: the run trains in the server's worker processes,
    a second at a time, whatever the page does (AppTest fires no timers: each run() is one look)."""
    t0 = time.monotonic()
    while not condition(at.session_state["live"]):
        assert time.monotonic() - t0 < seconds, "the live run did not get there in time"
        time.sleep(0.5)               # a rerun is a whole page: looking less often leaves the CPU to the worker
        at.run()
    at.run()                          # the page as it is now (the run may have moved on since the last look)
    return at.session_state["live"]


def show(at, view):
    """Switch tabs the way a click does — the tab and the URL change (only the active tab renders)."""
    at.session_state["view"] = VIEWS[view]
    at.query_params["view"] = VIEWS[view]
    return at.run()


def specs(at):
    return [json.loads(c.proto.spec) for c in at.get("arrow_vega_lite_chart")] or \
           [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def trajectory_data(at):
    """The two trajectory panels' data, wherever it travels: inline values or top-level datasets in the spec,
    and the data sets Streamlit sends beside it as Arrow (named by their place in the chart, so the names stay
    when the numbers change: their bytes are compared)."""
    def data(node):
        if isinstance(node, dict):
            return [node[k] for k in ("data", "datasets") if k in node] + [x for v in node.values() for x in data(v)]
        if isinstance(node, list):
            return [x for v in node for x in data(v)]
        return []

    charts = at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    found = [json.dumps(data(json.loads(c.proto.spec)), sort_keys=True)
             + "".join(f"{d.name}:{hashlib.sha256(d.data.data).hexdigest()}" for d in c.proto.datasets)
             for c in charts[:2]]
    assert all(len(f) > 40 for f in found), "no chart data found"
    return found




def run_cli(*args):
    """python -m explorer ARGS in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            from explorer.interface.cli import main
            code = main(list(args))
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue()


STEPS = 120


def reference_run(cfg, make_opt, run_index: int = 0, steps: int = STEPS):
    """One model with torch.optim (cfg: a TrainConfig), written the way a user would: same init, same batches."""
    import torch.nn.functional as F

    from explorer.core.data import digits
    from explorer.core.models import forward_one, init_params
    from explorer.runs.train import Trainer
    spec = cfg.model_spec
    params = [p[run_index].detach().clone().requires_grad_(True)
              for p in init_params(spec, 1, cfg.seed)]
    opt = make_opt(params)
    data = digits(cfg.train_samples)
    tr = Trainer(cfg, "cpu")              # only used for its batch order
    for _ in range(steps):
        idx = tr._next_batch()
        loss = F.cross_entropy(forward_one(spec, params, data.x_train[idx]), data.y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [p.detach() for p in params]
