"""The presets' shipped results (explorer/runs/presets/): each file is its preset's current definition, loads to the
frame run_sweep gives (dtypes, order, every bit) and writes back to the same bytes; only a preset's exact default
grid is precomputed; recomputing a preset gives the shipped bytes (the slow presets only when CI is set)."""
import dataclasses
import hashlib
import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import run_cli

from explorer.runs import precomputed
from explorer.runs.cost import torch_threads
from explorer.runs.sweep import COLUMNS, PRESETS, grid_cells, run_sweep, with_extra_forms
from explorer.runs.transfer import axis_sweep

NAMES = list(PRESETS)
# A preset of at most this many run-steps (cells × seeds × steps) recomputes in every run of the suite: `coupling`
# (88,200) takes ~20 s on one thread of the 2-core development machine; the 1,500-step presets take minutes each
# and recompute when CI is set. (Counted, not timed: a busy machine must not move a preset between the two.)
SUITE_WORK = 100_000
CI = bool(os.environ.get("CI"))
REGENERATE = f"regenerate with `{precomputed.WRITE_COMMAND} --only {{name}}`"


def meta(name: str) -> dict:
    return json.loads(precomputed.meta_path(name).read_text())


@pytest.mark.parametrize("name", NAMES)
def test_each_preset_ships_its_current_definition(name):
    data = precomputed.csv_path(name).read_bytes()
    m = meta(name)
    assert m["config"] == precomputed.fingerprint(PRESETS[name]), \
        f"preset {name!r} changed since its file was written: " + REGENERATE.format(name=name)
    assert m["sha256"] == hashlib.sha256(data).hexdigest(), \
        f"{name}.csv was edited after it was written: " + REGENERATE.format(name=name)
    assert precomputed.shipped(PRESETS[name]) is not None


@pytest.mark.parametrize("name", NAMES)
def test_a_shipped_file_loads_to_the_frame_and_writes_back_byte_for_byte(name):
    data = precomputed.csv_path(name).read_bytes()
    frame = precomputed.precomputed(PRESETS[name])
    assert list(frame.columns) == COLUMNS
    assert {c: str(t) for c, t in frame.dtypes.items()} == precomputed.DTYPES
    cfg = PRESETS[name]
    assert len(frame) == cfg.seeds * len(cfg.optimizers) * len(cfg.lrs) * len(cfg.wds[0][1])
    assert frame.to_csv(index=False).encode() == data          # what the app's CSV download gives
    frame.loc[0, "test_loss"] = -1.0                             # a copy: the shipped one is untouched
    assert precomputed.precomputed(PRESETS[name]).loc[0, "test_loss"] != -1.0


@pytest.fixture()
def ieee_denormals():
    """Denormals as IEEE has them. The app's process flushes them to zero (torch.set_flush_denormal, which sets
    the CPU's flags for numpy and pandas too), and an AppTest earlier in this process leaves that on."""
    import torch
    flushing = bool(np.float64(5e-324) * np.float64(1.0) == 0)
    torch.set_flush_denormal(False)
    yield
    torch.set_flush_denormal(flushing)


def test_the_shipped_files_hold_no_denormal():
    for name in NAMES:
        values = precomputed.precomputed(PRESETS[name]).select_dtypes("float").to_numpy().ravel()
        assert not np.any((values != 0) & (np.abs(values) < np.finfo(np.float64).tiny)), name


def test_infinities_nans_and_denormals_come_back_as_they_went(ieee_denormals):
    frame = pd.DataFrame({"optimizer": ["adam-l2", "adamw", "adamw"], "lr": [0.25, 0.5, 1.0], "wd": [1.0, 2.0, 4.0],
                          "seed": [0, 1, 2], "train_loss": [np.inf, np.nan, -np.inf],
                          "test_loss": [5e-324, 1 / 3, np.nextafter(1.0, 2.0)], "test_error": [0.1, np.nan, 1.0],
                          "diverged": [True, False, True]})
    data = frame.to_csv(index=False).encode()
    back = precomputed.read_frame(data)
    assert back.equals(frame) and back.dtypes.equals(frame.dtypes) and back.to_csv(index=False).encode() == data


