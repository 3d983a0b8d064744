"""The regime map: the coupling slope of each decay form as a function of one regime axis.

Which form's best λ stays put when α changes depends on the regime (README, "Which form decouples, and
when"): how many decay timescales N the run lasts (run length), how much of a random start the decay must
remove (initial-weight scale), how noisy the gradients are (batch size), whether the weights' scale
matters (model). A map is a list of lr × λ sweeps that differ in one of these; each point is one
`run_sweep` (one batched computation per seed), and each point's slopes are the sweep's own coupling
measure, with rows whose best λ lies on the grid's edge left out as well as flat ones.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .cost import Eta
from .sweep import COLUMNS, SweepConfig, coupling, estimate_seconds, run_sweep

# axis → (TrainConfig field, what it moves, how the page names it)
AXES = {
    "steps": ("steps", "run length: N = α·λ_torch·Ση_t grows with it", "steps per run"),
    "init_scale": ("init_scale", "how much of a random start the decay must remove", "initial weights × k"),
    "batch_size": ("batch_size", "gradient noise: smaller batches, noisier gradients", "batch size"),
}
PREDICTIONS = {"0": "best λ independent of α", "+1": "best λ ∝ α", "−1": "best λ ∝ 1/α"}
MAP_COLUMNS = ["axis_value"] + COLUMNS


@dataclass(frozen=True)
class MapConfig:
    base: SweepConfig
    axis: str = "steps"
    values: tuple = (100, 300, 1000)

    def __post_init__(self):
        if self.axis not in AXES:
            raise ValueError(f"unknown regime axis {self.axis!r}; choose from {', '.join(AXES)}")
        if not self.values:
            raise ValueError("a regime map needs at least one axis value")
        if self.base.seeds < 2:
            raise ValueError("a regime map needs at least 2 seeds (their spread is part of the result)")

    def point(self, value) -> SweepConfig:
        """The sweep at one axis value: the base sweep with that one training setting changed."""
        return along(self.base, AXES[self.axis][0], value)


# ---- sweeps along one training setting: the map's points, and the transfer sweep's rows (explorer.transfer)
def along(base: SweepConfig, field: str, value) -> SweepConfig:
    """base with one TrainConfig field set to value (a float for the initial scale, a whole number otherwise)."""
    value = float(value) if field == "init_scale" else int(value)
    return replace(base, train=replace(base.train, **{field: value}))


def estimate_along(base: SweepConfig, field: str, values, device: str | None = None,
                   threads: int | None = None) -> list[float]:
    """Expected seconds of the sweep at each value, from one measurement of the base sweep (a few steps of the
    real computation, cached per size): the initial scale and the training-set size leave a step's cost as
    it is, steps scale it, and a larger batch is taken as proportionally dearer (a smaller one as no
    cheaper). Nothing is timed per value, so a link asking for large batches costs one calibration."""
    base_seconds = estimate_seconds(base, device, threads)
    if field in ("init_scale", "train_samples"):
        return [base_seconds] * len(values)
    if field == "steps":
        return [estimate_seconds(along(base, field, v), device, threads) for v in values]   # same size: cached
    return [base_seconds * max(1.0, v / base.train.batch_size) for v in values]


def run_along(base: SweepConfig, field: str, values, device: str | None = None,
              progress: Callable[[float, float | None], None] | None = None,
              estimates: list[float] | None = None) -> pd.DataFrame:
    """The sweep at every value, one after the other; one row per (value, cell, seed): MAP_COLUMNS.
    progress(fraction, seconds_left) as run_sweep's, over all of them (each weighted by its estimated
    cost). An exception raised in progress (a cancel) stops the whole run."""
    weights = estimates or [1.0] * len(values)
    total = float(sum(weights))
    eta = Eta(total, total if estimates else None)
    frames, before = [], 0.0
    for value, w in zip(values, weights):
        def point_progress(f: float, _left, before=before, w=w) -> None:
            if progress:
                done = before + f * w
                progress(done / total, eta.update(done))

        frame = run_sweep(along(base, field, value), device, progress=point_progress)
        frames.append(frame.assign(axis_value=value)[MAP_COLUMNS])
        before += w
    return pd.concat(frames, ignore_index=True)


def estimate_map_seconds(cfg: MapConfig, device: str | None = None, threads: int | None = None) -> list[float]:
    """Expected seconds of each point's sweep (estimate_along)."""
    return estimate_along(cfg.base, AXES[cfg.axis][0], cfg.values, device, threads)


def run_map(cfg: MapConfig, device: str | None = None,
            progress: Callable[[float, float | None], None] | None = None,
            estimates: list[float] | None = None) -> pd.DataFrame:
    """Every point's sweep (run_along); an exception raised in progress (a cancel) stops the map."""
    return run_along(cfg.base, AXES[cfg.axis][0], cfg.values, device, progress, estimates)


@dataclass(frozen=True)
class MapPoint:
    axis_value: float
    optimizer: str
    slope: float                 # seeds averaged, then the coupling measure (edge and flat rows left out)
    seed_slopes: tuple[float, ...]   # the same measure on each seed alone: the spread
    counted: int                 # rows in the fit
    edge_rows: int
    flat_rows: int
    n_median: float              # median N = α·λ_torch·Ση_t at the counted rows' best cells (nan for L2)


def _n_at_best(sweep: SweepConfig, optimizer: str, best: dict[float, float], rows) -> list[float]:
    from .instruments import decay_power, eta_sum, lambda_torch
    t = sweep.train
    total = eta_sum(t.lr_schedule, t.steps, decay_power(optimizer, t.decay_follows))
    out = []
    for lr in rows:
        lam = lambda_torch(optimizer, lr, best[lr] * sweep.wd_scale)
        if lam is not None:
            out.append(lr * lam * total)
    return out


def map_points(cfg: MapConfig, frame: pd.DataFrame, metric: str = "test_loss") -> list[MapPoint]:
    """Per axis value and optimizer: the seed-averaged slope, each seed's slope, and what was counted."""
    out = []
    for value in cfg.values:
        part = frame[frame["axis_value"] == value]
        sweep = cfg.point(value)
        for name in sweep.optimizers:
            c = coupling(part, name, metric, exclude_edges=True)
            counted = [lr for lr in c.best_wd if lr not in c.flat_rows and lr not in c.edge_rows]
            seeds = tuple(coupling(part[part["seed"] == s], name, metric, exclude_edges=True).slope
                          for s in sorted(part["seed"].unique()))
            n = _n_at_best(sweep, name, c.best_wd, counted)
            out.append(MapPoint(float(value), name, c.slope, seeds, len(counted), len(c.edge_rows),
                                len(c.flat_rows), float(np.median(n)) if n else math.nan))
    return out


def points_frame(points: list[MapPoint]) -> pd.DataFrame:
    """The map as a table (the chart's and the CSV's data): one row per axis value and optimizer."""
    rows = []
    for p in points:
        finite = [s for s in p.seed_slopes if math.isfinite(s)]
        rows.append({"axis_value": p.axis_value, "optimizer": p.optimizer, "slope": p.slope,
                     "seed_min": min(finite) if finite else math.nan,
                     "seed_max": max(finite) if finite else math.nan,
                     "seed_slopes": ",".join(f"{s:+.2f}" if math.isfinite(s) else "n/a" for s in p.seed_slopes),
                     "counted_rows": p.counted, "edge_rows": p.edge_rows, "flat_rows": p.flat_rows,
                     "n_median": p.n_median})
    return pd.DataFrame(rows)
