"""What work costs on a shared machine: how many threads a sweep may take, and honest time left.

Sessions of the app are threads of one process and `torch.set_num_threads` is process-wide, so a
sweep that asks for every core while other sessions (or other programs) are busy oversubscribes the
CPU; measured on a busy 2-core machine, 50 sweep steps took 72 s with 2 threads and 2.9 s with 1.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Iterator


def sweep_threads(cpu_count: int, load1: float, other_active_sessions: int) -> int:
    """Threads a sweep should use: 1 while other sessions are active (they share our thread pool);
    otherwise the cores left idle by the 1-minute load average, a core counting when it is at least
    half idle; never fewer than 1 nor more than cpu_count."""
    cpu_count = max(1, int(cpu_count))
    if other_active_sessions > 0:
        return 1
    load = load1 if math.isfinite(load1) and load1 > 0 else 0.0
    return max(1, min(cpu_count, math.floor(cpu_count - load + 0.5)))


def quota_cores(cpu_max: str) -> float | None:
    """Cores granted by a cgroup v2 `cpu.max` line ("200000 100000" → 2.0; "max 100000" → None)."""
    parts = cpu_max.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    try:
        quota, period = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def available_cores() -> int:
    """Cores this process may use: its CPU affinity, capped by a container's CPU quota (a hosting
    container often sees the host's cores in os.cpu_count() but may only use one or two)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            q = quota_cores(f.read())
    except OSError:
        q = None
    return max(1, min(n, math.floor(q))) if q else max(1, n)


def sweep_threads_now(other_active_sessions: int) -> int:
    """sweep_threads for this machine, now (os.getloadavg; no load average → assume idle)."""
    try:
        load1 = os.getloadavg()[0]
    except (AttributeError, OSError):
        load1 = 0.0
    return sweep_threads(available_cores(), load1, other_active_sessions)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[int]:
    """Run the block with torch using n threads (at least 1); the previous count is restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


class Eta:
    """Seconds left, from the steady rate of work.

    The first update only marks the start of the measurement: what came before it (building the
    model, the first steps' one-time costs) is not counted, because it does not recur and made the
    naive elapsed·(1−f)/f estimate say 253 s for a 141 s sweep. The rate is that of the latter half
    of the work measured so far, so it follows a machine that gets busier or quieter. Until a rate
    is measured, the estimate comes from `prior` (the expected total seconds, e.g.
    sweep.estimate_seconds), if any.
    """

    def __init__(self, total: float, prior: float | None = None,
                 clock: Callable[[], float] = time.perf_counter):
        self.total = float(total)
        self.prior = prior
        self.clock = clock
        self._seen: list[tuple[float, float]] = []       # (work done, time), from the first update on

    def update(self, done: float) -> float | None:
        """Work done so far (same unit as total) → seconds left, or None when nothing is known yet."""
        now = self.clock()
        left = max(self.total - done, 0.0)
        self._seen.append((done, now))
        half = (self._seen[0][0] + done) / 2
        d0, t0 = next(p for p in reversed(self._seen) if p[0] <= half)
        if done > d0 and now > t0:
            return left * (now - t0) / (done - d0)
        if self.prior is not None and self.total > 0:
            return self.prior * left / self.total
        return None
