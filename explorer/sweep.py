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

from . import instruments
from .cost import Eta, sweep_threads, sweep_threads_now, torch_threads  # noqa: F401  (the app's API)
from .data import MAX_TRAIN, digits
from .instruments import EQUILIBRIUM_N
from .models import MODELS, forward, loss_per_run
from .optim import OPTIMIZERS
from .params import INIT_SCALES, Spec
from .schedules import SCHEDULES
from .train import TrainConfig, Trainer, default_device

PAIRS = {"adam": ("adam-l2", "adamw", "adamw-torch"), "sgd": ("sgd-l2", "sgdw")}
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
        b, big_b = self.train.batch_size, self.train.train_samples
        epochs = self.train.steps * b / big_b
        return math.sqrt(b / (big_b * epochs))


def with_corrected(cfg: SweepConfig) -> SweepConfig:
    """The sweep plus AdamW's corrected form, on the PyTorch form's λ grid (a fourth heat map)."""
    if cfg.pair != "adam" or "adamw-corrected" in cfg.optimizers:
        return cfg
    return replace(cfg, wds=cfg.wds + (("adamw-corrected", cfg.wd_grid("adamw-torch")),))


def grid_cells(cfg: SweepConfig) -> list[tuple[str, float, float]]:
    """(optimizer, lr, λ grid value) of every cell, in the run order of the batched computation."""
    return [(n, lr, wd) for n in cfg.optimizers for lr in cfg.lrs for wd in cfg.wd_grid(n)]


def seed_trainer(cfg: SweepConfig, s: int, device: str | None = None) -> Trainer:
    """The batched Trainer of seed number s (seed cfg.train.seed + s): one run per cell."""
    cells = grid_cells(cfg)
    return Trainer(replace(cfg.train, optimizers=tuple(n for n, _, _ in cells), seed=cfg.train.seed + s),
                   device, lr=[lr for _, lr, _ in cells], wd=[wd * cfg.wd_scale for _, _, wd in cells])


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
    kinds = {OPTIMIZERS[n].precond for n in cfg.optimizers}
    if len(kinds) != 1:
        raise ValueError("a sweep needs optimizers of one preconditioner (all Adam or all SGD)")
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
        for (n, lr, wd), row, k in zip(cells, tr.evaluate(), tr.diverged_runs()):
            diverged = k is not None or not math.isfinite(row["test_loss"])
            out.append({"optimizer": n, "lr": lr, "wd": wd, "seed": tr.cfg.seed,
                        "train_loss": row["train_loss"], "test_loss": row["test_loss"],
                        "test_error": 1.0 - row["test_acc"], "diverged": diverged})
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
    key = (cfg.pair, t.model, t.width, t.depth, t.init_scale, len(grid_cells(cfg)), t.batch_size,
           t.train_samples, str(dev), torch.get_num_threads())
    if key not in _CALIBRATION:
        digits(t.train_samples)                  # loaded once per process, and then cached for the sweep
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


@dataclass(frozen=True)
class Coupling:
    """How the best λ moves with lr (or another row axis): slope of log2(best λ) on log2(row value)."""
    slope: float                      # nan when fewer than two rows count
    intercept: float
    best_wd: dict[float, float]       # row (lr) → λ with the lowest seed-averaged loss (every row)
    flat_rows: tuple[float, ...]      # lrs left out: λ hardly matters (max − min < 2 % of min) or all diverged
    edge_rows: tuple[float, ...] = ()  # lrs whose best λ is the grid's first or last (left out when asked)


