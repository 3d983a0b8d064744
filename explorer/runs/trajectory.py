"""Optimizers on a 2-D surface → a tidy table (optimizer, step, x, y, loss, norm)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from explorer.core.forms import OPTIMIZERS, Decay, Precond, decoupled_rule
from explorer.core.optim import BatchedOptimizer
from explorer.core.schedules import Schedule
from explorer.core.surfaces import SURFACES


@dataclass
class Trajectories:
    frame: pd.DataFrame            # one row per optimizer and step; step 0 is the start point
    diverged: dict[str, int | None]  # optimizer → first step whose point or loss is not finite


def run_trajectories(surface: str, optimizers: Sequence[str], *, lr: float, wd: float,
                     beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                     momentum: float = 0.0, steps: int = 500, start: tuple[float, float] | None = None,
                     schedule: Schedule | str = "constant", noise: float = 0.0, seed: int = 0,
                     decay_follows_schedule: bool = True, dtype: torch.dtype = torch.float32) -> Trajectories:
    """Run every optimizer from the same start on the same surface with the same hyperparameters.

    Runs that share a preconditioner advance together as one batch. With noise > 0 every run sees
    the same seeded gradient noise σ·ξ_t at step t (the 2-D stand-in for "the same mini-batches").
    """
    surf = SURFACES[surface]
    if isinstance(schedule, str):
        schedule = Schedule(schedule, total_steps=steps)
    x0, y0 = start if start is not None else surf.start
    names = list(optimizers)
    path = torch.empty(steps + 1, len(names), 2, dtype=dtype)
    path[0, :, 0], path[0, :, 1] = x0, y0
    shared_noise = None
    if noise > 0:
        gen = torch.Generator().manual_seed(seed)
        shared_noise = (noise * torch.randn(steps, 1, 2, generator=gen, dtype=torch.float64)).to(dtype)

    groups: dict = {}
    for i, n in enumerate(names):
        groups.setdefault(OPTIMIZERS[n].precond, []).append(i)
    with torch.inference_mode():
        for idx in groups.values():
            p = path[0, idx].clone()
            g = torch.empty_like(p)
            x, y, gx, gy = p[:, 0], p[:, 1], g[:, 0], g[:, 1]   # views: stay valid as p changes
            opt = BatchedOptimizer([p], [names[i] for i in idx], lr=lr, wd=wd, beta1=beta1,
                                   beta2=beta2, eps=eps, momentum=momentum, schedule=schedule,
                                   decay_follows_schedule=decay_follows_schedule)
            rows = path[:, idx]
            for t in range(1, steps + 1):
                fx, fy = surf.grad(x, y)
                gx.copy_(fx)
                gy.copy_(fy)
                if shared_noise is not None:
                    g.add_(shared_noise[t - 1])
                opt.step([g])
                rows[t].copy_(p)
            path[:, idx] = rows
    return _tabulate(surf, names, path)


def _tabulate(surf, names, path: torch.Tensor) -> Trajectories:
    steps = path.shape[0] - 1
    p64 = path.to(torch.float64)
    loss = surf.value(p64[..., 0], p64[..., 1])
    norm = torch.linalg.vector_norm(p64, dim=-1)
    bad = ~(torch.isfinite(loss) & torch.isfinite(p64).all(-1))   # (steps+1, R)
    diverged: dict[str, int | None] = {}
    for j, n in enumerate(names):
        hit = torch.nonzero(bad[:, j])
        diverged[n] = int(hit[0]) if len(hit) else None
    frame = pd.DataFrame({
        "optimizer": np.repeat(np.array(names, dtype=object)[None, :], steps + 1, 0).T.ravel(),
        "step": np.tile(np.arange(steps + 1), len(names)),
        "x": p64[..., 0].T.reshape(-1).numpy(),
        "y": p64[..., 1].T.reshape(-1).numpy(),
        "loss": loss.T.reshape(-1).numpy(),
        "norm": norm.T.reshape(-1).numpy(),
    })
    frame.loc[bad.T.reshape(-1).numpy(), ["x", "y", "loss", "norm"]] = np.nan
    return Trajectories(frame, diverged)


@dataclass(frozen=True)
class FixedPoint:
    """Where an optimizer must stop in the deterministic limit (exact gradients, converged)."""
    kind: str        # "l2": argmin f + c/2·‖θ‖²;  "box": argmin f subject to ‖θ‖∞ ≤ c;  "none": argmin f
    c: float
    point: tuple[float, float]
    label: str


def fixed_point(surface: str, optimizer: str, lr: float, wd: float, momentum: float = 0.0, eta: float = 1.0,
                decay_follows_schedule: bool = True) -> FixedPoint:
    """The fixed point of each update rule at the schedule multiplier η (the last step's): where η_t
    multiplies both terms it drops out; the corrected form's decay (η²) and a constant decay (η⁰) make the
    decoupled rules' balance λ_torch·η^(p−1) instead of λ_torch.

    SGD + L2 and Adam + L2: ∇f + λθ = 0, the L2-regularized optimum.
    SGDW (paper): α·b + λθ = 0 with b = ∇f/(1−μ) → the L2 optimum for λ(1−μ)/α (Proposition 1).
    AdamW: m̂/(√v̂+ε) = −λ_torch·θ with λ_torch = λ (torch form) or λ/α (paper form); exact
    gradients make m̂/√v̂ → sign(∇f), so the limit is argmin f inside the box ‖θ‖∞ ≤ 1/λ_torch.
    """
    from explorer.core.surfaces import constrained_minimum
    kind = OPTIMIZERS[optimizer]
    surf = SURFACES[surface]
    decay = kind.decay
    rule = decoupled_rule(kind, decay_follows_schedule)
    if rule is not None and eta > 0:
        wd = wd * eta ** (rule[0] - 1)     # the decay's share against the η-scaled gradient step
    if decay is Decay.NONE or wd == 0:
        return FixedPoint("none", 0.0, constrained_minimum(surf), "minimum of f")
    if kind.precond is Precond.SGD:        # SGD + L2 or SGDW (the paper form); there is no torch-form SGDW
        c = wd if decay is Decay.L2 else wd * (1 - momentum) / lr
        return FixedPoint("l2", c, constrained_minimum(surf, l2=c), f"argmin f + {c:.3g}/2·‖θ‖²")
    if decay is Decay.L2:
        return FixedPoint("l2", wd, constrained_minimum(surf, l2=wd), f"argmin f + {wd:.3g}/2·‖θ‖²")
    lam_torch = wd if rule[1] else wd / lr
    box = 1.0 / lam_torch
    return FixedPoint("box", box, constrained_minimum(surf, box=box), f"argmin f in ‖θ‖∞ ≤ {box:.3g}")


def summary_table(frame: pd.DataFrame, diverged: dict, fixed: dict, names) -> pd.DataFrame:
    """One row per optimizer: where it ended, its loss and norm there, its ◆ and how far it is from it."""
    rows = []
    for n in names:
        end = frame[frame.optimizer == n].iloc[-1]
        fp = fixed[n]
        rows.append({
            "optimizer": OPTIMIZERS[n].label,
            "end x": end.x,
            "end y": end.y,
            "f(end), no decay term": end.loss,
            "‖θ_end‖": end.norm,
            "◆ deterministic limit": fp.label,
            "◆ at": f"({fp.point[0]:.4f}, {fp.point[1]:.4f})",
            "distance to ◆": math.dist((end.x, end.y), fp.point) if diverged[n] is None else math.nan,
            "diverged": "no" if diverged[n] is None else f"at step {diverged[n]}",
        })
    return pd.DataFrame(rows)
