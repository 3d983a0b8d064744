"""The lr × λ sweep engine vs the loop a user would write, and vs this machine's matmul peak.

Measured in one run on the default Adam grid (3 optimizers × 7 lr × 7 λ = 147 cells):
  * batched engine: every cell in one computation (run dimension);
  * naive loop: one model at a time with torch.optim (Adam / AdamW), the same batches;
  * achieved GFLOP/s of the engine (matmul FLOPs of forward + backward) vs torch.mm on large
    square matrices with the same threads.
    python benchmarks/bench_sweep.py [--steps 300] [--device cuda] [--threads N]
"""
import argparse
import dataclasses
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from explorer.data import digits  # noqa: E402
from explorer.models import forward_one, init_params  # noqa: E402
from explorer.sweep import PRESETS, run_sweep  # noqa: E402
from explorer.train import Trainer, default_device  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--steps", type=int, default=300, help="steps per cell")
ap.add_argument("--device", default=default_device())
ap.add_argument("--threads", type=int, default=torch.get_num_threads())
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.set_flush_denormal(True)
dev = torch.device(a.device)
preset = PRESETS["coupling"]
cfg = dataclasses.replace(preset, seeds=1)
cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, steps=a.steps))
cells = [(n, lr, wd) for n in cfg.optimizers for lr in cfg.lrs for wd in cfg.wd_grid(n)]
spec = cfg.train.model_spec
sizes = spec.sizes
fwd = 2 * cfg.train.batch_size * sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))
bwd = fwd + 2 * cfg.train.batch_size * sum(i * o for i, o in zip(sizes[1:-1], sizes[2:]))
flop_per_cell_step = fwd + bwd


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


def batched() -> float:
    sync()
    t0 = time.perf_counter()
    run_sweep(cfg, a.device)
    sync()
    return time.perf_counter() - t0


def naive() -> float:
    """What a user would write: for each cell, a model and a torch.optim optimizer, the same batches."""
    data = digits(cfg.train.train_samples).to(dev)
    order = Trainer(cfg.train, "cpu")
    batches = [order._next_batch().to(dev) for _ in range(a.steps)]
    sync()
    t0 = time.perf_counter()
    for name, lr, wd in cells:
        ps = [p[0].detach().clone().requires_grad_(True) for p in init_params(spec, 1, cfg.train.seed, dev)]
        if name == "adam-l2":
            opt = torch.optim.Adam(ps, lr=lr, weight_decay=wd)
        else:
            opt = torch.optim.AdamW(ps, lr=lr, weight_decay=wd / lr if name == "adamw" else wd)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.steps)
        for idx in batches:
            opt.zero_grad()
            F.cross_entropy(forward_one(spec, ps, data.x_train[idx]), data.y_train[idx]).backward()
            opt.step()
            sched.step()
    sync()
    return time.perf_counter() - t0


def matmul_peak(n=2048, reps=10) -> float:
    x = torch.randn(n, n, device=dev)
    y = torch.randn(n, n, device=dev)
    torch.mm(x, y)
    sync()
    t0 = time.perf_counter()
    for _ in range(reps):
        torch.mm(x, y)
    sync()
    return 2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9


name = torch.cuda.get_device_name(0) if dev.type == "cuda" else f"CPU, {torch.get_num_threads()} thread(s)"
print(f"device: {name}; torch {torch.__version__}; {len(cells)} cells × {a.steps} steps "
      f"({cfg.train.model} {spec.width}x{spec.depth}, batch {cfg.train.batch_size})")
tb = min(batched() for _ in range(2))
tn = naive()
peak = max(matmul_peak() for _ in range(3))
work = flop_per_cell_step * len(cells) * a.steps
print(f"batched engine:  {tb:7.2f} s   {len(cells) * a.steps / tb:9.0f} cell-steps/s   {work / tb / 1e9:6.1f} GFLOP/s")
print(f"naive loop:      {tn:7.2f} s   {len(cells) * a.steps / tn:9.0f} cell-steps/s   {work / tn / 1e9:6.1f} GFLOP/s")
print(f"speed-up:        {tn / tb:7.1f}×")
print(f"torch.mm peak:   {peak:7.1f} GFLOP/s → the engine reaches {100 * work / tb / 1e9 / peak:.0f} % of it")
for name in ("coupling", "long-runs"):
    p = PRESETS[name]
    print(f"preset {name!r} ({p.train.steps} steps) ≈ {tb * p.train.steps / a.steps:.0f} s per seed on this grid size")
