"""The transfer slopes docs/science.md quotes: log2 best λ on log2 of steps, training digits and batch size, per form.

The `coupling` preset's training at its middle lr (α = 2^-5), with λ grids one power of two apart (11 per form,
around each form's best), seeds averaged and each seed alone. Usage:
    python benchmarks/transfer_slopes.py [--axes steps,train-samples,batch-size] [--seeds 3] [--out DIR] [--robustness]

--robustness: each axis under the 12 variants of explorer.runs.variants (seed pairs, batch order, init stream; use
--seeds 2 for seed pairs), printing each form's median [range] over them and the rules' verdicts.
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
from explorer.analysis.robust import plain, robust_summary
from explorer.runs import transfer
from explorer.runs.cost import sweep_threads_now, torch_threads
from explorer.runs.sweep import PRESETS, pow2
from explorer.runs.variants import run_robust

VALUES = {"steps": (75, 150, 300, 600, 1200), "train-samples": (75, 150, 300, 600, 1200),
          "batch-size": (8, 16, 32, 64, 128)}
GRIDS = (("adam-l2", pow2(-12, -2)), ("adamw", pow2(-10, 0)), ("adamw-torch", pow2(-5, 5)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--axes", default="steps,train-samples,batch-size")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default=None, help="folder for each axis's runs (CSV)")
    ap.add_argument("--robustness", action="store_true", help="under every variant (12× the time)")
    args = ap.parse_args()
    torch.set_flush_denormal(True)
    base = dataclasses.replace(PRESETS["coupling"], wds=GRIDS, seeds=args.seeds)
    for axis in args.axes.split(","):
        cfg = transfer.axis_sweep(base, axis, VALUES[axis])
        t0 = time.perf_counter()
        with torch_threads(sweep_threads_now(0)):
            frame = run_robust(cfg) if args.robustness else transfer.run(cfg)
        if args.out:
            frame.to_csv(Path(args.out) / f"transfer-{axis}.csv", index=False)
        print(f"{axis} {cfg.values} at α = {cfg.lr:g} ({time.perf_counter() - t0:.0f} s)")
        if args.robustness:
            r = robust_summary(cfg, frame)
            print("\n".join(["  " + line for line in r.lines()] + ["  " + plain(v) for v in r.verdicts]))
            frame = frame[frame["variant"] == frame["variant"].iloc[0]].drop(columns="variant")
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