def coupling(frame: pd.DataFrame, optimizer: str, metric: str = "test_loss",
             flat_tolerance: float = 0.02, exclude_edges: bool = False, row: str = "lr") -> Coupling:
    """The coupling measure of issue #4, exactly: seeds averaged first; per lr row the argmin λ; rows
    where λ hardly matters are left out; least squares of log2(best λ) on log2(lr) over the rest.
    0: the best λ does not depend on lr; −1: best λ ∝ 1/lr; +1: best λ ∝ lr. Diverged cells count as +∞.
    Rows whose best λ is the grid's smallest or largest are listed in edge_rows: the true best may lie
    beyond the grid. exclude_edges leaves them out of the fit too (the regime map does; a flat row that is
    also on the edge counts as flat). row: the frame's column the rows vary along (explorer.transfer: steps,
    train_samples or batch_size at one lr); the same measure, log2(best λ) on log2 of that column.
    """
    f = frame[frame["optimizer"] == optimizer].copy()
    f.loc[f["diverged"] | ~np.isfinite(f[metric]), metric] = np.inf
    mean = f.groupby([row, "wd"])[metric].mean().unstack("wd").sort_index()
    best, flat, edge, xs, ys = {}, [], [], [], []
    for lr, row in mean.iterrows():
        vals = row.to_numpy(dtype=float)
        lo = vals.min()
        if not np.isfinite(lo):
            flat.append(lr)
            continue
        k = int(np.argmin(vals))
        best[lr] = float(row.index[k])
        if vals.max() - lo < flat_tolerance * lo:
            flat.append(lr)
            continue
        if k in (0, len(vals) - 1):
            edge.append(lr)
            if exclude_edges:
                continue
        xs.append(math.log2(lr))
        ys.append(math.log2(best[lr]))
    if len(xs) >= 2 and np.ptp(xs) > 0:
        slope, intercept = np.polyfit(xs, ys, 1)
    else:
        slope = intercept = math.nan
    return Coupling(float(slope), float(intercept), best, tuple(flat), tuple(edge))


# Each regime's prediction for the two AdamW forms' slopes (PyTorch form, paper form), and its source.
PREDICTIONS = {
    "fixed point": ((0.0, 1.0), "the weights' scale matters and the run lasts many decay timescales (N ≫ 1): "
                    "AdamW's fixed point m̂/(√v̂+ε) = −λ_torch·θ does not involve α (full-batch AdamW converges to "
                    "min f s.t. ‖θ‖∞ ≤ 1/λ_torch: Xie & Li, ICML 2024)"),
    "transient": ((-1.0, 0.0), "the start is not forgotten (N ≲ 1, or a large initial scale): the total "
                  "shrinkage Π(1 − η_t·λ_paper) decides (the EMA view of Wang & Aitchison, ICML 2025)"),
    "rotational": ((-1.0, 0.0), "scale-invariant weights at rotational equilibrium: they turn by "
                   "√(2·η_t·α·λ_torch·(1−β1)/(1+β1)) per step, a function of λ_paper = α·λ_torch only (Kosson, "
                   "Messmer & Jaggi, ICML 2024)"),
}


def regime_text(torch_slope: float, paper_slope: float, n_star: list[float], model: str) -> str:
    """Which regime's prediction the measured AdamW slopes match, each prediction with its source, and the
    decay times N behind it. No rule is stated as general: each holds in its own regime."""
    med = float(np.median(n_star))
    near = abs(torch_slope) + abs(paper_slope - 1)          # prediction: 0, +1
    far = abs(torch_slope + 1) + abs(paper_slope)           # prediction: −1, 0
    invariant = model == "mlp-ln"
    if min(near, far) > 1:
        verdict = "The slopes match **neither** prediction."
        if invariant:
            verdict += (
                " With LayerNorm the hidden weights are scale-invariant: decay does not pull them to a fixed "
                "point of the loss, it sets their effective learning rate (∝ α/‖W‖²); until they reach rotational "
                f"equilibrium (N ≳ {EQUILIBRIUM_N:g}) neither picture applies as such."
            )
    elif near <= far:
        verdict = "The slopes match the **near-equilibrium** (fixed-point) prediction: PyTorch form 0, paper form +1."
        if invariant:
            verdict += (
                " This is *not* what rotational equilibrium predicts for the LayerNorm layers (paper form 0): only "
                "the hidden layers are scale-invariant; the output layer's scale matters, and its box 1/λ_torch "
                "sets the logits' scale, which the test loss measures. The `layernorm-equilibrium` preset and "
                "the instruments of the live tab measure both."
            )
    elif invariant and med >= EQUILIBRIUM_N:
        verdict = ("The slopes match the **rotational-equilibrium** prediction for scale-invariant (LayerNorm) "
                   "weights: paper form 0, PyTorch form −1.")
    else:
        verdict = ("The slopes match the **far-from-equilibrium** (transient) prediction: paper form 0, PyTorch "
                   "form −1 — the paper's axis-aligned valley. Adam+L2 has no such law: its decay α·λ/(√v̂+ε) "
                   "runs through v̂, which moves with α and λ.")
    sources = "; ".join(f"*{name}* — slopes PyTorch {t:+g}, paper {p:+g} when {why}"
                        for name, ((t, p), why) in PREDICTIONS.items())
    return (
        f"**Regime.** At the best PyTorch-form cells a run lasts N = α·λ_torch·Ση_t = {min(n_star):.2g} … "
        f"{max(n_star):.2g} decay times (median {med:.2g}; e^−N = {np.exp(-med):.0%} of the start would "
        f"remain without gradients). Measured here: PyTorch form {torch_slope:+.2f}, paper form "
        f"{paper_slope:+.2f}. {verdict}\n\n"
        f"Each prediction holds in its own regime, none in general: {sources}."
    )