def test_the_folder_holds_the_presets_files_only():
    found = {p.name for p in precomputed.FOLDER.iterdir()}
    plain = {f"{n}.{ext}" for n in NAMES for ext in ("csv", "json")}
    assert plain <= found and found - plain <= {f"{n}.robust.{ext}" for n in NAMES for ext in ("csv", "json")}
    assert ROBUST_NAMES, "no preset ships its robust version"
    assert all(f"{n}.robust.json" in found for n in ROBUST_NAMES)


ROBUST_NAMES = [n for n in NAMES if precomputed.csv_path(n, precomputed.ROBUST).exists()]


@pytest.mark.parametrize("name", ROBUST_NAMES)
def test_a_robust_file_is_its_presets_definition_under_every_variant_and_its_first_variant_is_the_preset(name):
    """The robust file records the preset and every variant's definition; its first variant's rows are the shipped
    preset's frame, bit for bit (the same computation: one file recomputes the other's part)."""
    from explorer.runs.variants import BASE, VARIANTS
    kind = precomputed.ROBUST
    m = json.loads(precomputed.meta_path(name, kind).read_text())
    assert m["config"] == precomputed.fingerprint(PRESETS[name], kind), \
        f"preset {name!r} or the variants changed: regenerate with `{precomputed.WRITE_COMMAND} --robust --only {name}`"
    got = precomputed.shipped(PRESETS[name], kind)
    assert got is not None and list(pd.unique(got.frame["variant"])) == list(VARIANTS)
    first = got.frame[got.frame["variant"] == BASE].drop(columns="variant").reset_index(drop=True)
    assert first.equals(precomputed.shipped(PRESETS[name]).frame)
    assert precomputed.shipped(dataclasses.replace(PRESETS[name], seeds=1), kind) is None


def test_only_a_presets_exact_default_grid_is_precomputed():
    cfg = PRESETS["coupling"]
    same = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train))    # equal, another object
    assert precomputed.precomputed(same) is not None
    changed = [dataclasses.replace(cfg, seeds=1), with_extra_forms(cfg), dataclasses.replace(cfg, lrs=cfg.lrs[:-1]),
               dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, decay_follows=False)),
               dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, seed=1)),
               axis_sweep(cfg, "steps", (150, 300))]
    assert all(precomputed.precomputed(c) is None for c in changed)


def test_a_stale_or_edited_file_is_not_shown(tmp_path, monkeypatch):
    for ext in ("csv", "json"):
        shutil.copy(precomputed.FOLDER / f"coupling.{ext}", tmp_path)
    monkeypatch.setattr(precomputed, "FOLDER", tmp_path)
    precomputed._load.cache_clear()
    try:
        assert precomputed.shipped(PRESETS["coupling"]) is not None
        m = json.loads((tmp_path / "coupling.json").read_text())
        (tmp_path / "coupling.json").write_text(json.dumps(m | {"config": m["config"].replace("seeds=2", "seeds=3")}))
        precomputed._load.cache_clear()
        assert precomputed.shipped(PRESETS["coupling"]) is None           # another definition
        (tmp_path / "coupling.json").write_text(json.dumps(m))
        data = (tmp_path / "coupling.csv").read_bytes()
        (tmp_path / "coupling.csv").write_bytes(data.replace(b"0.", b"1.", 1))
        precomputed._load.cache_clear()
        assert precomputed.shipped(PRESETS["coupling"]) is None           # an edited file
    finally:
        precomputed._load.cache_clear()


@pytest.mark.parametrize("name", NAMES)
def test_the_thread_count_changes_no_bit(name):
    """The app runs a sweep on as many threads as the machine has idle; the shipped files were computed on one.
    The preset's whole grid (the kernels split work by the matrices' sizes, so the sizes are kept), 3 steps of one
    seed, at 1 and 2 threads: the same bytes. Two threads on a busy 2-core machine take ~5× longer: `coupling` in
    every run of the suite, the rest when CI is set."""
    if name != "coupling" and not CI:
        pytest.skip("runs when CI is set (two threads on a busy 2-core machine are slow)")
    cfg = PRESETS[name]
    small = dataclasses.replace(cfg, seeds=1, train=dataclasses.replace(cfg.train, steps=3))
    csv = []
    for threads in (1, 2):
        with torch_threads(threads):
            csv.append(run_sweep(small, "cpu").to_csv(index=False))
    assert csv[0] == csv[1]


