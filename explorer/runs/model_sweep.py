"""lr × λ sweeps of your own nn.Module: every (form, lr, λ) cell of a seed trained as one batched computation.

The model's parameters and buffers are stacked along a leading run dimension (one row per cell), the forward
and backward of all runs are one `torch.func.vmap` of `functional_call` over that dimension, and the gradients go
to the engine's BatchedOptimizer, so every decay form is exactly its record in the forms registry.

The contract, which tests and users rely on:

- every run of seed S starts from `build()` called right after `torch.manual_seed(S)` (S = cfg.train.seed + s);
- the mini-batches are shuffled epochs drawn as the built-in sweep draws them (core.data.ShuffledEpochs, seeded
  S + 1), the same for every run of a seed; the model is in train mode for the steps;
- randomness inside the model (dropout) differs per run (vmap's randomness="different"), drawn from torch's
  global generator as it stands after `build()`, so a seed's results are deterministic; the caller's generator
  state is restored afterwards;
- BatchNorm's running statistics (any buffer) are per run;
- train_loss, test_loss and test_error are computed over the whole set, the model in eval mode, after the last
  step; test_error is 1 − accuracy for cross-entropy and the test MSE (equal to test_loss) for mse;
- where the model cannot be vmapped (`.item()`, control flow on a tensor's value, an in-place write of batched
  values into an unbatched tensor), a dry run on two runs finds it and the sweep steps one run at a time — the
  same updates, one `functional_call` and backward per run — after one notice saying why.
"""
from __future__ import annotations

import copy
import math
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, vmap

from explorer.core.data import ShuffledEpochs
from explorer.core.forms import OPTIMIZERS, pair_forms
from explorer.core.grouping import decay_mask
from explorer.core.optim import BatchedOptimizer
from explorer.core.packing import pack
from explorer.core.tables import LOSSES
from explorer.runs.sweep import COLUMNS, PRESETS, SweepConfig, _caller, grid_cells
from explorer.runs.train import default_device

EVAL_CHUNK = 128           # samples per evaluation pass: R runs × 128 samples of activations stay in cache


def model_sweep_config(cfg: SweepConfig | None = None, *, lrs=None, wds=None, pair: str | None = None,
                       steps: int | None = None, batch_size: int | None = None, seeds: int | None = None,
                       schedule: str | None = None, train_samples: int | None = None, **train) -> SweepConfig:
    """The sweep's configuration: `cfg` (default: the coupling preset's) with the values given.

    wds: one grid of floats for every form of the pair, or {form: grid} / ((form, grid), …) per form.
    train_samples: the training set's size (only the --normalized λ reads it). train: other TrainConfig fields.
    """
    cfg = cfg or PRESETS["coupling"]
    pair = pair or cfg.pair
    if wds is None and pair != cfg.pair:
        raise ValueError(f"pair {pair!r}: give wds (the default grids are for {cfg.pair})")
    if wds is not None:
        items = wds.items() if isinstance(wds, Mapping) else wds
        items = list(items)
        per_form = items and isinstance(items[0], (tuple, list)) and isinstance(items[0][0], str)
        wds = tuple((n, tuple(map(float, g))) for n, g in items) if per_form else \
            tuple((n, tuple(map(float, items))) for n in pair_forms(pair))
    given = dict(steps=steps, batch_size=batch_size, schedule=schedule, train_samples=train_samples, **train)
    t = replace(cfg.train, **{k: v for k, v in given.items() if v is not None})
    return replace(cfg, pair=pair, lrs=tuple(map(float, lrs)) if lrs is not None else cfg.lrs,
                   wds=wds or cfg.wds, seeds=seeds or cfg.seeds, train=t)


