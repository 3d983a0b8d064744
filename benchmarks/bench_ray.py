"""What Ray costs and what a part of a sweep costs, on this machine, in one run: the figures behind docs/cluster.md.

For two grids — the default preset (`coupling`: 3 forms × 7 lr × 7 λ = 147 runs, 2 seeds, 300 steps) and 441 runs
(3 forms × 21 lr × 7 λ, 1 seed, 300 steps) — it times:
  * the sweep here (run_sweep, as `python -m explorer sweep` runs it: every idle core's thread; and one thread);
  * the same sweep on a local Ray instance with as many CPUs (explorer.runs.cluster, default parts), twice: the first
    run includes the workers' start (a Python process that imports torch, per CPU), the second finds them started;
    both outputs are checked equal to the sweep here, bit for bit;
  * one part alone at one thread (chunks.train_chunk), at several sizes: the seconds per run-step a node spends;
and Ray's own costs: joining (starting) the instance, a task's round trip (one at a time: latency; 200 at once:
throughput), and the bytes a part ships (its configuration once per sweep, its rows back).
    python benchmarks/bench_ray.py [--cpus 2] [--steps 300] [--quick]
"""
import argparse
import dataclasses
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from explorer.runs import chunks, cluster  # noqa: E402
from explorer.runs.cost import torch_threads  # noqa: E402
from explorer.runs.sweep import PRESETS, grid_cells, pow2, run_sweep  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance and threads of the run here")
ap.add_argument("--steps", type=int, default=300)
ap.add_argument("--quick", action="store_true", help="30 steps: a smoke run of the script")
a = ap.parse_args()
steps = 30 if a.quick else a.steps
torch.set_flush_denormal(True)
base = PRESETS["coupling"]
GRIDS = {
    "default preset (147 runs × 2 seeds)": dataclasses.replace(
        base, train=dataclasses.replace(base.train, steps=steps)),
    "441 runs (21 lr × 7 λ × 3 forms, 1 seed)": dataclasses.replace(
        base, lrs=pow2(-8, -2, 21), seeds=1, train=dataclasses.replace(base.train, steps=steps)),
}


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def here(cfg, threads):
    with torch_threads(threads):
        return timed(lambda: run_sweep(cfg))


def part_seconds(cfg, runs: int) -> float:
    """One part of `runs` runs of cfg's first seed, trained here at one thread (a node's CPU), best of 2."""
    with torch_threads(1):
        return min(timed(lambda: chunks.train_chunk(cfg, 0, 0, runs))[0] for _ in range(2))


print(f"torch {torch.__version__}, {a.cpus} CPUs, {steps} steps per run; load average {os.getloadavg()[0]:.1f} "
      f"at the start")
t_join, _ = timed(lambda: cluster.connect("local", num_cpus=a.cpus))
print(f"joining: a new local Ray instance started in {t_join:.1f} s")
ray = cluster._ray()
JOIN = f"""
import sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
t0 = time.perf_counter()
from explorer.runs import cluster, chunks
cluster.connect({ray.get_runtime_context().gcs_address!r})
t1 = time.perf_counter()
cluster._ray().get(cluster._remote(chunks.check_chunk_runs).remote(16))
print(f"{{t1 - t0:.2f}} {{time.perf_counter() - t1:.2f}}")
"""
joined = subprocess.run([sys.executable, "-c", JOIN], capture_output=True, text=True, check=True).stdout.split()
print(f"another process joining it: {joined[0]} s (imports included); its first task, on a fresh worker process "
      f"(python, torch, the explorer package): {joined[1]} s")
noop = ray.remote(num_cpus=1)(lambda: None)
ray.get(noop.remote())                                       # a worker started
latency = min(timed(lambda: ray.get(noop.remote()))[0] for _ in range(50))
t200, _ = timed(lambda: ray.get([noop.remote() for _ in range(200)]))
print(f"a task's round trip, one at a time: {latency * 1e3:.2f} ms (best of 50); 200 at once: "
      f"{t200 / 200 * 1e3:.2f} ms a task")

for name, cfg in GRIDS.items():
    runs, seeds = len(grid_cells(cfg)), cfg.seeds
    size = chunks.chunk_runs(runs, seeds, a.cpus)
    plan = chunks.plan([cfg], size)
    print(f"\n{name}: {runs * seeds} run-seeds × {steps} steps; parts of {size} runs: {len(plan)} tasks")
    t_here, want = here(cfg, a.cpus)
    t_one, _ = here(cfg, 1)
    t_cold, got_cold = timed(lambda: cluster.sweeps([cfg])[0])
    t_warm, got_warm = timed(lambda: cluster.sweeps([cfg])[0])
    same = want.equals(got_cold) and want.equals(got_warm) and \
        want.to_csv(float_format="%.17g") == got_warm.to_csv(float_format="%.17g")
    print(f"  here, {a.cpus} threads      {t_here:7.2f} s")
    print(f"  here, 1 thread        {t_one:7.2f} s")
    print(f"  Ray, first run        {t_cold:7.2f} s   ({t_cold / t_here:.2f}× here; workers start: python + torch)")
    print(f"  Ray, workers started {t_warm:7.2f} s   ({t_warm / t_here:.2f}× here)   bit for bit equal: {same}")
    shipped = len(ray.cloudpickle.dumps(cfg))
    back = len(pickle.dumps(chunks.train_chunk(dataclasses.replace(cfg, train=dataclasses.replace(
        cfg.train, steps=1)), 0, 0, size)))
    print(f"  shipped: the configuration {shipped:,} bytes once per sweep; a part's rows back {back:,} bytes")
    for n in sorted({16, 32, size, min(runs, 4 * size)}):
        if n <= runs:
            s = part_seconds(cfg, n)
            print(f"  one part of {n:3} runs, 1 thread: {s:6.2f} s = {s / (n * steps) * 1e6:6.1f} µs a run-step")

package = sum(f.stat().st_size for f in Path(cluster.PACKAGE).rglob("*")
              if f.is_file() and "__pycache__" not in f.parts and "presets" not in f.parts)
print(f"\nthe explorer package shipped to each node once (py_modules, before compression): {package / 1e3:.0f} kB")
cluster.shutdown()
print(f"load average {os.getloadavg()[0]:.1f} at the end")
