"""A sweep in parts that give the same bits as the whole: what a cluster's tasks compute (explorer.runs.cluster).

A part (a Chunk) is one seed's runs [start, stop) in grid_cells order, trained as one batched computation of its own
with the sweep's own engine (seed_trainer, trained_rows). The parts' rows, put back in order, are run_sweep's frame
bit for bit, because every run sees the same initial weights, batches and kernels — and the same memory alignment.
That last condition decides where a part may start. The engine's buffers (activations, logits, gradients, the
optimizer's packed rows) hold run r at r × its per-run size from a 64-byte-aligned start, and the CPU's kernels
round a run's numbers differently at another alignment: parts of lr rows (7 runs) changed the last bits of some
losses (docs/cluster.md has the measurement). Every per-run size is a whole number of 4-byte floats, so a part that
starts at a multiple of ALIGN_RUNS = 16 runs keeps each of its runs at its whole-grid address modulo 64 bytes. Parts
are therefore whole multiples of 16 runs (a seed's last one shorter), not rows of the heat map.

A sweep of your own model is split by seeds only: randomness inside a model (dropout) is drawn for all runs of a seed
at once, so a part of a seed's runs would draw other numbers.
"""
from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import torch

from explorer.runs.sweep import COLUMNS, SweepConfig, grid_cells, seed_trainer, trained_rows

ALIGN_RUNS = 16            # 64 bytes of float32: a part starting at a multiple of it keeps every run's alignment
TASKS_PER_CPU = 2          # parts per CPU of the cluster: the last ones fill idle CPUs, a lost worker costs one part


@dataclass(frozen=True)
class Chunk:
    """Runs [start, stop) of seed number `seed` of sweep number `sweep` (a map's point, an axis sweep's row)."""
    sweep: int
    seed: int
    start: int
    stop: int

    @property
    def runs(self) -> int:
        return self.stop - self.start


def check_chunk_runs(n: int) -> int:
    """n, or ValueError (one line) when it is not a positive multiple of ALIGN_RUNS."""
    if n <= 0 or n % ALIGN_RUNS:
        raise ValueError(f"runs per chunk must be a positive multiple of {ALIGN_RUNS} (so every run keeps the memory "
                         f"alignment it has in the whole grid, and its bits), got {n}")
    return n


def chunk_runs(runs_per_seed: int, seeds: int, cpus: int) -> int:
    """Runs per part for sweeps of `seeds` seed-sweeps of `runs_per_seed` runs each on `cpus` CPUs: about
    TASKS_PER_CPU parts per CPU, each a whole number of ALIGN_RUNS runs, never more than a seed's runs need."""
    per_seed = max(1, math.ceil(TASKS_PER_CPU * max(1, cpus) / max(1, seeds)))
    size = math.ceil(runs_per_seed / per_seed)
    return ALIGN_RUNS * max(1, math.ceil(size / ALIGN_RUNS))


def plan(cfgs: list[SweepConfig], size: int) -> list[Chunk]:
    """Every part of every sweep, in the order their rows are put back: sweep, seed, then runs."""
    check_chunk_runs(size)
    out = []
    for i, cfg in enumerate(cfgs):
        runs = len(grid_cells(cfg))
        out += [Chunk(i, s, a, min(a + size, runs)) for s in range(cfg.seeds) for a in range(0, runs, size)]
    return out


def train_chunk(cfg: SweepConfig, seed: int, start: int, stop: int, device: str | None = None) -> pd.DataFrame:
    """Runs [start, stop) of seed number `seed`, trained and evaluated as run_sweep trains them: rows of COLUMNS.
    Denormals are flushed as in every sweep of the CLI and the app's workers (a denormal would cost other bits)."""
    torch.set_flush_denormal(True)
    tr = seed_trainer(cfg, seed, device, slice(start, stop))
    tr.step(cfg.train.steps)
    return pd.DataFrame(trained_rows(tr, grid_cells(cfg)[start:stop]), columns=COLUMNS)


def assemble(chunks: list[Chunk], frames: list[pd.DataFrame], sweeps: int) -> list[pd.DataFrame]:
    """Each sweep's frame from its parts' rows (chunks in plan order, frames alike)."""
    parts: list[list[pd.DataFrame]] = [[] for _ in range(sweeps)]
    for c, f in zip(chunks, frames, strict=True):
        parts[c.sweep].append(f)
    return [pd.concat(p, ignore_index=True) if p else pd.DataFrame(columns=COLUMNS) for p in parts]


def train_locally(cfgs: list[SweepConfig], size: int, device: str | None = None) -> list[pd.DataFrame]:
    """Every part trained here, one after another: what a cluster computes, without one (tests, docs)."""
    chunks = plan(cfgs, size)
    return assemble(chunks, [train_chunk(cfgs[c.sweep], c.seed, c.start, c.stop, device) for c in chunks], len(cfgs))


# ---- your own model: one part per seed, its file shipped as source ----------------------------------------------
@dataclass(frozen=True)
class ModelSource:
    """FILE.py:FUNCTION as text, to rebuild the model where the file is not (a cluster's node)."""
    name: str          # the file's name (its module's name where it runs)
    text: str
    function: str

    @classmethod
    def read(cls, target: str) -> ModelSource:
        file, _, function = target.rpartition(":")
        return cls(Path(file).name, Path(file).read_text(), function)

    def builder(self, folder: str):
        """The model's builder (explorer.runs.model_file.load_builder) from the text written into `folder`."""
        from explorer.runs.model_file import load_builder
        path = os.path.join(folder, self.name)
        Path(path).write_text(self.text)
        return load_builder(f"{path}:{self.function}")


def model_seed(source: ModelSource, data, cfg: SweepConfig, seed: int, loss: str, no_decay,
               device: str | None = None) -> tuple[pd.DataFrame, str, str]:
    """Seed number `seed` of the sweep of your model (explorer.runs.model_sweep.sweep_model, as the whole sweep runs
    it): its rows, why the model ran one run at a time and the notice that says so ("" and "" when batched)."""
    from explorer.runs.model_sweep import sweep_model
    torch.set_flush_denormal(True)
    one = replace(cfg, seeds=1, train=replace(cfg.train, seed=cfg.train.seed + seed))
    said: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        frame = sweep_model(source.builder(folder), *data, cfg=one, loss=loss, no_decay=no_decay, device=device,
                            notice=said.append)
    return frame, frame.attrs["one_at_a_time"], "".join(said[:1])
