"""Small models batched over runs: every parameter has a leading run dimension R.

All runs start from the same initial weights (one seeded init, repeated R times) and see the same
inputs, so the only difference between runs is the optimizer configuration.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .packing import pack

MODELS = {
    "mlp": "ReLU MLP",
    "mlp-ln": "ReLU MLP with LayerNorm (no affine) before each ReLU: scale-invariant hidden weights",
}


@dataclass(frozen=True)
class ModelSpec:
    kind: str = "mlp"
    width: int = 128
    depth: int = 2          # hidden layers
    inputs: int = 64
    classes: int = 10
    init_scale: float = 1.0   # initial weight matrices × this (1: nn.Linear's default)

    @property
    def sizes(self) -> list[int]:
        return [self.inputs] + [self.width] * self.depth + [self.classes]

    @property
    def layer_names(self) -> list[str]:
        return [f"layer {i + 1}" for i in range(self.depth + 1)]


def init_params(spec: ModelSpec, runs: int, seed: int, device="cpu", dtype=torch.float32) -> list[torch.Tensor]:
    """[W1, b1, W2, b2, …] with W: (R, in, out), b: (R, out); PyTorch's nn.Linear default init,
    weight matrices multiplied by spec.init_scale (biases as they are)."""
    if spec.kind not in MODELS:
        raise ValueError(f"unknown model {spec.kind!r}; choose from {', '.join(MODELS)}")
    g = torch.Generator().manual_seed(seed)
    params = []
    for fan_in, fan_out in zip(spec.sizes[:-1], spec.sizes[1:]):
        bound = 1 / math.sqrt(fan_in)
        w = (torch.rand(fan_in, fan_out, generator=g, dtype=torch.float64) * 2 - 1) * bound * spec.init_scale
        b = (torch.rand(fan_out, generator=g, dtype=torch.float64) * 2 - 1) * bound
        params += [w, b]
    # packed (optim.pack): each run's weights are one contiguous row, which the optimizer updates in one go
    return [p.requires_grad_(True) for p in pack([p.to(dtype)[None].repeat(runs, *([1] * p.dim())).to(device)
                                                  for p in params])]


def forward(spec: ModelSpec, params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Logits (R, B, classes) for a batch x (B, inputs) shared by every run."""
    h = x
    n = len(params) // 2
    for i in range(n):
        w, b = params[2 * i], params[2 * i + 1]
        h = torch.baddbmm(b[:, None, :], h.expand(w.shape[0], *h.shape[-2:]) if h.dim() == 2 else h, w)
        if i < n - 1:
            if spec.kind == "mlp-ln":
                h = F.layer_norm(h, h.shape[-1:])
            h = torch.relu_(h)   # in place: neither baddbmm's nor layer_norm's backward needs its output
    return h


def loss_per_run(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of each run: (R,).

    The log-softmax runs over the classes as the middle dimension (R, C, B): torch vectorizes it across
    the batch there, 3× faster than over a last dimension of 10 classes (same values)."""
    r, b, _ = logits.shape
    logp = torch.log_softmax(_ContiguousGrad.apply(logits).transpose(1, 2), 1)
    return F.nll_loss(logp, y.expand(r, b), reduction="none").mean(1)


class _ContiguousGrad(torch.autograd.Function):
    """Identity whose backward hands on a (R, B, C)-contiguous gradient: the last bias's gradient (a sum
    over the batch) then adds in the order a one-model loop does, not in the transposed order."""

    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad.contiguous()


def forward_one(spec: ModelSpec, params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """One model, no run dimension: the plain loop a user writes (the benchmarks' and tests' reference)."""
    h = x
    for i in range(0, len(params), 2):
        h = torch.addmm(params[i + 1], h, params[i])
        if i + 2 < len(params):
            h = torch.relu(F.layer_norm(h, h.shape[-1:]) if spec.kind == "mlp-ln" else h)
    return h
