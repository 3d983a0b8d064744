"""Equilibrium instruments: how far each weight matrix turns per step, what the theory predicts, and how
many decay timescales a run lasts.

A weight matrix followed by a LayerNorm without affine is *scale-invariant*: the loss does not change
when it is multiplied by a constant, so only its direction matters and decay cannot pull it to a fixed
point of the loss. Under AdamW such a matrix settles into a *rotational equilibrium* where it turns by

    √(2·η_t·α·λ_torch·(1−β1)/(1+β1))  radians per step       (Kosson, Messmer & Jaggi, ICML 2024)

which depends on α and λ only through α·λ_torch = λ_paper. Adam+L2 has no such law: its decay runs
through √v̂ and differs per weight, so its layers' rotations fan out.

Timescales: a decoupled decay shrinks every weight by η_t·α·λ_torch per step (η_t² in the corrected form,
1 for constant decay: η_t^p), so it takes τ = 1/(α·λ_torch) steps to forget the start by a factor e; a run
lasts N = α·λ_torch·Σ_t η_t^p of them. The rotation depends on the shrink per step s alone: √(2·s·(1−β1)/(1+β1)).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch

from explorer.core.forms import OPTIMIZERS, Decay, Precond, decoupled_rule
from explorer.core.models import ModelSpec
from explorer.core.schedules import Schedule

NEGLIGIBLE_N = 0.1        # below this many decay timescales the decay has barely acted (e^−N ≥ 90 %)
EQUILIBRIUM_N = 3.0       # from this many the start is forgotten (e^−3 ≈ 5 % left): a run counts as at equilibrium
LAYER_STATS_COLUMNS = ["optimizer", "step", "layer", "scale_invariant", "weight_norm", "rotation",
                       "predicted_rotation"]


def angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Angle in radians between a[r] and b[r] seen as flat vectors, per leading index r: (R, ...) → (R,).

    2·atan2(‖â − b̂‖, ‖â + b̂‖) in float64: exact to round-off for tiny angles too, where arccos of a
    cosine near 1 loses half the digits. NaN where either vector is zero."""
    a, b = a.detach().flatten(1).double(), b.detach().flatten(1).double()
    ua = a / a.norm(dim=1, keepdim=True)
    ub = b / b.norm(dim=1, keepdim=True)
    return 2 * torch.atan2((ua - ub).norm(dim=1), (ua + ub).norm(dim=1))


def lambda_torch(name: str, lr: float, wd: float) -> float | None:
    """The PyTorch-form coefficient whose shrink per step η_t^p·α·λ_torch equals this optimizer's decay
    (p: `decay_power`): λ for the PyTorch and corrected forms, λ/α for the paper form (λ_paper = α·λ_torch)
    and SGDW, λ for SGD+L2 (its L2 gradient is not preconditioned: Proposition 1), 0 without decay. None
    for Adam+L2: its decay α·λ/(√v̂+ε) differs per weight and moves with v̂, so it has no single timescale."""
    kind = OPTIMIZERS[name]
    rule = decoupled_rule(kind)
    if kind.decay is Decay.NONE:
        return 0.0
    if rule is not None:
        return wd if rule[1] else wd / lr if lr > 0 else math.inf
    return wd if kind.precond is Precond.SGD else None


def decay_power(name: str, follows_schedule: bool = True) -> int:
    """p in the shrink per step η_t^p·α·λ_torch: 1 (2 for the corrected form; 0 for a decoupled decay that
    does not follow the schedule; L2's λθ always passes through η_t)."""
    rule = decoupled_rule(name, follows_schedule)
    return 1 if rule is None else rule[0]


def predicted_rotation(eta: float, lr: float, lam_torch: float, beta1: float) -> float:
    """AdamW's equilibrium rotation per step of a scale-invariant weight (Kosson et al. 2024, Table 1):
    √(2·η_t·α·λ_torch·(1−β1)/(1+β1)) radians."""
    return math.sqrt(2 * eta * lr * lam_torch * (1 - beta1) / (1 + beta1))


def predicts_rotation(name: str) -> bool:
    """The prediction is AdamW's (any form): Adam's preconditioner and decoupled decay. It depends on the
    shrink per step s only: √(2·s·(1−β1)/(1+β1)), s = η_t^p·α·λ_torch."""
    kind = OPTIMIZERS[name]
    return kind.precond is Precond.ADAM and kind.decay is Decay.DECOUPLED


