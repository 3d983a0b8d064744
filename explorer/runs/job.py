"""One unit of the pool's work (explorer.runs.pool) and what a page shows of it: its state, progress, place in
the queue, and a forecast that is corrected, visibly, once it proves more than CORRECT_BY wrong."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable
from typing import Any

CORRECT_BY = 0.3           # a forecast this far (relative) from the one shown is corrected, with the old one
QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"


@dataclasses.dataclass(eq=False)
class Job:
    """One unit of work and everything a page shows about it. Written by the pool under its lock."""

    id: int
    key: Hashable
    task: str
    args: tuple
    long: bool
    estimate: float | None            # expected seconds of work (None: unknown)
    owners: list[str]
    submitted: float
    keep: bool = True                 # a result worth keeping for every session (on_done), not a live second
    kwargs: dict = dataclasses.field(default_factory=dict)
    then: Callable[[Job], None] | None = None   # called once it is done, outside the pool's lock
    state: str = QUEUED
    started: float | None = None      # when a worker began it (acknowledged by the worker)
    ended: float | None = None
    threads: int = 1
    fraction: float = 0.0
    left: float | None = None         # seconds left, measured by the task itself
    result: Any = None
    error: str = ""
    tries: int = 0
    position: int | None = None       # 1-based place in the queue while queued
    wait: float | None = None         # forecast seconds until a worker takes it, while queued
    promised: float | None = None     # the finish time a page was told (forecast), for CORRECT_BY
    promised_span: float = 0.0
    corrected_from: float | None = None   # the forecast (seconds) the last correction replaced

    @property
    def finished(self) -> bool:
        return self.state in (DONE, FAILED, CANCELLED)

    @property
    def seconds(self) -> float | None:
        """Wall time the work took (DONE)."""
        return None if self.started is None or self.ended is None else self.ended - self.started

    def seconds_left(self, now: float) -> float | None:
        """Forecast seconds until the result: the measured rate once the task reports one, else the estimate
        (for a queued job: the wait for a worker plus its run)."""
        if self.finished:
            return 0.0
        if self.state == RUNNING:
            if self.left is not None:
                return self.left
            if self.estimate is None:
                return None
            spent = now - self.started if self.started is not None else 0.0
            return max(self.estimate - spent, 0.0)
        run = self.estimate if self.estimate is not None else None
        return None if run is None or self.wait is None else self.wait + run

    def forecast(self, now: float) -> tuple[float | None, float | None]:
        """(seconds left, the forecast the last correction replaced or None). The first forecast shown is
        kept as a promise; once the current one misses it by more than CORRECT_BY of its span, it becomes the
        promise and the page says what it replaced (until the next correction)."""
        left = self.seconds_left(now)
        if left is None:
            return None, self.corrected_from
        finish = now + left
        if self.promised is None:
            self.promised, self.promised_span = finish, max(left, 1.0)
        elif abs(finish - self.promised) > CORRECT_BY * self.promised_span:
            self.corrected_from = self.promised_span
            self.promised, self.promised_span = finish, max(left, 1.0)
        return left, self.corrected_from


@dataclasses.dataclass(frozen=True)
class Finished:
    """A job's result with what it cost: what a page keeps and shows ("computed in … with k threads")."""

    value: Any
    seconds: float
    estimate: float | None
    threads: int
