"""Sweep time estimates against the measured sweep, per preset: the pre-run estimate
(sweep.estimate_seconds, its calibration cost) and the in-run estimate (progress's seconds_left at
10 %, 25 % and 50 %) against the time the sweep took, at the threads sweep_threads_now(0) picks.
    python benchmarks/bench_estimate.py [coupling long-runs ...] [--threads N]
"""
import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from explorer.core.data import digits
from explorer.runs.sweep import PRESETS, estimate_seconds, run_sweep, sweep_threads_now, torch_threads

ap = argparse.ArgumentParser()
ap.add_argument("presets", nargs="*", default=["coupling", "long-runs"])
ap.add_argument("--threads", type=int, default=None, help="default: sweep_threads_now(0)")
a = ap.parse_args()
torch.set_flush_denormal(True)      # as the app and the CLI do

for name in a.presets:
    cfg = PRESETS[name]
    threads = a.threads or sweep_threads_now(0)
    load = os.getloadavg()[0]
    digits(cfg.train.train_samples)
    with torch_threads(threads):
        t0 = time.perf_counter()
        est = estimate_seconds(cfg)
        cost = time.perf_counter() - t0
        trace = []
        t0 = time.perf_counter()
        run_sweep(cfg, progress=lambda f, left, trace=trace, t0=t0: trace.append((f, time.perf_counter() - t0,
                                                                                   left)))
        took = time.perf_counter() - t0
    said = []
    for mark in (0.1, 0.25, 0.5):
        f, at, left = next(x for x in trace if x[0] >= mark)
        naive = at * (1 - f) / f
        said.append(f"at {f:.0%}: {left:.1f} s left (true {took - at:.1f}, naive {naive:.1f})")
    print(f"{name}: {threads} thread(s), load {load:.2f}: estimate {est:.1f} s (calibration {cost:.2f} s), "
          f"measured {took:.1f} s, ratio {est / took:.2f}; " + "; ".join(said))
