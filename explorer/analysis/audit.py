"""The decay audit: which of a model's parameter tensors the decay reaches, what three common grouping rules would
decide, and whether the decay can act at all.

One row per parameter tensor (`model.named_parameters()`: a tied weight once):

    kind             from the module that owns it: linear weight, conv weight, bias, norm gain, norm bias,
                     embedding, other (a bare nn.Parameter, an attention's packed projection …)
    decayed          under your grouping (`no_decay`): the decay reaches it
    dim_rule         nanoGPT's: decay the tensors with ≥ 2 dimensions
    timm_rule        timm's param_groups_weight_decay: no decay where param.ndim <= 1 or the name ends in
                     ".bias" or the model's no_weight_decay() lists it
    name_rule        transformers' Trainer (get_decay_parameter_names): no decay inside an nn.LayerNorm (by
                     module type), nor where the lower-cased name matches NAME_PATTERNS
    shrink_per_step  the factor a decayed weight is multiplied by per step at η_t = 1, with a zero gradient:
                     1 − α·λ (PyTorch and corrected forms), 1 − λ (paper form, SGDW), 1 − α·λ for SGD+L2
                     (its λθ passes through the step unscaled; with momentum μ it builds up to α·λ/(1−μ)),
                     empty for Adam+L2 (λθ is divided by √v̂+ε per weight: no single factor), 1 where no decay
    N                the decay timescales the run lasts, α·λ_torch·Σ_t η_t^p (explorer.core.measures)
    warning          the decay is lost to rounding, the run is shorter than a tenth of a timescale, or a norm
                     gain, a bias or an embedding is decayed
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import pandas as pd
import torch
from torch import nn

from explorer.analysis.convert import schedule_of
from explorer.core.fmt import fmt
from explorer.core.forms import OPTIMIZERS, Decay, Precond, decoupled_shrink
from explorer.core.grouping import (  # noqa: F401
    RULES,
    Grouping,
    dim_rule,
    grouping,
    is_norm,
    listed_names,
    name_rule,
    rule_function,
    timm_rule,
)
from explorer.core.grouping import owners as owners_of
from explorer.core.measures import NEGLIGIBLE_N, decay_power, eta_sum, timescale
from explorer.core.schedules import Schedule

COLUMNS = ["parameter", "shape", "numel", "dtype", "trainable", "kind", "decayed", "dim_rule", "timm_rule",
           "name_rule", "rules_disagree", "shrink_per_step", "N", "warning"]
# what common recipes leave out of the decay, and who does
SPARED = {"norm gain": "common recipes spare it", "norm bias": "common recipes spare it",
          "bias": "common recipes spare it",
          "embedding": "minGPT spares embeddings; nanoGPT, timm and transformers decay them"}
WARNINGS = {"rounds": "decay lost to rounding", "short": f"N < {NEGLIGIBLE_N}",
            "spared": "norm gain, bias or embedding decayed"}


def kind_of(module: nn.Module, leaf: str) -> str:
    """What a parameter is, from the module that owns it and its own name there."""
    if is_norm(module):
        return {"weight": "norm gain", "bias": "norm bias"}.get(leaf, "other")
    if leaf == "bias" or leaf.endswith("_bias"):
        return "bias"
    if leaf != "weight" and not (isinstance(module, nn.MultiheadAttention) and leaf.endswith("_weight")):
        return "other"
    if isinstance(module, (nn.Linear, nn.Bilinear, nn.MultiheadAttention)):
        return "linear weight"
    if isinstance(module, nn.modules.conv._ConvNd):
        return "conv weight"
    if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
        return "embedding"
    return "other"


def decay_rate(optimizer: str, lr: float, wd: float) -> float | None:
    """The shrink per step at η_t = 1 with a zero gradient (the factor is 1 − this): the decoupled forms' own rate,
    α·λ for SGD+L2, 0 without a decay; None for Adam+L2 (its λθ is preconditioned: no single rate)."""
    form = OPTIMIZERS[optimizer]
    if form.decay is Decay.DECOUPLED:
        return decoupled_shrink(optimizer, lr, wd)
    if form.decay is Decay.L2:
        return lr * wd if form.precond is Precond.SGD else None
    return 0.0


def lost_in(rate: float, dtype: torch.dtype) -> bool:
    """Whether 1 − rate rounds to 1 in this dtype: every weight is then multiplied by exactly 1 (torch.optim
    multiplies the parameter by the Python float 1 − lr·wd, rounded to the parameter's precision)."""
    return rate > 0 and bool(torch.tensor(1.0 - rate, dtype=torch.float64).to(dtype) == 1)


def _rounding(rate: float, dtype: torch.dtype) -> str:
    name = str(dtype).removeprefix("torch.")
    if not dtype.is_floating_point or dtype == torch.float64:
        return ""
    if lost_in(rate, torch.float32):
        also = "" if dtype == torch.float32 else f" (and so in {name})"
        return f"1 − {rate:.3g} rounds to 1 in float32{also}, so the decay does nothing"
    if lost_in(rate, dtype):
        return f"1 − {rate:.3g} rounds to 1 in {name}, so the decay does nothing (float32 master weights keep it)"
    return ""


@dataclass(frozen=True)
class Audit:
    table: pd.DataFrame          # one row per parameter tensor, COLUMNS
    optimizer: str
    lr: float
    wd: float
    steps: int | None
    schedule: str
    grouping: str                # your grouping, in words
    rate: float | None           # the shrink per step at η_t = 1 (decay_rate)
    notes: tuple[tuple[str, str, str], ...]     # (parameter, kind of warning: a key of WARNINGS, its text)

    @property
    def counts(self) -> dict[str, int]:
        """Tensors warned, by kind of warning (WARNINGS)."""
        return {k: sum(kind == k for _, kind, _ in self.notes) for k in WARNINGS}

    def to_csv(self, path_or_buf=None, **kw):
        """The table as CSV (pandas' to_csv: a path, a buffer, or None for the text)."""
        kw = {"index": False, "float_format": "%.10g", "lineterminator": "\n", **kw}
        return self.table.to_csv(path_or_buf, **kw)

    @property
    def summary(self) -> str:
        return summary(self)


def _row(name: str, p: torch.Tensor, owner: nn.Module, in_ln: bool, listed, leave_out, decays: bool,
         rate: float | None, ts) -> tuple[dict, dict[str, str]]:
    """The tensor's row, and its warnings by kind (keys of WARNINGS)."""
    rules = {"dim_rule": dim_rule(name, p), "timm_rule": timm_rule(name, p, listed),
             "name_rule": name_rule(name, p, in_ln)}
    kind = kind_of(owner, name.rpartition(".")[2])
    decayed = decays and p.requires_grad and not leave_out(name, p)
    notes = {}
    if decayed and rate is not None and (text := _rounding(rate, p.dtype)):
        notes["rounds"] = text
    if decayed and ts is not None and ts.negligible:
        notes["short"] = f"N = {ts.n:.3g} < {NEGLIGIBLE_N} decay timescales over the run, so λ barely acts"
    if decayed and kind in SPARED:
        notes["spared"] = f"{kind} decayed ({SPARED[kind]})"
    shrink = 1.0 if not decayed else 1.0 - rate if rate is not None else math.nan
    row = {"parameter": name, "shape": "x".join(map(str, p.shape)) or "scalar", "numel": p.numel(),
           "dtype": str(p.dtype).removeprefix("torch."), "trainable": p.requires_grad, "kind": kind,
           "decayed": decayed, **rules, "rules_disagree": len(set(rules.values())) > 1, "shrink_per_step": shrink,
           "N": ts.n if decayed and ts is not None else math.nan, "warning": "; ".join(notes.values())}
    return row, notes





def audit(model: nn.Module, lr: float = 1e-3, wd: float = 1e-2, optimizer: str = "adamw-torch",
          schedule: str | Schedule = "constant", steps: int | None = None,
          no_decay: str | Iterable[str] | Grouping = "none") -> Audit:
    """Audit the decay of every parameter tensor of `model` under `optimizer` (a name of OPTIMIZERS) at peak
    learning rate `lr`, decay `wd`, for `steps` steps of `schedule` (N is checked only with `steps`), with the
    tensors `no_decay` names left out (see `grouping`). The defaults are torch.optim.AdamW's."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"audit needs a torch.nn.Module, got {type(model).__name__}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
    if not (lr > 0 and math.isfinite(lr)) or not (wd >= 0 and math.isfinite(wd)):
        raise ValueError(f"lr must be a finite number > 0 and wd ≥ 0, got lr={lr!r}, wd={wd!r}")
    if steps is not None and steps < 1:
        raise ValueError(f"steps must be ≥ 1, got {steps!r}")
    described, rule = grouping(no_decay)
    if isinstance(schedule, str):              # as the converter reads a schedule's name
        schedule = schedule_of({"schedule": schedule, "steps": steps or 1})
    listed, owners = listed_names(model), owners_of(model)
    leave_out = rule_function(rule, listed, owners)
    rate = decay_rate(optimizer, lr, wd)
    ts = None if steps is None else timescale(optimizer, lr, wd, eta_sum(schedule, steps, decay_power(optimizer)), 1)
    decays = OPTIMIZERS[optimizer].decay is not Decay.NONE and wd > 0
    rows = [_row(n, p, *owners[n], listed, leave_out, decays, rate, ts) for n, p in model.named_parameters()]
    table = pd.DataFrame([r for r, _ in rows], columns=COLUMNS)
    notes = tuple((r["parameter"], k, text) for r, found in rows for k, text in found.items())
    return Audit(table, optimizer, lr, wd, steps, schedule.kind, described, rate, notes)


def summary(a: Audit) -> str:
    """A few lines: the settings, how many tensors and weights each rule decays, the disagreements, the warnings."""
    t = a.table
    form = OPTIMIZERS[a.optimizer]
    shrink = ("no single factor: Adam divides λθ by √v̂+ε per weight" if a.rate is None else
              f"factor {1 - a.rate:.10g} per step at η_t = 1")
    run = f", {a.steps} steps ({a.schedule})" if a.steps else ""
    lines = [f"{form.label}, α = {fmt(a.lr)}, λ = {fmt(a.wd)}{run}: {shrink}.",
             f"Your grouping: {a.grouping}.",
             f"{'rule':<8} {'tensors decayed':>16} {'weights decayed':>22}"]
    total, weights = len(t), int(t.numel.sum())
    for label, col in (("yours", "decayed"), ("dim", "dim_rule"), ("timm", "timm_rule"), ("name", "name_rule")):
        n, k = int(t[col].sum()), int(t.numel[t[col].astype(bool)].sum())
        share = f"{k / weights:.1%}" if weights else "-"
        lines.append(f"{label:<8} {f'{n}/{total}':>16} {f'{k:,}/{weights:,}':>15} {share:>6}")
    split = t.parameter[t.rules_disagree].tolist()
    lines.append(f"The rules disagree on {len(split)} tensor(s)" + (": " + ", ".join(_few(split)) if split else "."))
    if a.steps is None:
        lines.append("N (decay timescales over the run) not checked: give the run's steps.")
    warned = t.parameter[t.warning != ""]
    counts = ", ".join(f"{WARNINGS[k]}: {v}" for k, v in a.counts.items() if v)
    lines.append(f"Warnings on {len(warned)} tensor(s)" + (f" ({counts}):" if counts else "."))
    texts: dict[str, list[str]] = {}
    for name, _, text in sorted(a.notes, key=lambda n: list(WARNINGS).index(n[1])):
        texts.setdefault(text, []).append(name)
    lines += [f"  {text}: {', '.join(_few(names))}" for text, names in texts.items()]
    return "\n".join(lines)


def _few(names: list[str], k: int = 8) -> list[str]:
    return names if len(names) <= k else names[:k] + [f"… {len(names) - k} more"]
