"""The lr × λ sweep engine vs the loop a user would write, and vs this machine's matmul peak.

Measured in one run on the default Adam grid (3 optimizers × 7 lr × 7 λ = 147 cells):
  * batched engine: every cell in one computation (run dimension);
  * naive loop: one model at a time with torch.optim (Adam / AdamW), the same batches;
  * achieved GFLOP/s of the engine (matmul FLOPs of forward + backward) vs torch.mm on large
    square matrices with the same threads;
  * the ceiling for this grid on this machine, measured from its two unavoidable parts: the step's
    eight batched matmuls alone, into kept outputs (batch 32: small per-run matrices), and one fused
    Adam pass over all weights (7 × 4 bytes per weight: memory-bound). FLOPs / (their sum) is the best
    any engine can reach here without changing the problem (each part timed both interleaved with the
    engine's parts and back to back, the faster counting);
  * one step taken apart: the Trainer's step, its forward + backward (of which the matmuls, the rest
    elementwise), its optimizer step (of which one fused Adam pass, the rest the decay's passes and
    kernel calls), and the rest (batch, divergence check, the parts' cache interplay). Medians over
    interleaved rounds, so a load that comes and goes slows every part alike.
    python benchmarks/bench_sweep.py [--steps 300] [--device cuda] [--threads N]
"""
import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from explorer.core.data import digits  # noqa: E402
from explorer.core.models import forward_one, init_params  # noqa: E402
from explorer.runs.sweep import PRESETS, grid_cells, run_sweep, seed_trainer  # noqa: E402
from explorer.runs.train import Trainer, default_device  # noqa: E402

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
cells = grid_cells(cfg)
spec = cfg.train.model_spec
sizes = spec.sizes
fwd = 2 * cfg.train.batch_size * sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))
bwd = fwd + 2 * cfg.train.batch_size * sum(i * o for i, o in zip(sizes[1:-1], sizes[2:]))
flop_per_cell_step = fwd + bwd
n_weights = len(cells) * sum(i * o + o for i, o in zip(sizes[:-1], sizes[1:]))


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


def step_parts(rounds=15) -> tuple[dict[str, float], int]:
    """Median seconds per step of each part (interleaved rounds of two calls each); kernel calls a step."""
    tr = seed_trainer(dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, steps=10 ** 9)), 0, a.device)
    idx = tr._next_batch()
    x, y = tr.data.x_train[idx], tr.data.y_train[idx]
    r, b = len(cells), cfg.train.batch_size
    mats = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        h, w, dz = (torch.randn(r, *s, device=dev) for s in ((b, n_in), (n_in, n_out), (b, n_out)))
        outs = [torch.empty(r, *s, device=dev) for s in ((b, n_out), (n_in, n_out), (b, n_in))]
        mats.append(lambda h=h, w=w, o=outs[0]: torch.bmm(h, w, out=o))                          # forward
        mats.append(lambda h=h, dz=dz, o=outs[1]: torch.bmm(h.transpose(1, 2), dz, out=o))       # dW
        if i > 0:
            mats.append(lambda w=w, dz=dz, o=outs[2]: torch.bmm(dz, w.transpose(1, 2), out=o))   # dX
    p, g, m, v = (torch.rand(n_weights, device=dev) for _ in range(4))
    t = [torch.tensor(10.0, device=dev)]
    parts = {
        "step": lambda: tr.step(1),
        "forward+backward": lambda: tr.backprop(x, y),
        "matmuls": lambda: [f() for f in mats],
        "optimizer": lambda: tr.opt.step(tr.opt.grads),
        "adam pass": lambda: torch._fused_adam_([p], [g], [m], [v], [], t, lr=1e-3, beta1=0.9, beta2=0.999,
                                                weight_decay=0.0, eps=1e-8, amsgrad=False, maximize=False),
    }
    times: dict[str, list[float]] = {k: [] for k in parts}
    with torch.no_grad():
        for _ in range(rounds + 1):
            for k, f in parts.items():
                sync()
                t0 = time.perf_counter()
                f()
                f()
                sync()
                times[k].append((time.perf_counter() - t0) / 2)
        out = {k: statistics.median(v[1:]) for k, v in times.items()}
        # the ceiling's parts also back to back (their data then stays in cache): the faster of the two
        # counts, so the ceiling is never looser than either way of timing it
        for k in ("matmuls", "adam pass"):
            out[k] = min(out[k], statistics.median(timed(parts[k]) for _ in range(5)))
    return out, len(tr.opt._groups)


def timed(f, reps=4) -> float:
    sync()
    t0 = time.perf_counter()
    for _ in range(reps):
        f()
    sync()
    return (time.perf_counter() - t0) / reps


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
ms, calls = step_parts()
ms = {k: 1e3 * v for k, v in ms.items()}
t_mm, t_opt = ms["matmuls"] / 1e3, ms["adam pass"] / 1e3
step_flop = flop_per_cell_step * len(cells)
print(f"engine step:     {ms['step']:7.2f} ms = forward+backward {ms['forward+backward']:.2f} "
      f"(matmuls {ms['matmuls']:.2f} + elementwise {ms['forward+backward'] - ms['matmuls']:.2f}) "
      f"+ optimizer {ms['optimizer']:.2f} (one fused Adam pass {ms['adam pass']:.2f} + decay passes and "
      f"{calls} kernel calls {ms['optimizer'] - ms['adam pass']:.2f}) "
      f"+ the rest {ms['step'] - ms['forward+backward'] - ms['optimizer']:.2f} ms (batch, divergence check, "
      f"the parts' effect on each other's caches; medians, interleaved)")
print(f"ceiling step:    {ms['matmuls'] + ms['adam pass']:7.2f} ms = the matmuls alone {ms['matmuls']:.2f} ms "
      f"({step_flop / t_mm / 1e9:.0f} GFLOP/s) + one fused Adam pass {ms['adam pass']:.2f} ms "
      f"({28 * n_weights / t_opt / 1e9:.0f} GB/s at 28 bytes per weight; each the faster of interleaved and "
      f"back to back) = "
      f"{100 * (ms['matmuls'] + ms['adam pass']) / ms['step']:.0f} % of the engine's step")
ceil = step_flop / (t_mm + t_opt) / 1e9
print(f"ceiling:         {ceil:7.1f} GFLOP/s = {100 * ceil / peak:.0f} % of matmul peak; "
      f"the engine reaches {100 * work / tb / 1e9 / ceil:.0f} % of this ceiling")
for name in ("coupling", "long-runs"):
    p = PRESETS[name]
    print(f"preset {name!r} ({p.train.steps} steps) ≈ {tb * p.train.steps / a.steps:.0f} s per seed on this grid size")
