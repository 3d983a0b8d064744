"""The regime map: the coupling slope of each decay form as a function of one regime axis.

Which form's best λ stays put when α changes depends on the regime (docs/science.md, "Which form decouples, and
when"): how many decay timescales N the run lasts (run length), how much of a random start the decay must
remove (initial-weight scale), how noisy the gradients are (batch size), whether the weights' scale
matters (model). A map is a list of lr × λ sweeps that differ in one of these; each point is one
`run_sweep` (one batched computation per seed), and each point's slopes are the sweep's own coupling
measure, with rows whose best λ lies on the grid's edge left out as well as flat ones.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pandas as pd

from explorer.runs.axes import AXES, REGIME_AXES
from explorer.runs.cost import Eta
from explorer.runs.sweep import COLUMNS, SweepConfig, estimate_seconds, run_sweep

MAP_COLUMNS = ["axis_value"] + COLUMNS


@dataclass(frozen=True)
class MapConfig:
    base: SweepConfig
    axis: str = "steps"
    values: tuple = (100, 300, 1000)

    def __post_init__(self):
        axis = AXES.get(self.axis.replace("_", "-"))
        if axis is None or not axis.regime:
            raise ValueError(f"unknown regime axis {self.axis!r}; choose from {', '.join(REGIME_AXES)}")
        object.__setattr__(self, "axis", axis.name)
        if not self.values:
            raise ValueError("a regime map needs at least one axis value")
        if self.base.seeds < 2:
            raise ValueError("a regime map needs at least 2 seeds (their spread is part of the result)")

    def point(self, value) -> SweepConfig:
        """The sweep at one axis value: the base sweep with that one training setting changed."""
        return along(self.base, AXES[self.axis].field, value)


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

        frames.append(run_sweep(along(base, field, value), device, progress=point_progress))
        before += w
    return along_frame(values, frames)


def along_frame(values, frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The sweeps at each value as one frame (MAP_COLUMNS): each sweep's rows with its value in front."""
    return pd.concat([f.assign(axis_value=v)[MAP_COLUMNS] for v, f in zip(values, frames, strict=True)],
                     ignore_index=True)


def estimate_map_seconds(cfg: MapConfig, device: str | None = None, threads: int | None = None) -> list[float]:
    """Expected seconds of each point's sweep (estimate_along)."""
    return estimate_along(cfg.base, AXES[cfg.axis].field, cfg.values, device, threads)


def run_map(cfg: MapConfig, device: str | None = None,
            progress: Callable[[float, float | None], None] | None = None,
            estimates: list[float] | None = None) -> pd.DataFrame:
    """Every point's sweep (run_along); an exception raised in progress (a cancel) stops the map."""
    return run_along(cfg.base, AXES[cfg.axis].field, cfg.values, device, progress, estimates)