COUPLING_VISIBLE = 0.5      # |slope(L2) − slope(closest decoupled form)| from which the page says "visible"


@dataclass(frozen=True)
class Interpretation:
    """What a finished sweep says, in numbers computed from it (the page words them)."""
    slopes: dict[str, float]
    l2: str                                   # the L2 optimizer of the pair
    closest: str                              # the decoupled form whose slope is closest to 0
    gap: float                                # |slope(l2) − slope(closest)|; nan if either is nan
    coupling_visible: bool                    # gap ≥ COUPLING_VISIBLE
    forms_difference: float                   # slope(adamw) − slope(adamw-torch); nan for SGD
    eta_sum: float                            # Σ_t η_t over the run
    n_star: list[float]                       # decay times α·λ_torch·Ση_t at the best PyTorch-form cells
    regime: str                               # regime_text(…), "" when it does not apply
    best_error_by_lr: dict[float, float]      # per lr row: the best seed-averaged test error (any form)
    # with the corrected form: Ση_t / Ση_t^p (its λ that matches the PyTorch form's total decay, as a ratio)
    # and the measured median over rows of best λ corrected / best λ PyTorch form (nan without it)
    corrected_expected: float = math.nan
    corrected_measured: float = math.nan


def interpret(cfg: SweepConfig, frame: pd.DataFrame, couplings: dict[str, Coupling]) -> Interpretation:
    slopes = {n: c.slope for n, c in couplings.items()}
    l2 = "adam-l2" if cfg.pair == "adam" else "sgd-l2"
    closest = min((n for n in cfg.optimizers if n != l2),
                  key=lambda n: abs(slopes[n]) if not math.isnan(slopes[n]) else math.inf)
    gap = abs(slopes[l2] - slopes[closest])
    forms = slopes["adamw"] - slopes["adamw-torch"] if cfg.pair == "adam" else math.nan
    t = cfg.train
    eta_sum = instruments.eta_sum(t.lr_schedule, t.steps, instruments.decay_power("adamw-torch", t.decay_follows))
    n_star, regime = [], ""
    if cfg.pair == "adam" and math.isfinite(forms):
        n_star = [lr * wd * cfg.wd_scale * eta_sum for lr, wd in couplings["adamw-torch"].best_wd.items()]
        if n_star:
            regime = regime_text(slopes["adamw-torch"], slopes["adamw"], n_star, t.model)
    best = frame.groupby(["optimizer", "lr", "wd"])["test_error"].mean().groupby("lr").min()
    expected = measured = math.nan
    if "adamw-corrected" in couplings:
        corrected_sum = instruments.eta_sum(t.lr_schedule, t.steps, instruments.decay_power("adamw-corrected",
                                                                                             t.decay_follows))
        expected = eta_sum / corrected_sum if corrected_sum > 0 else math.inf
        a, b = couplings["adamw-corrected"].best_wd, couplings["adamw-torch"].best_wd
        ratios = [a[lr] / b[lr] for lr in a if lr in b]
        measured = float(np.median(ratios)) if ratios else math.nan
    return Interpretation(slopes, l2, closest, gap, bool(gap >= COUPLING_VISIBLE), forms, eta_sum, n_star,
                          regime, {float(k): float(v) for k, v in best.items()}, expected, measured)

