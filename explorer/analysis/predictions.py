"""What the literature predicts for the slope of the best λ, each prediction one record with its source.

Two tables, one idea each:
- REGIMES: for the lr × λ sweep, the coupling slope (log₂ best λ on log₂ α) of the two AdamW forms in each
  regime a run can be in. Which one applies depends on the regime; none is general.
- RULES: for a sweep whose rows vary another setting at one lr, how the best λ_torch moves along each axis.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Prediction:
    name: str
    slopes: dict[str, float]        # REGIMES: per form (optimizer name); RULES: per axis, of λ_torch
    source: str                     # when it holds, and who says so
    dash: tuple[int, ...] = field(default=(7, 4))   # how a chart draws its line


REGIMES: dict[str, Prediction] = {p.name: p for p in (
    Prediction("fixed point", {"adamw-torch": 0.0, "adamw": 1.0},
               "the weights' scale matters and the run lasts many decay timescales (N ≫ 1): AdamW's fixed point "
               "m̂/(√v̂+ε) = −λ_torch·θ does not involve α (full-batch AdamW converges to min f s.t. ‖θ‖∞ ≤ "
               "1/λ_torch: Xie & Li, ICML 2024)"),
    Prediction("transient", {"adamw-torch": -1.0, "adamw": 0.0},
               "the start is not forgotten (N ≲ 1, or a large initial scale): the total shrinkage Π(1 − η_t·λ_paper) "
               "decides (the EMA view of Wang & Aitchison, ICML 2025)"),
    Prediction("rotational", {"adamw-torch": -1.0, "adamw": 0.0},
               "scale-invariant weights at rotational equilibrium: they turn by √(2·η_t·α·λ_torch·(1−β1)/(1+β1)) per "
               "step, a function of λ_paper = α·λ_torch only (Kosson, Messmer & Jaggi, ICML 2024)"),
)}

RULES: dict[str, Prediction] = {p.name: p for p in (
    Prediction("τ in epochs", {"lr": -1.0, "steps": 0.0, "train-samples": -1.0, "batch-size": 1.0},
               "the best decay timescale in epochs, τ_epoch = τ_iter·b/N = b/(N·α·λ_torch), stays the same (Wang & "
               "Aitchison, ICML 2025): λ_torch ∝ b/(α·N), whatever the run length", dash=(7, 4)),
    Prediction("τ ∝ run", {"lr": -1.0, "steps": -1.0, "train-samples": 0.0, "batch-size": 0.0},
               "the best timescale is a fixed share of the run, τ_iter = 1/(α·λ_torch) ∝ steps (their rule for "
               "one-epoch pre-training; Bergsma et al., NeurIPS 2025, at fixed tokens per parameter): "
               "λ_torch ∝ 1/(α·steps)", dash=(2, 3)),
)}


def distance(p: Prediction, measured: dict[str, float]) -> float:
    """How far measured slopes lie from a prediction: the sum of the absolute misses over its forms."""
    return sum(abs(measured[n] - s) for n, s in p.slopes.items())
