"""The presets' default sweeps, computed once and shipped with the app, so their heat maps appear at once.

explorer/runs/presets/<name>.csv is run_sweep(PRESETS[name]) on the CPU, written as `frame.to_csv(index=False)`
(what the app's CSV download gives); <name>.json next to it records the configuration it was computed from
(repr of the frozen SweepConfig), the CSV's SHA-256 and how long it took where. A preset whose definition
changed no longer matches its file: precomputed() then returns None (the app computes as for any other grid)
and tests/test_presets.py says to regenerate with `python -m explorer presets --write`.

<name>.robust.csv (where shipped) is the same sweep under every variant of explorer.runs.variants (run_variants:
a first column `variant`), recorded with the variants' definitions too (`presets --write --robust`): the page's
intervals for a preset appear at once.
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from explorer.runs.cost import torch_threads
from explorer.runs.sweep import COLUMNS, PRESETS, SweepConfig, run_sweep

FOLDER = Path(__file__).with_name("presets")
DTYPES = {"optimizer": "str", "lr": "float64", "wd": "float64", "seed": "int64", "train_loss": "float64",
          "test_loss": "float64", "test_error": "float64", "diverged": "bool"}
THREADS = 1        # the result does not depend on it (tested); one thread makes `seconds` the recompute test's time
WRITE_COMMAND = "python -m explorer presets --write"
ROBUST = ".robust"          # the file suffix of a preset's run under every variant


@dataclass(frozen=True)
class Shipped:
    """A preset's shipped result: its frame and how it was computed."""
    name: str
    frame: pd.DataFrame
    seconds: float
    threads: int
    machine: str


def fingerprint(cfg: SweepConfig, kind: str = "") -> str:
    """The configuration as text: every field of the frozen dataclass (floats as their shortest round trip); for
    the robust file also every variant's definition."""
    if kind == ROBUST:
        from explorer.runs.variants import VARIANTS
        return f"{cfg!r} under {tuple(VARIANTS.values())!r}"
    return repr(cfg)


def csv_path(name: str, kind: str = "") -> Path:
    return FOLDER / f"{name}{kind}.csv"


def meta_path(name: str, kind: str = "") -> Path:
    return FOLDER / f"{name}{kind}.json"


def read_frame(data: bytes, kind: str = "") -> pd.DataFrame:
    """The frame a shipped CSV holds, identical to the computed one: dtypes, column order, every float's bits
    (pandas 3 parses floats exactly by default: its float_precision="round_trip" is deprecated; tested). Only
    an empty float field is NaN (to_csv writes NaN so); "inf" stays infinite."""
    dtypes = {"variant": "str"} | DTYPES if kind == ROBUST else DTYPES
    frame = pd.read_csv(io.BytesIO(data), dtype=dtypes, keep_default_na=False,
                        na_values={c: [""] for c, t in DTYPES.items() if t == "float64"})
    return frame[(["variant"] if kind == ROBUST else []) + COLUMNS]


@functools.lru_cache(maxsize=None)
def _load(name: str, kind: str = "") -> Shipped | None:
    """The preset's shipped result, or None when its file is missing, altered, or from another definition."""
    try:
        data, meta = csv_path(name, kind).read_bytes(), json.loads(meta_path(name, kind).read_text())
    except (OSError, ValueError):
        return None
    if (meta.get("config") != fingerprint(PRESETS[name], kind)
            or meta.get("sha256") != hashlib.sha256(data).hexdigest()):
        return None
    return Shipped(name, read_frame(data, kind), float(meta["seconds"]), int(meta["threads"]), str(meta["machine"]))


def shipped(cfg: SweepConfig, kind: str = "") -> Shipped | None:
    """The shipped result of the preset whose default configuration cfg is exactly (==), else None; kind ROBUST:
    its run under every variant."""
    if not isinstance(cfg, SweepConfig) or cfg.train.data is not None:      # your data is never a preset's
        return None
    name = next((n for n, p in PRESETS.items() if p == cfg), None)
    return None if name is None else _load(name, kind)


def precomputed(cfg: SweepConfig) -> pd.DataFrame | None:
    """run_sweep(cfg)'s frame without computing, when cfg is a preset's default configuration; else None.
    (A copy: callers may change it.)"""
    found = shipped(cfg)
    return None if found is None else found.frame.copy()


def machine() -> str:
    """The CPU's model name (what the exact bits may depend on, docs/testing.md)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _flushing() -> bool:
    """Whether denormals are flushed now (torch has no getter: a product below float32's normal range tells)."""
    return (torch.tensor([1e-30]) * torch.tensor([1e-10])).item() == 0.0


def compute(name: str, kind: str = "") -> tuple[pd.DataFrame, float]:
    """(frame, seconds) of the preset's default sweep, computed as the app computes it: run_sweep on the CPU,
    denormals flushed (app.py), THREADS torch thread(s); kind ROBUST: under every variant (run_variants)."""
    from explorer.runs.variants import run_variants
    flush = _flushing()
    torch.set_flush_denormal(True)
    try:
        with torch_threads(THREADS):
            t0 = time.perf_counter()
            frame = run_variants(PRESETS[name], None, "cpu") if kind == ROBUST else run_sweep(PRESETS[name], "cpu")
            return frame, time.perf_counter() - t0
    finally:
        torch.set_flush_denormal(flush)


def write(name: str, frame: pd.DataFrame, seconds: float, kind: str = "") -> tuple[Path, int]:
    """Write <name><kind>.csv and its .json; (the CSV's path, its size in bytes)."""
    data = frame.to_csv(index=False, lineterminator="\n").encode()
    FOLDER.mkdir(exist_ok=True)
    csv_path(name, kind).write_bytes(data)
    meta = {"preset": name, "config": fingerprint(PRESETS[name], kind), "rows": len(frame),
            "sha256": hashlib.sha256(data).hexdigest(), "seconds": round(seconds, 1), "threads": THREADS,
            "device": "cpu", "machine": machine(), "torch": torch.__version__,
            "command": WRITE_COMMAND + (" --robust" if kind == ROBUST else "")}
    meta_path(name, kind).write_text(json.dumps(meta, indent=1) + "\n")
    _load.cache_clear()
    return csv_path(name, kind), len(data)
