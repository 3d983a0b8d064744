"""Server-side cost of one trajectory view: 2 optimizers × 1,000 steps, batched vs torch.optim.

Prints medians measured in this run. Goal (issue 2): ≤ 50 ms for the batched engine on a 2-core CPU.
    python benchmarks/bench_trajectory.py
"""
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explorer.core.surfaces import SURFACES
from explorer.runs.trajectory import fixed_point, run_trajectories

torch.set_num_threads(1)
STEPS, REPEATS = 1000, 15


def median_ms(fn):
    fn()
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def naive(surface, lr=0.05, wd=1.0):
    """What a user would write: one torch.optim optimizer per run, autograd gradients."""
    s = SURFACES[surface]
    for cls in (torch.optim.Adam, torch.optim.AdamW):
        p = torch.tensor(s.start, requires_grad=True)
        opt = cls([p], lr=lr, weight_decay=wd)
        for _ in range(STEPS):
            opt.zero_grad()
            s.value(p[0], p[1]).backward()
            opt.step()


print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); median of {REPEATS} runs")
print(f"{'surface':<12} {'batched engine':>15} {'+ fixed points':>15} {'torch.optim loop':>17} {'speed-up':>9}")
for name in SURFACES:
    pair = ["adam-l2", "adamw-torch"]
    ours = median_ms(lambda: run_trajectories(name, pair, lr=0.05, wd=1.0, steps=STEPS))
    marks = median_ms(lambda: [fixed_point(name, n, 0.05, 1.0) for n in pair])
    ref = median_ms(lambda: naive(name))
    print(f"{name:<12} {ours:>12.1f} ms {marks:>12.1f} ms {ref:>14.1f} ms {ref / ours:>8.1f}×")
