"""A run the app shows while it trains, trained a second at a time in a worker process.

Between seconds the run's state (weights, moments, the batch order's generator, the instruments' running
sums) lives here, in the page's process, as plain tensors: pausing frees the worker at once, resuming queues
the next second behind other sessions' work (explorer.runs.pool's fair order), a session that leaves simply
stops asking. Each second continues Trainer(cfg) from that state and evaluates where Trainer.run does, so a
finished run is the same bits as `Trainer(cfg).run()` however its seconds, pauses and resumes fell.
"""
from __future__ import annotations

import threading
import time

import pandas as pd

from explorer.core.measures import attach
from explorer.runs.job import CANCELLED, DONE, FAILED, QUEUED, Job
from explorer.runs.train import TrainConfig, Trainer

SLICE_SECONDS = 1.0     # training per job: long enough that shipping the state is noise, short enough to share
STEPS_AT_ONCE = 8       # steps between two looks at the clock


def live_slice(cfg: TrainConfig, state: dict | None, seconds: float) -> dict:
    """A worker's task: about `seconds` of training from `state` (None: the start), at least one step.
    Evaluates where Trainer.run does (every eval_every steps and at the end), so a slice may end between
    two evaluations. Returns the new state, the rows evaluated on the way (step 0's too at the start), the
    new per-layer rows of the equilibrium instruments, and what the page draws of the weights now."""
    t0 = time.perf_counter()
    trainer = Trainer(cfg)
    if state is not None:
        trainer.load_state(state["trainer"])
    stats = attach(trainer)
    if state is not None:
        stats.load_state(state["stats"])
    rows = [] if state is not None else trainer.evaluate()
    k, k0 = cfg.eval_interval, trainer.step_count
    while not trainer.done and (trainer.step_count == k0 or time.perf_counter() - t0 < seconds):
        trainer.step(min(STEPS_AT_ONCE, k - trainer.step_count % k, cfg.steps - trainer.step_count))
        if trainer.step_count % k == 0 or trainer.done:
            rows += trainer.evaluate()
    return {"state": {"trainer": trainer.state(), "stats": stats.state()}, "rows": rows, "layer_rows": stats.rows,
            "steps": trainer.step_count - k0,
            "seconds": time.perf_counter() - t0, "step": trainer.step_count, "diverged": trainer.diverged(),
            "effective_decay": trainer.effective_decay(), "decay_groups": trainer.decay_groups()}


class LiveRun:
    """The page's handle on a live run: tick() collects the last second and asks for the next.

    Thread-safe: Streamlit may run a page's script in two threads at once (the live view's timer and a rerun
    after a control moved). `pool` is an explorer.runs.pool.Pool, `owner` the session.
    """

    def __init__(self, cfg: TrainConfig, pool, owner: str, seconds: float = SLICE_SECONDS):
        self.cfg, self.pool, self.owner, self.seconds = cfg, pool, owner, seconds
        self.lock = threading.Lock()
        self.state: dict | None = None
        self.rows: list[dict] = []
        self.layer_rows: list[dict] = []
        self.last: dict = {}
        self.running = True
        self.paused_because = ""
        self.error = ""
        self.compute_seconds = 0.0
        self.timed_steps = 0
        self.job: Job | None = None
        self._ask()

    @property
    def step(self) -> int:
        return self.last.get("step", 0)

    @property
    def done(self) -> bool:
        return self.step >= self.cfg.steps

    def _ask(self) -> None:
        """Queue the next second; once a worker has trained it, it is taken and the one after queued at once
        (not at the page's next look: the worker would idle meanwhile)."""
        seconds = self.seconds if self.state is not None else min(0.25, self.seconds)   # the first curves soon
        self.job = self.pool.submit(self.owner, "explorer.runs.live:live_slice", self.cfg, self.state, seconds,
                                    key=("live", id(self), self.step), estimate=self.seconds, long=False, keep=False,
                                    then=self._trained)

    def _trained(self, job: Job) -> None:
        with self.lock:
            if job is self.job:
                self._take(job)
                if self.running and not self.done:
                    self._ask()

    def tick(self) -> None:
        """Take a finished second not taken yet, and ask for the next while running (the page's timer)."""
        with self.lock:
            self._take(self.job)
            if self.done:
                self.running = False
            elif self.running and self.job is None:
                self._ask()

    def _take(self, job: Job | None) -> None:
        """Under the lock: the job's outcome, once it has one."""
        if job is None or not job.finished:
            return
        self.job = None
        if job.state == DONE:
            self._adopt(job.result)
        elif job.state == FAILED:
            self.running, self.error = False, job.error
            self.paused_because = f"the training process failed ({job.error})"
        elif job.state == CANCELLED and self.running:
            self.running, self.paused_because = False, "its job was cancelled"
        if self.done:
            self.running = False

    def _adopt(self, out: dict) -> None:
        self.state, self.last = out["state"], out
        self.rows = self.rows + out["rows"]            # new lists: a reader in another thread keeps its own
        self.layer_rows = self.layer_rows + out["layer_rows"]
        if out["steps"]:
            self.compute_seconds += out["seconds"]
            self.timed_steps += out["steps"]

    def pause(self, because: str = "") -> None:
        """Stop at the last second shown; the one in flight finishes in its worker and is dropped."""
        with self.lock:
            if self.running and not self.done:
                self.running, self.paused_because = False, because
                if self.job is not None:
                    self.pool.cancel(self.job, self.owner, kill=False)
                    self.job = None

    def resume(self) -> None:
        with self.lock:
            self.running, self.paused_because, self.error = not self.done, "", ""
            if self.running and self.job is None:
                self._ask()

    def waiting(self) -> str | None:
        """What holds the run up, in words (None: training, or not running)."""
        job = self.job
        if not self.running or job is None or job.finished:
            return None
        if job.state == QUEUED:
            wait = f" · starts in about {job.wait:.0f} s" if job.wait is not None else ""
            return f"waiting for a worker: position {job.position or 1} in the queue{wait}"
        if job.started is None:
            return "starting a worker process…"
        return None

    def snapshot(self) -> dict:
        """Everything the view draws, taken together under the lock."""
        with self.lock:
            last = self.last
            return {"rows": self.rows, "layer_rows": self.layer_rows, "step": self.step,
                    "diverged": last.get("diverged", {n: None for n in self.cfg.optimizers}),
                    "effective_decay": last.get("effective_decay", pd.DataFrame()),
                    "decay_groups": last.get("decay_groups", pd.DataFrame()),
                    "running": self.running, "paused_because": self.paused_because, "waiting": self.waiting(),
                    "steps_per_second": self.timed_steps / self.compute_seconds if self.compute_seconds else None}
