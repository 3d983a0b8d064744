"""lr × λ grids (the paper's Figures 1–2) and the coupling measure.

Every cell is a full training run; all cells of all optimizers of one preconditioner train together
as one batched computation (the run dimension), on the same data, initial weights and batches.
"""
from __future__ import annotations

import contextlib
import inspect
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import torch

from explorer.core.forms import OPTIMIZERS, Decay, decoupled_forms
from explorer.core.models import forward, loss_per_run
from explorer.runs.cost import Eta, sweep_threads, sweep_threads_now, torch_threads  # noqa: F401  (the app's API)
from explorer.runs.train import TrainConfig, Trainer, default_device

COLUMNS = ["optimizer", "lr", "wd", "seed", "train_loss", "test_loss", "test_error", "diverged"]


def pow2(lo: int, hi: int, n: int | None = None) -> tuple[float, ...]:
    """n values 2^lo … 2^hi, evenly spaced in log2 (n = hi − lo + 1 by default)."""
    n = n or hi - lo + 1
    return tuple(float(2.0 ** e) for e in np.linspace(lo, hi, n))


@dataclass(frozen=True)
class SweepConfig:
    pair: str = "adam"
    lrs: tuple[float, ...] = pow2(-8, -2)
    # each optimizer's own λ grid (the L2 coefficient, or the decoupled rate of its form)
    wds: tuple[tuple[str, tuple[float, ...]], ...] = (
        ("adam-l2", pow2(-13, -1, 7)), ("adamw", pow2(-13, -1, 7)), ("adamw-torch", pow2(-6, 6, 7)))
    seeds: int = 2
    normalized: bool = False        # wds are λ_norm; the run uses λ = λ_norm·√(b/(B·T)) (App. B.1)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(train_samples=300, steps=300))

    @property
    def optimizers(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.wds)

    def wd_grid(self, name: str) -> tuple[float, ...]:
        return dict(self.wds)[name]

    @property
    def wd_scale(self) -> float:
        """λ = λ_norm·√(b/(B·T)): b batch size, B training points, T epochs (= steps·b/B)."""
        if not self.normalized:
            return 1.0
        b, big_b = self.train.batch_size, self.train.train_count
        epochs = self.train.steps * b / big_b
        return math.sqrt(b / (big_b * epochs))


def with_extra_forms(cfg: SweepConfig) -> SweepConfig:
    """The sweep plus its pair's decoupled forms that are not among its default heat maps (today AdamW's corrected
    form), each on the λ grid of the swept form whose λ is scaled by α alike (the corrected form: the PyTorch
    form's)."""
    extra = [OPTIMIZERS[n] for n in decoupled_forms(cfg.pair) if n not in cfg.optimizers]
    grids = {OPTIMIZERS[n].scaled: g for n, g in cfg.wds if OPTIMIZERS[n].decay is Decay.DECOUPLED}
    added = tuple((f.name, grids[f.scaled]) for f in extra if f.scaled in grids)
    return replace(cfg, wds=cfg.wds + added) if added else cfg


def grid_cells(cfg: SweepConfig) -> list[tuple[str, float, float]]:
    """(optimizer, lr, λ grid value) of every cell, in the run order of the batched computation."""
    return [(n, lr, wd) for n in cfg.optimizers for lr in cfg.lrs for wd in cfg.wd_grid(n)]


def seed_trainer(cfg: SweepConfig, s: int, device: str | None = None, runs: slice = slice(None)) -> Trainer:
    """The batched Trainer of seed number s (seed cfg.train.seed + s): one run per cell, or per cell of the
    grid_cells(cfg)[runs] (a part of the grid: explorer.runs.chunks)."""
    cells = grid_cells(cfg)[runs]
    return Trainer(replace(cfg.train, optimizers=tuple(n for n, _, _ in cells), seed=cfg.train.seed + s),
                   device, lr=[lr for _, lr, _ in cells], wd=[wd * cfg.wd_scale for _, _, wd in cells])


def trained_rows(tr: Trainer, cells: list[tuple[str, float, float]]) -> list[dict]:
    """One row (COLUMNS) per run of a trained seed_trainer, whose cells are `cells`."""
    out = []
    for (n, lr, wd), row, k in zip(cells, tr.evaluate(), tr.diverged_runs(), strict=True):
        diverged = k is not None or not math.isfinite(row["test_loss"])
        out.append({"optimizer": n, "lr": lr, "wd": wd, "seed": tr.cfg.seed,
                    "train_loss": row["train_loss"], "test_loss": row["test_loss"],
                    "test_error": 1.0 - row["test_acc"], "diverged": diverged})
    return out


