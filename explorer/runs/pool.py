"""Heavy work in worker processes: a small pool per server, fed by one queue that is fair across sessions.

The sessions of a Streamlit server are threads of one process, and a training loop's Python holds the
interpreter lock: while one session trained, every other session's page waited. Here the work runs in
separate processes (each imports torch once, then runs job after job); the server's threads only wait on
pipes. A task is "module:function" of this package with plain arguments (frozen configs, tuples, tensors),
pickled between the server and its own workers only. The page side is explorer/ui/jobs.py.

- Fair order: the queue serves sessions in turn (the one served longest ago first), each session's own
  jobs in the order it asked for them; a job already queued or running for the same key is shared.
- Long jobs (expected over LONG_SECONDS) never take the last worker, so short work — a live run's next
  second, an Insights panel — does not wait minutes behind a sweep.
- Cancel kills a running job's worker (the next job starts a fresh one); a queued job just leaves.
  A job whose sessions have all gone is cancelled. A worker that dies mid-job (killed, out of memory) has
  its job retried once, then failed with the reason.
- Idle workers exit after `idle_seconds`, so a server whose visitors left returns to its own size.
"""
from __future__ import annotations

import atexit
import collections
import itertools
import math
import pickle
import threading
import time
import traceback
from collections.abc import Callable, Hashable
from multiprocessing.connection import wait as wait_any

from explorer.runs.job import CANCELLED, DONE, FAILED, QUEUED, RUNNING, Job
from explorer.runs.worker import Worker, release_memory

LONG_SECONDS = 10.0        # a job expected to run longer is "long": it may not take the last free worker
SPAWN_SECONDS = 4.0        # a fresh worker's start (python, torch, the task's modules), until measured
UNKNOWN_SECONDS = 5.0      # what a job without an estimate is assumed to take, for the queue's forecast
GONE_SECONDS = 10.0        # a session not alive this long has left: its jobs are cancelled
TRIM_SECONDS = 5.0         # how often the server's freed memory goes back to the system (worker.release_memory)
COLLECT_SECONDS = 30.0     # how often the server collects all its garbage first (instead of after every page run)



def pool_size(cores: int) -> int:
    """Workers for `cores` cores: one per core, at least 2 (so short work never waits behind a long job),
    at most 4 (each holds torch: ~300 MB)."""
    return max(2, min(4, cores))