# Measured starting points (README, "The coupling, measured", has every seed pair); slopes below are of
# the seed-averaged final test loss, seeds 0–1, Adam+L2 / paper form / PyTorch form.
_SMALL = TrainConfig(model="mlp", train_samples=300, batch_size=32, steps=1500, schedule="cosine")
PRESETS: dict[str, SweepConfig] = {
    # 300 steps: PyTorch-form AdamW's best λ is 1 in six of seven rows, Adam+L2's climbs from
    # 2^-9 … 2^-7 to 2^-5 (+0.57 / +0.71 / −0.07)
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
    # with seeds 10–11 and 20–21)
    "large-init": SweepConfig(lrs=pow2(-12, -6),
                              train=replace(_SMALL, train_samples=1200, steps=300, init_scale=8.0),
                              wds=(("adam-l2", pow2(-10, 2, 7)), ("adamw", pow2(-10, -4, 7)),
                                   ("adamw-torch", pow2(-4, 8, 7)))),
    # SGD with momentum 0.9 (SGD+L2 +0.43, SGDW +1.29)
    "sgd": SweepConfig(pair="sgd", lrs=pow2(-8, -2), train=_SMALL,
                       wds=(("sgd-l2", pow2(-15, -3, 7)), ("sgdw", pow2(-17, -5, 7)))),
}


# The sweep view's parameters (CLI: python -m explorer sweep). None = the preset's value.
SWEEP: dict[str, Spec] = {s.name: s for s in (
    Spec("preset", "coupling", "a measured starting point (see README)", kind="choice", choices=tuple(PRESETS)),
    Spec("pair", None, "adam: Adam+L2, AdamW (paper form), AdamW (PyTorch form); sgd: SGD+L2, SGDW "
         "(default: the preset's)",
         kind="choice", choices=("adam", "sgd"), widget="radio"),
    Spec("lrs", None, "comma-separated learning rates (default: the preset's, 2^-8 … 2^-2)", kind="floats",
         lo=0.0, lo_open=True),
    Spec("wds", None, "comma-separated λ values used by every optimizer as its own λ (default: the "
         "preset's grid per optimizer)", kind="floats", lo=0.0, lo_open=True),
    Spec("steps", None, "updates per run (default: the preset's, 300)", kind="int", lo=1, hi=200_000),
    Spec("seeds", None, "seeds averaged before the argmin (default: the preset's, 2)", kind="int", lo=1,
         hi=20),
    Spec("model", None, "default: the preset's", kind="choice", choices=tuple(MODELS)),
    Spec("init_scale", None, "initial weight matrices × k (default: the preset's)", lo=0.0, lo_open=True,
         hi=64.0, options=INIT_SCALES),
    Spec("train_samples", None, "training digits used (default: the preset's, 300)", kind="int", lo=10,
         hi=MAX_TRAIN),
    Spec("batch_size", None, "mini-batch size (default: the preset's, 32)", kind="int", lo=1, hi=MAX_TRAIN),
    Spec("schedule", None, "schedule multiplier η_t (default: the preset's, cosine)", kind="choice",
         choices=SCHEDULES),
    Spec("warmup", None, "linear warm-up steps before the schedule (default: the preset's, 0)", kind="int", lo=0,
         hi=200_000),
    Spec("decay_follows", None, "true: decoupled decay follows the schedule (η_t; η_t² corrected); false: "
         "constant decay (default: the preset's, true)", kind="bool"),
    Spec("seed", None, "first seed; seeds are seed, seed+1, … (default 0)", kind="int", lo=0, hi=2**31 - 1),
)}
