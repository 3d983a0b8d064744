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

from dataclasses import dataclass
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


def _checked_mask(decay_mask: Sequence[bool] | None, n: int) -> list[bool]:
    mask = [True] * n if decay_mask is None else [bool(x) for x in decay_mask]
    if len(mask) != n:
        raise ValueError(f"decay_mask: expected {n} values (one per parameter), got {len(mask)}")
    return mask


def _run_count(params: Sequence[torch.Tensor]) -> int:
    runs = params[0].shape[0]
    if any(p.shape[0] != runs for p in params):
        raise ValueError("all parameters need the same leading run dimension")
    return runs


def _checked_names(optimizers: str | Sequence[str], runs: int) -> list[str]:
    names = [optimizers] * runs if isinstance(optimizers, str) else list(optimizers)
    if len(names) != runs:
        raise ValueError(f"{len(names)} optimizer names for {runs} runs")
    unknown = sorted({n for n in names if n not in OPTIMIZERS})
    if unknown:
        raise ValueError(f"unknown optimizer {unknown[0]!r}; choose from {', '.join(OPTIMIZERS)}")
    return names


def _one_precond(kinds) -> Precond:
    preconds = {k.precond for k in kinds}
    if len(preconds) != 1:
        raise ValueError("one batch needs one preconditioner (all SGD or all Adam)")
    return preconds.pop()


def _decay_per_run(kinds, f: dict[str, torch.Tensor], follows_schedule: bool):
    """(R,) float64 vectors: λ of the L2 runs (0 elsewhere); the decoupled runs' rate and η_t power."""
    l2 = f["wd"] * torch.tensor([k.decay is Decay.L2 for k in kinds], dtype=torch.float64)
    # decoupled runs: shrink per step η_t^power·rate (rate λ or α·λ; power 0 when decay is constant), each
    # run's (power, scaled) read from its form
    rules = [decoupled_rule(k, follows_schedule) or (0, False) for k in kinds]
    decoupled = torch.tensor([k.decay is Decay.DECOUPLED for k in kinds], dtype=torch.float64)
    scaled = torch.tensor([s for _, s in rules], dtype=torch.bool)
    rate = f["wd"] * decoupled * torch.where(scaled, f["lr"], torch.ones_like(f["lr"]))
    power = torch.tensor([p for p, _ in rules], dtype=torch.float64)
    return l2, rate, power