def _caller(progress: Callable | None) -> Callable[[float, float | None], None] | None:
    """progress as a two-argument callable; one taking a single argument gets the fraction only."""
    if progress is None:
        return None
    try:
        inspect.signature(progress).bind(0.0, None)
        return progress
    except TypeError:
        return lambda fraction, seconds_left: progress(fraction)
    except ValueError:                       # no signature (a builtin): assume the new form
        return progress


def check_sweep(cfg: SweepConfig) -> None:
    """ValueError (one line) for a grid one batched computation cannot train."""
    if len({OPTIMIZERS[n].precond for n in cfg.optimizers}) != 1:
        raise ValueError("a sweep needs optimizers of one preconditioner (all Adam or all SGD)")


def run_sweep(cfg: SweepConfig, device: str | None = None,
              progress: Callable[[float, float | None], None] | Callable[[float], None] | None = None,
              prior_seconds: float | None = None) -> pd.DataFrame:
    """Train every (optimizer, lr, λ) cell for every seed; one row per cell and seed (COLUMNS).

    `wd` in the result is the grid value (λ_norm when cfg.normalized). progress(fraction, seconds_left)
    is called every 25 steps; seconds_left comes from the steady step rate (the trainer's setup and the
    first chunk are not counted), before that from prior_seconds (e.g. estimate_seconds(cfg)) or None.
    A progress taking one argument gets the fraction only. An exception raised in progress (a cancel)
    stops the sweep.
    """
    check_sweep(cfg)
    report = _caller(progress)
    cells = grid_cells(cfg)
    out = []
    total = cfg.seeds * cfg.train.steps
    eta = Eta(total, prior_seconds)
    for s in range(cfg.seeds):
        tr = seed_trainer(cfg, s, device)
        chunk = 25
        while not tr.done:
            tr.step(chunk)
            if report:
                done = s * cfg.train.steps + tr.step_count
                report(done / total, eta.update(done))
        out += trained_rows(tr, cells)
    return pd.DataFrame(out, columns=COLUMNS)


