"""A worker process of explorer.runs.pool: it imports torch once, then runs job after job sent over its pipe,
reporting start, progress and the result (or the error, in one line) back. The server's end is `Worker`."""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import importlib
import inspect
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]      # the directory holding the explorer package

PROGRESS_EVERY = 0.2       # seconds between a worker's progress messages
# A worker still past RETIRE_MB after its job, once it has handed freed memory back (release_memory; a GIF's frames,
# a wide run's copies), leaves: a fresh one (~300 MB: torch) takes the next job. EXPLORER_WORKER_RETIRE_MB overrides.
RETIRE_MB = float(os.environ.get("EXPLORER_WORKER_RETIRE_MB") or 450)
# the workers' CPU priority below the server's: heavy work is throughput, a page is waited for (EXPLORER_WORKER_NICE)
NICE = int(os.environ.get("EXPLORER_WORKER_NICE") or 10)


def rss_mb() -> float:
    """This process's resident memory (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
    except (OSError, StopIteration, ValueError):
        return 0.0


def release_memory(collect: bool = True) -> None:
    """Hand the memory freed since the last call back to the system. glibc keeps freed heap (a run's tensors, a
    result's copies) in the process for reuse: a worker measured 554 MB after a 512-wide live second, 344 MB after
    this call, and nothing was slower. collect: first a full garbage collection. No-op where there is no glibc."""
    if collect:
        gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _glibc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _glibc()


def resolve(task: str) -> Callable:
    """The function a task names ("module.path:function"); a sweep's or a map's Ray runner instead where the server
    was started with RAY_ADDRESS (explorer.runs.cluster.task_for)."""
    from explorer.runs.cluster import task_for
    module, _, name = task_for(task).partition(":")
    return getattr(importlib.import_module(module), name)


def _worker_main(conn, threads: int) -> None:   # runs in the worker process
    try:
        _serve(conn, threads)
    except (EOFError, OSError):       # the server has gone (or shut this pool down while it started)
        return


def _serve(conn, threads: int) -> None:
    try:
        os.nice(NICE)        # the page's process draws first: a visitor's click never waits behind a sweep's CPU
    except OSError:
        pass
    import torch

    torch.set_num_threads(max(1, threads))
    torch.set_flush_denormal(True)
    conn.send(("ready", None, time.time()))
    while True:
        msg = conn.recv()
        if msg is None:
            return
        job_id, task, args, kwargs, threads = msg
        torch.set_num_threads(max(1, threads))
        conn.send(("start", job_id, time.time()))
        last = [0.0]

        def progress(fraction: float, left: float | None = None, _id=job_id) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY or fraction >= 1:
                last[0] = now
                conn.send(("progress", _id, (float(fraction), left)))

        try:
            fn = resolve(task)
            if "progress" in inspect.signature(fn).parameters:
                kwargs = {**kwargs, "progress": progress}
            result = fn(*args, **kwargs)
        except Exception as e:   # the task's own error: reported to the page as one line, logged in full
            traceback.print_exc()
            conn.send(("failed", job_id, f"{type(e).__name__}: {e}"))
            release_memory()
            continue
        try:
            payload = pickle.dumps(("done", job_id, result))   # first, so a result that cannot travel is a failure
        except Exception as e:
            traceback.print_exc()
            conn.send(("failed", job_id, f"its result could not be sent ({type(e).__name__}: {e})"))
            continue
        finally:
            result = None
            release_memory()
        retire = rss_mb() - len(payload) / 2**20 > RETIRE_MB
        if retire:
            conn.send(("retire", job_id, None))       # before the result: the pool sends it no further job
        conn.send_bytes(payload)
        if retire:
            return


class Worker:
    """The server's end of one worker process: its pipe, its state, the job it runs.

    The process is `python -m explorer.runs.worker FD` on one end of a socket pair — not a multiprocessing
    child, which would first re-import the server's __main__ (Streamlit sets it to the page script during a
    run: the worker would import the whole app, or start the page again from a wrapper like deploy/)."""

    def __init__(self, threads: int = 1):
        mine, theirs = socket.socketpair()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}   # what the server imports
        self.process = subprocess.Popen(
            [sys.executable, "-m", "explorer.runs.worker", str(theirs.fileno()), str(threads)],
            pass_fds=(theirs.fileno(),), env=env, cwd=ROOT, stdin=subprocess.DEVNULL)
        theirs.close()
        self.conn = Connection(mine.detach())
        self.spawned = time.monotonic()
        self.ready = False
        self.retiring = False            # it leaves after its job (worker.RETIRE_MB)
        self.job = None                  # the pool's Job it runs
        self.idle_since = time.monotonic()

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def exitcode(self) -> int | None:
        return self.process.poll()

    def stop(self, kill: bool = False) -> None:
        try:
            if kill:
                self.process.kill()
            else:
                self.conn.send(None)
        except (OSError, ValueError):
            pass
        threading.Thread(target=self._reap, daemon=True).start()   # reap without waiting

    def _reap(self) -> None:
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.conn.close()


if __name__ == "__main__":        # a worker process: python -m explorer.runs.worker FD THREADS
    _worker_main(Connection(int(sys.argv[1])), int(sys.argv[2]))