def scale_invariant(spec: ModelSpec) -> list[bool]:
    """Per weight matrix: whether a LayerNorm without affine follows it (mlp-ln's hidden layers). The
    output layer never is. (tests check it numerically: the loss does not move when W is scaled)."""
    return [spec.kind == "mlp-ln" and i < spec.depth for i in range(spec.depth + 1)]


@dataclass(frozen=True)
class Timescale:
    """How long one run's decay has to act."""
    optimizer: str
    lam_torch: float | None        # None: no single timescale (Adam+L2)
    tau_steps: float               # 1/(α·λ_torch) steps to forget the start by e (inf without decay)
    tau_epochs: float
    n: float                       # α·λ_torch·Σ_t η_t: decay timescales the run lasts
    surviving: float               # e^−N: share of the initial weights left without gradients

    @property
    def negligible(self) -> bool:
        """The decay can barely act over this run (N ≪ 1)."""
        return self.lam_torch is not None and self.n < NEGLIGIBLE_N


def timescale(name: str, lr: float, wd: float, eta_sum: float, steps_per_epoch: float) -> Timescale:
    lam = lambda_torch(name, lr, wd)
    if lam is None:
        return Timescale(name, None, math.nan, math.nan, math.nan, math.nan)
    rate = lr * lam
    tau = 1 / rate if rate > 0 else math.inf
    n = rate * eta_sum
    return Timescale(name, lam, tau, tau / steps_per_epoch, n, math.exp(-n))


@functools.lru_cache(maxsize=64)     # a live view asks every second; Σ η_t over 10,000 steps is ~40 ms
def eta_sum(schedule: Schedule, steps: int, power: int = 1) -> float:
    """Σ_t η_t^power over a run of `steps` updates (power: `decay_power`)."""
    return float(sum(e ** power for e in schedule.multipliers(steps)))


def run_timescales(cfg) -> tuple[Timescale, ...]:
    """Every optimizer of a TrainConfig: its timescale over the whole run."""
    per_epoch = cfg.train_count / min(cfg.batch_size, cfg.train_count)
    sums = {p: eta_sum(cfg.lr_schedule, cfg.steps, p) for p in {decay_power(n, cfg.decay_follows)
                                                                    for n in cfg.optimizers}}
    return tuple(timescale(n, cfg.lr, cfg.wd, sums[decay_power(n, cfg.decay_follows)], per_epoch)
                 for n in cfg.optimizers)


def _norms(w: torch.Tensor) -> torch.Tensor:
    """‖w[r]‖ per run, accumulated in float64."""
    return torch.linalg.vector_norm(w.flatten(1), dim=1, dtype=torch.float64)