def loss_function(loss: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """(model output, targets) → the mean loss, as the reference loop computes it."""
    if loss == "cross-entropy":
        return F.cross_entropy
    if loss == "mse":
        return lambda out, y: F.mse_loss(out.reshape(y.shape), y)
    raise ValueError(f"loss: unknown value {loss!r}; choose from {', '.join(LOSSES)}")


class _Runs:
    """One seed's R runs: stacked trainable parameters (packed rows, for the fused kernels), stacked buffers
    (and frozen parameters) and the batched optimizer."""

    def __init__(self, model: nn.Module, cfg: SweepConfig, no_decay, device: torch.device):
        cells = grid_cells(cfg)
        self.runs = r = len(cells)
        named = list(model.named_parameters())
        trained = [(n, p) for n, p in named if p.requires_grad]
        mask = dict(zip((n for n, _ in named), decay_mask(model, no_decay)))

        def stack(t: torch.Tensor) -> torch.Tensor:
            return t.detach().to(device)[None].expand(r, *t.shape)

        self.names = [n for n, _ in trained]
        self.params = [p.requires_grad_(True) for p in pack([stack(p) for _, p in trained])]
        self.buffers = {n: stack(t).clone() for n, t in [*model.named_buffers(), *((n, p) for n, p in named
                                                                                   if not p.requires_grad)]}
        t = cfg.train
        self.opt = BatchedOptimizer(
            self.params, [n for n, _, _ in cells], lr=[lr for _, lr, _ in cells],
            wd=[wd * cfg.wd_scale for _, _, wd in cells], beta1=t.beta1, beta2=t.beta2, eps=t.eps,
            momentum=t.momentum, schedule=t.lr_schedule, decay_follows_schedule=t.decay_follows,
            decay_mask=[mask[n] for n in self.names])

    def tensors(self, r: int | None = None) -> tuple[dict, dict]:
        """(parameters, buffers) as functional_call takes them: all runs stacked, or run r's."""
        params = dict(zip(self.names, self.params))
        if r is None:
            return params, self.buffers
        return {n: p[r] for n, p in params.items()}, {n: b[r] for n, b in self.buffers.items()}


class _Engine:
    """The forward of all runs and the gradients of a step: one vmap over the runs, or one run at a time."""

    def __init__(self, model: nn.Module, loss: Callable, batched: bool):
        self.model, self.loss, self.batched = model, loss, batched

        def one_loss(p, b, x, y):
            return loss(functional_call(model, (p, b), (x,)), y)

        def one_output(p, b, x):
            return functional_call(model, (p, b), (x,))

        self._losses = vmap(one_loss, in_dims=(0, 0, None, None), randomness="different")
        self._outputs = vmap(one_output, in_dims=(0, 0, None), randomness="different")

    def step_gradients(self, runs: _Runs, x: torch.Tensor, y: torch.Tensor) -> tuple[list, torch.Tensor]:
        """The loss gradient of every run on the batch (x, y), and each run's loss (R,)."""
        self.model.train()
        if self.batched:
            for p in runs.params:
                p.grad = None
            losses = self._losses(*runs.tensors(), x, y)
            losses.sum().backward()          # runs are independent: each row gets its own run's gradient
            return [p.grad for p in runs.params], losses.detach()
        grads, losses = runs.opt.grads, []
        for r in range(runs.runs):
            params, buffers = runs.tensors(r)
            leaves = {n: p.detach().requires_grad_(True) for n, p in params.items()}
            loss = self.loss(functional_call(self.model, (leaves, buffers), (x,)), y)
            for g, d in zip(grads, torch.autograd.grad(loss, list(leaves.values()), allow_unused=True)):
                g[r].copy_(d if d is not None else torch.zeros_like(g[r]))
            losses.append(loss.detach())
        return grads, torch.stack(losses)

    @torch.no_grad()
    def outputs(self, runs: _Runs, x: torch.Tensor) -> torch.Tensor:
        """(R, n, …) outputs of every run on x, the model in eval mode."""
        self.model.eval()
        if self.batched:
            return self._outputs(*runs.tensors(), x)
        return torch.stack([functional_call(self.model, runs.tensors(r), (x,)) for r in range(runs.runs)])


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


# what vmap's refusals mean, in the words of the notice (matched in its error message)
_REASONS = (
    (".item()", "it calls .item() on a tensor"),
    ("data-dependent control flow", "its control flow depends on a tensor's value"),
    ("inplace arithmetic", "it writes batched values in place into an unbatched tensor"),
    ("in-place", "it writes batched values in place into an unbatched tensor"),
)


def vmap_problem(engine: _Engine, runs: _Runs, x: torch.Tensor, y: torch.Tensor) -> str | None:
    """Why the model cannot be vmapped, in a few words (None: it can): a dry step on copies of two runs."""
    two = copy.copy(runs)
    two.runs = 2
    two.params = [p.detach()[:2].clone().requires_grad_(True) for p in runs.params]
    two.buffers = {n: b[:2].clone() for n, b in runs.buffers.items()}
    with torch.random.fork_rng(devices=[]):
        try:
            engine.step_gradients(two, x, y)
            engine.outputs(two, x[:2])
        except Exception as e:                              # noqa: BLE001  (vmap refuses with many kinds)
            text = str(e)
            why = next((w for key, w in _REASONS if key in text), None)
            return why or _one_line(e).split(". ")[0][:160]
    return None


def _check_plain(model: nn.Module, loss: Callable, x: torch.Tensor, y: torch.Tensor) -> None:
    """ValueError (one line) when the model itself fails on a batch: a plain forward, loss and backward of a copy."""
    name = type(model).__name__
    with torch.random.fork_rng(devices=[]):
        try:
            twin = copy.deepcopy(model).train()
            out = twin(x)
            value = loss(out, y)
            value.backward()
        except Exception as e:                              # noqa: BLE001  (your model's own error, reported)
            raise ValueError(f"{name} on a training batch of shape {tuple(x.shape)} raised {_one_line(e)}"
                             [:400]) from None
    if value.dim() != 0:
        raise ValueError(f"{name}'s output {tuple(out.shape)} gives a loss of shape {tuple(value.shape)}, not a number")


def _as_tensors(data, what: str, device) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        x, y = data
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected a pair (X, y)") from None
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"{what}: X has {len(x)} rows and y {len(y)}; need the same number, at least one")
    x = x.float() if x.is_floating_point() else x          # integer inputs (token ids) stay as they are
    return x.to(device), y.to(device)


