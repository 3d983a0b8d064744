"""Which of a model's parameter tensors the decay reaches: your grouping (`no_decay`) and the three common rules
(nanoGPT's, timm's, transformers' Trainer's) as their code reads. The audit reports them; a sweep of your own
model trains with them (one table for both).
"""
from __future__ import annotations

import re
from typing import Callable, Iterable

import torch
from torch import nn

RULES = {
    "none": "every parameter decays (AdamW(model.parameters(), weight_decay=λ))",
    "dim": "tensors with ≥ 2 dimensions decay (nanoGPT)",
    "timm": "no decay for 1-D tensors, biases and model.no_weight_decay() (timm)",
    "name": "no decay inside nn.LayerNorm nor for bias/norm names (transformers' Trainer)",
}
# transformers' Trainer.get_decay_parameter_names: searched in the lower-cased full name
NAME_PATTERNS = (r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)")
_NAME_RES = tuple(re.compile(p) for p in NAME_PATTERNS)
NORMS = (nn.LayerNorm, nn.GroupNorm, nn.RMSNorm, nn.modules.batchnorm._NormBase)   # _NormBase: BatchNorm, InstanceNorm


def is_norm(module: nn.Module) -> bool:
    """torch's norm layers, and any class whose name ends in "Norm" (LlamaRMSNorm, T5LayerNorm, FusedLayerNorm)."""
    return isinstance(module, NORMS) or type(module).__name__.endswith("Norm")


def dim_rule(name: str, param: torch.Tensor) -> bool:
    return param.ndim >= 2


def timm_rule(name: str, param: torch.Tensor, listed: frozenset[str] = frozenset()) -> bool:
    return not (param.ndim <= 1 or name.endswith(".bias") or name in listed)


def name_rule(name: str, param: torch.Tensor, in_layernorm: bool = False) -> bool:
    return not (in_layernorm or any(p.search(name.lower()) for p in _NAME_RES))


Grouping = Callable[[str, torch.Tensor], bool]     # (name, tensor) → True: leave it out of the decay


def grouping(no_decay: str | Iterable[str] | Grouping) -> tuple[str, str | tuple[str, ...] | Grouping]:
    """A `no_decay` value checked: a rule of RULES, a comma list (or iterable) of name substrings, or a function
    (name, tensor) → True for the tensors to leave out. Returns (its description, the rule)."""
    if callable(no_decay):
        return f"your function {getattr(no_decay, '__name__', 'no_decay')}", no_decay
    parts = [s.strip() for s in (no_decay.split(",") if isinstance(no_decay, str) else no_decay)]
    parts = [s for s in parts if s]
    if not parts:
        raise ValueError(f"no_decay: give a rule ({', '.join(RULES)}) or comma-separated name substrings")
    if len(parts) == 1 and parts[0] in RULES:
        return RULES[parts[0]], parts[0]
    return "no decay for names containing " + " or ".join(repr(s) for s in parts), tuple(parts)


def listed_names(model: nn.Module) -> frozenset[str]:
    """The names the model lists in its no_weight_decay(), which timm's create_optimizer passes to the rule."""
    fn = getattr(model, "no_weight_decay", None)
    return frozenset(fn()) if callable(fn) else frozenset()


def owners(model: nn.Module) -> dict[str, tuple[nn.Module, bool]]:
    """Each parameter name → (the module that holds it, whether an nn.LayerNorm is on its path)."""
    modules = dict(model.named_modules())
    out = {}
    for name, _ in model.named_parameters():
        path = name.split(".")[:-1]
        prefixes = [".".join(path[:i]) for i in range(len(path) + 1)]
        out[name] = modules[".".join(path)], any(isinstance(modules[p], nn.LayerNorm) for p in prefixes)
    return out


def rule_function(rule, listed: frozenset[str], owned: dict) -> Grouping:
    """Your grouping as one function (name, tensor) → True: left out of the decay."""
    if callable(rule):
        return lambda name, p: bool(rule(name, p))
    if isinstance(rule, tuple):
        return lambda name, p: any(s in name for s in rule)
    return {"none": lambda name, p: False, "dim": lambda name, p: not dim_rule(name, p),
            "timm": lambda name, p: not timm_rule(name, p, listed),
            "name": lambda name, p: not name_rule(name, p, owned[name][1])}[rule]


def leave_out(model: nn.Module, no_decay: str | Iterable[str] | Grouping = "none") -> Grouping:
    """`no_decay` (see `grouping`) for this model as one function (name, tensor) → True: left out of the decay."""
    return rule_function(grouping(no_decay)[1], listed_names(model), owners(model))


def decay_mask(model: nn.Module, no_decay: str | Iterable[str] | Grouping = "none") -> list[bool]:
    """Per tensor of model.named_parameters(): whether the decay reaches it under `no_decay`."""
    out = leave_out(model, no_decay)
    return [not out(name, p) for name, p in model.named_parameters()]
