"""The optimizer core: one update rule, the decay *placement* as data, batched over runs.

Read it like optax's chain of gradient transformations; the variants differ only in where λ enters:

    Adam + L2 : g ← g + λθ  →  u ← m̂/(√v̂+ε)  →  θ ← θ − η_t·α·u
    AdamW     :                u ← m̂/(√v̂+ε)  →  θ ← θ − η_t·α·u − η_t·λ·θ        (paper, Alg. 2)
    AdamW/torch:               u ← m̂/(√v̂+ε)  →  θ ← θ·(1 − η_t·α·λ) − η_t·α·u   (torch.optim.AdamW)
    AdamW/corr.:               u ← m̂/(√v̂+ε)  →  θ ← θ·(1 − η_t²·α·λ) − η_t·α·u  (AdamC, Defazio 2025;
                                                                                 timm's corrected_weight_decay)

A decoupled decay follows the schedule (η_t, or η_t² for the corrected form) unless the optimizer is
made with decay_follows_schedule=False: then every step shrinks by the constant λ (paper) or α·λ.

Every parameter tensor carries a leading *run* dimension R; lr, λ, β1, β2, ε and μ are per-run, and
so is the decay form, so one call advances many differently-configured runs (Adam+L2 and AdamW side
by side, or a whole lr × λ grid). The preconditioner (SGD or Adam) is shared by the batch.
"""
from __future__ import annotations

from typing import Sequence

import torch

from explorer.core.forms import OPTIMIZERS, Decay, Precond, decoupled_rule
from explorer.core.packing import aligned, row_matrices, zeros_like_rows
from explorer.core.schedules import Schedule


def _per_run(value, n: int, name: str) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=torch.float64).flatten()
    if t.numel() == 1:
        t = t.expand(n)
    if t.numel() != n:
        raise ValueError(f"{name}: expected 1 or {n} values, got {t.numel()}")
    return t.clone()


# (what is valid, the check) per hyperparameter, as torch.optim checks them
_VALID = {
    "lr": ("lr ≥ 0", lambda t: t >= 0),
    "wd": ("weight decay λ ≥ 0", lambda t: t >= 0),
    "beta1": ("β1 in [0, 1)", lambda t: (t >= 0) & (t < 1)),
    "beta2": ("β2 in [0, 1)", lambda t: (t >= 0) & (t < 1)),
    "eps": ("ε ≥ 0", lambda t: t >= 0),
    "momentum": ("momentum μ ≥ 0", lambda t: t >= 0),
}


def _check_hyperparameters(values: dict[str, torch.Tensor]) -> None:
    """ValueError naming the first invalid value (NaN included), like torch.optim's constructors."""
    for name, t in values.items():
        what, ok = _VALID[name]
        bad = ~(ok(t) & torch.isfinite(t))
        if bad.any():
            run = int(bad.nonzero()[0])
            where = f" (run {run})" if t.numel() > 1 else ""
            raise ValueError(f"Invalid {name}{where}: {t[run].item()!r}; expected {what}")