def _train_seed(build: Callable[[], nn.Module], cfg: SweepConfig, s: int, data, loss: Callable, no_decay,
                device: torch.device, state: dict, report) -> list[dict]:
    """One seed's runs, trained and evaluated: one row per cell. state['batched'] is decided on the first seed."""
    (x_train, y_train), (x_test, y_test) = data
    seed = cfg.train.seed + s
    torch.manual_seed(seed)
    model = build().to(device)
    runs = _Runs(model, cfg, no_decay, device)
    batches = ShuffledEpochs(len(y_train), cfg.train.batch_size, seed + 1)
    first = batches.next().to(device)
    if "batched" not in state:
        _check_plain(model, loss, x_train[first], y_train[first])
        state["why"] = vmap_problem(_Engine(model, loss, True), runs, x_train[first], y_train[first])
        state["batched"] = state["why"] is None
        if state["why"]:
            state["notice"](f"{type(model).__name__} cannot be vmapped ({state['why']}): training its "
                            f"{runs.runs} runs one at a time")
    engine = _Engine(model, loss, state["batched"])
    first_bad = torch.full((runs.runs,), -1, dtype=torch.long)
    idx = first
    for t in range(1, cfg.train.steps + 1):
        grads, losses = engine.step_gradients(runs, x_train[idx], y_train[idx])
        runs.opt.step(grads)
        bad = ~torch.isfinite(losses.cpu())
        first_bad = torch.where(bad & (first_bad < 0), t, first_bad)
        if report and t % 25 == 0:
            report((s * cfg.train.steps + t) / (cfg.seeds * cfg.train.steps), None)
        idx = batches.next().to(device) if t < cfg.train.steps else idx
    return _rows(cfg, seed, runs, engine, loss, data, first_bad)


