"""A sweep of your own model: explorer.sweep_model (one vmap over all runs) vs the loop a user would write.

Measured in one run on a small CNN over the 8×8 digits (two 3×3 convolutions, 8 and 16 channels, then a linear
layer), the coupling preset's Adam grid (3 forms × 7 lr × 7 λ = 147 runs), one seed:
  * vmap path: explorer.sweep_model, all 147 runs as one batched computation per step, then evaluation;
  * naive loop: one model at a time, torch.optim.Adam(weight_decay=λ) / AdamW as the forms registry builds
    them (torch's default implementation), the same batches, the same evaluation;
  * what bounds the vmap path: one step taken apart — the vmapped forward + backward alone and the optimizer
    step alone — and their share of the measured step.
    python benchmarks/bench_model_sweep.py [--steps 60] [--threads N] [--lrs 7]
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from explorer.core.data import ShuffledEpochs, digits  # noqa: E402
from explorer.core.forms import FORMS  # noqa: E402
from explorer.runs.model_sweep import _Engine, _Runs, loss_function, model_sweep_config, sweep_model  # noqa: E402
from explorer.runs.sweep import grid_cells, pow2  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--steps", type=int, default=60, help="steps per run")
ap.add_argument("--lrs", type=int, default=7, help="learning rates in the grid (2^-8 … 2^-2)")
ap.add_argument("--threads", type=int, default=torch.get_num_threads())
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.set_flush_denormal(True)


def cnn():
    return nn.Sequential(nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(64, 10))


data = digits(300)
train, test = (data.x_train, data.y_train), (data.x_test, data.y_test)
cfg = model_sweep_config(lrs=pow2(-8, -2, a.lrs), steps=a.steps, seeds=1, schedule="constant")
cells = grid_cells(cfg)
ce = nn.functional.cross_entropy


def vmap_path() -> float:
    t0 = time.perf_counter()
    sweep_model(cnn, train, test, cfg=cfg)
    return time.perf_counter() - t0


def naive_loop() -> float:
    t0 = time.perf_counter()
    for name, lr, wd in cells:
        torch.manual_seed(0)
        model = cnn()
        opt = FORMS[name].torch.build(model.parameters(), lr, wd)
        batches = ShuffledEpochs(len(train[1]), cfg.train.batch_size, 1)
        model.train()
        for _ in range(cfg.train.steps):
            idx = batches.next()
            loss = ce(model(train[0][idx]), train[1][idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            ce(model(train[0]), train[1]), ce(model(test[0]), test[1])
    return time.perf_counter() - t0


def step_parts(rounds: int = 15) -> tuple[float, float]:
    """Median seconds of the vmapped forward + backward and of the optimizer step, one step of all runs."""
    torch.manual_seed(0)
    model = cnn()
    runs = _Runs(model, cfg, "none", torch.device("cpu"))
    engine = _Engine(model, loss_function("cross-entropy"), True)
    batches = ShuffledEpochs(len(train[1]), cfg.train.batch_size, 1)
    fb, op = [], []
    for _ in range(rounds):
        idx = batches.next()
        t0 = time.perf_counter()
        grads, _ = engine.step_gradients(runs, train[0][idx], train[1][idx])
        t1 = time.perf_counter()
        runs.opt.step(grads)
        t2 = time.perf_counter()
        fb.append(t1 - t0)
        op.append(t2 - t1)
    return statistics.median(fb[2:]), statistics.median(op[2:])


vmap_path()                                   # warm-up: first calls, allocations
batched = min(vmap_path() for _ in range(2))
naive = naive_loop()
fb, op = step_parts()
print(f"small CNN, {len(cells)} runs × {cfg.train.steps} steps, batch {cfg.train.batch_size}, "
      f"{torch.get_num_threads()} threads")
print(f"vmap path (explorer.sweep_model): {batched:7.2f} s   ({batched / (len(cells) * cfg.train.steps) * 1e3:.3f} "
      "ms per run-step)")
print(f"naive torch.optim loop:           {naive:7.2f} s   ({naive / (len(cells) * cfg.train.steps) * 1e3:.3f} "
      "ms per run-step)")
print(f"speed-up: {naive / batched:.1f}×")
print(f"one step of all runs: forward + backward {fb * 1e3:.1f} ms, optimizer {op * 1e3:.1f} ms "
      f"({fb / (fb + op):.0%} / {op / (fb + op):.0%}); steps ≈ {(fb + op) * cfg.train.steps / batched:.0%} "
      "of the sweep's time")
