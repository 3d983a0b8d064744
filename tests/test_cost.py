"""Sweep threads under load, torch thread scoping, and honest time estimates (before and during a run)."""
import math
import time
from dataclasses import replace

import pytest
import torch

from explorer.core.data import digits
from explorer.runs.cost import Eta, quota_cores, sweep_threads, torch_threads
from explorer.runs.sweep import PRESETS, SweepConfig, calibrate, estimate_seconds, pow2, run_sweep
from explorer.runs.train import TrainConfig


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


@pytest.mark.parametrize("cpus,load,others,want", [
    (2, 0.0, 0, 2),          # idle machine, alone: every core
    (2, 0.4, 0, 2),          # background noise: a core more than half idle still counts
    (2, 0.6, 0, 1),
    (2, 1.0, 0, 1),          # one core busy elsewhere (the measured 72 s vs 2.9 s case)
    (2, 5.0, 0, 1),          # overloaded: never below 1
    (8, 2.2, 0, 6),
    (8, 0.0, 1, 1),          # another session is active: our threads are shared with it
    (8, 0.0, 3, 1),
    (4, -1.0, 0, 4),         # nonsense load → treated as idle, capped at the cores
    (4, math.nan, 0, 4),
    (0, 0.0, 0, 1),          # an unknown core count still gives a thread
])
def test_sweep_threads(cpus, load, others, want):
    assert sweep_threads(cpus, load, others) == want


def test_quota_cores_reads_a_cgroup_cpu_max_line():
    assert quota_cores("200000 100000\n") == 2.0
    assert quota_cores("150000 100000") == 1.5
    assert quota_cores("max 100000") is None
    assert quota_cores("") is None and quota_cores("x y") is None


def test_torch_threads_sets_and_restores_even_on_error():
    before = torch.get_num_threads()
    with torch_threads(1) as n:
        assert n == 1 == torch.get_num_threads()
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(0):                # clamped to 1
        assert torch.get_num_threads() == 1
        raise RuntimeError("cancel")
    assert torch.get_num_threads() == before


def test_eta_ignores_the_setup_and_uses_the_steady_rate():
    clock = FakeClock()
    eta = Eta(total=600, clock=clock)
    clock.t = 5.0                  # setup + first chunk: 5 s for 25 steps (a 0.04 s/step run)
    assert eta.update(25) is None  # no rate yet, no prior
    for done in range(50, 601, 25):
        clock.t = 5.0 + (done - 25) * 0.04
        left = eta.update(done)
        assert left == pytest.approx((600 - done) * 0.04)
    # the naive estimate the app used would have said 5 / (50/600) − 5 = 55 s at 50 steps, not 22 s
    assert eta.update(600) == 0.0


def test_eta_uses_the_prior_until_it_has_measured_and_follows_a_slowdown():
    clock = FakeClock()
    eta = Eta(total=100, prior=20.0, clock=clock)
    clock.t = 3.0
    assert eta.update(10) == pytest.approx(18.0)     # prior × share left
    clock.t = 4.0
    assert eta.update(20) == pytest.approx(8.0)      # 0.1 s/step measured
    clock.t = 8.0                                    # the machine got busy: 0.4 s/step …
    assert eta.update(30) == pytest.approx(70 * 0.4)   # … the latter half of the work says so
    clock.t = 9.0                                    # quiet again: 0.1 s/step
    assert eta.update(40) == pytest.approx(60 * (9.0 - 4.0) / 20)


def small_sweep(steps=100, seeds=1) -> SweepConfig:
    return SweepConfig(lrs=pow2(-8, -4, 3), wds=(("adam-l2", pow2(-9, -3, 3)), ("adamw", pow2(-9, -3, 3))),
                       seeds=seeds, train=TrainConfig(train_samples=300, steps=steps))


def test_run_sweep_reports_fraction_and_seconds_left_and_keeps_one_argument_callbacks():
    cfg = small_sweep(steps=75, seeds=2)
    calls, old = [], []
    with torch_threads(1):       # 2 threads on a busy 2-core machine can take 20× longer
        run_sweep(cfg, "cpu", progress=lambda f, left: calls.append((f, left)))
        prior = run_sweep(cfg, "cpu", progress=lambda f, left: calls.append((f, left)), prior_seconds=9.0)
        run_sweep(cfg, "cpu", progress=old.append)          # the old one-argument form still works
    first, second = calls[:6], calls[6:]
    fractions = [f for f, _ in first]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(second) == 6
    assert first[0][1] is None                              # the first chunk only starts the clock
    assert all(left is not None and left >= 0 for _, left in first[1:]) and first[-1][1] == 0.0
    assert second[0][1] == pytest.approx(9.0 * 5 / 6) and len(prior) == 2 * 18
    assert old == fractions


def test_estimate_is_cached_and_scales_with_steps_and_seeds():
    """How close the estimate comes to a real sweep is a timing, measured by benchmarks/bench_estimate.py
    (a loaded machine moves it); here: it is the calibrated step time scaled, and calibrating is paid once."""
    cfg = small_sweep(steps=150, seeds=2)
    with torch_threads(1):
        setup, step, evaluation = calibrate(cfg, "cpu")
        t0 = time.perf_counter()
        first = estimate_seconds(cfg, "cpu")
        assert time.perf_counter() - t0 < 0.01                     # cached calibration
        assert first == pytest.approx(2 * (setup + 150 * step + evaluation))
        assert 0 < step < setup + evaluation + 150 * step
        # the same sizes with other steps/seeds reuse it and scale
        longer = estimate_seconds(replace(cfg, seeds=4, train=replace(cfg.train, steps=300)), "cpu")
        assert longer == pytest.approx(4 * (setup + 300 * step + evaluation))


def test_estimate_for_the_default_preset_is_cheap():
    cfg = PRESETS["coupling"]
    digits(cfg.train.train_samples)             # loading the data is the app's cost, not the estimate's
    with torch_threads(1):
        t0 = time.perf_counter()
        estimate_seconds(cfg, "cpu")
        cost = time.perf_counter() - t0
    assert cost < 1.5, cost        # ~0.2 s on a quiet 2-core machine (the data set loads outside the timing)
