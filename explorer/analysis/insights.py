"""The paper's claims as computations: Proposition 1, Proposition 2 (no λ' matches), effective
per-coordinate decay, and the two decay forms. Pure functions → tidy DataFrames."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from explorer.core.forms import OPTIMIZERS, Decay, decoupled_forms, decoupled_rule, decoupled_shrink, pair_optimizers
from explorer.core.optim import BatchedOptimizer
from explorer.core.schedules import Schedule
from explorer.core.surfaces import SURFACES
from explorer.runs.train import TrainConfig, Trainer
from explorer.runs.trajectory import run_trajectories


# ---------------------------------------------------------------- Proposition 1
def prop1_surface(surface: str, lr: float, lam: float, steps: int, momentum: float = 0.0,
                  schedule: str = "constant", start=None) -> pd.DataFrame:
    """SGD+L2 with λ' = λ/α against SGDW with λ on a surface: both paths and their distance per step."""
    sched = Schedule(schedule, total_steps=steps)
    f = run_trajectories(surface, ["sgd-l2"], lr=lr, wd=lam / lr, momentum=momentum, steps=steps,
                         start=start, schedule=sched).frame
    g = run_trajectories(surface, ["sgdw"], lr=lr, wd=lam, momentum=momentum, steps=steps, start=start,
                         schedule=sched).frame
    out = pd.concat([f, g], ignore_index=True)
    dist = np.hypot(f.x.values - g.x.values, f.y.values - g.y.values)
    return out.assign(distance=np.tile(dist, 2))


