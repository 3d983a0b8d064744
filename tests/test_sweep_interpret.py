"""sweep.interpret: the numbers behind the sweep page's words, on synthetic grids with known slopes."""
import math

import numpy as np
import pandas as pd
import pytest

from explorer.analysis.interpret import COUPLING_VISIBLE, coupling, interpret
from explorer.core.schedules import Schedule
from explorer.runs.sweep import SweepConfig, pow2
from explorer.runs.train import TrainConfig

LRS = pow2(-8, -2)
WDS = pow2(-13, -1, 13)


def valley(name, slope, lrs=LRS, wds=WDS, error=0.1):
    """Rows whose best λ is 2^(slope·(log2 α + 5) − 7), inside the λ grid: loss = (log2 λ − that)² + 1."""
    rows = []
    for lr in lrs:
        centre = slope * (math.log2(lr) + 5) - 7
        for wd in wds:
            for seed in (0, 1):
                loss = (math.log2(wd) - centre) ** 2 + 1.0
                rows.append({"optimizer": name, "lr": lr, "wd": wd, "seed": seed, "train_loss": loss,
                             "test_loss": loss, "test_error": error + 0.01 * abs(math.log2(lr)),
                             "diverged": False})
    return rows


def sweep(slopes: dict[str, float], pair="adam", train=None):
    frame = pd.DataFrame([r for n, s in slopes.items() for r in valley(n, s)])
    cfg = SweepConfig(pair=pair, lrs=LRS, wds=tuple((n, WDS) for n in slopes), seeds=2,
                      train=train or TrainConfig(train_samples=300, steps=300))
    return cfg, frame, {n: coupling(frame, n) for n in slopes}


def test_interpret_reads_the_slopes_the_gap_and_the_regime():
    cfg, frame, c = sweep({"adam-l2": 1.0, "adamw": 1.0, "adamw-torch": 0.0})
    it = interpret(cfg, frame, c)
    assert it.slopes == pytest.approx({"adam-l2": 1.0, "adamw": 1.0, "adamw-torch": 0.0}, abs=1e-9)
    assert it.l2 == "adam-l2" and it.closest == "adamw-torch"
    assert it.gap == pytest.approx(1.0) and it.coupling_visible
    assert it.forms_difference == pytest.approx(1.0)
    eta = sum(Schedule("cosine", total_steps=300, t0=300, t_mult=2).multipliers(300))
    assert it.eta_sum == pytest.approx(eta)
    best = c["adamw-torch"].best_wd
    assert it.n_star == pytest.approx([lr * wd * eta for lr, wd in best.items()])
    assert "near-equilibrium" in it.regime
    assert it.best_error_by_lr[LRS[0]] == pytest.approx(0.1 + 0.08)     # the row's best (all forms alike)


def test_interpret_says_when_the_coupling_is_weak_and_skips_adamw_words_for_sgd():
    cfg, frame, c = sweep({"adam-l2": 0.25, "adamw": 1.0, "adamw-torch": 0.0})
    it = interpret(cfg, frame, c)
    assert it.gap == pytest.approx(0.25, abs=0.1) and it.gap < COUPLING_VISIBLE and not it.coupling_visible
    cfg, frame, c = sweep({"sgd-l2": 1.0, "sgdw": 0.0}, pair="sgd")
    it = interpret(cfg, frame, c)
    assert it.l2 == "sgd-l2" and it.closest == "sgdw" and it.coupling_visible
    assert math.isnan(it.forms_difference) and it.n_star == [] and it.regime == ""


def test_far_from_equilibrium_slopes_read_as_far():
    cfg, frame, c = sweep({"adam-l2": 0.29, "adamw": 0.0, "adamw-torch": -1.0})
    it = interpret(cfg, frame, c)
    assert it.closest == "adamw" and "far-from-equilibrium" in it.regime
    assert np.isfinite(it.eta_sum)


def test_every_preset_sweeps_exactly_its_pairs_optimizers():
    from explorer.core.forms import pair_forms
    from explorer.runs.sweep import PRESETS
    for name, p in PRESETS.items():
        assert p.optimizers == pair_forms(p.pair), name
        assert all(len(grid) >= 2 for _, grid in p.wds) and len(p.lrs) >= 2, name
