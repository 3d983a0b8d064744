"""The insight panels' numeric claims."""
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

from explorer.analysis import insights
from explorer.core.models import forward, loss_per_run
from explorer.runs.landscape import _coords, _unflat, evaluate_plane, landscape, plane, train_pair_with_snapshots
from explorer.runs.train import TrainConfig


@pytest.mark.parametrize("schedule", ["constant", "cosine", "warm_restarts"])
def test_prop1_overlay_is_round_off_without_momentum_and_not_with_it(schedule):
    f = insights.prop1_surface("rosenbrock", 1e-3, 0.01, 1000, 0.0, schedule)
    assert f.distance.max() < 1e-4
    assert (f[f.optimizer == "sgdw"].x.diff().abs() > 0).sum() > 900          # the paths do move
    g = insights.prop1_surface("rosenbrock", 1e-3, 0.01, 1000, 0.9, schedule)
    assert g.distance.max() > 1e-2


def test_prop1_on_the_model():
    d = insights.prop1_model(TrainConfig(lr=0.05, momentum=0.0, steps=60, train_samples=100, width=16), 0.01)
    assert d.relative_distance.max() < 1e-5 and len(d) == 61
    m = insights.prop1_model(TrainConfig(lr=0.05, momentum=0.9, steps=60, train_samples=100, width=16), 0.01)
    assert m.relative_distance.iloc[-1] > 1e-3


def test_best_match_finds_the_known_minimizer_and_adam_still_misses():
    sgd = insights.best_match("quadratic", "sgdw", "sgd-l2", lr=0.05, wd=0.02, steps=300)
    assert sgd.best_wd == pytest.approx(0.02 / 0.05, rel=1e-6)                # Proposition 1
    assert sgd.residual < 1e-9
    adam = insights.best_match("quadratic", "adamw-torch", "adam-l2", lr=0.05, wd=1.0, steps=500)
    assert adam.residual > 0.1                                              # Proposition 2
    assert adam.residual <= adam.curve.distance.min() + 1e-12               # no grid λ' does better


def test_effective_decay_per_coordinate():
    e = insights.effective_decay_surface("quadratic", 0.05, 1.0, 200)
    last = e[e.step == 200].set_index(["optimizer", "coordinate"]).rate
    assert last[("adamw-torch", "x")] == pytest.approx(0.05) == last[("adamw-torch", "y")]
    assert last[("adam-l2", "x")] < last[("adam-l2", "y")] / 10             # the steep axis decays less


def test_decay_forms_agree_at_the_base_lr_and_differ_elsewhere():
    cfg = TrainConfig(lr=1e-3, steps=60, train_samples=100, width=16)
    d = insights.decay_forms(cfg, 0.5, (2.5e-4, 1e-3, 4e-3))
    base = d[d.lr == 1e-3].pivot(index="step", columns="optimizer", values="weight_norm")
    np.testing.assert_allclose(base["adamw"], base["adamw-torch"], rtol=1e-5)
    fast = d[d.lr == 4e-3].groupby("optimizer").shrink_per_step.first()
    assert fast["adamw-torch"] == pytest.approx(4 * fast["adamw"]) == fast["adamw-corrected"]
    assert math.isnan(fast["adam-l2"])                                 # no single rate: ÷ √v̂+ε per weight
    # cosine: the corrected form's decay η_t²·α·λ is smaller than η_t·α·λ, so it keeps more norm
    assert base["adamw-corrected"].iloc[-1] > base["adamw-torch"].iloc[-1] + 1e-3
    assert insights.normalized_decay(0.05, 128, 50_000, 100) == pytest.approx(0.05 * math.sqrt(128 / 5e6))


@pytest.fixture(scope="module")
def pair():
    cfg = TrainConfig(steps=80, train_samples=200, width=16, wd=0.1)
    tr, steps, snaps = train_pair_with_snapshots(cfg, "cpu", every=20)
    return cfg, tr, steps, snaps


