"""Sweeps on Ray (`python -m explorer sweep|map --ray`, the app's workers with RAY_ADDRESS; explorer.runs.cluster):
the same CSV bytes as the run here for a sweep, an axis sweep, a map and your own model; a worker killed mid-sweep
costs nothing; progress on stderr; one line without Ray. The parts alone (explorer.runs.chunks) are checked without
Ray. All Ray tests share one local Ray instance of 2 CPUs, started by this process and stopped after the module
(tests/conftest.py runs this file on one xdist worker)."""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_cli

from explorer.runs import chunks
from explorer.runs.sweep import PRESETS, SweepConfig, pow2, run_sweep


@pytest.fixture(autouse=True)
def flushed_denormals():
    """As every sweep of the CLI and the app's workers runs (and each part on the cluster)."""
    import torch
    torch.set_flush_denormal(True)

# 3 forms × 3 lr × 3 λ = 27 runs a seed: two parts of it at 16 runs a part, so a part boundary falls inside an lr row
GRID = ["--lrs", "0.004,0.02,0.1", "--wds", "0.001,0.1,10", "--steps", "30", "--seeds", "2"]


def tiny(**train) -> SweepConfig:
    base = PRESETS["coupling"]
    return replace(base, lrs=pow2(-8, -2, 3), wds=tuple((n, g[:3]) for n, g in base.wds), seeds=2,
                   train=replace(base.train, steps=30, **train))


# ---- the parts, without Ray ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("train", [{}, {"batch_size": 13, "width": 33, "train_samples": 301}, {"model": "mlp-ln"}],
                         ids=["default", "odd-sizes", "layernorm"])
def test_parts_of_16_runs_give_the_whole_sweeps_bits(train):
    """Parts that start at a multiple of 16 runs keep every run's memory alignment, hence its bits — at odd batch
    sizes, widths and data sizes too, where a run of a smaller batched computation starting elsewhere may differ."""
    cfg = tiny(**train)
    whole = run_sweep(cfg)
    for size in (16, 32):
        pd.testing.assert_frame_equal(chunks.train_locally([cfg], size)[0], whole, check_exact=True)


def test_the_plan_and_the_chunk_size():
    cfg = tiny()
    plan = chunks.plan([cfg, cfg], 16)
    assert [(c.sweep, c.seed, c.start, c.stop) for c in plan[:4]] == [(0, 0, 0, 16), (0, 0, 16, 27), (0, 1, 0, 16),
                                                                      (0, 1, 16, 27)]
    assert len(plan) == 8
    assert chunks.chunk_runs(441, 1, 2) == 112            # 441 runs, 1 seed, 2 CPUs: four parts
    assert chunks.chunk_runs(147, 2, 2) == 80             # the default preset: a part per seed and CPU
    assert chunks.chunk_runs(27, 2, 64) == 16             # never below 16 runs
    with pytest.raises(ValueError, match="multiple of 16"):
        chunks.check_chunk_runs(20)


# ---- without Ray -----------------------------------------------------------------------------------------------
@pytest.fixture
def no_ray(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)       # `import ray` fails, find_spec says it is not there


@pytest.mark.parametrize("command", [["sweep"], ["map", "--axis", "steps", "--values", "20,30"]], ids=["sweep", "map"])
def test_without_ray_the_cli_says_how_to_install_it(no_ray, command):
    code, out, err = run_cli(*command, *GRID, "--ray")
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert "pip install -r requirements-ray.txt" in err and "Traceback" not in err


def test_without_ray_the_app_runs_here(no_ray, monkeypatch):
    from explorer.runs.worker import resolve
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    assert resolve("explorer.runs.sweep:run_sweep") is run_sweep


@pytest.mark.parametrize("args, said", [
    (["--ray", "--chunk-runs", "20"], "argument --chunk-runs: runs per chunk must be a positive multiple of 16"),
    (["--ray", "--chunk-runs", "x"], "argument --chunk-runs: expected a whole number"),
    (["--chunk-runs", "16"], "argument --chunk-runs: needs --ray"),
    (["--ray", "--robustness"], "argument --ray: not with --robustness"),
    (["--ray", "--device", "cuda"], "argument --device: with --ray the parts run on the cluster's CPUs"),
])
def test_bad_ray_arguments_exit_2_with_one_line(args, said):
    code, _, err = run_cli("sweep", *GRID, *args)
    assert code == 2 and said in err and err.count("\n") == 1, err


# ---- on a local Ray instance ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_instance():
    pytest.importorskip("ray")
    from explorer.runs import cluster
    cluster.connect("local", num_cpus=2, object_store_memory=80 * 2**20)
    import ray
    yield ray.get_runtime_context().gcs_address
    cluster.shutdown()


def both(tmp_path, *args, ray=("--ray", "--chunk-runs", "16")):
    """The command here and on Ray: (its CSV bytes here, on Ray, stdout here, on Ray, Ray's stderr)."""
    runs = []
    for name, extra in (("here", ()), ("ray", ray)):
        out = tmp_path / f"{name}.csv"
        code, stdout, err = run_cli(*args, "--out", str(out), *extra)
        assert code == 0, err
        runs.append((out.read_bytes(), stdout, err))
    (here, out_here, _), (there, out_there, err) = runs
    return here, there, out_here, out_there, err


