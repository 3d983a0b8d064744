"""Variants: the same sweep under choices a reader would call irrelevant — which seeds, in which order the
mini-batches come (shuffled epochs or draws with replacement), where the initial weights' random numbers come
from (the engine's stream or torch.nn.Linear's own under torch.manual_seed). A slope that is a finding survives
all of them; explorer.analysis.robust states each slope as its median and range over the variants.

One registry: a Variant is one row (name, seed offset, batch order, init stream); VARIANTS is every combination
of SEED_OFFSETS × core.data.BATCH_ORDERS × core.models.INIT_STREAMS, the first the sweep as it is. Each variant is
the sweep's own configuration with those three fields changed, so it runs exactly as any sweep does: one batched
computation per seed (all its cells as runs), and each of its cells equals its own torch.optim loop (tests).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace

import pandas as pd

from explorer.core.data import BATCH_ORDERS
from explorer.core.models import INIT_STREAMS
from explorer.runs.cost import Eta
from explorer.runs.sweep import SweepConfig, estimate_seconds, run_sweep

SEED_OFFSETS = (0, 10, 20)          # seed pairs 0–1, 10–11, 20–21 with the presets' two seeds (docs/science.md)
BATCH_ORDER_SHORT = {"epochs": "epochs", "replacement": "draws"}
INIT_SHORT = {"engine": "engine", "linear": "nn.Linear"}


@dataclass(frozen=True)
class Variant:
    name: str
    seed: int = 0                   # added to the sweep's first seed
    batch_order: str = "epochs"     # core.data.BATCH_ORDERS
    init_stream: str = "engine"     # core.models.INIT_STREAMS

    def apply(self, cfg):
        """The sweep under this variant: its seeds shifted, its batch order and init stream set. cfg: a SweepConfig,
        or a sweep built on one (an axis sweep, a regime map: its `base`)."""
        if not isinstance(cfg, SweepConfig):
            return replace(cfg, base=self.apply(cfg.base))
        t = cfg.train
        return replace(cfg, train=replace(t, seed=t.seed + self.seed, batch_order=self.batch_order,
                                          init_stream=self.init_stream))

    def label(self, cfg) -> str:
        cfg = cfg if isinstance(cfg, SweepConfig) else cfg.base
        first = cfg.train.seed + self.seed
        seeds = f"seed {first}" if cfg.seeds == 1 else f"seeds {first}–{first + cfg.seeds - 1}"
        return f"{seeds}, {BATCH_ORDER_SHORT[self.batch_order]}, {INIT_SHORT[self.init_stream]} init"


def _name(offset: int, order: str, init: str) -> str:
    return f"s{offset}-{order}-{init}"


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant(_name(s, o, i), s, o, i) for s, o, i in itertools.product(SEED_OFFSETS, BATCH_ORDERS, INIT_STREAMS))}
BASE = next(iter(VARIANTS))         # the sweep as it is: seed offset 0, shuffled epochs, the engine's stream


def variants_named(names) -> tuple[Variant, ...]:
    """The variants of these names (None: all), in registry order; ValueError naming an unknown one."""
    if names is None:
        return tuple(VARIANTS.values())
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    return tuple(v for n, v in VARIANTS.items() if n in set(names))


def estimate_variants_seconds(cfg: SweepConfig, variants=None, device: str | None = None,
                              threads: int | None = None) -> float:
    """Expected seconds of run_variants: every variant costs what the sweep costs (same sizes, one calibration)."""
    return len(variants_named(variants)) * estimate_seconds(cfg, device, threads)


def run_variants(cfg: SweepConfig, variants=None, device: str | None = None,
                 run: Callable[..., pd.DataFrame] | None = None,
                 progress: Callable[[float, float | None], None] | None = None,
                 prior_seconds: float | None = None) -> pd.DataFrame:
    """The sweep under every variant (names; None: all), one after the other: the frame `run(cfg, device,
    progress=…)` gives (default run_sweep; transfer.run for an axis sweep), with a first column `variant`.
    progress(fraction, seconds_left) over all of them; an exception raised in it (a cancel) stops the whole run."""
    chosen = variants_named(variants)
    run = run or run_sweep
    eta = Eta(len(chosen), prior_seconds)
    frames = []
    for k, v in enumerate(chosen):
        def part(f: float, _left=None, k=k) -> None:
            if progress:
                progress((k + f) / len(chosen), eta.update(k + f))

        frames.append(run(v.apply(cfg), device, progress=part).assign(variant=v.name))
    frame = pd.concat(frames, ignore_index=True)
    return frame[["variant"] + [c for c in frame.columns if c != "variant"]]


def run_robust(cfg, device: str | None = None, progress: Callable[[float, float | None], None] | None = None,
               prior_seconds: float | None = None, variants=None) -> pd.DataFrame:
    """run_variants for an lr × λ sweep (run_sweep) or an axis sweep (explorer.runs.transfer.run): the page's and
    the CLI's one entry point."""
    from explorer.runs import transfer
    run = transfer.run if isinstance(cfg, transfer.AxisSweep) else run_sweep
    return run_variants(cfg, variants, device, run, progress, prior_seconds)


def estimate_robust_seconds(cfg, device: str | None = None, threads: int | None = None, variants=None) -> float:
    """Expected seconds of run_robust: K variants × the sweep's own estimate (axis sweeps: the sum of its rows')."""
    from explorer.runs import transfer
    if isinstance(cfg, transfer.AxisSweep):
        return len(variants_named(variants)) * sum(transfer.estimates(cfg, device, threads))
    return estimate_variants_seconds(cfg, variants, device, threads)


def first_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The first variant's rows without the variant column: the sweep as it is when BASE ran (what the heat maps
    and the usual slope lines show)."""
    first = frame["variant"].iloc[0]
    return frame[frame["variant"] == first].drop(columns="variant").reset_index(drop=True)


def run_robust_map(cfg, device: str | None = None, progress: Callable[[float, float | None], None] | None = None,
                   estimates: list[float] | None = None, variants=None) -> pd.DataFrame:
    """A regime map (explorer.runs.regime.MapConfig) under every variant: the page's worker task."""
    from explorer.runs.regime import run_map
    prior = len(variants_named(variants)) * sum(estimates) if estimates else None
    return run_variants(cfg, variants, device, run_map, progress, prior)