def differences(shipped: pd.DataFrame, fresh: pd.DataFrame) -> str:
    """How two sweeps' frames differ: cells, the largest relative difference, which keys or flags."""
    if list(fresh.columns) != list(shipped.columns) or len(fresh) != len(shipped):
        return f"shapes differ: {list(fresh.columns)} × {len(fresh)} rows, shipped {list(shipped.columns)} × " \
               f"{len(shipped)}"
    keys = ["optimizer", "lr", "wd", "seed"]
    if not fresh[keys].equals(shipped[keys]):
        return "the cells' keys (optimizer, lr, wd, seed) differ: the grid is not the shipped one"
    metrics = ["train_loss", "test_loss", "test_error"]
    a, b = shipped[metrics].to_numpy(), fresh[metrics].to_numpy()
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    both = np.isfinite(a) & np.isfinite(b) & ~same
    rel = np.abs(a - b)[both] / np.maximum(np.abs(a[both]), np.finfo(float).tiny)
    flags = int((fresh.diverged != shipped.diverged).sum())
    return (f"{int((~same).sum())} of {a.size} metric cells differ (largest relative difference "
            f"{rel.max() if rel.size else 0:.3g}; {int((~same & ~both).sum())} finite in one only), "
            f"{flags} diverged flag(s) differ")


def test_a_difference_is_told_in_cells_and_the_largest_relative_difference():
    shipped = precomputed.precomputed(PRESETS["sgd"])
    fresh = shipped.copy()
    fresh.loc[3, "test_loss"] = np.nextafter(fresh.loc[3, "test_loss"], np.inf)
    fresh.loc[5, "train_loss"] *= 1.001
    fresh.loc[7, "test_error"] = np.nan
    told = differences(shipped, fresh)
    assert told.startswith("3 of 588 metric cells differ (largest relative difference 0.001;")
    assert "1 finite in one only" in told and "0 diverged flag(s) differ" in told
    assert "keys" in differences(shipped, fresh.assign(seed=fresh.seed + 1))


@pytest.mark.parametrize("name", NAMES)
def test_recomputing_a_preset_gives_the_shipped_bytes(name):
    cfg = PRESETS[name]
    work = len(grid_cells(cfg)) * cfg.seeds * cfg.train.steps
    if work > SUITE_WORK and not CI:
        pytest.skip(f"{name}: {work:,} run-steps (recorded {meta(name)['seconds']:.0f} s) recompute when CI is set "
                    "(.ci/run exports CI=true; here: `CI=true python -m pytest tests/test_presets.py -n 0`)")
    data = precomputed.csv_path(name).read_bytes()
    with torch_threads(1):
        frame, _ = precomputed.compute(name)
    if frame.to_csv(index=False).encode() != data:
        pytest.fail(f"{name}: the recomputed sweep differs from the shipped {name}.csv: "
                    f"{differences(precomputed.read_frame(data), frame)}. The file was computed on "
                    f"{meta(name)['machine']} with torch {meta(name)['torch']}, here {precomputed.machine()} with "
                    f"torch {torch.__version__}; docs/testing.md (What is exact, and where) says where bits may "
                    "move. If the code changed the numbers on purpose, " + REGENERATE.format(name=name))
    assert frame.equals(precomputed.read_frame(data))


def test_the_cli_lists_the_presets_and_refuses_an_unknown_one():
    code, out, _ = run_cli("presets")
    assert code == 0
    for name in NAMES:
        line = next(x for x in out.splitlines() if x.startswith(f"{name}:"))
        assert "bytes, computed in" in line and "stale" not in line, line
    code, _, err = run_cli("presets", "--only", "coupling,nope")
    assert code == 2 and "nope" in err and err.count("\n") == 1
