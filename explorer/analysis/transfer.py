"""Reading a sweep whose rows vary a training setting: the slope of its best λ along it, against each
rule's prediction."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from explorer.analysis.interpret import coupling
from explorer.analysis.predictions import RULES
from explorer.core.forms import OPTIMIZERS
from explorer.core.measures import lambda_torch
from explorer.runs.axes import AXES
from explorer.runs.sweep import SweepConfig
from explorer.runs.transfer import AxisSweep, base_of, row_column


def alpha_power(name: str) -> float | None:
    """k in the decay per step η_t·α^k·λ of a decoupled form (1: PyTorch, 0: paper); None without one rate."""
    lam = lambda_torch(name, 2.0, 1.0)
    return None if lam is None or lam == 0 else 1.0 + math.log2(lam)


def predicted_slope(rule: str, axis: str, name: str) -> float | None:
    """A rule's slope of log2(best λ) on log2(axis) for one form; None where it predicts nothing (L2)."""
    k = alpha_power(name)
    if k is None:
        return None
    slope = RULES[rule].slopes[axis]              # of λ_torch; the form's λ = α^(1−k)·λ_torch
    return slope + (1 - k) if axis == "lr" else slope


@dataclass(frozen=True)
class Transfer:
    """A finished sweep's transfer slopes and best λ per row, per form."""
    axis: str
    slopes: dict[str, float]
    best: pd.DataFrame          # optimizer, value, best_wd, counted (not flat), edge (the grid's first or last λ)
    verdict: str


def transfer(cfg: SweepConfig | AxisSweep, frame: pd.DataFrame, metric: str = "test_loss") -> Transfer:
    axis = cfg.axis if isinstance(cfg, AxisSweep) else "lr"
    column = row_column(cfg)
    rows, slopes = [], {}
    for name in base_of(cfg).optimizers:
        c = coupling(frame, name, metric, row=column)
        slopes[name] = c.slope
        rows += [{"optimizer": name, "value": float(v), "best_wd": wd, "counted": v not in c.flat_rows,
                  "edge": v in c.edge_rows} for v, wd in c.best_wd.items()]
    best = pd.DataFrame(rows, columns=["optimizer", "value", "best_wd", "counted", "edge"])
    return Transfer(axis, slopes, best, verdict_text(axis, slopes))


def verdict_text(axis: str, slopes: dict[str, float]) -> str:
    """Which rule's predicted slopes the measured decoupled slopes match (within 0.5 each), per rule, with its
    source. No rule is stated as general."""
    decoupled = {n: s for n, s in slopes.items() if alpha_power(n) is not None and math.isfinite(s)}
    if not decoupled:
        return "No decoupled form has a measured slope here (fewer than two rows where λ matters)."
    parts = []
    for rule, why in ((r.name, r.source) for r in RULES.values()):
        pred = {n: predicted_slope(rule, axis, n) for n in decoupled}
        off = max(abs(s - pred[n]) for n, s in decoupled.items())
        said = ", ".join(f"{OPTIMIZERS[n].label} {pred[n]:+g} (measured {decoupled[n]:+.2f})" for n in decoupled)
        parts.append(f"*{rule}* — predicts {said}: {'**matches**' if off <= 0.5 else 'does not match'} "
                     f"(largest miss {off:.2f}); {why}.")
    return ("**Transfer along " + AXES[axis].title + ".** Each rule holds where its assumptions do, none in general. "
            + " ".join(parts))


def prediction_lines(t: Transfer) -> pd.DataFrame:
    """Each rule's predicted line per decoupled form, through the mean of that form's counted best λs (the
    rules predict a slope, not a level): optimizer, rule, value, best_wd."""
    rows = []
    for name, part in t.best[t.best["counted"]].groupby("optimizer", sort=False):
        if len(part) < 2 or alpha_power(name) is None:
            continue
        x, y = np.log2(part["value"].to_numpy()), np.log2(part["best_wd"].to_numpy())
        for rule in RULES:
            s = predicted_slope(rule, t.axis, name)
            rows += [{"optimizer": name, "rule": rule, "value": float(v),
                      "best_wd": float(2 ** (y.mean() + s * (math.log2(v) - x.mean())))}
                     for v in (part["value"].min(), part["value"].max())]
    return pd.DataFrame(rows, columns=["optimizer", "rule", "value", "best_wd"])


def slope_lines(cfg: SweepConfig | AxisSweep, frame: pd.DataFrame, metric: str = "test_loss") -> list[str]:
    """One line per form: its slope (the CLI prints these), and along another axis than lr each rule's."""
    along = isinstance(cfg, AxisSweep)
    out = []
    for name in base_of(cfg).optimizers:
        c = coupling(frame, name, metric, row=row_column(cfg))
        slope = "n/a (fewer than two rows where λ matters)" if math.isnan(c.slope) else f"{c.slope:+.3f}"
        left = f"; rows left out (λ hardly matters): {', '.join(f'{x:g}' for x in c.flat_rows)}" if c.flat_rows else ""
        if not along:
            out.append(f"coupling slope {name}: {slope}{left}")
            continue
        rules = [f"{r} {p:+g}" for r in RULES if (p := predicted_slope(r, cfg.axis, name)) is not None]
        said = f" (predicted: {', '.join(rules)})" if rules else ""
        out.append(f"transfer slope {name} along {cfg.column}: {slope}{said}{left}")
    return out
