"""Reading an lr × λ sweep: the coupling slope of each form's best λ on α, and what it says."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from explorer.analysis.predictions import REGIMES, distance
from explorer.core import measures
from explorer.core.forms import OPTIMIZERS
from explorer.core.measures import EQUILIBRIUM_N
from explorer.runs.cost import Eta, sweep_threads, sweep_threads_now, torch_threads  # noqa: F401  (the app's API)
from explorer.runs.sweep import SweepConfig


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


def regime_text(torch_slope: float, paper_slope: float, n_star: list[float], model: str) -> str:
    """Which regime's prediction the measured AdamW slopes match, each prediction with its source, and the
    decay times N behind it. No rule is stated as general: each holds in its own regime."""
    med = float(np.median(n_star))
    measured = {"adamw-torch": torch_slope, "adamw": paper_slope}
    near = distance(REGIMES["fixed point"], measured)
    far = distance(REGIMES["transient"], measured)
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
    def said(p) -> str:
        slopes = ", ".join(f"{OPTIMIZERS[n].short} {s:+g}" for n, s in p.slopes.items())
        return f"*{p.name}* — slopes {slopes} when {p.source}"

    sources = "; ".join(said(p) for p in REGIMES.values())
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
    eta_sum = measures.eta_sum(t.lr_schedule, t.steps, measures.decay_power("adamw-torch", t.decay_follows))
    n_star, regime = [], ""
    if cfg.pair == "adam" and math.isfinite(forms):
        n_star = [lr * wd * cfg.wd_scale * eta_sum for lr, wd in couplings["adamw-torch"].best_wd.items()]
        if n_star:
            regime = regime_text(slopes["adamw-torch"], slopes["adamw"], n_star, t.model)
    best = frame.groupby(["optimizer", "lr", "wd"])["test_error"].mean().groupby("lr").min()
    expected = measured = math.nan
    if "adamw-corrected" in couplings:
        corrected_sum = measures.eta_sum(t.lr_schedule, t.steps, measures.decay_power("adamw-corrected",
                                                                                             t.decay_follows))
        expected = eta_sum / corrected_sum if corrected_sum > 0 else math.inf
        a, b = couplings["adamw-corrected"].best_wd, couplings["adamw-torch"].best_wd
        ratios = [a[lr] / b[lr] for lr in a if lr in b]
        measured = float(np.median(ratios)) if ratios else math.nan
    return Interpretation(slopes, l2, closest, gap, bool(gap >= COUPLING_VISIBLE), forms, eta_sum, n_star,
                          regime, {float(k): float(v) for k, v in best.items()}, expected, measured)
