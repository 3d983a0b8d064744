"""The accuracy effect of no-decay groups on digits: the live-training defaults, Adam+L2 vs AdamW (PyTorch
form), every no_decay group, a few seeds and two λ. Prints the mean final test accuracy and the norms of
the biases and the output layer (docs/science.md quotes them).

    python benchmarks/no_decay_groups.py [--seeds 3] [--steps 1500]
"""
import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from explorer.core.models import NO_DECAY  # noqa: E402
from explorer.runs.train import TrainConfig, Trainer  # noqa: E402

PAIR = ("adam-l2", "adamw-torch")
WDS = (0.05, 0.5)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=TrainConfig().steps)
    args = ap.parse_args()
    torch.set_flush_denormal(True)
    names = [n for _ in WDS for n in PAIR]
    wds = [w for w in WDS for _ in PAIR]
    acc: dict[tuple, list[float]] = {}
    norms: dict[tuple, list[float]] = {}
    t0 = time.perf_counter()
    for seed in range(args.seeds):
        for group in NO_DECAY:
            cfg = dataclasses.replace(TrainConfig(), optimizers=tuple(names), steps=args.steps, seed=seed,
                                      no_decay=group)
            tr = Trainer(cfg, "cpu", wd=wds)          # both λ of both optimizers in one batch
            tr.step(args.steps)
            final = tr.evaluate()
            biases = torch.cat([b.detach().flatten(1) for b in tr.params[1::2]], 1).norm(dim=1)
            w_out = tr.params[-2].detach().flatten(1).norm(dim=1)
            for r, (n, w) in enumerate(zip(names, wds)):
                acc.setdefault((n, w, group), []).append(final[r]["test_acc"])
                norms.setdefault((n, w, group), []).append((float(biases[r]), float(w_out[r])))
    print(f"{args.seeds} seeds × {len(NO_DECAY)} groups, {args.steps} steps, {time.perf_counter() - t0:.0f} s")
    print(f"{'optimizer':<12} {'λ':>5} " + " ".join(f"{g:>19}" for g in NO_DECAY) + "   (test accuracy, mean ± sd)")
    for n, w in zip(names, wds):
        cells = [f"{100 * np.mean(acc[n, w, g]):6.2f} ± {100 * np.std(acc[n, w, g]):4.2f} %" for g in NO_DECAY]
        print(f"{n:<12} {w:>5g} " + " ".join(f"{c:>19}" for c in cells))
    print("‖all biases‖ / ‖W_out‖ at the end (mean over seeds):")
    for n, w in zip(names, wds):
        cells = [" / ".join(f"{x:.3f}" for x in np.mean(norms[n, w, g], 0)) for g in NO_DECAY]
        print(f"{n:<12} {w:>5g} " + " ".join(f"{c:>19}" for c in cells))


if __name__ == "__main__":
    main()
