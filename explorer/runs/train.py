"""Live side-by-side training on real data: every run in one batched computation.

All runs share the initial weights, the data and the order of the mini-batches; only the optimizer
configuration (in the app: where λ enters the update) differs.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd
import torch

from explorer.core.data import MAX_TRAIN, Dataset, batch_order, digits
from explorer.core.models import Backprop, ModelSpec, decay_mask, forward, init_params, loss_per_run, param_names
from explorer.core.optim import BatchedOptimizer
from explorer.core.schedules import Schedule
from explorer.core.yourdata import TableData


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass(frozen=True)
class TrainConfig:
    """One live-training or sweep configuration. Its defaults are the app's and the CLI's (the Spec table
    explorer.interface.params.TRAIN reads them from here). t0 and eval_every None: derived from steps
    (steps // 5, and steps // 30 but at least 1). data None: scikit-learn's digits; a TableData (your data,
    explorer.core.yourdata): its first train_samples training rows and its test third, the model's input width and
    classes following it. The defaults show the point at first sight: on all 1,200
    training digits, λ = 0.05 leaves AdamW (PyTorch form) at 97.2 % test accuracy, Adam+L2 at 93.6 %."""
    optimizers: tuple[str, ...] = ("adam-l2", "adamw-torch")
    model: str = "mlp"
    width: int = 128
    depth: int = 2
    init_scale: float = 1.0
    lr: float = 1e-3
    wd: float = 0.05
    no_decay: str = "none"
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    momentum: float = 0.9
    batch_size: int = 32
    steps: int = 1500
    train_samples: int = MAX_TRAIN
    schedule: str = "cosine"
    warmup: int = 0
    decay_follows: bool = True
    t0: int | None = None
    t_mult: int = 2
    seed: int = 0
    eval_every: int | None = None
    # not in repr: the shipped presets are recognised by repr (explorer.runs.precomputed.fingerprint), which a
    # digits config keeps as it was; your data is in == and hash (its digest), what cache keys use
    data: TableData | None = field(default=None, repr=False)
    # choices a reader would call irrelevant (explorer.runs.variants varies them; core.data.BATCH_ORDERS,
    # core.models.INIT_STREAMS). Not in repr either, so the shipped presets' recorded configurations stay what they
    # were; in == and hash, so a variant is never taken for its preset
    batch_order: str = field(default="epochs", repr=False)
    init_stream: str = field(default="engine", repr=False)

    @property
    def restart_period(self) -> int:
        """Warm restarts' first period T_0 in steps."""
        return self.t0 or max(1, self.steps // 5)

    @property
    def eval_interval(self) -> int:
        """Steps between two evaluations."""
        return self.eval_every or max(1, self.steps // 30)

    @property
    def lr_schedule(self) -> Schedule:
        """The schedule multiplier η_t of this run (the one construction of it from a configuration)."""
        return Schedule(self.schedule, total_steps=self.steps, t0=self.restart_period, t_mult=self.t_mult,
                        warmup=self.warmup)

    @property
    def model_spec(self) -> ModelSpec:
        if self.data is None:
            return ModelSpec(self.model, self.width, self.depth, init_scale=self.init_scale)
        return ModelSpec(self.model, self.width, self.depth, inputs=self.data.inputs,
                         classes=len(self.data.classes), init_scale=self.init_scale)

    def dataset(self) -> Dataset:
        """What this configuration trains and tests on (standardized with its training rows' statistics)."""
        return digits(self.train_samples) if self.data is None else self.data.dataset(self.train_samples)

    @property
    def train_count(self) -> int:
        """Training rows a run uses: train_samples, or all of your data's when it has fewer."""
        return self.train_samples if self.data is None else min(self.train_samples, self.data.train_rows)


METRICS = ["train_loss", "test_loss", "test_acc", "weight_norm"]


class Trainer:
    """Advance R runs step by step; evaluate and inspect them at any time."""

    # called as on_step(trainer) after every optimizer step (step_count already counts it); None: no
    # instruments, nothing to pay (explorer.instruments.attach sets it)
    on_step = None

    def __init__(self, cfg: TrainConfig, device: str | None = None, lr=None, wd=None):
        """lr, wd: optional per-run values (a sweep), overriding cfg.lr and cfg.wd."""
        self.cfg = cfg
        self.device = torch.device(device or default_device())
        self.spec = cfg.model_spec
        self.data = cfg.dataset().to(self.device)
        names = list(cfg.optimizers)
        self.names = names
        self.params = init_params(self.spec, len(names), cfg.seed, device=self.device, stream=cfg.init_stream)
        self.opt = BatchedOptimizer(
            self.params, names, lr=cfg.lr if lr is None else lr, wd=cfg.wd if wd is None else wd,
            beta1=cfg.beta1, beta2=cfg.beta2, eps=cfg.eps,
            momentum=cfg.momentum, schedule=cfg.lr_schedule, decay_follows_schedule=cfg.decay_follows,
            decay_mask=decay_mask(self.spec, cfg.no_decay))
        self.backprop = Backprop(self.spec, self.params, self.opt.grads)
        self._epochs = batch_order(cfg.batch_order, len(self.data.y_train), cfg.batch_size, cfg.seed + 1)
        self.step_count = 0
        self._first_bad = torch.full((len(names),), -1, dtype=torch.long, device=self.device)

    # -- the data order (shuffled epochs, or draws with replacement), the same for every run -------
    def _next_batch(self) -> torch.Tensor:
        return self._epochs.next().to(self.device)

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            if self.step_count >= self.cfg.steps:
                return
            idx = self._next_batch()
            with torch.no_grad():
                # gradients by hand, written straight into the optimizer's packed buffer (autograd's bits)
                losses = self.backprop(self.data.x_train[idx], self.data.y_train[idx])
                self.opt.step(self.opt.grads)
            self.step_count += 1
            bad = ~torch.isfinite(losses.detach())
            self._first_bad = torch.where(bad & (self._first_bad < 0), self.step_count, self._first_bad)
            if self.on_step is not None:
                self.on_step(self)

    def advance(self, seconds: float) -> list[dict]:
        """Train for about `seconds` of wall time (whole eval_every chunks); the rows evaluated on the way."""
        t0, rows, k = time.perf_counter(), [], self.cfg.eval_interval
        while not self.done and (not rows or time.perf_counter() - t0 < seconds):
            self.step(min(k - self.step_count % k, self.cfg.steps - self.step_count))
            rows += self.evaluate()
        return rows

    def state(self) -> dict:
        """Everything that changes as it trains, copied: Trainer(cfg).load_state(state) continues bit for bit
        (a live run's next second in a worker process). The data, the model and the plan are rebuilt from cfg."""
        return {"step": self.step_count, "params": [p.detach().clone() for p in self.params],
                "opt": self.opt.state_dict(), "batches": self._epochs.generator.get_state(),
                "order": self._epochs.order.clone(),
                "first_bad": self._first_bad.clone()}

    @torch.no_grad()
    def load_state(self, saved: dict) -> None:
        for mine, theirs in zip(self.params, saved["params"], strict=True):
            mine.copy_(theirs)
        self.opt.load_state_dict(saved["opt"])
        self._epochs.generator.set_state(saved["batches"])
        self._epochs.order, self._first_bad = saved["order"].clone(), saved["first_bad"].clone()
        self.step_count = int(saved["step"])

    def run(self) -> list[dict]:
        """Train to the end: rows at step 0 (if not trained yet), every eval_every steps and at the end."""
        rows = [] if self.step_count else self.evaluate()
        return rows + self.advance(math.inf)

    @property
    def done(self) -> bool:
        return self.step_count >= self.cfg.steps

    def diverged_runs(self) -> list[int | None]:
        """Per run: the step whose mini-batch loss was first inf/NaN (None: still finite)."""
        finite = torch.stack([torch.isfinite(p.detach()).flatten(1).all(1) for p in self.params]).all(0)
        return [f if f >= 0 else (None if ok else self.step_count)
                for f, ok in zip(self._first_bad.tolist(), finite.tolist())]

    def diverged(self) -> dict[str, int | None]:
        """optimizer → the step whose mini-batch loss was first inf/NaN (None: still finite)."""
        return dict(zip(self.names, self.diverged_runs()))

    @torch.no_grad()
    def evaluate(self) -> list[dict]:
        """One row per run: step, train/test loss, test accuracy, weight norms (total and per layer)."""
        d = self.data
        train_loss = loss_per_run(forward(self.spec, self.params, d.x_train), d.y_train)
        logits = forward(self.spec, self.params, d.x_test)
        test_loss = loss_per_run(logits, d.y_test)
        test_acc = (logits.argmax(-1) == d.y_test).float().mean(1)
        # a diverged run has no accuracy (argmax of NaN logits would report a fake chance level)
        test_acc = torch.where(torch.isfinite(logits).flatten(1).all(1), test_acc, torch.nan)
        sq = [(p.detach() ** 2).flatten(1).sum(1) for p in self.params]
        total = torch.stack(sq).sum(0).sqrt()
        layers = torch.stack(sq[0::2]).sqrt()                     # weights only, per layer
        cols = torch.stack([train_loss, test_loss, test_acc, total]).cpu().double().numpy()
        layers = layers.cpu().double().numpy()
        rows = []
        for r, n in enumerate(self.names):
            row = {"optimizer": n, "step": self.step_count}
            row.update({m: float(cols[k, r]) for k, m in enumerate(METRICS)})
            row.update({f"norm_{name}": float(layers[i, r]) for i, name in enumerate(self.spec.layer_names)})
            rows.append(row)
        return rows

    @torch.no_grad()
    def effective_decay(self, bins: int = 40) -> pd.DataFrame:
        """Per-weight decay rate at the current state (fraction of θ removed per step at η_t = 1,
        so the schedule does not hide the rule), summarized per layer as a histogram.

        Returns rows optimizer, layer, log10_rate (bin centre), fraction (of the layer's weights).
        Decoupled runs put all weights in one bin; Adam+L2 spreads them over orders of magnitude.
        """
        rates = self.opt.decay_rates(eta=1.0)[0::2]
        logs = [torch.log10(r.flatten(1).double().clamp_min(1e-30)).cpu() for r in rates]
        finite = torch.cat([l[torch.isfinite(l) & (l > -29)] for l in logs])
        if finite.numel() == 0:
            return pd.DataFrame(columns=["optimizer", "layer", "log10_rate", "fraction"])
        lo, hi = float(finite.min()), float(finite.max())
        if hi - lo < 1e-9:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, bins + 1)
        centres = (edges[:-1] + edges[1:]) / 2
        out = []
        for layer, l in zip(self.spec.layer_names, logs):
            for r, n in enumerate(self.names):
                v = l[r].numpy()
                v = v[np.isfinite(v) & (v > -29)]
                if len(v) == 0:
                    continue
                hist, _ = np.histogram(np.clip(v, lo, hi), edges)
                out += [{"optimizer": n, "layer": layer, "log10_rate": c, "fraction": h / len(v)}
                        for c, h in zip(centres, hist) if h]
        return pd.DataFrame(out)

    @torch.no_grad()
    def decay_groups(self) -> pd.DataFrame:
        """Per run and parameter group (decayed, not decayed): its tensors and size, its weight norm and
        the median share of a weight its decay removes per step (at η_t = 1; 0 for the group left out).

        Returns rows optimizer, group, tensors, parameters, norm, median_decay."""
        rates, names, out = self.opt.decay_rates(eta=1.0), param_names(self.spec), []
        for group, decays in (("decayed", True), ("not decayed", False)):
            idx = [i for i, m in enumerate(self.opt.decay_mask) if m is decays]
            if not idx:
                continue
            theta, rate = (torch.cat([ts[i].detach().flatten(1) for i in idx], 1).double().cpu()
                           for ts in (self.params, rates))
            norms, medians = theta.norm(dim=1), rate.median(dim=1).values
            for r, n in enumerate(self.names):
                out.append({"optimizer": n, "group": group, "tensors": ", ".join(names[i] for i in idx),
                            "parameters": theta.shape[1], "norm": float(norms[r]),
                            "median_decay": float(medians[r])})
        return pd.DataFrame(out)


def changed_settings(old: TrainConfig, new: TrainConfig) -> list[str]:
    """Names of the settings that differ between two configurations, in field order."""
    return [f.name for f in fields(TrainConfig) if getattr(old, f.name) != getattr(new, f.name)]


def train_table(cfg: TrainConfig, device: str | None = None) -> pd.DataFrame:
    return pd.DataFrame(Trainer(cfg, device).run())
