"""One decay, four spellings: convert a decoupled-decay coefficient between the forms libraries use.

Every decoupled form shrinks the weights by a factor (1 − r_t) per step, r_t = λ·α^a·η_t^b:

    paper     (Loshchilov & Hutter, Algorithm 2)          r_t = η_t·λ          a = 0, b = 1
    PyTorch   (torch.optim.AdamW, optax, Keras)            r_t = η_t·α·λ        a = 1, b = 1
    corrected (Defazio 2025 "AdamC", timm corrected wd)    r_t = η_t²·α·λ       a = 1, b = 2
    Composer  (MosaicML DecoupledAdamW: lr_t/lr_0·λ)       r_t = η_t·λ          a = 0, b = 1

(α: the peak learning rate, η_t: the schedule's multiplier, so lr_t = α·η_t.) Two forms with the same b
give the same update at every step when their λ·α^a agree. Across different b (the corrected form) no λ
makes every step equal under a varying schedule; the converter then matches the total decay
N = Σ_t r_t (the number of decay timescales the run lasts) and says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from explorer.core.fmt import fmt
from explorer.core.forms import OPTIMIZERS, decoupled_forms
from explorer.core.measures import NEGLIGIBLE_N
from explorer.core.schedules import Schedule


@dataclass(frozen=True)
class Convention:
    """How a library writes λ: the shrink per step r_t = α^lr_power·η_t^eta_power·λ."""
    name: str
    label: str
    rate: str           # the shrink per step, as text
    lr_power: int       # a: α's power in r_t
    eta_power: int      # b: η_t's power in r_t


def _conventions() -> dict[str, Convention]:
    """Every decoupled Adam form of the registry, then Composer's (the paper's form written as lr_t/lr_0·λ)."""
    forms = [OPTIMIZERS[n] for n in decoupled_forms("adam")]
    out = [Convention(f.name, f.library, f.rate, int(f.scaled), f.eta_power) for f in forms]
    out.append(Convention("composer", "Composer DecoupledAdamW", "η_t·λ (lr_t/lr_0·λ)", 0, 1))
    return {c.name: c for c in out}


CONVENTIONS: dict[str, Convention] = _conventions()


@dataclass(frozen=True)
class Conversion:
    source: str
    lr: float
    wd: float
    steps: int
    steps_per_epoch: float
    n: float                    # decay timescales the run lasts (the same for every row)
    table: pd.DataFrame         # one row per form
    eta: np.ndarray             # the schedule's multipliers η_1 … η_steps

    @property
    def surviving(self) -> float:
        return math.exp(-self.n)

    @property
    def negligible(self) -> bool:
        return self.n < NEGLIGIBLE_N

    def warning(self) -> str:
        if not self.negligible:
            return ""
        return (f"N = {self.n:.3g}: the decay acts for {self.n:.3g} of its timescales over this run, so "
                f"{self.surviving:.1%} of the initial weights survive it; at these settings λ barely matters. "
                f"Raise λ or α, or train longer.")


def convert(source: str, lr: float, wd: float, steps: int, schedule: Schedule | None = None,
            steps_per_epoch: float = 1.0) -> Conversion:
    """λ in every form for the decay `wd` in form `source` at peak learning rate `lr` over `steps` steps."""
    if source not in CONVENTIONS:
        raise ValueError(f"unknown form {source!r}; choose from {', '.join(CONVENTIONS)}")
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if not (wd >= 0 and math.isfinite(wd)):
        raise ValueError(f"wd must be a finite number ≥ 0, got {wd!r}")
    if steps < 1 or steps_per_epoch <= 0:
        raise ValueError("steps must be ≥ 1 and steps per epoch > 0")
    eta = np.asarray(schedule.multipliers(steps) if schedule else [1.0] * steps, dtype=np.float64)
    sums = {b: math.fsum(eta ** b) for b in (1, 2)}
    src = CONVENTIONS[source]
    n = wd * lr ** src.lr_power * sums[src.eta_power]
    rows = []
    for f in CONVENTIONS.values():
        scale = lr ** f.lr_power * sums[f.eta_power]
        lam = n / scale if scale > 0 else math.nan
        peak = lam * lr ** f.lr_power                      # r_t at η_t = 1
        tau = 1 / peak if peak > 0 else math.inf
        same = "every step" if f.eta_power == src.eta_power else "same N"
        if (eta == eta[0]).all():
            same = "every step"                             # a constant schedule: η_t^b is η^b throughout
        rows.append({"form": f.name, "library": f.label, "shrink": f.rate, "lam": lam,
                     "tau_steps": tau, "tau_epochs": tau / steps_per_epoch, "N": n, "surviving": math.exp(-n),
                     "equal": same})
    return Conversion(source, lr, wd, steps, steps_per_epoch, n, pd.DataFrame(rows), eta)


def convert_params(p: dict) -> Conversion:
    """convert() from the converter's parameters (explorer.interface.params.CONVERT: the CLI's and the panel's)."""
    per_epoch = p["train_samples"] / min(p["batch_size"], p["train_samples"])
    return convert(p["source"], p["lr"], p["wd"], int(p["steps"]), schedule_of(p), per_epoch)


def schedule_of(p: dict) -> Schedule:
    steps = int(p["steps"])
    return Schedule(p["schedule"], total_steps=steps, t0=max(1, steps // 5), t_mult=2)


def survival(c: Conversion, points: int = 400) -> pd.DataFrame:
    """Share of the initial weights each form has left after t steps, Π(1 − r_t) (gradients aside), at up
    to `points` steps: columns form, step, surviving. Forms with the same η_t power coincide."""
    eta = c.eta
    steps = np.unique(np.linspace(0, c.steps, min(points, c.steps + 1)).round().astype(int))
    out = []
    for r in c.table.itertuples():
        f = CONVENTIONS[r.form]
        rate = r.lam * c.lr ** f.lr_power * eta ** f.eta_power
        left = np.concatenate([[1.0], np.cumprod(1 - rate)])
        out.append(pd.DataFrame({"form": f"{f.name}: {f.rate}", "step": steps, "surviving": left[steps]}))
    return pd.concat(out, ignore_index=True)


def report(c: Conversion, schedule: str) -> str:
    """The CLI's text: the decay's N and e^-N, then one row per form."""
    src = CONVENTIONS[c.source]
    lines = [f"λ = {fmt(c.wd)} in the {src.label} form (shrink {src.rate} per step), α = {fmt(c.lr)}, "
             f"{c.steps} steps, {schedule}: the decay lasts N = {c.n:.4g} timescales; "
             f"e^-N = {c.surviving:.1%} of the initial weights survive it.",
             f"{'form':<16} {'λ':>11} {'shrink per step':<20} {'τ (steps)':>11} {'τ (epochs)':>11}  equal to yours"]
    lines += [f"{r.form:<16} {r.lam:>11.4g} {r.shrink:<20} {r.tau_steps:>11.4g} {r.tau_epochs:>11.4g}  {r.equal}"
              for r in c.table.itertuples()]
    return "\n".join(lines)
