"""Small models batched over runs: every parameter has a leading run dimension R.

All runs start from the same initial weights (one seeded init, repeated R times) and see the same
inputs, so the only difference between runs is the optimizer configuration.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from explorer.core.packing import pack

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


# The parameter groups common training scripts keep out of the decay (their `no_decay` list).
NO_DECAY = {
    "none": "every parameter decays",
    "biases": "biases are not decayed",
    "biases-and-output": "biases and the output layer's weights are not decayed",
}


def decay_mask(spec: ModelSpec, no_decay: str) -> list[bool]:
    """Per parameter of [W1, b1, …, W_out, b_out]: whether the decay applies to it."""
    if no_decay not in NO_DECAY:
        raise ValueError(f"unknown no_decay group {no_decay!r}; choose from {', '.join(NO_DECAY)}")
    n = 2 * (spec.depth + 1)
    biases = set(range(1, n, 2)) if no_decay != "none" else set()
    left_out = biases | ({n - 2} if no_decay == "biases-and-output" else set())
    return [i not in left_out for i in range(n)]


def param_names(spec: ModelSpec) -> list[str]:
    """W1, b1, …: the parameters as init_params lists them."""
    return [f"{k}{i + 1}" for i in range(spec.depth + 1) for k in "Wb"]


# Where the initial weights' random numbers come from (the distribution is nn.Linear's in both): a choice a reader
# would call irrelevant, which explorer.runs.variants varies.
INIT_STREAMS = {
    "engine": "the engine's own stream: a generator seeded `seed`, float64 draws (in, out) per layer, then float32",
    "linear": "torch.nn.Linear's own initialization, layer after layer, under torch.manual_seed(seed)",
}


def _engine_stream(spec: ModelSpec, seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    params = []
    for fan_in, fan_out in zip(spec.sizes[:-1], spec.sizes[1:]):
        bound = 1 / math.sqrt(fan_in)
        w = (torch.rand(fan_in, fan_out, generator=g, dtype=torch.float64) * 2 - 1) * bound * spec.init_scale
        b = (torch.rand(fan_out, generator=g, dtype=torch.float64) * 2 - 1) * bound
        params += [w, b]
    return params


def linear_layers(spec: ModelSpec, seed: int) -> list[torch.nn.Linear]:
    """The model's layers as a plain script builds them: nn.Linear after nn.Linear under torch.manual_seed(seed),
    weight matrices × init_scale (in float32). The global generator is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers = [torch.nn.Linear(a, b) for a, b in zip(spec.sizes[:-1], spec.sizes[1:])]
    with torch.no_grad():
        for layer in layers:
            layer.weight.mul_(spec.init_scale)
    return layers


def _linear_stream(spec: ModelSpec, seed: int) -> list[torch.Tensor]:
    return [t for layer in linear_layers(spec, seed) for t in (layer.weight.detach().T, layer.bias.detach())]


def init_params(spec: ModelSpec, runs: int, seed: int, device="cpu", dtype=torch.float32,
                stream: str = "engine") -> list[torch.Tensor]:
    """[W1, b1, W2, b2, …] with W: (R, in, out), b: (R, out); PyTorch's nn.Linear default init (from one of
    INIT_STREAMS), weight matrices multiplied by spec.init_scale (biases as they are)."""
    if spec.kind not in MODELS:
        raise ValueError(f"unknown model {spec.kind!r}; choose from {', '.join(MODELS)}")
    if stream not in INIT_STREAMS:
        raise ValueError(f"unknown init stream {stream!r}; choose from {', '.join(INIT_STREAMS)}")
    params = _engine_stream(spec, seed) if stream == "engine" else _linear_stream(spec, seed)
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