@dataclass(frozen=True, eq=False)
class KernelGroup:
    """One fused-kernel call of a step: torch._fused_adam_ / _fused_sgd_ over a list of tensors with scalar
    hyperparameters, so the runs it covers are those that share them.

    lr: the runs' α (the step passes η_t·lr).
    kwargs: the kernel's other scalar keyword arguments (β1, β2, ε or μ; weight_decay λ when L2 stays
        inside the kernel, else 0).
    params, grads, state: its tensors, one per parameter and block of runs (or per run when the rows are
        not aligned); state is (m, v) for Adam, (momentum buffers,) for SGD — an empty list when μ = 0.
    ranges: the runs [a, b) it covers.
    part: which tensors of the decay mask it holds: True the decayed, False the others, None all.
    """

    lr: float
    kwargs: dict[str, float | bool]
    params: list[torch.Tensor]
    grads: list[torch.Tensor]
    state: tuple[list[torch.Tensor], ...]
    ranges: tuple[tuple[int, int], ...]
    part: bool | None


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
        self.decay_mask = _checked_mask(decay_mask, len(self.params))
        self.runs = runs = _run_count(self.params)
        self.names = _checked_names(optimizers, runs)
        kinds = [OPTIMIZERS[n] for n in self.names]
        self.precond = _one_precond(kinds)
        self.schedule = schedule or Schedule()
        f = {k: _per_run(v, runs, k) for k, v in dict(lr=lr, wd=wd, beta1=beta1, beta2=beta2,
                                                      eps=eps, momentum=momentum).items()}
        _check_hyperparameters(f)
        self.hyper = f
        self._l2, self._decoupled_rate, self._decay_power = _decay_per_run(kinds, f, decay_follows_schedule)
        self.decay_follows_schedule = decay_follows_schedule
        self._has_l2 = bool(self._l2.any())
        self._shrink: torch.Tensor | None = None      # (steps, R) factors 1 − η_t·rate, made in chunks
        self._shrink_from = 1
        self._make_buffers()
        self._t = torch.zeros((), dtype=torch.float32, device=self.params[0].device)  # as torch.optim's fused

        # The plan, made once: the kernel calls of a step and the runs the batched decays touch.
        # Without aligned blocks (tiny or unpacked tensors: dispatch-bound) L2 stays inside the kernel,
        # its λ part of the key, and gradients in a packed matrix are used as given (no copy).
        l2_in_kernel = [x if not self._blocks else 0.0 for x in self._l2.tolist()]
        self._groups = plan_groups(self.precond, f, l2_in_kernel, self._buffers, self._blocks, self.decay_mask)
        self._l2_ranges = _scaled_ranges(self._l2, self._buffers[0]) if self._blocks else []
        self._decoupled_ranges = [(a, b) for a, b, _ in _scaled_ranges(self._decoupled_rate, self._buffers[0])]
        self.t = 0

    def _make_buffers(self) -> None:
        """The state, the gradient buffer and their layout (packed rows when the parameters allow)."""
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

    def state_dict(self) -> dict:
        """The step count and the moments, copied: load_state_dict on an optimizer built alike continues bit for bit."""
        return {"t": self.t, "state": [s.detach().clone() for s in _flat(self.state)]}

    @torch.no_grad()
    def load_state_dict(self, saved: dict) -> None:
        self.t = int(saved["t"])
        for mine, theirs in zip(_flat(self.state), saved["state"], strict=True):
            mine.copy_(theirs)

    @property
    def grads(self) -> list[torch.Tensor]:
        """The gradient buffer step reads, laid out like the parameters (packed when they are): a
        backward that writes its gradients here and passes this list to step spares the copy."""
        return self._grads

    def step(self, grads: Sequence[torch.Tensor]) -> None:
        """One update of every run; grads[i] is the loss gradient for params[i] (no decay in it).

        Decoupled decay is a batched multiply θ ← θ·(1 − η_t^power·rate) of the decoupled runs, as
        torch.optim.AdamW does before its Adam step; L2 a batched g ← g + λθ of the L2 runs.
        Then torch's fused Adam / SGD kernel, once per KernelGroup (runs that share its scalar arguments).
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
        for group in self._groups:
            g = group.grads
            if direct:
                g = _part([_segments(given, group.ranges, self._blocks)], group.part, self.decay_mask)[0]
            steps = [self._t] * len(group.params)
            if self.precond is Precond.ADAM:
                torch._fused_adam_(group.params, g, group.state[0], group.state[1], [], steps,
                                   lr=eta * group.lr, **group.kwargs)
            else:
                torch._fused_sgd_(group.params, g, group.state[0], lr=eta * group.lr,
                                  is_first_step=self.t == 1, **group.kwargs)

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


# The plan: one fused-kernel call per group of runs sharing (lr, β1, β2, ε) or (lr, μ): the kernel takes
# scalar hyperparameters but a list of tensors (the sweep: one call per lr, not one per cell).
# L2 (λ per run) therefore enters as a batched g ← g + λθ before the kernel — addcmul in float32,
# the same float ops as the kernel's own weight_decay — when the rows are aligned; otherwise its λ is
# part of the key (l2_in_kernel) and the kernel applies it.

def plan_groups(precond: Precond, hyper: dict[str, torch.Tensor], l2_in_kernel: Sequence[float],
                buffers: Sequence[Sequence[torch.Tensor]], blocks: bool,
                decay_mask: Sequence[bool]) -> list[KernelGroup]:
    """The kernel calls of one step, in order. buffers: params, grads, then the state (m, v or momentum),
    each a list per parameter (row matrices when packed); blocks: whether the rows are aligned, so that a
    range of runs is one block of rows per tensor."""
    groups = []
    for key, runs in _kernel_keys(precond, hyper, l2_in_kernel).items():
        lr, weight_decay = key[0], key[1]
        ranges = tuple(_ranges(runs))
        tensors = [_segments(b, ranges, blocks) for b in buffers]
        kw = _kernel_kwargs(precond, key)
        if precond is not Precond.ADAM and not kw["momentum"]:
            tensors[2] = []
        if weight_decay and not all(decay_mask):
            # L2 inside the kernel: the tensors left out of the decay take their own call without it
            parts = [(True, kw), (False, {**kw, "weight_decay": 0.0})]
        else:
            parts = [(None, kw)]
        for part, kwargs in parts:
            p, g, *state = _part(tensors, part, decay_mask)
            if p or part is None:
                groups.append(KernelGroup(lr, kwargs, p, g, tuple(state), ranges, part))
    return groups


def _kernel_keys(precond: Precond, hyper: dict[str, torch.Tensor],
                 l2_in_kernel: Sequence[float]) -> dict[tuple, list[int]]:
    """Runs by the scalars one kernel call shares: (lr, λ in kernel, β1, β2, ε) for Adam, (lr, λ in kernel, μ)
    for SGD; keys in the order of their first run."""
    names = ("beta1", "beta2", "eps") if precond is Precond.ADAM else ("momentum",)
    keys = zip(hyper["lr"].tolist(), l2_in_kernel, *(hyper[n].tolist() for n in names))
    by_key: dict[tuple, list[int]] = {}
    for r, k in enumerate(keys):
        by_key.setdefault(k, []).append(r)
    return by_key


def _kernel_kwargs(precond: Precond, key: tuple) -> dict[str, float | bool]:
    if precond is Precond.ADAM:
        _, weight_decay, beta1, beta2, eps = key
        return dict(beta1=beta1, beta2=beta2, weight_decay=weight_decay, eps=eps, amsgrad=False, maximize=False)
    _, weight_decay, momentum = key
    return dict(weight_decay=weight_decay, momentum=momentum, dampening=0.0, nesterov=False, maximize=False)


def _segments(buffer, ranges: Sequence[tuple[int, int]], blocks: bool) -> list[torch.Tensor]:
    """The tensors one kernel call gets for these runs of a buffer: a block of rows of each matrix per
    range when the rows are aligned, else one per run and tensor (row or slice)."""
    if blocks:
        return [m[a:b] for a, b in ranges for m in buffer]
    return [t[r] for a, b in ranges for r in range(a, b) for t in buffer]


def _part(tensors, decayed: bool | None, decay_mask: Sequence[bool]):
    """The tensors of one kernel call whose parameters decay (True) or do not (False); None: all.
    Segments list the parameters in order, repeated per run or block of runs."""
    if decayed is None:
        return tensors
    n = len(decay_mask)
    return [[x for j, x in enumerate(ts) if decay_mask[j % n] is decayed] for ts in tensors]


def _scaled_ranges(rate: torch.Tensor, params: Sequence[torch.Tensor]) -> list[tuple[int, int, list[torch.Tensor]]]:
    """Ranges of consecutive runs with a nonzero rate, each with its rates shaped to broadcast over
    its block of each parameter buffer (float32 on the parameters' device, as the kernel's scalar would be)."""
    out = []
    for a, b in _ranges([r for r, x in enumerate(rate.tolist()) if x]):
        out.append((a, b, [_broadcastable(rate[a:b], p) for p in params]))
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


def _flat(state: list) -> list[torch.Tensor]:
    """The optimizer's state tensors in order: (m, v) pairs (Adam) or momentum buffers (SGD)."""
    return [t for s in state for t in (s if isinstance(s, tuple) else (s,))]