class LayerStats:
    """A Trainer's per-step hook (`trainer.on_step = LayerStats(trainer)`) measuring every weight matrix.

    Each step it adds the angle between W_{t−1} and W_t and ‖W_t − W_{t−1}‖/‖W_{t−1}‖ per run and
    layer, and the predicted equilibrium rotation at this step's η_t; at every evaluation step (the
    trainer's eval_interval, and the last step) it appends one row per run and layer with their means
    over the steps since the last row and ‖W‖ now. `rows` is replaced, never mutated, so a reader in
    another thread always sees a complete list.
    """

    def __init__(self, trainer):
        self.every, self.total = trainer.cfg.eval_interval, trainer.cfg.steps
        self.names = list(trainer.names)
        self.layers = trainer.spec.layer_names
        self.invariant = scale_invariant(trainer.spec)
        self.schedule = trainer.opt.schedule
        hyper = trainer.opt.hyper
        lrs, wds, b1 = (hyper[k].tolist() for k in ("lr", "wd", "beta1"))
        lam = [lambda_torch(n, lr, wd) for n, lr, wd in zip(self.names, lrs, wds)]
        self._lr_lam = [lr * x if predicts_rotation(n) else math.nan for n, lr, x in zip(self.names, lrs, lam)]
        self._beta = [(1 - b) / (1 + b) for b in b1]
        self._power = [decay_power(n, trainer.opt.decay_follows_schedule) for n in self.names]
        self._weights = trainer.params[0::2]
        self._prev = [w.detach().clone() for w in self._weights]
        self._norm = torch.stack([_norms(w) for w in self._weights])            # (layers, runs), float64
        dev = self._norm.device
        self._rotation = torch.zeros_like(self._norm, device=dev)
        self._relative = torch.zeros_like(self._norm, device=dev)
        self._predicted = [0.0] * len(self.names)
        self._count = 0
        self.rows: list[dict] = self._rows(trainer.step_count) if trainer.step_count == 0 else []

    def __call__(self, trainer) -> None:
        eta = self.schedule.multiplier(trainer.step_count)
        # The angle from two float32 reductions per layer, without copies of the weights: with d = W_t − W_{t−1}
        # (exact in float32 wherever a weight changed by less than a factor 2, Sterbenz), ‖W_t‖² = ‖W_{t−1}‖² +
        # 2·W_{t−1}·d + ‖d‖², so the radial change ‖W_t‖ − ‖W_{t−1}‖ = (2·W_{t−1}·d + ‖d‖²)/(‖W_{t−1}‖ + ‖W_t‖)
        # carries only the dot product's relative error, and the chord ‖Ŵ_{t−1} − Ŵ_t‖² = (‖d‖² − radial²)/
        # (‖W_{t−1}‖·‖W_t‖) stays exact for tiny angles (1 − cos would cancel); the angle is 2·asin(chord/2),
        # as in `angle`. ‖W‖ is recomputed in float64 at every row, so it does not drift.
        size, along = [], []
        for prev, w in zip(self._prev, self._weights):
            cur = w.detach()
            d = (cur - prev).flatten(1)
            size.append(torch.linalg.vector_norm(d, dim=1))
            along.append(torch.linalg.vecdot(prev.flatten(1), d))
            prev.copy_(cur)
        dd, ad, na = torch.stack(size).double(), torch.stack(along).double(), self._norm
        grow = 2 * ad + dd * dd
        nb = (na * na + grow).clamp_min(0).sqrt()
        radial = grow / (na + nb)
        chord = ((dd * dd - radial * radial).clamp_min(0) / (na * nb)).sqrt()
        self._rotation += 2 * torch.asin((chord / 2).clamp(max=1.0))
        self._relative += dd / na
        self._norm = nb
        self._predicted = [p + math.sqrt(2 * eta ** k * x * b) if not math.isnan(x) else math.nan
                           for p, x, b, k in zip(self._predicted, self._lr_lam, self._beta, self._power)]
        self._count += 1
        t = trainer.step_count
        if t % self.every == 0 or t >= self.total:
            self._norm = torch.stack([_norms(w) for w in self._weights])
            self.rows = self.rows + self._rows(t)
            self._rotation.zero_()
            self._relative.zero_()
            self._predicted = [0.0] * len(self.names)
            self._count = 0

    def state(self) -> dict:
        """The running sums since the last row (copies): with load_state, a run handed from one process to
        another between any two steps measures on as if it never moved (W_{t−1} is the weights it gets)."""
        norm, rotation, relative = (t.detach().clone() for t in (self._norm, self._rotation, self._relative))
        return {"norm": norm, "rotation": rotation, "relative": relative, "predicted": list(self._predicted),
                "count": self._count}

    def load_state(self, saved: dict) -> None:
        self._norm, self._rotation, self._relative = (saved[k].clone() for k in ("norm", "rotation", "relative"))
        self._predicted, self._count = list(saved["predicted"]), int(saved["count"])

    def _rows(self, step: int) -> list[dict]:
        k = self._count
        norms = self._norm.cpu().tolist()
        rot, rel = (self._rotation / k).tolist() if k else None, (self._relative / k).tolist() if k else None
        out = []
        for r, name in enumerate(self.names):
            for i, layer in enumerate(self.layers):
                pred = self._predicted[r] / k if k and self.invariant[i] else math.nan
                out.append({"optimizer": name, "step": step, "layer": layer, "scale_invariant": self.invariant[i],
                            "weight_norm": norms[i][r], "rotation": rot[i][r] if k else math.nan,
                            "predicted_rotation": pred, "relative_update": rel[i][r] if k else math.nan})
        return out


def attach(trainer) -> LayerStats:
    """Measure `trainer`'s weight matrices from now on; the stats object collects the rows."""
    stats = LayerStats(trainer)
    trainer.on_step = stats
    return stats


