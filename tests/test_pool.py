"""The worker pool (explorer.runs.pool) and the live run trained a second at a time in it (explorer.runs.live):
fair order across sessions, long jobs leave a worker for short ones, cancel, a shared job, a lost worker,
sessions that leave, honest forecasts — with real worker processes."""
from __future__ import annotations

import os
import signal
import threading
import time

import pandas as pd
import pytest

from explorer.core.measures import attach
from explorer.runs import pool as pool_module
from explorer.runs.job import CANCELLED, DONE, FAILED, QUEUED, RUNNING, Job
from explorer.runs.live import LiveRun
from explorer.runs.pool import Pool
from explorer.runs.train import TrainConfig, Trainer

HERE = __name__          # the tasks below run in the workers, imported by this module's name


def nap(seconds: float, value=None, progress=None):
    """A task: sleeps, reporting progress, and returns value."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        time.sleep(0.02)
        if progress is not None:
            progress(min((time.monotonic() - t0) / seconds, 1.0), None)
    return value


def pid(_=None):
    return os.getpid()


def boom():
    raise ValueError("bad grid")


def unsendable():
    return lambda: None


def make_pool(size=1, **kw) -> Pool:
    return Pool(size, size, tasks_from=("explorer.", HERE), **kw)


def until(condition, seconds=60.0):
    t0 = time.monotonic()
    while not condition():
        assert time.monotonic() - t0 < seconds, "timed out"
        time.sleep(0.02)


def finish(job: Job, seconds=60.0) -> Job:
    until(lambda: job.finished, seconds)
    return job


@pytest.fixture(scope="module")
def one():
    """A pool of one worker, warmed up (a worker's start is seconds: torch)."""
    p = make_pool(1)
    finish(p.submit("warm", f"{HERE}:nap", 0.0))
    yield p
    p.shutdown()


def test_sessions_take_turns_and_a_session_keeps_its_own_order(one):
    blocker = one.submit("x", f"{HERE}:nap", 0.5)
    until(lambda: blocker.started is not None)
    a = [one.submit("a", f"{HERE}:nap", 0.05, i) for i in range(3)]
    b = one.submit("b", f"{HERE}:nap", 0.05, "b")
    assert [j.position for j in a] == [1, 3, 4] and b.position == 2       # a, b, a, a
    for j in (*a, b):
        finish(j)
    starts = sorted((j.started, j.result) for j in (*a, b))
    assert [r for _, r in starts] == [0, "b", 1, 2]


def test_a_result_and_a_failure_come_back_with_their_reasons(one):
    assert finish(one.submit("a", f"{HERE}:nap", 0.0, {"x": [1, 2]})).result == {"x": [1, 2]}
    bad = finish(one.submit("a", f"{HERE}:boom"))
    assert bad.state == FAILED and bad.error == "ValueError: bad grid"
    stuck = finish(one.submit("a", f"{HERE}:unsendable"))
    assert stuck.state == FAILED and "could not be sent" in stuck.error
    assert finish(one.submit("a", f"{HERE}:nap", 0.0, "next")).result == "next"     # the worker lives on
    with pytest.raises(ValueError, match="not a task"):
        one.submit("a", "os:system", "true")


def test_the_same_key_is_one_job_shared_until_its_last_owner_cancels(one):
    first = one.submit("a", f"{HERE}:nap", 1.0, "shared", key="k")
    second = one.submit("b", f"{HERE}:nap", 1.0, "shared", key="k")
    assert first is second and first.owners == ["a", "b"]
    one.cancel(first, "a")
    assert first.owners == ["b"] and not first.finished
    assert finish(first).state == DONE and first.result == "shared"


def test_cancel_stops_a_running_job_at_once_and_a_queued_one_leaves_the_queue(one):
    running = one.submit("a", f"{HERE}:nap", 30.0, "running", long=True)
    queued = one.submit("a", f"{HERE}:nap", 30.0, "queued")
    until(lambda: running.fraction > 0)
    t0 = time.monotonic()
    one.cancel(queued, "a")
    one.cancel(running, "a")
    assert running.state == queued.state == CANCELLED and time.monotonic() - t0 < 1.0
    assert queued not in one.jobs() and running.fraction < 1.0
    assert finish(one.submit("a", f"{HERE}:nap", 0.0, 7)).result == 7      # a fresh worker takes the next


def test_a_long_job_never_takes_the_last_worker():
    p = make_pool(2)
    try:
        longs = [p.submit(o, f"{HERE}:nap", 1.5, o, long=True) for o in ("a", "b")]
        short = p.submit("c", f"{HERE}:nap", 0.1, "short")
        assert longs[0].state == RUNNING and longs[1].state == QUEUED and short.state == RUNNING
        finish(short)
        assert longs[1].state == QUEUED                    # the free worker stays free for short work
        finish(longs[1])
        assert longs[1].started >= longs[0].ended - 0.2
    finally:
        p.shutdown()


def test_a_killed_worker_costs_a_retry_and_twice_a_failure_that_says_why():
    p = make_pool(1)
    try:
        worker = finish(p.submit("a", f"{HERE}:pid")).result
        job = p.submit("a", f"{HERE}:nap", 1.0, "survived")
        until(lambda: job.started is not None)
        os.kill(worker, signal.SIGKILL)
        assert finish(job).state == DONE and job.result == "survived" and job.tries == 1
        doomed = p.submit("a", f"{HERE}:nap", 5.0)
        until(lambda: doomed.fraction > 0)
        os.kill(_worker_pid(p), signal.SIGKILL)
        until(lambda: doomed.tries == 1 and doomed.fraction > 0)       # retried in a fresh worker
        os.kill(_worker_pid(p), signal.SIGKILL)
        assert finish(doomed).state == FAILED and "exit code" in doomed.error and "twice" in doomed.error
    finally:
        p.shutdown()


def test_workers_yield_the_cpu_to_the_page(monkeypatch):
    monkeypatch.delenv("EXPLORER_WORKER_NICE", raising=False)     # as shipped (the suite runs them at its own)
    p = make_pool(1)
    try:
        worker = finish(p.submit("a", f"{HERE}:pid", "nice")).result
        with open(f"/proc/{worker}/stat") as f:
            nice = int(f.read().rsplit(")", 1)[1].split()[16])      # field 19 of stat: the nice value
        assert nice == min(os.nice(0) + 10, 19)
    finally:
        p.shutdown()


def _worker_pid(p: Pool) -> int:
    return p._workers[0].pid


def test_the_jobs_of_a_session_that_left_are_cancelled(monkeypatch):
    monkeypatch.setattr(pool_module, "GONE_SECONDS", 0.3)
    here = {"a": True, "b": True}
    p = make_pool(1, alive=lambda o: here[o])
    try:
        mine = p.submit("a", f"{HERE}:nap", 30.0, long=True)
        theirs = p.submit("b", f"{HERE}:nap", 0.1, "kept")
        here["a"] = False
        assert finish(mine, 10).state == CANCELLED
        assert finish(theirs).state == DONE and theirs.result == "kept"
    finally:
        p.shutdown()


def test_a_worker_that_grew_past_its_memory_limit_leaves_after_its_job(monkeypatch):
    monkeypatch.setenv("EXPLORER_WORKER_RETIRE_MB", "1")       # every worker is over 1 MB: each job's worker leaves
    p = make_pool(1)
    try:
        pids = [finish(p.submit("a", f"{HERE}:pid", i)).result for i in range(3)]
        assert len(set(pids)) == 3                        # three jobs, three fresh workers, no job lost or retried
    finally:
        p.shutdown()


PINNED = []


def churn(mb: int):
    """A task: allocates `mb` MB in 64 kB blocks and frees all but every 64th (as a run leaves a few objects that
    outlive it), then returns its RSS: glibc by itself gives back only a free top of its heap, and here the
    free space lies between the survivors."""
    from explorer.runs.worker import rss_mb
    blocks = [bytearray(64 * 1024) for _ in range(mb * 16)]
    PINNED.extend(blocks[::64])
    del blocks
    return os.getpid(), rss_mb()


def rss_of(_=None):
    from explorer.runs.worker import rss_mb
    return os.getpid(), rss_mb()


def test_a_worker_hands_the_memory_a_job_freed_back_to_the_system(monkeypatch):
    """Without it the worker would stay past its memory limit (300 MB over its start) and leave: here it stays,
    its memory back near where it started."""
    p = make_pool(1)
    try:
        _, start = finish(p.submit("a", f"{HERE}:rss_of", 0)).result
    finally:
        p.shutdown()
    monkeypatch.setenv("EXPLORER_WORKER_RETIRE_MB", str(start + 150))   # a fresh worker's size, and 150 MB
    p = make_pool(1)
    try:
        pid0, before = finish(p.submit("a", f"{HERE}:rss_of", 0)).result
        pid1, kept = finish(p.submit("a", f"{HERE}:churn", 300)).result   # freed, but still held by the process
        pid2, after = finish(p.submit("a", f"{HERE}:rss_of", 1)).result   # after its job
        assert pid0 == pid1 == pid2, "the worker left: its memory was not given back"
        assert kept > before + 200 and after < before + 50, (before, kept, after)
    finally:
        p.shutdown()


def test_a_leaving_worker_has_gone_before_the_next_one_starts(monkeypatch):
    """A worker past its memory limit leaves after its job; its memory is only free once it has exited, so the
    next job's worker starts after that: never two workers of a one-worker pool alive at once."""
    monkeypatch.setenv("EXPLORER_WORKER_RETIRE_MB", "1")
    p = make_pool(1)
    alive_at_once, stop = [], threading.Event()

    def watch():
        while not stop.is_set():
            with p._lock:
                alive_at_once.append(sum(w.alive() for w in p._workers + p._leaving))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        pids = [finish(p.submit("a", f"{HERE}:pid", i)).result for i in range(3)]
    finally:
        stop.set()
        watcher.join()
        p.shutdown()
    assert len(set(pids)) == 3 and max(alive_at_once) == 1


def test_idle_workers_leave_and_the_next_job_starts_one():
    p = make_pool(1, idle_seconds=0.3)
    try:
        finish(p.submit("a", f"{HERE}:nap", 0.0))
        until(lambda: p.workers() == 0, 10)
        assert finish(p.submit("a", f"{HERE}:nap", 0.0, 1)).result == 1
    finally:
        p.shutdown()


def test_a_queued_job_forecasts_its_wait_and_a_forecast_off_by_over_30_percent_is_corrected():
    p = make_pool(1)
    try:
        finish(p.submit("w", f"{HERE}:nap", 0.0))
        first = p.submit("a", f"{HERE}:nap", 1.0, 1, estimate=1.0)
        until(lambda: first.started is not None)
        second = p.submit("b", f"{HERE}:nap", 1.0, 2, estimate=4.0)
        third = p.submit("c", f"{HERE}:nap", 1.0, 3, estimate=2.0)
        assert (second.position, third.position) == (1, 2)
        assert 0 < second.wait <= 1.0 and third.wait == pytest.approx(second.wait + 4.0, abs=0.3)
    finally:
        p.shutdown()
    job = Job(1, "k", "t", (), False, 10.0, ["a"], 0.0, state=RUNNING, started=0.0)
    assert job.forecast(0.0) == (10.0, None)
    job.left = 8.0
    assert job.forecast(1.0) == (8.0, None)           # 9 s from the start: within 30 % of the 10 s said
    job.left = 20.0
    left, before = job.forecast(2.0)                  # 22 s: more than 30 % off — said, with what was said
    assert left == 20.0 and before == 10.0
    job.left = 19.0                                   # on course for the new promise: the correction still said
    assert job.forecast(3.0) == (19.0, 10.0)


def test_a_live_run_trained_second_by_second_in_workers_is_the_same_run(one):
    """Ticks and snapshots from several threads, a pause, a resume: the finished run, its instruments'
    rows and its decay histogram are the same bits as one uninterrupted Trainer.run() with attach()."""
    cfg = TrainConfig(steps=240, eval_every=20, train_samples=300, width=32, schedule="cosine", warmup=10)
    reference = Trainer(cfg)
    stats = attach(reference)
    rows = reference.run()
    live = LiveRun(cfg, one, "a", seconds=0.2)
    until(lambda: live.step > 0)
    live.pause("you changed Decay λ")
    assert not live.running and live.paused_because == "you changed Decay λ" and live.job is None
    k = live.step
    time.sleep(0.3)
    live.tick()
    assert live.step == k                              # a paused run does not step
    live.resume()

    def hammer():
        while live.running:
            live.tick()
            live.snapshot()
            time.sleep(0.01)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert live.done and not live.running and live.error == ""
    snap = live.snapshot()
    assert snap["rows"] == rows and snap["step"] == cfg.steps
    assert pd.DataFrame(snap["layer_rows"]).equals(pd.DataFrame(stats.rows))
    assert snap["effective_decay"].equals(reference.effective_decay())
    assert snap["steps_per_second"] > 0


def test_a_live_run_says_it_waits_for_a_worker():
    p = make_pool(1)
    try:
        blocker = p.submit("x", f"{HERE}:nap", 2.0)
        live = LiveRun(TrainConfig(steps=40), p, "a")
        assert "position 1" in live.waiting() and live.snapshot()["waiting"]
        finish(blocker)
        until(lambda: live.done, 60)
        assert live.waiting() is None
    finally:
        p.shutdown()


def test_the_result_store_keeps_to_its_byte_budget_dropping_the_least_recently_used():
    import numpy as np

    from explorer.runs.job import Finished
    from explorer.runs.store import ByteBudget, sizeof

    frame = pd.DataFrame({"x": np.zeros(1000), "name": ["adamw"] * 1000})
    assert sizeof(frame) >= 8000 + 1000 * 5 and sizeof(b"x" * 500) == 500
    assert sizeof(Finished(frame, 1.0, None, 1)) >= sizeof(frame)
    store = ByteBudget(3 * sizeof(b"x" * 1000))
    for k in "abc":
        assert store.put(k, b"x" * 1000)
    store.get("a")                                   # a is used again: b is now the oldest
    store.put("d", b"x" * 1000)
    assert "b" not in store and all(k in store for k in "acd") and store.bytes <= store.budget
    assert not store.put("huge", b"x" * 10_000) and "huge" not in store and len(store) == 3


def test_a_deferred_download_whose_session_left_ends_quietly(monkeypatch):
    """A GIF asked for by a session that then left is cancelled: the download's callable returns nothing to send
    (None; the GIF b"") instead of raising, which Streamlit logged as a traceback."""
    from explorer.ui import jobs, trajectories

    p = make_pool(1)
    monkeypatch.setattr(jobs, "pool", lambda: p)
    monkeypatch.setattr(jobs, "find", lambda key: None)
    got = {}
    try:
        asker = threading.Thread(target=lambda: got.update(value=jobs.blocking(f"{HERE}:nap", 30.0, session="gone")))
        asker.start()
        until(lambda: any(j.state == RUNNING for j in p.jobs()))
        p.cancel_owner("gone")
        asker.join(10)
        assert not asker.is_alive() and got == {"value": None}
        monkeypatch.setattr(jobs, "blocking", lambda *a, **k: None)
        assert trajectories.race_gif(("params",), "gone") == b""
        monkeypatch.setattr(jobs, "blocking", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("worker died")))
        with pytest.raises(RuntimeError, match="worker died"):          # a failure still says so
            trajectories.race_gif(("params",), "here")
    finally:
        p.shutdown()
