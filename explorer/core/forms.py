"""The decay forms and named optimizers: where λ enters the update, as data."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Decay(str, Enum):
    NONE = "none"
    L2 = "l2"                           # λθ added to the gradient, before the preconditioner
    DECOUPLED = "decoupled"             # paper: θ ← θ − η_t·λ·θ (not multiplied by α)
    DECOUPLED_TORCH = "decoupled_torch"  # torch.optim.AdamW: θ ← θ·(1 − η_t·α·λ)
    DECOUPLED_CORRECTED = "decoupled_corrected"  # AdamC: θ ← θ·(1 − η_t²·α·λ), i.e. lr_t²/lr_max·λ


# Decoupled decay per step = η_t^power · λ · (α if scaled by lr): the form as data
_DECOUPLED = {Decay.DECOUPLED: (1, False), Decay.DECOUPLED_TORCH: (1, True), Decay.DECOUPLED_CORRECTED: (2, True)}


def decoupled_rule(decay: Decay, follows_schedule: bool = True) -> tuple[int, bool] | None:
    """A decoupled decay's shrink per step η_t^power·λ·(α if scaled): (power, scaled); None if not decoupled."""
    if decay not in _DECOUPLED:
        return None
    power, scaled = _DECOUPLED[decay]
    return (power if follows_schedule else 0), scaled


def decoupled_shrink(optimizer: str, lr: float, wd: float) -> float | None:
    """A decoupled optimizer's shrink per step at η_t = 1: λ (paper form, SGDW) or α·λ; None without one."""
    rule = decoupled_rule(OPTIMIZERS[optimizer].decay)
    return None if rule is None else lr * wd if rule[1] else wd


class Precond(str, Enum):
    SGD = "sgd"    # heavy-ball momentum μ, torch convention: b ← μ·b + g, θ ← θ − η_t·α·b
    ADAM = "adam"  # β1, β2, ε with bias correction


@dataclass(frozen=True)
class OptimizerKind:
    name: str
    precond: Precond
    decay: Decay
    label: str


OPTIMIZERS: dict[str, OptimizerKind] = {k.name: k for k in (
    OptimizerKind("sgd", Precond.SGD, Decay.NONE, "SGD"),
    OptimizerKind("sgd-l2", Precond.SGD, Decay.L2, "SGD + L2"),
    OptimizerKind("sgdw", Precond.SGD, Decay.DECOUPLED, "SGDW"),
    OptimizerKind("adam", Precond.ADAM, Decay.NONE, "Adam"),
    OptimizerKind("adam-l2", Precond.ADAM, Decay.L2, "Adam + L2"),
    OptimizerKind("adamw", Precond.ADAM, Decay.DECOUPLED, "AdamW (paper form)"),
    OptimizerKind("adamw-torch", Precond.ADAM, Decay.DECOUPLED_TORCH, "AdamW (PyTorch form)"),
    OptimizerKind("adamw-corrected", Precond.ADAM, Decay.DECOUPLED_CORRECTED, "AdamW (corrected form)"),
)}


PAIRS = {"adam": ("adam-l2", "adamw", "adamw-torch"), "sgd": ("sgd-l2", "sgdw")}


def pair_optimizers(pair: str, form: str) -> tuple[str, str]:
    """The two optimizers the app races: (L2 variant, decoupled variant)."""
    if pair == "sgd":
        return "sgd-l2", "sgdw"
    return "adam-l2", {"torch": "adamw-torch", "paper": "adamw", "corrected": "adamw-corrected"}[form]
