"""Transfer beyond the learning rate: the sweep's rows along run length, training-set size or batch size.

Does the best λ stay put when a run lasts twice as long, or sees twice the data? The rows of an lr × λ
sweep become the values of one training setting at a single lr; the columns stay each form's own λ grid.
Cells of different rows differ in steps, data or batch, so each row is one batched computation (every λ
cell of every form as a run; explorer.regime.run_along), and the measure is the sweep's own: the slope of
log2(best λ) on log2(row value) (sweep.coupling, rows where λ hardly matters left out).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pandas as pd

from explorer.runs.axes import AXES, ROW_AXES, axis_named
from explorer.runs.regime import along, estimate_along, run_along
from explorer.runs.sweep import COLUMNS, SweepConfig


def middle_lr(lrs) -> float:
    """The lr a sweep along another axis uses by default: the middle of the preset's grid."""
    return sorted(lrs)[len(lrs) // 2]


def check_values(axis: str, values) -> tuple:
    """The row values of an axis, checked: ValueError with a one-line reason."""
    return axis_named(axis).check(values)


@dataclass(frozen=True)
class AxisSweep:
    """A sweep whose rows vary one training setting at the single lr of base.lrs."""
    base: SweepConfig
    axis: str
    values: tuple

    def __post_init__(self):
        axis = AXES.get(self.axis.replace("_", "-"))
        if axis is None or not axis.rows or axis.name == "lr":
            rows = ", ".join(a for a in ROW_AXES if a != "lr")
            raise ValueError(f"unknown row axis {self.axis!r}; choose from {rows}")
        object.__setattr__(self, "axis", axis.name)
        if len(self.base.lrs) != 1:
            raise ValueError(f"a sweep along {self.axis} uses one lr, got {len(self.base.lrs)}")
        object.__setattr__(self, "values", check_values(self.axis, self.values))

    @property
    def column(self) -> str:
        return AXES[self.axis].field

    @property
    def lr(self) -> float:
        return self.base.lrs[0]

    def row(self, value) -> SweepConfig:
        """The one-row sweep at one axis value."""
        return along(self.base, self.column, value)


def axis_sweep(base: SweepConfig, axis: str, values, lr: float | None = None) -> SweepConfig | AxisSweep:
    """The sweep with its rows along `axis`: base with lrs = values for lr (bit for bit today's sweep), else an
    AxisSweep at lr (default: the middle of base.lrs)."""
    if axis == "lr":
        return base if values is None else replace(base, lrs=check_values("lr", values))
    return AxisSweep(replace(base, lrs=(lr or middle_lr(base.lrs),)), axis, values)


def row_column(cfg: SweepConfig | AxisSweep) -> str:
    return cfg.column if isinstance(cfg, AxisSweep) else "lr"


def base_of(cfg: SweepConfig | AxisSweep) -> SweepConfig:
    """The sweep whose forms, λ grids, seeds and training an (axis) sweep uses."""
    return cfg.base if isinstance(cfg, AxisSweep) else cfg


def run(cfg: AxisSweep, device: str | None = None, progress: Callable | None = None,
        estimates: list[float] | None = None) -> pd.DataFrame:
    """Every row's batched sweep: sweep.COLUMNS plus the axis's own column (steps, train_samples, batch_size)."""
    return axis_frame(cfg, run_along(cfg.base, cfg.column, cfg.values, device, progress, estimates))


def axis_frame(cfg: AxisSweep, along: pd.DataFrame) -> pd.DataFrame:
    """A frame of regime.run_along's as the axis sweep's: the axis's own column in front of sweep.COLUMNS."""
    return along.rename(columns={"axis_value": cfg.column})[[cfg.column] + COLUMNS]


def estimates(cfg: AxisSweep, device: str | None = None, threads: int | None = None) -> list[float]:
    """Expected seconds of each row (regime.estimate_along)."""
    return estimate_along(cfg.base, cfg.column, cfg.values, device, threads)


