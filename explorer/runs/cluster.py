"""The Ray runner: lr × λ sweeps, axis sweeps, regime maps and sweeps of your own model on a Ray cluster, with the
same bits as here.

A grid is split into parts (explorer.runs.chunks: seeds × blocks of 16 runs, or seeds for your model), each one Ray
task that runs the batched engine on its runs, so a part is as much work as a sweep's own computation, never one
task per cell. The configuration (and your model's file and data) travels once per sweep through the object store;
the explorer package reaches the cluster's nodes as a runtime environment (py_modules). A task whose worker process
is lost (killed, out of memory, its node gone) runs again, up to MAX_RETRIES times, and gives the same rows.

Ray is optional (requirements-ray.txt): nothing here imports it until a sweep asks for a cluster, and without it the
caller gets RayMissing, whose message is the line that installs it.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from explorer.runs import chunks, regime, sweep, transfer
from explorer.runs.cost import Eta
from explorer.runs.regime import MapConfig
from explorer.runs.sweep import SweepConfig, check_sweep, grid_cells
from explorer.runs.transfer import AxisSweep

INSTALL = "pip install -r requirements-ray.txt"
MAX_RETRIES = 3            # a part whose worker is lost runs again, up to this many times
PACKAGE = str(Path(__file__).resolve().parents[1])      # the explorer package, shipped to the nodes
# what the nodes do not need of the package: bytecode and the presets' shipped results (the app's, not a task's)
EXCLUDES = ["__pycache__/", "runs/presets/"]

# The app's heavy tasks and their runners here: a worker of a server started with RAY_ADDRESS runs these instead
# (explorer.runs.worker), with the same arguments and progress.
ON_CLUSTER = {
    "explorer.runs.sweep:run_sweep": "explorer.runs.cluster:run_sweep",
    "explorer.runs.transfer:run": "explorer.runs.cluster:run_transfer",
    "explorer.runs.regime:run_map": "explorer.runs.cluster:run_map",
}

_SAID: list[str] = []      # the missing-Ray line, said once per process
Progress = Callable[[float, float | None], None]
ChunksDone = Callable[[int, int, float | None], None]


class RayMissing(RuntimeError):
    def __init__(self):
        super().__init__(f"Ray is not installed: {INSTALL}")


def available() -> bool:
    return importlib.util.find_spec("ray") is not None


def _ray():
    try:
        import ray
    except ImportError:
        raise RayMissing() from None
    return ray


def task_for(task: str) -> str:
    """The task a worker process runs for `task`: its Ray runner where RAY_ADDRESS is set and Ray is installed,
    else `task` (RAY_ADDRESS without Ray: one line in the server's log, and the work stays here)."""
    if task not in ON_CLUSTER or not os.environ.get("RAY_ADDRESS"):
        return task
    if not available():
        if not _SAID:
            _SAID.append(task)
            print(f"explorer: RAY_ADDRESS is set but {RayMissing()}; sweeps run here", file=sys.stderr)
        return task
    return ON_CLUSTER[task]


def connect(address: str | None = None, **local) -> bool:
    """Join the cluster at `address` (None: RAY_ADDRESS; neither: a new Ray instance on this machine, made with
    ray.init's `local` arguments such as num_cpus), unless this process has joined one already. True when this call
    joined (its caller leaves with shutdown()). Workers' output stays on the nodes (log_to_driver=False): a CSV on
    stdout stays clean."""
    ray = _ray()
    if ray.is_initialized():
        return False
    target = address or os.environ.get("RAY_ADDRESS") or "local"
    local = {"include_dashboard": False, **local} if target == "local" else {}
    ray.init(address=target, runtime_env={"py_modules": [PACKAGE], "excludes": EXCLUDES},
             logging_level="WARNING", log_to_driver=False, **local)
    return True


def shutdown() -> None:
    """Leave the cluster (a Ray instance this process started stops)."""
    ray = _ray()
    if ray.is_initialized():
        ray.shutdown()


def cpus() -> int:
    """The cluster's CPUs (joined)."""
    return max(1, int(_ray().cluster_resources().get("CPU", 1)))


def _remote(fn: Callable):
    """fn as a Ray task of one CPU, retried when its worker is lost (never for an error of its own)."""
    return _ray().remote(num_cpus=1, max_retries=MAX_RETRIES, retry_exceptions=False)(fn)


def _gather(refs: list, progress: Progress | None, prior_seconds: float | None,
            chunks_done: ChunksDone | None) -> list:
    """Each task's result, in the order of refs, reporting as they finish: progress(fraction, seconds left) and
    chunks_done(done, total, seconds left), the time left from the measured rate (Eta). A task's own error is
    raised as it was raised there (a ValueError stays one line); an exception from a callback cancels the rest."""
    ray = _ray()
    eta, total = Eta(len(refs), prior_seconds), len(refs)
    out, where, pending = [None] * total, {r: i for i, r in enumerate(refs)}, list(refs)

    def report(done: int) -> None:
        left = eta.update(done)
        if progress:
            progress(done / total, left)
        if chunks_done:
            chunks_done(done, total, left)

    try:
        report(0)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for r in ready:
                out[where[r]] = ray.get(r)
            report(total - len(pending))
    except ray.exceptions.RayTaskError as e:
        _cancel(ray, pending)
        raise e.cause if isinstance(e.cause, Exception) else e from None
    except BaseException:
        _cancel(ray, pending)
        raise
    return out


def _cancel(ray, refs: list) -> None:
    for r in refs:
        ray.cancel(r, force=True)


def sweeps(cfgs: list[SweepConfig], device: str | None = None, progress: Progress | None = None,
           prior_seconds: float | None = None, *, chunk_runs: int | None = None, address: str | None = None,
           chunks_done: ChunksDone | None = None) -> list[pd.DataFrame]:
    """Every sweep's frame (run_sweep's, bit for bit), all their parts at once on the cluster. chunk_runs: runs per
    part, a multiple of 16 (default: about two parts per CPU, chunks.chunk_runs)."""
    for cfg in cfgs:
        check_sweep(cfg)
    connect(address)
    ray = _ray()
    size = chunk_runs or chunks.chunk_runs(max(len(grid_cells(c)) for c in cfgs), sum(c.seeds for c in cfgs), cpus())
    plan = chunks.plan(cfgs, size)
    shipped = [ray.put(cfg) for cfg in cfgs]
    task = _remote(chunks.train_chunk)
    refs = [task.remote(shipped[c.sweep], c.seed, c.start, c.stop, device) for c in plan]
    return chunks.assemble(plan, _gather(refs, progress, prior_seconds, chunks_done), len(cfgs))


# ---- the app's tasks (ON_CLUSTER) and the CLI's: the signatures of the runs here, plus where and how finely ----
def run_sweep(cfg: SweepConfig, device: str | None = None, progress: Progress | None = None,
              prior_seconds: float | None = None, **ray) -> pd.DataFrame:
    """explorer.runs.sweep.run_sweep on the cluster. A sweep on your data (cfg.train.data) runs here: the data
    you uploaded to the app never leaves its server."""
    if cfg.train.data is not None:
        return sweep.run_sweep(cfg, device, progress, prior_seconds)
    return sweeps([cfg], device, progress, prior_seconds, **ray)[0]


def run_transfer(cfg: AxisSweep, device: str | None = None, progress: Progress | None = None,
                 estimates: list[float] | None = None, **ray) -> pd.DataFrame:
    """explorer.runs.transfer.run on the cluster: every row's sweep at once (your data: here)."""
    if cfg.base.train.data is not None:
        return transfer.run(cfg, device, progress, estimates)
    frames = sweeps([cfg.row(v) for v in cfg.values], device, progress, sum(estimates) if estimates else None, **ray)
    return transfer.axis_frame(cfg, regime.along_frame(cfg.values, frames))


def run_map(cfg: MapConfig, device: str | None = None, progress: Progress | None = None,
            estimates: list[float] | None = None, **ray) -> pd.DataFrame:
    """explorer.runs.regime.run_map on the cluster: every point's sweep at once (your data: here)."""
    if cfg.base.train.data is not None:
        return regime.run_map(cfg, device, progress, estimates)
    frames = sweeps([cfg.point(v) for v in cfg.values], device, progress, sum(estimates) if estimates else None,
                    **ray)
    return regime.along_frame(cfg.values, frames)


def run_model(source: chunks.ModelSource, train, test, cfg: SweepConfig, loss: str = "cross-entropy",
              no_decay="none", device: str | None = None, progress: Progress | None = None,
              notice: Callable[[str], None] | None = None, *, address: str | None = None,
              chunks_done: ChunksDone | None = None) -> pd.DataFrame:
    """explorer.runs.model_sweep.sweep_model of FILE.py:FUNCTION on the cluster, one task per seed: the file's text
    and the data travel once through the object store. notice: called once with why the model runs one run at a
    time, if it does."""
    from explorer.runs.model_sweep import model_sweep_config
    connect(address)
    data = _ray().put((train, test))
    task = _remote(chunks.model_seed)
    refs = [task.remote(source, data, cfg, s, loss, no_decay, device) for s in range(cfg.seeds)]
    parts = _gather(refs, progress, None, chunks_done)
    why, said = next(((w, text) for _, w, text in parts if text), ("", ""))
    if said and notice:
        notice(said)
    frame = pd.concat([f for f, _, _ in parts], ignore_index=True)
    frame.attrs = {"sweep_config": model_sweep_config(cfg, train_samples=len(train[1])), "one_at_a_time": why}
    return frame
