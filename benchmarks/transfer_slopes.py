"""The transfer slopes docs/science.md quotes: log2 best λ on log2 of steps, training digits and batch size, per form.

The `coupling` preset's training at its middle lr (α = 2^-5), with λ grids one power of two apart (11 per form,
around each form's best), seeds averaged and each seed alone. Usage:
    python benchmarks/transfer_slopes.py [--axes steps,train-samples,batch-size] [--seeds 3] [--out DIR]
"""
import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from explorer.analysis import transfer as transfer_analysis
from explorer.analysis.interpret import coupling
from explorer.runs import transfer
from explorer.runs.cost import sweep_threads_now, torch_threads
from explorer.runs.sweep import PRESETS, pow2

VALUES = {"steps": (75, 150, 300, 600, 1200), "train-samples": (75, 150, 300, 600, 1200),
          "batch-size": (8, 16, 32, 64, 128)}
GRIDS = (("adam-l2", pow2(-12, -2)), ("adamw", pow2(-10, 0)), ("adamw-torch", pow2(-5, 5)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--axes", default="steps,train-samples,batch-size")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default=None, help="folder for each axis's runs (CSV)")
    args = ap.parse_args()
    torch.set_flush_denormal(True)
    base = dataclasses.replace(PRESETS["coupling"], wds=GRIDS, seeds=args.seeds)
    for axis in args.axes.split(","):
        cfg = transfer.axis_sweep(base, axis, VALUES[axis])
        t0 = time.perf_counter()
        with torch_threads(sweep_threads_now(0)):
            frame = transfer.run(cfg)
        if args.out:
            frame.to_csv(Path(args.out) / f"transfer-{axis}.csv", index=False)
        print(f"{axis} {cfg.values} at α = {cfg.lr:g} ({time.perf_counter() - t0:.0f} s)")
        t = transfer_analysis.transfer(cfg, frame)
        for name, _ in GRIDS:
            seeds = [coupling(frame[frame["seed"] == s], name, row=cfg.column).slope
                     for s in sorted(frame["seed"].unique())]
            best = t.best[t.best["optimizer"] == name]
            rules = [f"{r} {p:+g}" for r in transfer_analysis.RULES
                     if (p := transfer_analysis.predicted_slope(r, axis, name)) is not None]
            print(f"  {name:<12} slope {t.slopes[name]:+.2f} (seeds {', '.join(f'{s:+.2f}' for s in seeds)}) "
                  f"best λ log2 {[round(math.log2(v)) for v in best['best_wd']]} flat {int((~best['counted']).sum())} "
                  f"edge {int(best['edge'].sum())}" + (f"; predicted {', '.join(rules)}" if rules else ""))


if __name__ == "__main__":
    main()