def _evaluate(runs: _Runs, engine: _Engine, loss: Callable, x: torch.Tensor, y: torch.Tensor):
    """(R,) mean loss and (R,) error over the whole set (x, y), in chunks of EVAL_CHUNK samples."""
    total, wrong = torch.zeros(runs.runs, dtype=torch.float64), torch.zeros(runs.runs, dtype=torch.float64)
    finite = torch.ones(runs.runs, dtype=torch.bool)
    classify = y.dtype in (torch.long, torch.int, torch.int16, torch.int8, torch.uint8)
    for a in range(0, len(y), EVAL_CHUNK):
        out, yc = engine.outputs(runs, x[a:a + EVAL_CHUNK]), y[a:a + EVAL_CHUNK]
        per_run = torch.stack([loss(o, yc) for o in out]).double().cpu()
        total += per_run * len(yc)
        finite &= torch.isfinite(out.flatten(1)).all(1).cpu()
        if classify:
            wrong += (out.argmax(-1) != yc).sum(-1).double().cpu()
    mean = total / len(y)
    error = torch.where(finite, wrong / len(y), torch.nan) if classify else mean
    return mean, error


def _rows(cfg: SweepConfig, seed: int, runs: _Runs, engine: _Engine, loss: Callable, data, first_bad) -> list[dict]:
    (x_train, y_train), (x_test, y_test) = data
    train_loss, _ = _evaluate(runs, engine, loss, x_train, y_train)
    test_loss, test_error = _evaluate(runs, engine, loss, x_test, y_test)
    finite = torch.stack([torch.isfinite(p.detach()).flatten(1).all(1) for p in runs.params]).all(0).cpu()
    out = []
    for r, (n, lr, wd) in enumerate(grid_cells(cfg)):
        diverged = bool(first_bad[r] >= 0) or not bool(finite[r]) or not math.isfinite(test_loss[r])
        out.append({"optimizer": n, "lr": lr, "wd": wd, "seed": seed, "train_loss": float(train_loss[r]),
                    "test_loss": float(test_loss[r]), "test_error": float(test_error[r]), "diverged": diverged})
    return out


def _warn(text: str) -> None:
    warnings.warn(text, RuntimeWarning, stacklevel=4)


def sweep_model(build: Callable[[], nn.Module], train, test, lrs: Sequence[float] | None = None, wds=None,
                pair: str | None = None, steps: int | None = None, batch_size: int | None = None,
                seeds: int | None = None, schedule: str | None = None, loss: str = "cross-entropy",
                no_decay="none", *, cfg: SweepConfig | None = None, device: str | None = None,
                progress: Callable | None = None, notice: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Sweep lr × λ of every form of `pair` on your model: one row per (optimizer, lr, λ, seed), the columns of
    explorer.runs.sweep.run_sweep (COLUMNS), so coupling(), interpret() and the heat maps read it alike.

    build: called with no arguments after torch.manual_seed(S), returns the nn.Module (the same for every run of
    seed S). train, test: (X, y) pairs — X as the model takes it, y class indices (cross-entropy) or numbers
    (mse). lrs, wds, pair, steps, batch_size, seeds, schedule: as model_sweep_config (default: the coupling
    preset's), or a whole `cfg`. no_decay: the tensors left out of the decay — none, dim, timm, name,
    comma-separated name substrings, or a function (name, tensor) → True (explorer.core.grouping).
    notice: called once with a line saying why the model runs one at a time (default: a RuntimeWarning).
    The result's attrs hold the configuration ("sweep_config", for interpret) and that reason ("one_at_a_time",
    "" when batched).
    """
    dev = torch.device(device or default_device())
    data = (_as_tensors(train, "train", dev), _as_tensors(test, "test", dev))
    cfg = model_sweep_config(cfg, lrs=lrs, wds=wds, pair=pair, steps=steps, batch_size=batch_size, seeds=seeds,
                             schedule=schedule, train_samples=len(data[0][1]))
    lossf = loss_function(loss)
    if len({OPTIMIZERS[n].precond for n in cfg.optimizers}) != 1:
        raise ValueError("a sweep needs optimizers of one preconditioner (all Adam or all SGD)")
    state: dict = {"notice": notice or _warn}
    out = []
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        for s in range(cfg.seeds):
            out += _train_seed(build, cfg, s, data, lossf, no_decay, dev, state, _caller(progress))
    frame = pd.DataFrame(out, columns=COLUMNS)
    frame.attrs.update(sweep_config=cfg, one_at_a_time=state.get("why") or "")
    return frame


def stderr_notice(prog: str) -> Callable[[str], None]:
    return lambda text: print(f"{prog}: note: {text}", file=sys.stderr)
