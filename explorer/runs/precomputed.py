"""The presets' default sweeps, computed once and shipped with the app, so their heat maps appear at once.

explorer/runs/presets/<name>.csv is run_sweep(PRESETS[name]) on the CPU, written as `frame.to_csv(index=False)`
(what the app's CSV download gives); <name>.json next to it records the configuration it was computed from
(repr of the frozen SweepConfig), the CSV's SHA-256 and how long it took where. A preset whose definition
changed no longer matches its file: precomputed() then returns None (the app computes as for any other grid)
and tests/test_presets.py says to regenerate with `python -m explorer presets --write`.
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


@dataclass(frozen=True)
class Shipped:
    """A preset's shipped result: its frame and how it was computed."""
    name: str
    frame: pd.DataFrame
    seconds: float
    threads: int
    machine: str


def fingerprint(cfg: SweepConfig) -> str:
    """The configuration as text: every field of the frozen dataclass (floats as their shortest round trip)."""
    return repr(cfg)


def csv_path(name: str) -> Path:
    return FOLDER / f"{name}.csv"


def meta_path(name: str) -> Path:
    return FOLDER / f"{name}.json"


def read_frame(data: bytes) -> pd.DataFrame:
    """The frame a shipped CSV holds, identical to the computed one: dtypes, column order, every float's bits
    (pandas 3 parses floats exactly by default: its float_precision="round_trip" is deprecated; tested). Only
    an empty float field is NaN (to_csv writes NaN so); "inf" stays infinite."""
    frame = pd.read_csv(io.BytesIO(data), dtype=DTYPES, keep_default_na=False,
                        na_values={c: [""] for c, t in DTYPES.items() if t == "float64"})
    return frame[COLUMNS]


@functools.lru_cache(maxsize=None)
def _load(name: str) -> Shipped | None:
    """The preset's shipped result, or None when its file is missing, altered, or from another definition."""
    try:
        data, meta = csv_path(name).read_bytes(), json.loads(meta_path(name).read_text())
    except (OSError, ValueError):
        return None
    if meta.get("config") != fingerprint(PRESETS[name]) or meta.get("sha256") != hashlib.sha256(data).hexdigest():
        return None
    return Shipped(name, read_frame(data), float(meta["seconds"]), int(meta["threads"]), str(meta["machine"]))


def shipped(cfg: SweepConfig) -> Shipped | None:
    """The shipped result of the preset whose default configuration cfg is exactly (==), else None."""
    if not isinstance(cfg, SweepConfig) or cfg.train.data is not None:      # your data is never a preset's
        return None
    name = next((n for n, p in PRESETS.items() if p == cfg), None)
    return None if name is None else _load(name)


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


def compute(name: str) -> tuple[pd.DataFrame, float]:
    """(frame, seconds) of the preset's default sweep, computed as the app computes it: run_sweep on the CPU,
    denormals flushed (app.py), THREADS torch thread(s)."""
    flush = _flushing()
    torch.set_flush_denormal(True)
    try:
        with torch_threads(THREADS):
            t0 = time.perf_counter()
            frame = run_sweep(PRESETS[name], "cpu")
            return frame, time.perf_counter() - t0
    finally:
        torch.set_flush_denormal(flush)


def write(name: str, frame: pd.DataFrame, seconds: float) -> tuple[Path, int]:
    """Write <name>.csv and its <name>.json; (the CSV's path, its size in bytes)."""
    data = frame.to_csv(index=False, lineterminator="\n").encode()
    FOLDER.mkdir(exist_ok=True)
    csv_path(name).write_bytes(data)
    meta = {"preset": name, "config": fingerprint(PRESETS[name]), "rows": len(frame),
            "sha256": hashlib.sha256(data).hexdigest(), "seconds": round(seconds, 1), "threads": THREADS,
            "device": "cpu", "machine": machine(), "torch": torch.__version__, "command": WRITE_COMMAND}
    meta_path(name).write_text(json.dumps(meta, indent=1) + "\n")
    _load.cache_clear()
    return csv_path(name), len(data)
