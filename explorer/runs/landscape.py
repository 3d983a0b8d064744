"""The loss landscape of a trained pair: a plane through weight space, evaluated as one batched run.

The default plane passes through both end points: origin = the end of the first run, first axis =
the direction to the second run's end, second axis = the main PCA direction of both trajectories
(orthogonal to the first). Option: filter-normalized random directions (Li et al., 2018).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from explorer.core.models import forward, loss_per_run
from explorer.runs.train import TrainConfig, Trainer


@dataclass
class Landscape:
    grid: pd.DataFrame          # a, b, loss
    paths: pd.DataFrame         # optimizer, step, a, b, loss (trajectories projected on the plane)
    axes: tuple[str, str]


def _flat(params: list[torch.Tensor], run: int) -> torch.Tensor:
    return torch.cat([p[run].detach().flatten() for p in params])


def _unflat(vec: torch.Tensor, shapes: list[torch.Size]) -> list[torch.Tensor]:
    """(R, D) → parameter tensors with a leading run dimension R."""
    out, i = [], 0
    for s in shapes:
        n = int(np.prod(s))
        out.append(vec[:, i:i + n].reshape(vec.shape[0], *s))
        i += n
    return out


def train_pair_with_snapshots(cfg: TrainConfig, device=None, every: int | None = None):
    """Train the pair; snapshots of every run's flat weights every `every` steps (and at 0 and the end)."""
    tr = Trainer(cfg, device)
    every = every or max(1, cfg.steps // 40)
    snaps = {n: [] for n in tr.names}
    steps = []
    while True:
        for r, n in enumerate(tr.names):
            snaps[n].append(_flat(tr.params, r))
        steps.append(tr.step_count)
        if tr.done:
            break
        tr.step(min(every, cfg.steps - tr.step_count))
    return tr, steps, {n: torch.stack(v) for n, v in snaps.items()}


def plane(snaps: dict[str, torch.Tensor], kind: str = "pca", shapes=None, seed: int = 0):
    """(origin, d1, d2) with orthonormal d1, d2 (pca) or filter-normalized random directions."""
    names = list(snaps)
    ends = [snaps[n][-1] for n in names]
    origin = ends[0]
    if kind == "pca":
        d1 = ends[1] - ends[0] if len(ends) > 1 else snaps[names[0]][0] - origin
        d1 = d1 / d1.norm().clamp_min(1e-12)
        X = torch.cat([snaps[n] for n in names]) - origin
        X = X - (X @ d1)[:, None] * d1[None]                  # remove the end-to-end direction
        X = X - X.mean(0, keepdim=True)
        _, _, v = torch.linalg.svd(X.double(), full_matrices=False)
        d2 = v[0].to(X.dtype)
        d2 = d2 - (d2 @ d1) * d1
        d2 = d2 / d2.norm().clamp_min(1e-12)
        return origin, d1, d2
    if kind == "random":
        g = torch.Generator().manual_seed(seed)
        dirs = []
        for _ in range(2):
            d = torch.randn(origin.shape, generator=g, dtype=origin.dtype)
            parts, i = [], 0
            for s in shapes:                                   # per filter (row of each weight)
                n = int(np.prod(s))
                w, dw = origin[i:i + n].reshape(s), d[i:i + n].reshape(s)
                if len(s) >= 2:
                    dw = dw * (w.norm(dim=tuple(range(1, len(s))), keepdim=True)
                               / dw.norm(dim=tuple(range(1, len(s))), keepdim=True).clamp_min(1e-12))
                else:
                    dw = torch.zeros_like(dw)                  # biases are not perturbed (Li et al.)
                parts.append(dw.flatten())
                i += n
            dirs.append(torch.cat(parts))
        return origin, dirs[0], dirs[1]
    raise ValueError(f"unknown plane {kind!r}; choose pca or random")


def _coords(x: torch.Tensor, origin, d1, d2) -> torch.Tensor:
    """Least-squares coordinates of points x (N, D) in the plane origin + a·d1 + b·d2."""
    basis = torch.stack([d1, d2], 1).double()                 # (D, 2)
    sol = torch.linalg.lstsq(basis, (x - origin).double().T).solution  # (2, N)
    return sol.T


def evaluate_plane(cfg: TrainConfig, tr: Trainer, origin, d1, d2, a: np.ndarray, b: np.ndarray,
                   samples: int = 600, chunk: int = 256) -> np.ndarray:
    """Mean training loss at every (a, b) of the grid, as batched runs of the model."""
    shapes = [p.shape[1:] for p in tr.params]
    x, y = tr.data.x_train[:samples], tr.data.y_train[:samples]
    aa, bb = np.meshgrid(a, b)
    coef = torch.tensor(np.stack([aa.ravel(), bb.ravel()], 1), dtype=origin.dtype, device=origin.device)
    out = []
    with torch.inference_mode():
        for i in range(0, len(coef), chunk):
            c = coef[i:i + chunk]
            flat = origin[None] + c[:, :1] * d1[None] + c[:, 1:] * d2[None]
            out.append(loss_per_run(forward(tr.spec, _unflat(flat, shapes), x), y))
    return torch.cat(out).cpu().double().numpy().reshape(len(b), len(a))


def landscape(cfg: TrainConfig, kind: str = "pca", n: int = 41, margin: float = 0.3, device=None,
              samples: int = 600, seed: int = 0) -> Landscape:
    tr, steps, snaps = train_pair_with_snapshots(cfg, device)
    shapes = [p.shape[1:] for p in tr.params]
    origin, d1, d2 = plane(snaps, kind, shapes, seed)
    proj = {name: _coords(s, origin, d1, d2).cpu().numpy() for name, s in snaps.items()}
    allp = np.concatenate(list(proj.values()))
    lo, hi = allp.min(0), allp.max(0)
    pad = margin * np.maximum(hi - lo, 1e-3)
    a = np.linspace(lo[0] - pad[0], hi[0] + pad[0], n)
    b = np.linspace(lo[1] - pad[1], hi[1] + pad[1], n)
    loss = evaluate_plane(cfg, tr, origin, d1, d2, a, b, samples)
    aa, bb = np.meshgrid(a, b)
    grid = pd.DataFrame({"a": aa.ravel(), "b": bb.ravel(), "loss": loss.ravel()})
    rows = []
    x, y = tr.data.x_train[:samples], tr.data.y_train[:samples]
    for name, s in snaps.items():
        with torch.inference_mode():
            losses = loss_per_run(forward(tr.spec, _unflat(s, shapes), x), y).cpu().numpy()
        rows += [{"optimizer": name, "step": st, "a": p[0], "b": p[1], "loss": float(lv)}
                 for st, p, lv in zip(steps, proj[name], losses)]
    axes = ("end-to-end direction", "main PCA direction") if kind == "pca" else ("random direction 1",
                                                                                  "random direction 2")
    return Landscape(grid, pd.DataFrame(rows), axes)
