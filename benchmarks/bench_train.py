"""Live-training speed, measured in one run on this machine (CPU, or CUDA when present).

Prints: steps/s headless; steps/s with the live view's server-side work (evaluate + build and
serialize every chart each tick, as the app does); and the batched engine (both runs in one
computation) vs the two torch.optim loops a user would write.
    python benchmarks/bench_train.py [--device cuda] [--steps 1500]
"""
import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from explorer.core.data import digits  # noqa: E402
from explorer.core.models import forward_one, init_params  # noqa: E402
from explorer.runs.train import TrainConfig, Trainer, default_device  # noqa: E402
from explorer.viz import training_charts

ap = argparse.ArgumentParser()
ap.add_argument("--device", default=default_device())
ap.add_argument("--steps", type=int, default=1500)
ap.add_argument("--threads", type=int, default=1, help="torch threads (the app uses 1)")
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.set_flush_denormal(True)
cfg = TrainConfig(steps=a.steps)
names = list(cfg.optimizers)
dev = torch.device(a.device)


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


def headless():
    tr = Trainer(cfg, a.device)
    sync()
    t0 = time.perf_counter()
    while not tr.done:
        tr.step(cfg.eval_every)
        tr.evaluate()
    sync()
    return cfg.steps / (time.perf_counter() - t0)


def live(tick=0.6):
    """The app's loop (app.live_panel): train for a tick, then redraw every chart (spec → JSON),
    with the app's evaluation interval, steps // 30."""
    tr = Trainer(dataclasses.replace(cfg, eval_every=max(1, cfg.steps // 30)), a.device)
    rows = tr.evaluate()
    sync()
    t0 = time.perf_counter()
    while not tr.done:
        rows += tr.advance(tick)
        df = pd.DataFrame(rows)
        # what app.live_panel hands to st.vega_lite_chart: data as Arrow, the cached spec as JSON
        for data, spec in [training_charts.training_part(df, m, names) for m in training_charts.TRAIN_TITLES] + \
                          [training_charts.layer_norm_part(df, names),
                           training_charts.decay_part(tr.effective_decay(), names, tr.step_count)]:
            pa.Table.from_pandas(data)
            json.dumps(spec)
    sync()
    return cfg.steps / (time.perf_counter() - t0)


def two_loops():
    """Two models, two torch.optim optimizers (Adam with weight_decay, AdamW), the same batches."""
    data = digits(cfg.train_samples).to(dev)
    runs = []
    for cls in (torch.optim.Adam, torch.optim.AdamW):
        ps = [p[0].detach().clone().requires_grad_(True) for p in init_params(cfg.model_spec, 1, cfg.seed, dev)]
        runs.append((ps, cls(ps, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps, weight_decay=cfg.wd)))
    sched = [torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=cfg.steps) for _, o in runs]
    g = torch.Generator().manual_seed(1)
    sync()
    t0 = time.perf_counter()
    for step in range(cfg.steps):
        idx = torch.randint(0, len(data.y_train), (cfg.batch_size,), generator=g).to(dev)
        for (ps, opt), s in zip(runs, sched):
            opt.zero_grad()
            F.cross_entropy(forward_one(cfg.model_spec, ps, data.x_train[idx]), data.y_train[idx]).backward()
            opt.step()
            s.step()
    sync()
    return cfg.steps / (time.perf_counter() - t0)


name = torch.cuda.get_device_name(0) if dev.type == "cuda" else f"CPU, {torch.get_num_threads()} thread(s)"
print(f"device: {name}; torch {torch.__version__}; model {cfg.model} {cfg.width}x{cfg.depth}, batch "
      f"{cfg.batch_size}, {cfg.steps} steps, 2 runs ({', '.join(names)})")
# best of 3 for each (this machine's timings are noisy; the best is the least disturbed run)
h, lv, n = (max(f() for _ in range(3)) for f in (headless, live, two_loops))
print(f"headless (evaluate every {cfg.eval_every}):  {h:8.0f} steps/s")
print(f"with the live view:                {lv:8.0f} steps/s   overhead {100 * (h / lv - 1):.0f} %")
print(f"two torch.optim loops:             {n:8.0f} steps/s   batched engine is {h / n:.2f}x faster")
