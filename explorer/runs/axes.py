"""The training settings a sweep can vary besides λ: one record per axis, one spelling of its name.

The sweep's rows vary the learning rate or one of these settings at one lr (explorer.runs.transfer); the regime
map repeats a whole sweep at several values of one of them (explorer.runs.regime). Names are spelled with
hyphens, as CLI flags are (`batch-size`); the TrainConfig field keeps its underscore (`batch_size`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from explorer.core.data import MAX_TRAIN


@dataclass(frozen=True)
class Axis:
    name: str               # CLI, URL and CSV spelling
    field: str              # the TrainConfig field it sets (and the frame's column)
    title: str              # how a chart or a control names it
    moves: str              # what it changes about a run (the regime map's caption)
    lo: float               # smallest and largest value
    hi: float
    integer: bool = True
    rows: bool = False      # the sweep's rows can vary it at one lr
    regime: bool = False    # the regime map can vary it

    def check(self, values) -> tuple:
        """The values, checked (sorted, deduplicated): ValueError with a one-line reason."""
        if not values:
            raise ValueError(f"{self.name} needs at least one value")
        if self.field == "lr":
            return tuple(float(v) for v in values)
        bad = [v for v in values if (self.integer and v != int(v)) or not self.lo <= v <= self.hi]
        if bad:
            what = "whole numbers" if self.integer else "numbers"
            raise ValueError(f"{self.name} takes {what} from {self.lo:g} to {self.hi:g}, got {bad[0]:g}")
        return tuple(sorted({int(v) if self.integer else float(v) for v in values}))


AXES: dict[str, Axis] = {a.name: a for a in (
    Axis("lr", "lr", "learning rate α", "the step size", 0.0, math.inf, integer=False, rows=True),
    Axis("steps", "steps", "steps per run", "run length: N = α·λ_torch·Ση_t grows with it", 1, 200_000, rows=True,
         regime=True),
    Axis("train-samples", "train_samples", "training digits", "how much data a run sees", 10, MAX_TRAIN, rows=True),
    Axis("batch-size", "batch_size", "batch size", "gradient noise: smaller batches, noisier gradients", 1, MAX_TRAIN,
         rows=True, regime=True),
    Axis("init-scale", "init_scale", "initial weights × k", "how much of a random start the decay must remove",
         0.0, 64.0, integer=False, regime=True),
)}


def axis_named(name: str) -> Axis:
    """The axis of a name in either spelling (`batch-size` or the field's `batch_size`, as older links write it)."""
    key = name.replace("_", "-")
    if key not in AXES:
        raise ValueError(f"unknown axis {name!r}; choose from {', '.join(AXES)}")
    return AXES[key]


ROW_AXES = tuple(a.name for a in AXES.values() if a.rows)
REGIME_AXES = tuple(a.name for a in AXES.values() if a.regime)