class BatchedOptimizer:
    """Advance R runs at once. Each parameter tensor has shape (R, ...).

    optimizers: one name from OPTIMIZERS per run (all with the same preconditioner), or one name for all.
    lr, wd, beta1, beta2, eps, momentum: a float for all runs or one value per run.
    decay_follows_schedule: False → decoupled decay ignores η_t (a constant λ or α·λ per step).
    decay_mask: per parameter tensor, whether λ applies to it (default: to all). A tensor left out gets
    neither L2 nor decoupled decay, as a torch.optim param group with weight_decay=0 (the no_decay groups).
    """


    def __init__(self, params: Sequence[torch.Tensor], optimizers: str | Sequence[str], *,
                 lr=1e-3, wd=0.0, beta1=0.9, beta2=0.999, eps=1e-8, momentum=0.0,
                 schedule: Schedule | None = None, decay_follows_schedule: bool = True,
                 decay_mask: Sequence[bool] | None = None):
        self.params = list(params)
        self.decay_mask = [True] * len(self.params) if decay_mask is None else [bool(x) for x in decay_mask]
        if len(self.decay_mask) != len(self.params):
            raise ValueError(f"decay_mask: expected {len(self.params)} values (one per parameter), "
                             f"got {len(self.decay_mask)}")
        runs = self.params[0].shape[0]
        if any(p.shape[0] != runs for p in self.params):
            raise ValueError("all parameters need the same leading run dimension")
        names = [optimizers] * runs if isinstance(optimizers, str) else list(optimizers)
        if len(names) != runs:
            raise ValueError(f"{len(names)} optimizer names for {runs} runs")
        unknown = sorted({n for n in names if n not in OPTIMIZERS})
        if unknown:
            raise ValueError(f"unknown optimizer {unknown[0]!r}; choose from {', '.join(OPTIMIZERS)}")
        kinds = [OPTIMIZERS[n] for n in names]
        preconds = {k.precond for k in kinds}
        if len(preconds) != 1:
            raise ValueError("one batch needs one preconditioner (all SGD or all Adam)")
        self.precond = preconds.pop()
        self.names = names
        self.schedule = schedule or Schedule()
        self.runs = runs

        f = {k: _per_run(v, runs, k) for k, v in dict(lr=lr, wd=wd, beta1=beta1, beta2=beta2,
                                                      eps=eps, momentum=momentum).items()}
        _check_hyperparameters(f)
        self.hyper = f
        self._l2 = f["wd"] * torch.tensor([k.decay is Decay.L2 for k in kinds], dtype=torch.float64)
        # decoupled runs: shrink per step η_t^power·rate (rate λ or α·λ; power 0 when decay is constant), each
        # run's (power, scaled) read from its form
        rules = [decoupled_rule(k, decay_follows_schedule) or (0, False) for k in kinds]
        decoupled = torch.tensor([k.decay is Decay.DECOUPLED for k in kinds], dtype=torch.float64)
        scaled = torch.tensor([s for _, s in rules], dtype=torch.bool)
        self._decoupled_rate = f["wd"] * decoupled * torch.where(scaled, f["lr"], torch.ones_like(f["lr"]))
        self._decay_power = torch.tensor([p for p, _ in rules], dtype=torch.float64)
        self.decay_follows_schedule = decay_follows_schedule
        self._has_l2 = bool(self._l2.any())
        self._shrink: torch.Tensor | None = None      # (steps, R) factors 1 − η_t·rate, made in chunks
        self._shrink_from = 1
        dev = self.params[0].device
        # Packed parameters (see pack): run r of each tensor is row r of its buffer, so a block of
        # consecutive runs is one tensor per parameter. With rows a whole number of 64-byte units long,
        # every element takes the kernel's vector body (never its scalar tail), whatever the block or
        # the thread split: grouping runs then gives the same bits as one call per run.
        matrices = row_matrices(self.params)
        self._packed = matrices is not None
        self._blocks = self._packed and aligned(matrices)
        if self._packed:
            zeros = lambda: zeros_like_rows(matrices, self.params)  # noqa: E731
        else:
            zeros = lambda: [torch.zeros_like(p, memory_format=torch.contiguous_format) for p in self.params]  # noqa: E731
        self.state = list(zip(zeros(), zeros())) if self.precond is Precond.ADAM else zeros()
        self._grads = zeros()          # the gradients, copied here, plus λθ for L2 runs (inputs stay as given)
        buffers = [self.params, self._grads]
        if self.precond is Precond.ADAM:
            buffers += [[m for m, _ in self.state], [v for _, v in self.state]]
        else:
            buffers += [self.state]
        self._buffers = [row_matrices(b) if self._packed else b for b in buffers]
        self._t = torch.zeros((), dtype=torch.float32, device=dev)  # as torch.optim's fused

        # one fused-kernel call per group of runs sharing (lr, β1, β2, ε) or (lr, μ): the kernel takes
        # scalar hyperparameters but a list of tensors (the sweep: one call per lr, not one per cell).
        # L2 (λ per run) therefore enters as a batched g ← g + λθ before the kernel — addcmul in float32,
        # the same float ops as the kernel's own weight_decay.
        # Without aligned blocks (tiny or unpacked tensors: dispatch-bound) L2 stays inside the kernel,
        # its λ part of the key, and gradients in a packed matrix are used as given (no copy).
        l2_in_kernel = [x if not self._blocks else 0.0 for x in self._l2.tolist()]
        if self.precond is Precond.ADAM:
            keys = list(zip(f["lr"].tolist(), l2_in_kernel, f["beta1"].tolist(), f["beta2"].tolist(),
                            f["eps"].tolist()))
        else:
            keys = list(zip(f["lr"].tolist(), l2_in_kernel, f["momentum"].tolist()))
        by_key: dict[tuple, list[int]] = {}
        for r, k in enumerate(keys):
            by_key.setdefault(k, []).append(r)
        self._groups = []
        for key, runs_ in by_key.items():
            ranges = _ranges(runs_)
            tensors = [self._segments(b, ranges) for b in self._buffers]
            if self.precond is Precond.ADAM:
                kw = dict(beta1=key[2], beta2=key[3], weight_decay=key[1], eps=key[4], amsgrad=False, maximize=False)
            else:
                kw = dict(weight_decay=key[1], momentum=key[2], dampening=0.0, nesterov=False, maximize=False)
                if not key[2]:
                    tensors[2] = []
            if key[1] and not all(self.decay_mask):
                # L2 inside the kernel: the tensors left out of the decay take their own call without it
                parts = [(key[0], kw, self._part(tensors, True), ranges, True),
                         (key[0], {**kw, "weight_decay": 0.0}, self._part(tensors, False), ranges, False)]
                self._groups += [g for g in parts if g[2][0]]
            else:
                self._groups.append((key[0], kw, tensors, ranges, None))
        self._l2_ranges = self._scaled_ranges(self._l2) if self._blocks else []
        self._decoupled_ranges = [(a, b) for a, b, _ in self._scaled_ranges(self._decoupled_rate)]
        self.t = 0

    @property
    def grads(self) -> list[torch.Tensor]:
        """The gradient buffer step reads, laid out like the parameters (packed when they are): a
        backward that writes its gradients here and passes this list to step spares the copy."""
        return self._grads

    def _segments(self, buffer, ranges: list[tuple[int, int]]) -> list[torch.Tensor]:
        """The tensors one kernel call gets for these runs of a buffer: a block of rows of each matrix per
        range when the rows are aligned, else one per run and tensor (row or slice)."""
        if self._blocks:
            return [m[a:b] for a, b in ranges for m in buffer]
        return [t[r] for a, b in ranges for r in range(a, b) for t in buffer]

    def _part(self, tensors, decayed: bool | None):
        """The tensors of one kernel call whose parameters decay (True) or do not (False); None: all.
        Segments list the parameters in order, repeated per run or block of runs."""
        if decayed is None:
            return tensors
        n = len(self.params)
        return [[x for j, x in enumerate(ts) if self.decay_mask[j % n] is decayed] for ts in tensors]

    def _scaled_ranges(self, rate: torch.Tensor) -> list[tuple[int, int, list[torch.Tensor]]]:
        """Ranges of consecutive runs with a nonzero rate, each with its rates shaped to broadcast over
        its block of each buffer (float32 on the parameters' device, as the kernel's scalar would be)."""
        out = []
        for a, b in _ranges([r for r, x in enumerate(rate.tolist()) if x]):
            out.append((a, b, [_broadcastable(rate[a:b], p) for p in self._buffers[0]]))
        return out

    def step(self, grads: Sequence[torch.Tensor]) -> None:
        """One update of every run; grads[i] is the loss gradient for params[i] (no decay in it).

        Decoupled decay is a batched multiply θ ← θ·(1 − η_t^power·rate) of the decoupled runs, as
        torch.optim.AdamW does before its Adam step; L2 a batched g ← g + λθ of the L2 runs.
        Then torch's fused Adam / SGD kernel, once per group of runs that share its scalar arguments.
        grads may be self.grads, written in place (no copy then; L2 runs get λθ added to them).
        """
        if torch.is_grad_enabled():
            with torch.no_grad():
                return self.step(grads)
        self.t += 1
        eta = self.schedule.multiplier(self.t)
        params, mine = self._buffers[0], self._buffers[1]
        own = len(grads) == len(self._grads) and all(g is m for g, m in zip(grads, self._grads))
        given = row_matrices(grads) if self._packed and not own else None
        direct = (given is not None and [g.shape for g in given] == [m.shape for m in mine]
                  and not self._l2_ranges)
        if not (own or direct):
            torch._foreach_copy_(self._grads, list(grads))
        for a, b, lam in self._l2_ranges:
            for g, p, l, decays in zip(mine, params, lam, self.decay_mask):
                if decays:
                    g[a:b].addcmul_(p[a:b], l)
        if self._decoupled_ranges:
            shrink = self._shrink_factors(self.t)
            for a, b in self._decoupled_ranges:
                every = (a, b) == (0, self.runs)
                for p in (p for p, decays in zip(params, self.decay_mask) if decays):
                    p = p if every else p[a:b]
                    p.mul_((shrink if every else shrink[a:b]).view((-1,) + (1,) * (p.dim() - 1)))
        self._t.fill_(self.t)
        for lr, kw, (p, g, *state), ranges, part in self._groups:
            if direct:
                g = self._part([self._segments(given, ranges)], part)[0]
            steps = [self._t] * len(p)
            if self.precond is Precond.ADAM:
                torch._fused_adam_(p, g, state[0], state[1], [], steps, lr=eta * lr, **kw)
            else:
                torch._fused_sgd_(p, g, state[0], lr=eta * lr, is_first_step=self.t == 1, **kw)

    def _shrink_factors(self, t: int, chunk: int = 256) -> torch.Tensor:
        """(R,) factors 1 − η_t^power·rate (rate λ_paper or α·λ; power 1, 2 for the corrected form, 0 for
        constant decay) in the parameters' dtype and device, computed in float64 for `chunk` steps at a
        time (one small tensor op per step instead of four)."""
        i = t - self._shrink_from
        if self._shrink is None or not 0 <= i < len(self._shrink):
            eta = torch.tensor([self.schedule.multiplier(s) for s in range(t, t + chunk)], dtype=torch.float64)
            p = self.params[0]
            self._shrink = (1 - eta[:, None] ** self._decay_power * self._decoupled_rate).to(
                device=p.device, dtype=p.dtype)
            self._shrink_from, i = t, 0
        return self._shrink[i]

    @torch.no_grad()
    def decay_rates(self, eta: float | None = None) -> list[torch.Tensor]:
        """Fraction of each weight removed by the decay term in the step just taken, per element.

        eta: the schedule multiplier to use (default: the one of that step; 1.0 shows the rule itself).

        L2 under Adam: η_t·α·λ/(√v̂+ε) — every coordinate its own rate, small where gradients are large.
        L2 under SGD: η_t·α·λ.  Decoupled: η_t·λ (paper), η_t·α·λ (torch) or η_t²·α·λ (corrected), the
        same for every weight (η_t⁰ when the decay does not follow the schedule).
        Parameters outside decay_mask: 0.
        """
        if self.t == 0:
            return [torch.zeros_like(p) for p in self.params]
        t, h = self.t, self.hyper
        eta = self.schedule.multiplier(t) if eta is None else eta
        lr_t = eta * h["lr"]
        decoupled = eta ** self._decay_power * self._decoupled_rate       # (R,) float64
        out = []
        for i, p in enumerate(self.params):
            if not self.decay_mask[i]:
                out.append(torch.zeros_like(p))
                continue
            rate = _broadcastable(decoupled, p).expand_as(p)
            if self._has_l2:
                l2 = _broadcastable(lr_t * self._l2, p)
                if self.precond is Precond.ADAM:
                    v_hat = self.state[i][1] / _broadcastable(1 - h["beta2"] ** t, p)
                    l2 = l2 / (v_hat.sqrt() + _broadcastable(h["eps"], p))
                rate = rate + l2
            out.append(rate.expand_as(p).clone())
        return out


def _ranges(runs: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted run indices as maximal ranges [a, b) of consecutive runs."""
    out: list[list[int]] = []
    for r in runs:
        if out and out[-1][1] == r:
            out[-1][1] = r + 1
        else:
            out.append([r, r + 1])
    return [(a, b) for a, b in out]


def _broadcastable(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """A per-run (R,) vector as a (R, 1, …) tensor in p's dtype and device."""
    return x.to(device=p.device, dtype=p.dtype).view((-1,) + (1,) * (p.dim() - 1))
