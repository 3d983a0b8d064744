"""The job queue's page side: the server's one worker pool (explorer.runs.pool), the finished results every
session shares (a byte budget), and what a page shows while its work waits or runs — its place in the queue,
an estimate that is corrected when it proves wrong, progress, a Cancel that works at any point."""
from __future__ import annotations

import os
import time
from collections.abc import Hashable
from typing import Any

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from explorer.runs.cluster import task_for
from explorer.runs.cost import available_cores
from explorer.runs.job import CANCELLED, DONE, FAILED, QUEUED, Finished, Job
from explorer.runs.pool import Pool, pool_size
from explorer.runs.store import ByteBudget

RESULT_BYTES = 96 * 2**20      # finished sweeps, maps, panels and GIFs kept for every session
POLL_SECONDS = 0.25


def _alive(owner: str) -> bool:
    """Is this Streamlit session still connected? (No runtime — a test driving the app — : yes.)"""
    return not Runtime.exists() or Runtime.instance().is_active_session(owner)


@st.cache_resource
def results() -> ByteBudget:
    """Finished work, keyed by what computed it: a sweep anyone ran appears at once for everyone."""
    return ByteBudget(RESULT_BYTES)


def _keep(job: Job) -> None:
    if job.keep:
        results().put(job.key, Finished(job.result, job.seconds or 0.0, job.estimate, job.threads))


@st.cache_resource
def pool() -> Pool:
    """The server's workers: one per core (at least 2, at most 4; EXPLORER_WORKERS overrides), each leaving
    after 30 s without work (EXPLORER_WORKER_IDLE overrides)."""
    cores = available_cores()
    size = int(os.environ.get("EXPLORER_WORKERS") or pool_size(cores))
    idle = float(os.environ.get("EXPLORER_WORKER_IDLE") or 30)
    return Pool(size, cores, alive=_alive, on_done=_keep, idle_seconds=idle)


def owner() -> str:
    """This session, as Streamlit's runtime knows it (so the pool can tell when it has gone)."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def duration(seconds: float) -> str:
    """A time as a page says it: seconds, minutes past 90 s."""
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def status(job: Job) -> str:
    """One line: where the job is and when it should be done (the estimate, or a corrected one)."""
    left, before = job.forecast(time.monotonic())
    when = "" if left is None else f" · about **{duration(left)}** left"
    if before is not None:
        when += f" (corrected: it said {duration(before)})"
    if job.state == QUEUED:
        shared = f" · shared by {len(job.owners)} sessions" if len(job.owners) > 1 else ""
        return f"waiting for a worker: **position {job.position or 1}** in the queue{when}{shared}"
    if job.started is None:
        return f"starting a worker process…{when}"
    return f"{job.fraction:.0%}{when}"


def server_load() -> str:
    """The shared server's work now, for a cost line: what a new job waits behind."""
    p = pool()
    running, queued = p.load()
    on_ray = task_for("explorer.runs.sweep:run_sweep") != "explorer.runs.sweep:run_sweep"
    return (f"server: {running} of {p.size} workers busy" + (f", {queued} job(s) queued" if queued else "")
            + (" · sweeps run on the Ray cluster at RAY_ADDRESS" if on_ray else ""))


def _said(job: Job, label: str) -> None:
    if job.state == CANCELLED:
        st.warning(f"{label}: cancelled at {job.fraction:.0%} — nothing of it was kept.")
    elif job.state == FAILED:
        st.error(f"{label} failed: {job.error}. Nothing of it was kept; the server log has the details.")


def find(key: Hashable) -> Finished | None:
    """A finished result, if anyone computed it."""
    return results().get(key)


def compute(task: str, *args, key: Hashable, label: str, estimate: float | None = None, long: bool | None = None,
            start: bool = True, again: bool = True, kwargs: dict | None = None, cancel_key: str) -> Finished | None:
    """task(*args)'s Finished result: from the shared results, or computed in a worker while this shows the
    queue and progress with a Cancel button. start: submit it if this session has no job for it yet (else
    only follow a job it started: a rerun). again: also after this session's job was cancelled or failed
    (a Run button; a panel that computes when shown passes again=False, so a cancel stays one). None while
    there is nothing to show (not started, cancelled, failed: the last two said on the page)."""
    mine = st.session_state.setdefault("_jobs", {})
    done = find(key)
    if done is not None:
        mine.pop(key, None)
        return done
    job = mine.get(key)
    if st.session_state.get(cancel_key) and job is not None and not job.finished:
        pool().cancel(job, owner(), kill=True)
        if not job.finished:            # shared: it goes on for the sessions that asked for it too
            mine.pop(key)
            st.info(f"{label}: you left it; {len(job.owners)} other session(s) still wait for it.")
            return None
    if job is not None and job.finished and job.state != DONE:
        if not (start and again):
            _said(job, label)
            return None
        job = None
    if job is None:
        if not start:
            return None
        job = mine[key] = pool().submit(owner(), task, *args, key=key, estimate=estimate, long=long, kwargs=kwargs)
    out = wait(job, label, cancel_key)
    if out is not None:
        mine.pop(key, None)
    return out


def wait(job: Job, label: str, cancel_key: str) -> Finished | None:
    """Show the job until it ends. The loop only sleeps and redraws, so the page stays live: a click or a
    control moved reruns the script (the job keeps running; the rerun finds it again)."""
    slot = st.empty()
    with slot.container():
        bar = st.empty()
        st.button("■ Cancel", key=cancel_key, help="stops it now (nothing is kept)")
    while not job.finished:
        bar.progress(min(job.fraction, 1.0), text=f"{label}: {status(job)}")
        time.sleep(POLL_SECONDS)
    slot.empty()
    if job.state == DONE:
        return Finished(job.result, job.seconds or 0.0, job.estimate, job.threads)
    _said(job, label)
    return None


def result(task: str, *args, label: str, estimate: float | None = None, long: bool | None = None) -> Any:
    """task(*args) computed in a worker (or found), for a panel that computes when shown; None: cancelled or
    failed (said on the page). The key is the task and its arguments."""
    key = (task, args)
    cancel = f"cancel_{abs(hash(key)) % 10**12}"
    done = compute(task, *args, key=key, label=label, estimate=estimate, long=long, again=False, cancel_key=cancel)
    return None if done is None else done.value


def blocking(task: str, *args, session: str, estimate: float | None = None) -> Any:
    """task(*args) from a thread with no page (a deferred download): queued like everything else, waited
    for, kept. None when it was cancelled (its session left: no one is waiting); raises when it failed."""
    key = (task, args)
    done = find(key)
    if done is not None:
        return done.value
    job = pool().submit(session, task, *args, key=key, estimate=estimate)
    while not job.finished:
        time.sleep(POLL_SECONDS)
    if job.state == CANCELLED:
        return None
    if job.state != DONE:
        raise RuntimeError(job.error)
    return job.result