# (pair, model, width, depth, init scale, runs, batch, train samples, device, threads) →
# (seconds to build a seed's Trainer, seconds per step, seconds to evaluate)
_CALIBRATION: dict[tuple, tuple[float, float, float]] = {}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def calibrate(cfg: SweepConfig, device: str | None = None) -> tuple[float, float, float]:
    """(setup, step, evaluation) seconds of one seed's batched Trainer for cfg's sizes, measured on the
    real Trainer at the current torch thread count: 2 warm-up steps, then the fastest of 5 steps (a
    busy machine slows every step alike; a burst of other work only some, and is not the sweep's rate).
    Cached per sizes, so the app pays it once per kind of sweep."""
    t = cfg.train
    dev = torch.device(device or default_device())
    spec = t.model_spec       # your data's sizes, not its digest: a calibration is a time, and holds no data
    key = (cfg.pair, t.model, t.width, t.depth, t.init_scale, len(grid_cells(cfg)), t.batch_size,
           t.train_count, spec.inputs, spec.classes, 0 if t.data is None else len(t.data.y_test), str(dev),
           torch.get_num_threads())
    if key not in _CALIBRATION:
        t.dataset()                              # digits: loaded once per process, and then cached for the sweep
        probe = replace(cfg, train=replace(t, steps=max(t.steps, 7)))
        t0 = time.perf_counter()
        tr = seed_trainer(probe, 0, str(dev))
        _sync(dev)
        setup = time.perf_counter() - t0
        tr.step(2)
        _sync(dev)
        steps = []
        for _ in range(5):
            t0 = time.perf_counter()
            tr.step(1)
            _sync(dev)
            steps.append(time.perf_counter() - t0)
        # evaluation = two forward passes over all the data; timed on an eighth of the runs and scaled,
        # since it costs as much as ~10 steps and the calibration must stay cheap
        k = max(1, len(tr.names) // 8)
        part = [p.detach()[:k] for p in tr.params]
        t0 = time.perf_counter()
        with torch.no_grad():
            for x, y in ((tr.data.x_train, tr.data.y_train), (tr.data.x_test, tr.data.y_test)):
                loss_per_run(forward(tr.spec, part, x), y)
        _sync(dev)
        evaluation = (time.perf_counter() - t0) * len(tr.names) / k
        _CALIBRATION[key] = (setup, min(steps), evaluation)
    return _CALIBRATION[key]


def estimate_seconds(cfg: SweepConfig, device: str | None = None, threads: int | None = None) -> float:
    """Expected seconds of run_sweep(cfg, device) with torch using `threads` threads (default: the
    current count): seeds × (setup + steps × seconds per step + evaluation), from calibrate()."""
    with contextlib.nullcontext() if threads is None else torch_threads(threads):
        setup, step, evaluation = calibrate(cfg, device)
    return cfg.seeds * (setup + cfg.train.steps * step + evaluation)


# Measured starting points (docs/science.md, "The coupling, measured", has every seed pair); slopes below are of
# the seed-averaged final test loss, seeds 0–1, Adam+L2 / paper form / PyTorch form; where a preset's robust version
# ships, also the median [range] over the 12 variants of explorer.runs.variants (seeds, batch order, init stream).
_SMALL = TrainConfig(model="mlp", train_samples=300, batch_size=32, steps=1500, schedule="cosine")
PRESETS: dict[str, SweepConfig] = {
    # 300 steps: PyTorch-form AdamW's best λ is 1 in six of seven rows, Adam+L2's climbs from
    # 2^-9 … 2^-7 to 2^-5 (+0.57 / +0.71 / −0.07). Over the variants: +0.57 [+0.36, +0.79] / +0.79 [+0.57, +1.00] /
    # −0.04 [−0.21, +0.00]: Adam+L2 tilts and the PyTorch form stays put in every variant (the fixed-point regime
    # holds throughout), but their gap is below the page's 0.5 in 1 of 12 (0.36): "visible" is not claimed there
    "coupling": SweepConfig(),
    # the setting: 1500 steps at lr 2^-12 … 2^-6 (−0.36 / +1.21 / +0.21)
    "long-runs": SweepConfig(lrs=pow2(-12, -6), train=_SMALL,
                             wds=(("adam-l2", pow2(-15, -3, 7)), ("adamw", pow2(-17, -5, 7)),
                                  ("adamw-torch", pow2(-7, 5, 7)))),
    # scale-invariant hidden layers (−1.00 / +2.36 / +1.57)
    "layernorm": SweepConfig(lrs=pow2(-12, -6), train=replace(_SMALL, model="mlp-ln"),
                             wds=(("adam-l2", pow2(-15, -3, 7)), ("adamw", pow2(-21, -3, 7)),
                                  ("adamw-torch", pow2(-10, 2, 7)))),
    # scale-invariant hidden layers at equilibrium: lr 2^-6 … 2^0, so the best cells last N = 12 … 750 decay
    # timescales (measured, seeds 0–1 and 10–11 on a wider grid: PyTorch form 0.00 / −0.21, paper +0.79 / +0.79)
    "layernorm-equilibrium": SweepConfig(lrs=pow2(-6, 0), train=replace(_SMALL, model="mlp-ln"),
                                         wds=(("adam-l2", pow2(-14, -2, 7)), ("adamw", pow2(-9, 3, 7)),
                                              ("adamw-torch", pow2(-6, 6, 7)))),
    # far from equilibrium: initial weights ×8, so the decay's job is to remove a large random start,
    # which takes a fixed total shrinkage λ_paper·Ση_t whatever α is (+0.29 / +0.00 / −1.00, the same
    # with seeds 10–11 and 20–21; over the 12 variants +0.29 [+0.29, +0.43] / +0.00 [+0.00, +0.04] / −1.00 [−1.00,
    # −1.00]: the transient regime survives every variant, an L2 gap of 0.5 none)
    "large-init": SweepConfig(lrs=pow2(-12, -6),
                              train=replace(_SMALL, train_samples=1200, steps=300, init_scale=8.0),
                              wds=(("adam-l2", pow2(-10, 2, 7)), ("adamw", pow2(-10, -4, 7)),
                                   ("adamw-torch", pow2(-4, 8, 7)))),
    # SGD with momentum 0.9 (SGD+L2 +0.43, SGDW +1.29)
    "sgd": SweepConfig(pair="sgd", lrs=pow2(-8, -2), train=_SMALL,
                       wds=(("sgd-l2", pow2(-15, -3, 7)), ("sgdw", pow2(-17, -5, 7)))),
}


