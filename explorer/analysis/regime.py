"""Reading a regime map: per point of the varied setting, each form's coupling slope with its seed spread."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from explorer.analysis.interpret import coupling
from explorer.analysis.robust import by_variant, spread
from explorer.runs.regime import MapConfig
from explorer.runs.sweep import SweepConfig


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
    variant_slopes: dict[str, float] = field(default_factory=dict)   # --robustness: the slope under each variant


def _n_at_best(sweep: SweepConfig, optimizer: str, best: dict[float, float], rows) -> list[float]:
    from explorer.core.measures import decay_power, eta_sum, lambda_torch
    t = sweep.train
    total = eta_sum(t.lr_schedule, t.steps, decay_power(optimizer, t.decay_follows))
    out = []
    for lr in rows:
        lam = lambda_torch(optimizer, lr, best[lr] * sweep.wd_scale)
        if lam is not None:
            out.append(lr * lam * total)
    return out


def map_points(cfg: MapConfig, frame: pd.DataFrame, metric: str = "test_loss") -> list[MapPoint]:
    """Per axis value and optimizer: the seed-averaged slope, each seed's slope, and what was counted. A frame with
    a `variant` column (run under several variants): all that of the first variant, and each variant's slope."""
    variants = by_variant(frame) if "variant" in frame.columns else {}
    first = next(iter(variants.values())) if variants else frame
    out = []
    for value in cfg.values:
        part = first[first["axis_value"] == value]
        sweep = cfg.point(value)
        for name in sweep.optimizers:
            c = coupling(part, name, metric, exclude_edges=True)
            counted = [lr for lr in c.best_wd if lr not in c.flat_rows and lr not in c.edge_rows]
            seeds = tuple(coupling(part[part["seed"] == s], name, metric, exclude_edges=True).slope
                          for s in sorted(part["seed"].unique()))
            n = _n_at_best(sweep, name, c.best_wd, counted)
            each = {v: coupling(f[f["axis_value"] == value], name, metric, exclude_edges=True).slope
                    for v, f in variants.items()}
            out.append(MapPoint(float(value), name, c.slope, seeds, len(counted), len(c.edge_rows),
                                len(c.flat_rows), float(np.median(n)) if n else math.nan, each))
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
        if p.variant_slopes:
            s = spread(p.variant_slopes)
            rows[-1].update({"robust_median": s.median, "robust_lo": s.lo, "robust_hi": s.hi, "robust_k": s.k})
    return pd.DataFrame(rows)
