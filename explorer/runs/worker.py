"""A worker process of explorer.runs.pool: it imports torch once, then runs job after job sent over its pipe,
reporting start, progress and the result (or the error, in one line) back. The server's end is `Worker`."""
from __future__ import annotations

import importlib
import inspect
import pickle
import threading
import time
import traceback
from collections.abc import Callable

PROGRESS_EVERY = 0.2       # seconds between a worker's progress messages


def resolve(task: str) -> Callable:
    """The function a task names ("module.path:function")."""
    module, _, name = task.partition(":")
    return getattr(importlib.import_module(module), name)


def _worker_main(conn, threads: int) -> None:   # runs in the worker process
    try:
        _serve(conn, threads)
    except (EOFError, OSError):       # the server has gone (or shut this pool down while it started)
        return


def _serve(conn, threads: int) -> None:
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
            continue
        try:
            payload = pickle.dumps(("done", job_id, result))   # first, so a result that cannot travel is a failure
        except Exception as e:
            traceback.print_exc()
            conn.send(("failed", job_id, f"its result could not be sent ({type(e).__name__}: {e})"))
            continue
        conn.send_bytes(payload)


class Worker:
    """The server's end of one worker process: its pipe, its state, the job it runs."""

    def __init__(self, ctx, threads: int = 1):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, threads), daemon=True, name="explorer-worker")
        self.process.start()
        child.close()
        self.spawned = time.monotonic()
        self.ready = False
        self.job = None                  # the pool's Job it runs
        self.idle_since = time.monotonic()

    def stop(self, kill: bool = False) -> None:
        try:
            if kill:
                self.process.kill()
            else:
                self.conn.send(None)
        except (OSError, ValueError, BrokenPipeError):
            pass
        threading.Thread(target=self.process.join, args=(5,), daemon=True).start()   # reap without waiting