def test_pca_plane_contains_both_end_points(pair):
    cfg, tr, steps, snaps = pair
    origin, d1, d2 = plane(snaps, "pca")
    assert abs(float(d1 @ d2)) < 1e-5 and abs(float(d1.norm()) - 1) < 1e-5
    for name, s in snaps.items():
        end = s[-1]
        ab = _coords(end[None], origin, d1, d2)[0]
        back = origin.double() + ab[0] * d1.double() + ab[1] * d2.double()
        assert float((back - end.double()).norm() / end.norm()) < 1e-5, name


def test_grid_values_equal_direct_loss_evaluations(pair):
    cfg, tr, steps, snaps = pair
    shapes = [p.shape[1:] for p in tr.params]
    for kind in ("pca", "random"):
        origin, d1, d2 = plane(snaps, kind, shapes)
        a, b = np.linspace(-1, 2, 7), np.linspace(-0.5, 0.5, 5)
        grid = evaluate_plane(cfg, tr, origin, d1, d2, a, b, samples=150, chunk=8)
        for i, j in ((0, 0), (3, 4), (4, 6), (2, 1)):
            flat = (origin + a[j] * d1 + b[i] * d2)[None]
            direct = loss_per_run(forward(tr.spec, _unflat(flat, shapes), tr.data.x_train[:150]),
                                  tr.data.y_train[:150])
            assert grid[i, j] == pytest.approx(float(direct[0]), rel=1e-5)


def test_landscape_and_its_cli(tmp_path):
    res = landscape(TrainConfig(steps=60, train_samples=100, width=16), "pca", n=11)
    assert len(res.grid) == 121 and set(res.paths.optimizer) == {"adam-l2", "adamw-torch"}
    out = tmp_path / "land.csv"
    p = subprocess.run([sys.executable, "-m", "explorer", "landscape", "--steps", "40", "--width", "16",
                        "--train-samples", "100", "--grid", "9", "--out", str(out)], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    grid = pd.read_csv(out)
    traj = pd.read_csv(tmp_path / "land.trajectories.csv")
    assert list(grid.columns) == ["a", "b", "loss"] and len(grid) == 81
    assert list(traj.columns) == ["optimizer", "step", "a", "b", "loss"]
    code, _, err = run_cli("landscape", "--grid", "1000", "--out", str(out))
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_match_gaps_are_the_per_coordinate_distances_of_the_two_paths():
    m = insights.best_match("quadratic", "adamw-torch", "adam-l2", lr=0.05, wd=1.0, steps=200)
    gaps = insights.match_gaps(m, "adamw-torch")
    assert set(gaps["coordinate"]) == {"x", "y"} and len(gaps) == 2 * 201
    last = m.paths[m.paths.step == 200].set_index("optimizer")
    for ax in ("x", "y"):
        got = gaps[(gaps.coordinate == ax) & (gaps.step == 200)]["gap"].item()
        assert got == pytest.approx(abs(last.loc["adam-l2", ax] - last.loc["adamw-torch", ax]))
    # the mean of the per-step distance is the residual the search minimised
    dist = np.hypot(*(gaps[gaps.coordinate == ax].sort_values("step")["gap"].to_numpy() for ax in ("x", "y")))
    assert dist.mean() == pytest.approx(m.residual, rel=1e-6)


def test_model_effective_decay_spreads_for_l2_and_not_for_decoupled():
    dist, names, step = insights.model_effective_decay("torch", 0.05, 60)
    assert names == ["adam-l2", "adamw-torch"] and step == 60
    spread = dist.groupby(["optimizer", "layer"])["log10_rate"].nunique()
    assert (spread["adamw-torch"] == 1).all() and (spread["adam-l2"] > 3).all()


@pytest.mark.parametrize("target, candidate", [("adamw-torch", "adam-l2"), ("adamw", "adam-l2"), ("sgdw", "sgd-l2")])
def test_best_match_at_lambda_zero_is_lambda_prime_zero(target, candidate):
    """λ = 0 (a stop of the panel's λ control): the target is plain Adam or SGD, matched exactly by λ' = 0 (the
    search around λ on a log scale had no centre: math domain error on the page)."""
    m = insights.best_match("quadratic", target, candidate, lr=0.05, wd=0.0, steps=100)
    assert m.best_wd == 0.0 and m.residual == 0.0
    assert (m.curve.wd > 0).all() and np.isfinite(m.curve.distance).all()