def test_a_sweep_on_ray_writes_the_same_bytes(ray_instance, tmp_path):
    here, there, out_here, out_there, err = both(tmp_path, "sweep", *GRID, "--batch-size", "13")
    assert here == there and out_here == out_there and len(here.splitlines()) == 1 + 2 * 27
    assert "ray: 4/4 chunks done in" in err and "ray: 0/4 chunks done" in err


def test_an_axis_sweep_on_ray_writes_the_same_bytes(ray_instance, tmp_path):
    here, there, *_ = both(tmp_path, "sweep", *GRID[2:4], "--axis", "batch-size", "--values", "8,13", "--lrs",
                           "0.01", "--steps", "20", "--seeds", "1")
    assert here == there and here.startswith(b"batch_size,optimizer,")


def test_a_map_on_ray_writes_the_same_bytes(ray_instance, tmp_path):
    args = ["map", *GRID, "--axis", "steps", "--values", "20,30"]
    code, _, err = run_cli(*args, "--out", str(tmp_path / "points.csv"), "--runs", str(tmp_path / "runs.csv"))
    assert code == 0, err
    code, _, err = run_cli(*args, "--out", str(tmp_path / "points-ray.csv"), "--runs", str(tmp_path / "runs-ray.csv"),
                           "--ray", "--quiet")
    assert code == 0 and "chunks" not in err, err
    for name in ("points", "runs"):
        assert (tmp_path / f"{name}.csv").read_bytes() == (tmp_path / f"{name}-ray.csv").read_bytes()


MODEL = """
from torch import nn

def build():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 3))
"""


def test_your_model_on_ray_writes_the_same_bytes(ray_instance, tmp_path):
    """The file's text and the data travel with the tasks; dropout draws the same numbers as here (a task per seed)."""
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4))
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)
    (tmp_path / "d.csv").write_text("a,b,c,d,label\n" + "".join(",".join(f"{v:.4f}" for v in r) + f",{c}\n"
                                                                for r, c in zip(x, y)))
    (tmp_path / "mine.py").write_text(MODEL)
    here, there, out_here, out_there, err = both(
        tmp_path, "sweep", "--model", f"{tmp_path / 'mine.py'}:build", "--data", str(tmp_path / "d.csv"), "--target",
        "label", "--lrs", "0.001,0.01", "--wds", "0.001,0.1", "--steps", "20", "--seeds", "2", ray=("--ray",))
    assert here == there and out_here == out_there and "ray: 2/2 chunks done" in err


def _chunk_processes() -> list[int]:
    """Ray worker processes running a part now (Ray titles a busy worker `ray::FUNCTION`)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(b"ray::train_chunk"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_worker_killed_mid_sweep_costs_nothing(ray_instance, tmp_path):
    killed: list[int] = []

    def kill_the_first_busy_worker():
        t0 = time.monotonic()
        while not killed and time.monotonic() - t0 < 60:
            for pid in _chunk_processes()[:1]:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.03)

    args = ["sweep", *GRID[:4], "--steps", "150", "--seeds", "2"]
    code, _, err = run_cli(*args, "--out", str(tmp_path / "here.csv"))
    assert code == 0, err
    killer = threading.Thread(target=kill_the_first_busy_worker)
    killer.start()
    code, _, err = run_cli(*args, "--out", str(tmp_path / "ray.csv"), "--ray", "--chunk-runs", "16")
    killer.join()
    assert code == 0 and killed, err
    assert (tmp_path / "here.csv").read_bytes() == (tmp_path / "ray.csv").read_bytes()


def test_the_apps_workers_run_sweeps_on_the_cluster_at_ray_address(ray_instance, monkeypatch):
    """The server's worker processes (explorer.runs.pool) given RAY_ADDRESS: the sweep tab's task runs on the cluster,
    with progress, and its result is the sweep here, bit for bit."""
    from explorer.runs import cluster
    from explorer.runs.pool import Pool
    from explorer.runs.worker import resolve
    monkeypatch.setenv("RAY_ADDRESS", ray_instance)
    assert resolve("explorer.runs.sweep:run_sweep") is cluster.run_sweep
    assert resolve("explorer.runs.regime:run_map") is cluster.run_map
    assert resolve("explorer.runs.transfer:run") is cluster.run_transfer
    cfg = replace(tiny(), train=replace(tiny().train, steps=60))
    pool = Pool(1, 1, idle_seconds=60)
    try:
        job = pool.submit("me", "explorer.runs.sweep:run_sweep", cfg, kwargs={"prior_seconds": 5.0})
        fractions, seen = set(), set()
        while not job.finished:
            fractions.add(job.fraction)
            seen.update(_chunk_processes())
            time.sleep(0.05)            # (a look at every process costs ~8 ms of a core; a part runs for longer)
    finally:
        pool.shutdown()
    assert job.state == "done", job.error
    assert seen, "no part ran on the cluster"
    assert any(0 < f < 1 for f in fractions), fractions
    pd.testing.assert_frame_equal(job.result, run_sweep(cfg), check_exact=True)