class Backprop:
    """The batched MLP's per-run losses and their gradients, by hand: no autograd graph, and the weight and
    bias gradients written straight into `grads` (e.g. the optimizer's packed buffer, so nothing is
    copied). The same ATen operations autograd runs (baddbmm/bmm, threshold_backward for the ReLU,
    native_layer_norm_backward, the log-softmax's backward in closed form), into buffers kept between
    steps. Device-agnostic: everything lives where the parameters live.
    """

    def __init__(self, spec: ModelSpec, params: list[torch.Tensor], grads: list[torch.Tensor]):
        if spec.kind not in MODELS:
            raise ValueError(f"unknown model {spec.kind!r}; choose from {', '.join(MODELS)}")
        self.spec = spec
        self.weights = [p.detach() for p in params[0::2]]
        self.biases = [p.detach() for p in params[1::2]]
        self.grad_w, self.grad_b = grads[0::2], grads[1::2]
        self._work: dict[int, list[torch.Tensor]] = {}

    def _buffers(self, batch: int) -> list[torch.Tensor]:
        """Per hidden layer its pre-activation (R, B, width), and with LayerNorm its activation too; two
        gradients of a hidden layer's output, used in turn; the logits' gradient and the logits (R, B,
        classes)."""
        if batch not in self._work:
            w, spec = self.weights[0], self.spec
            r, kw = w.shape[0], dict(dtype=w.dtype, device=w.device)
            per_layer = 2 if spec.kind == "mlp-ln" else 1
            hidden = [torch.empty(r, batch, spec.width, **kw) for _ in range(spec.depth * per_layer)]
            grads = [torch.empty(r, batch, spec.width, **kw) for _ in (0, 1)]
            out = [torch.empty(r, batch, spec.classes, **kw) for _ in (0, 1)]
            self._work = {batch: hidden + grads + out}
        return self._work[batch]

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Losses (R,) of the batch x (B, inputs), labels y (B,); their gradients are in `grads` after."""
        b, n, runs = x.shape[0], len(self.weights), self.weights[0].shape[0]
        work = list(self._buffers(b))         # taken from the front as the forward goes
        ln = self.spec.kind == "mlp-ln"
        acts, saved = [x.expand(runs, *x.shape)], []        # each layer's input; what its backward needs
        for i in range(n - 1):
            z = torch.baddbmm(self.biases[i][:, None, :], acts[-1], self.weights[i], out=work.pop(0))
            if ln:
                normed, mean, rstd = torch.native_layer_norm(z, z.shape[-1:], None, None, 1e-5)
                saved.append((z, mean, rstd))
                acts.append(torch.clamp_min(normed, 0, out=work.pop(0)))
            else:
                acts.append(z.clamp_min_(0))      # the ReLU's backward needs its output only
        logits = torch.baddbmm(self.biases[-1][:, None, :], acts[-1], self.weights[-1], out=work[-1])
        logp = torch.log_softmax(logits.transpose(1, 2), 1)     # as loss_per_run: classes in the middle
        losses = F.nll_loss(logp, y.expand(runs, b), reduction="none").mean(1)
        # the mean's and nll_loss's backward: −1/B at each label; then the log-softmax's own backward
        d_logp = torch.zeros(self.spec.classes, b, dtype=logp.dtype, device=logp.device)
        d_logp.scatter_(0, y[None], -1.0 / b)
        dz = torch.ops.aten._log_softmax_backward_data(d_logp.expand_as(logp), logp, 1, logp.dtype)
        # (R, B, classes) contiguous, as autograd hands it on: the last bias's sum over the batch then adds
        # in the same order, and every gradient is autograd's to the bit
        dz = dz.transpose(1, 2)
        dz = dz if dz.is_contiguous() else work[-2].copy_(dz)
        for i in range(n - 1, -1, -1):
            torch.sum(dz, 1, out=self.grad_b[i])
            torch.bmm(acts[i].transpose(1, 2), dz, out=self.grad_w[i])
            if i:
                g = torch.bmm(dz, self.weights[i].transpose(1, 2), out=work[i % 2])
                torch.ops.aten.threshold_backward.grad_input(g, acts[i], 0, grad_input=g)
                if ln:
                    z, mean, rstd = saved[i - 1]
                    g = torch.ops.aten.native_layer_norm_backward(g, z, z.shape[-1:], mean, rstd, None, None,
                                                                  [True, False, False])[0]
                dz = g
        return losses