class Pool:
    """Worker processes and one fair queue; thread-safe (every page thread and the dispatcher share it)."""

    def __init__(self, size: int, cores: int, alive: Callable[[str], bool] | None = None,
                 on_done: Callable[[Job], None] | None = None, idle_seconds: float = 30.0,
                 clock: Callable[[], float] = time.monotonic,
                 tasks_from: tuple[str, ...] = ("explorer.",)):
        self.size, self.cores = max(1, size), max(1, cores)
        self.alive, self.on_done = alive, on_done
        self.idle_seconds, self.clock = idle_seconds, clock
        self.tasks_from = tasks_from       # the modules whose functions may be tasks
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._queue: list[Job] = []
        self._workers: list[Worker] = []
        self._served: dict[str, float] = {}
        self._gone: dict[str, float] = {}
        self._spawn_seconds = SPAWN_SECONDS
        self._checked = 0.0
        self._then: list[Job] = []         # finished jobs whose `then` is still to call
        self._leaving: list[Worker] = []   # workers told to stop that have not exited yet
        self._trimmed = self._collected = 0.0
        self._stopped = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="explorer-pool")
        self._thread.start()
        atexit.register(self.shutdown)

    # -- what pages call ------------------------------------------------------------------------------
    def submit(self, owner: str, task: str, *args, key: Hashable = None, estimate: float | None = None,
               long: bool | None = None, keep: bool = True, kwargs: dict | None = None,
               then: Callable[[Job], None] | None = None) -> Job:
        """Queue `task(*args, **kwargs)` for `owner` (a task taking `progress` gets progress(fraction,
        seconds_left)); the job already queued or running under the same key (any session's) is shared."""
        module, _, name = task.partition(":")
        if not module.startswith(self.tasks_from) or not name.isidentifier():
            raise ValueError(f"not a task of this package: {task!r}")
        key = (task, args) if key is None else key
        with self._lock:
            for job in self._unfinished():
                if job.key == key:
                    if owner not in job.owners:
                        job.owners.append(owner)
                    return job
            if long is None:
                long = estimate is not None and estimate > LONG_SECONDS
            job = Job(next(self._ids), key, task, args, long, estimate, [owner], self.clock(), keep,
                      dict(kwargs or {}), then)
            self._queue.append(job)
            self._step()
            return job

    def cancel(self, job: Job, owner: str | None = None, kill: bool | None = None) -> None:
        """`owner` no longer wants `job` (None: nobody does). The job stops when no owner is left: a queued
        one leaves the queue; a running one's worker is killed (kill=True; default: long jobs), or it
        finishes and its result is dropped (a short job: cheaper than starting a new worker)."""
        with self._lock:
            if job.finished:
                return
            kill = job.long if kill is None else kill
            job.owners = [o for o in job.owners if owner is not None and o != owner]
            if job.owners:
                return
            self._end(job, CANCELLED, error="cancelled")
            if job in self._queue:
                self._queue.remove(job)
            for w in self._workers:
                if w.job is job and kill:
                    self._workers.remove(w)
                    self._leaving.append(w)
                    w.stop(kill=True)
                    break
            self._step()

    def cancel_owner(self, owner: str) -> None:
        """Every job `owner` asked for (a session that left)."""
        with self._lock:
            for job in list(self._unfinished()):
                if owner in job.owners:
                    self.cancel(job, owner)

    def jobs(self) -> list[Job]:
        """Queued and running jobs, in the order they will run."""
        with self._lock:
            return [w.job for w in self._workers if w.job is not None] + self._order()

    def threads_free(self) -> int:
        """Threads a job starting now would get: the cores no other job is using (at least 1)."""
        with self._lock:
            return max(1, self.cores - sum(w.job is not None for w in self._workers))

    def workers(self) -> int:
        return len(self._workers)

    def prewarm(self, n: int = 1) -> None:
        """Start workers up to n now (a visitor arrived): their start-up (~3 s: torch) is then not in the
        visitor's first wait. Unused, they leave after idle_seconds like any idle worker."""
        with self._lock:
            while len(self._workers) < min(n, self.size) and not self._stopped:
                self._spawn()

    def load(self) -> tuple[int, int]:
        """(jobs running, jobs queued) now."""
        with self._lock:
            return sum(w.job is not None for w in self._workers), len(self._queue)

    def shutdown(self) -> None:
        with self._lock:
            self._stopped = True
            for job in list(self._unfinished()):
                self._end(job, CANCELLED, error="the server stopped")
            for w in self._workers:
                w.stop(kill=True)
            self._workers, self._queue = [], []
        if threading.current_thread() is not self._thread:
            self._thread.join(5)      # its loop ends before the interpreter does (it frees memory: not mid-exit)

    # -- the dispatcher ---------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopped:
            with self._lock:
                conns = [w.conn for w in self._workers]
            try:
                ready = wait_any(conns, timeout=0.1) if conns else time.sleep(0.1) or []
            except (OSError, ValueError):
                ready = []
            with self._lock:
                for conn in ready:
                    worker = next((w for w in self._workers if w.conn is conn), None)
                    if worker is not None:
                        self._receive(worker)
                self._step()
                then, self._then = self._then, []
            for job in then:           # outside the lock: a callback may take its own lock, then submit
                try:
                    job.then(job)
                except Exception:
                    traceback.print_exc()

    def _receive(self, w: Worker) -> None:
        while True:
            try:
                if not w.conn.poll():
                    return
                kind, job_id, payload = w.conn.recv()
            except (EOFError, OSError):      # died: _check_workers handles its job
                return
            job = w.job if w.job is not None and w.job.id == job_id else None
            if kind == "ready":
                w.ready = True
                self._spawn_seconds = self.clock() - w.spawned
            elif kind == "retire":
                w.retiring = True
            elif job is None:
                continue                       # a message of a job cancelled meanwhile
            elif kind == "start":
                job.started = self.clock()
            elif kind == "progress":
                job.fraction, job.left = payload
            else:
                w.job, w.idle_since = None, self.clock()
                if job.finished:               # cancelled with kill=False: the result is dropped
                    continue
                if kind == "done":
                    job.result = payload
                    self._end(job, DONE)
                else:
                    self._end(job, FAILED, error=payload)

    def _end(self, job: Job, state: str, error: str = "") -> None:
        job.state, job.error, job.ended = state, error, self.clock()
        job.fraction = 1.0 if state == DONE else job.fraction
        if state == DONE and self.on_done is not None:
            try:
                self.on_done(job)
            except Exception:
                traceback.print_exc()
        if state == DONE and job.then is not None:
            self._then.append(job)

    def _step(self) -> None:
        """Under the lock: dead workers, departed sessions, idle workers, then start what can start."""
        now = self.clock()
        self._check_workers()
        if self.alive is not None and now - self._checked >= 1.0:
            self._checked = now
            self._check_owners(now)
        for w in list(self._workers):
            if w.job is None and (w.retiring or not self._queue and now - w.idle_since > self.idle_seconds):
                self._workers.remove(w)
                self._leaving.append(w)
                w.stop()
        self._leaving = [w for w in self._leaving if w.alive()]
        if now - self._trimmed >= TRIM_SECONDS:
            collect = now - self._collected >= COLLECT_SECONDS
            self._trimmed, self._collected = now, now if collect else self._collected
            release_memory(collect=collect)
        self._assign(now)
        self._forecast(now)

    def _check_workers(self) -> None:
        for w in list(self._workers):
            if w.alive():
                continue
            self._workers.remove(w)
            job, w.job = w.job, None
            if job is None or job.finished:
                continue
            job.tries += 1
            why = f"the worker process stopped (exit code {w.exitcode})"
            if job.tries > 1:
                self._end(job, FAILED, error=f"{why}, twice")
            else:                              # once more, ahead of everything else
                job.state, job.started, job.fraction, job.left = QUEUED, None, 0.0, None
                self._queue.insert(0, job)

    def _check_owners(self, now: float) -> None:
        owners = {o for job in self._unfinished() for o in job.owners}
        for owner in owners:
            if self.alive(owner):
                self._gone.pop(owner, None)
            elif now - self._gone.setdefault(owner, now) > GONE_SECONDS:
                self._gone.pop(owner, None)
                self.cancel_owner(owner)

    def _order(self) -> list[Job]:
        """The queue in the order it will run: sessions in turn, the one served longest ago first."""
        mine: dict[str, collections.deque] = {}
        for job in self._queue:
            mine.setdefault(job.owners[0], collections.deque()).append(job)
        owners = sorted(mine, key=lambda o: (self._served.get(o, -math.inf), mine[o][0].submitted))
        order = []
        while owners:
            for o in list(owners):
                order.append(mine[o].popleft())
                if not mine[o]:
                    owners.remove(o)
        retried = [j for j in self._queue if j.tries]       # a lost worker's job goes first
        return retried + [j for j in order if not j.tries]

    def _long_cap(self) -> int:
        return max(1, self.size - 1)

    def _assign(self, now: float) -> None:
        if self._stopped:
            return
        for job in self._order():
            idle = [w for w in self._workers if w.job is None]
            if not idle and len(self._workers) + len(self._leaving) >= self.size:
                return              # (a worker still leaving holds its memory: the next starts when it has gone)
            if job.long and sum(w.job is not None and w.job.long for w in self._workers) >= self._long_cap():
                continue
            worker = idle[0] if idle else self._spawn()
            job.threads = self.threads_free()
            try:
                worker.conn.send_bytes(pickle.dumps((job.id, job.task, job.args, job.kwargs, job.threads)))
            except Exception as e:          # a dead pipe, or arguments that cannot travel
                self._end(job, FAILED, error=f"could not reach a worker: {type(e).__name__}: {e}")
                self._queue.remove(job)
                continue
            worker.job, job.state = job, RUNNING
            self._queue.remove(job)
            for o in job.owners:
                self._served[o] = now

    def _spawn(self) -> Worker:
        w = Worker()
        self._workers.append(w)
        return w

    def _forecast(self, now: float) -> None:
        """Each queued job's position and wait: the workers' free times (a running job's time left, a
        worker still to start its start-up), then the queue in order, each to the worker free first
        (a long job to one that leaves a worker for short work)."""
        slots = []
        for w in self._workers:
            job = w.job
            left = (job.seconds_left(now) if job else 0.0) or 0.0
            start = 0.0 if w.ready else max(self._spawn_seconds - (now - w.spawned), 0.0)
            slots.append([start + (left if job else 0.0), bool(job and job.long)])
        slots += [[self._spawn_seconds, False] for _ in range(self.size - len(slots))]
        for i, job in enumerate(self._order(), 1):
            job.position = i
            run = job.estimate if job.estimate is not None else UNKNOWN_SECONDS
            free = sorted(range(len(slots)), key=lambda k: slots[k][0])
            pick = free[0]
            if job.long:
                for k in free:
                    t = slots[k][0]
                    if sum(1 for m, (t2, lng) in enumerate(slots) if m != k and lng and t2 > t) < self._long_cap():
                        pick = k
                        break
            job.wait = slots[pick][0]
            slots[pick] = [job.wait + run, job.long]

    def _unfinished(self) -> list[Job]:
        return self._queue + [w.job for w in self._workers if w.job is not None and not w.job.finished]