def prop1_model(cfg: TrainConfig, lam: float, device=None) -> pd.DataFrame:
    """The same on the digits model: SGD+L2(λ/α) and SGDW(λ) in one batch; ‖θ₁ − θ₂‖/‖θ₂‖ per step."""
    cfg = replace(cfg, optimizers=("sgd-l2", "sgdw"))
    tr = Trainer(cfg, device, wd=[lam / cfg.lr, lam])
    rows = []
    for step in range(cfg.steps + 1):
        if step:
            tr.step(1)
        with torch.no_grad():
            d = sum(((p[0] - p[1]) ** 2).sum() for p in tr.params).sqrt()
            n = sum((p[1] ** 2).sum() for p in tr.params).sqrt()
        rows.append({"step": step, "relative_distance": float(d / n)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- Proposition 2
@dataclass
class Match:
    target: str
    candidate: str
    best_wd: float            # the λ' of `candidate` whose path is closest to the target's
    residual: float           # mean over steps of ‖θ_candidate − θ_target‖ at best_wd
    curve: pd.DataFrame       # wd, distance (every λ' tried)
    paths: pd.DataFrame       # optimizer, step, x, y: the target and the best match


def best_match(surface: str, target: str, candidate: str, *, lr: float, wd: float, steps: int = 500,
               beta1=0.9, beta2=0.999, eps=1e-8, momentum=0.0, schedule="constant", start=None,
               grid: int = 121, span: float = 8.0, noise: float = 0.0, seed: int = 0) -> Match:
    """Search the λ' of `candidate` (e.g. adam-l2) whose trajectory best matches `target` (e.g. adamw)
    by mean distance over the steps: a log-spaced grid of `grid` values over 2^±span around the
    target's own λ (all in one batched run), then golden-section refinement around the best."""
    kind = OPTIMIZERS[target].precond
    if OPTIMIZERS[candidate].precond is not kind:
        raise ValueError("target and candidate need the same preconditioner")
    centre = wd / lr if (decoupled_rule(target) == (1, False)      # the paper form's λ is α·λ_L2
                         and OPTIMIZERS[candidate].decay is Decay.L2) else wd
    surf = SURFACES[surface]
    x0, y0 = start if start is not None else surf.start
    sched = Schedule(schedule, total_steps=steps)
    gen = torch.Generator().manual_seed(seed)
    noise_t = noise * torch.randn(steps, 2, generator=gen, dtype=torch.float64) if noise else None

    def paths(wds: list[float], names: list[str]) -> torch.Tensor:
        """(steps+1, R, 2) float64 paths of R runs with per-run λ. Each run's row is padded with six coordinates
        that stay 0 (zero gradient, zero moments): a 64-byte row, so the engine steps all runs in one kernel
        call with L2's per-run λ batched before it, where 2-value rows take one call per distinct λ."""
        p = torch.zeros(len(wds), 8, dtype=torch.float64)
        p[:, 0], p[:, 1] = x0, y0
        g = torch.zeros_like(p)
        opt = BatchedOptimizer([p], names, lr=lr, wd=wds, beta1=beta1, beta2=beta2, eps=eps,
                               momentum=momentum, schedule=sched)
        out = [p[:, :2].clone()]
        with torch.inference_mode():
            for t in range(steps):
                gx, gy = surf.grad(p[:, 0], p[:, 1])
                g[:, 0], g[:, 1] = gx, gy
                if noise_t is not None:
                    g[:, :2] += noise_t[t]
                opt.step([g])
                out.append(p[:, :2].clone())
        return torch.stack(out)

    ref = paths([wd], [target])[:, 0]

    def distance(wds) -> np.ndarray:
        cand = paths(list(wds), [candidate] * len(wds))
        d = (cand - ref[:, None]).norm(dim=-1).mean(0).numpy()
        return np.where(np.isfinite(d), d, np.inf)

    wds = (centre or 1e-2) * 2.0 ** np.linspace(-span, span, grid)
    dist = distance(wds)
    if centre > 0:
        best, best_d = _refine(distance, wds, dist)
    else:                       # λ = 0: the target is plain Adam (or SGD), which λ' = 0 is, step for step
        best, best_d = 0.0, float(distance([0.0])[0])
    both = paths([best], [candidate])[:, 0]
    frame = pd.concat([pd.DataFrame({"optimizer": name, "step": np.arange(steps + 1), "x": q[:, 0].numpy(),
                                     "y": q[:, 1].numpy()}) for name, q in ((target, ref), (candidate, both))],
                      ignore_index=True)
    return Match(target, candidate, best, best_d, pd.DataFrame({"wd": wds, "distance": dist}), frame)


def _refine(distance, wds: np.ndarray, dist: np.ndarray, rounds: int = 6, points: int = 33) -> tuple[float, float]:
    """(λ', distance) of the best match: between the neighbours of the best grid point `wds` (distances `dist`),
    `rounds` finer log-spaced grids of `points` λ' each, every grid one batched run (each round narrows the bracket
    16-fold, to 2⁻²⁴ of the first after six); that grid point where it was better (flat or edge)."""
    k = int(np.argmin(dist))
    best, best_d = float(wds[k]), float(dist[k])
    lo, hi = math.log2(wds[max(k - 1, 0)]), math.log2(wds[min(k + 1, len(wds) - 1)])
    for _ in range(rounds):
        grid = np.linspace(lo, hi, points)
        d = distance(2.0 ** grid)
        j = int(np.argmin(d))
        if d[j] < best_d:
            best, best_d = float(2.0 ** grid[j]), float(d[j])
        lo, hi = grid[max(j - 1, 0)], grid[min(j + 1, points - 1)]
    return best, best_d


# ---------------------------------------------------------------- effective decay per coordinate
def match_gaps(m: Match, target: str, candidate: str = "adam-l2") -> pd.DataFrame:
    """What the best λ' still leaves: |θ_candidate − θ_target| per step and coordinate (step, coordinate, gap)."""
    p = m.paths.pivot(index="step", columns="optimizer", values=["x", "y"])
    return pd.concat([pd.DataFrame({"step": p.index, "coordinate": ax,
                                    "gap": (p[ax][candidate] - p[ax][target]).abs().values})
                      for ax in ("x", "y")], ignore_index=True)


def model_effective_decay(form: str, wd: float, steps: int, device=None) -> tuple[pd.DataFrame, list[str], int]:
    """Train the live-training default pair (Adam+L2 and AdamW in `form`) for `steps` steps; each weight's
    effective decay rate then (Trainer.effective_decay), the run names and the step."""
    tr = Trainer(TrainConfig(optimizers=pair_optimizers("adam", form), wd=wd, steps=steps), device)
    tr.step(steps)
    return tr.effective_decay(), tr.names, tr.step_count


def effective_decay_surface(surface: str, lr: float, wd: float, steps: int, form: str = "torch",
                            beta1=0.9, beta2=0.999, eps=1e-8, start=None, noise=0.0, seed=0) -> pd.DataFrame:
    """Per step and coordinate, the share of θ the decay term removes (at η_t = 1): Adam+L2's
    α·λ/(√v̂+ε) per coordinate against AdamW's single rate."""
    names = list(pair_optimizers("adam", form))
    surf = SURFACES[surface]
    x0, y0 = start if start is not None else surf.start
    p = torch.tensor([[x0, y0]] * 2, dtype=torch.float64)
    opt = BatchedOptimizer([p], names, lr=lr, wd=wd, beta1=beta1, beta2=beta2, eps=eps)
    gen = torch.Generator().manual_seed(seed)
    rows = []
    with torch.no_grad():
        for t in range(1, steps + 1):
            gx, gy = surf.grad(p[:, 0], p[:, 1])
            g = torch.stack([gx, gy], 1)
            if noise:
                g = g + noise * torch.randn(1, 2, generator=gen, dtype=torch.float64)
            opt.step([g])
            rate = opt.decay_rates(eta=1.0)[0]
            for r, n in enumerate(names):
                for c, axis in enumerate("xy"):
                    rows.append({"optimizer": n, "step": t, "coordinate": axis, "rate": float(rate[r, c])})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- the decay forms
def panel_forms() -> tuple[str, ...]:
    """Every decoupled Adam form, then Adam+L2."""
    return decoupled_forms("adam") + ("adam-l2",)


def decay_forms(cfg: TrainConfig, lam_torch: float, lrs: tuple[float, ...], device=None) -> pd.DataFrame:
    """The same λ in each form, at several α: ‖θ‖ over training. The PyTorch form's per-step shrinkage
    η_t·α·λ and its timescale 1/(α·λ) change with α; the paper form's η_t·λ does not (its λ is α·λ_torch at
    the base α, so both are the same run there); the corrected form shrinks by η_t²·α·λ (the PyTorch form's
    under a constant schedule); L2's λθ is divided by √v̂+ε, so it has no single rate (nan)."""
    lam_paper = lam_torch * cfg.lr                # the same run as the torch form at the base α
    forms = panel_forms()
    names = tuple(n for _ in lrs for n in forms)
    lr_runs = [lr for lr in lrs for _ in forms]
    # an unscaled decoupled form's λ is α·λ_torch (at the base α)
    wd_runs = [lam_paper if decoupled_rule(n) == (1, False) else lam_torch for _ in lrs for n in forms]
    shrink = [decoupled_shrink(n, lr, w) or math.nan for n, lr, w in zip(names, lr_runs, wd_runs)]   # L2: nan
    tr = Trainer(replace(cfg, optimizers=names), device, lr=lr_runs, wd=wd_runs)
    rows = []
    every = max(1, cfg.steps // 60)
    while True:
        with torch.no_grad():
            norms = torch.stack([(p.detach() ** 2).flatten(1).sum(1) for p in tr.params]).sum(0).sqrt()
        for r, (n, lr) in enumerate(zip(names, lr_runs)):
            rows.append({"optimizer": n, "lr": lr, "step": tr.step_count, "weight_norm": float(norms[r]),
                         "shrink_per_step": shrink[r], "timescale": 1.0 / shrink[r]})
        if tr.done:
            break
        tr.step(min(every, cfg.steps - tr.step_count))
    return pd.DataFrame(rows)


def normalized_decay(lam_norm: float, batch: int, samples: int, epochs: float) -> float:
    """Paper App. B.1: λ = λ_norm·√(b/(B·T)) for batch size b, B training points, T epochs."""
    return lam_norm * math.sqrt(batch / (samples * epochs))


def schedule_frame(kind: str, steps: int, t0: int, t_mult: int) -> pd.DataFrame:
    s = Schedule(kind, total_steps=steps, t0=t0, t_mult=t_mult)
    return pd.DataFrame({"step": np.arange(1, steps + 1), "eta": s.multipliers(steps)})
