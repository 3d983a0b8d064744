import math

import numpy as np
import pytest

from explorer.core.schedules import Schedule
from explorer.runs.trajectory import fixed_point, run_trajectories


def test_table_shape_and_start_row():
    r = run_trajectories("rosenbrock", ["adam-l2", "adamw"], lr=0.01, wd=0.1, steps=50, start=(-1.0, 2.0))
    f = r.frame
    assert list(f.columns) == ["optimizer", "step", "x", "y", "loss", "norm"]
    assert len(f) == 2 * 51
    start = f[f.step == 0]
    assert (start.x == -1.0).all() and (start.y == 2.0).all()
    assert start.loss.iloc[0] == pytest.approx(4 + 100 * 1.0)
    assert r.diverged == {"adam-l2": None, "adamw": None}


def test_mixed_preconditioners_run_in_their_own_batches():
    both = run_trajectories("rosenbrock", ["sgd-l2", "adam-l2"], lr=1e-3, wd=0.1, steps=100).frame
    alone = run_trajectories("rosenbrock", ["adam-l2"], lr=1e-3, wd=0.1, steps=100).frame
    np.testing.assert_array_equal(both[both.optimizer == "adam-l2"].x.values, alone.x.values)


def test_same_seed_same_numbers_and_noise_matters():
    kw = dict(lr=0.02, wd=0.1, steps=300, noise=1.0)
    a = run_trajectories("quadratic", ["adam-l2", "adamw-torch"], seed=3, **kw).frame
    b = run_trajectories("quadratic", ["adam-l2", "adamw-torch"], seed=3, **kw).frame
    c = run_trajectories("quadratic", ["adam-l2", "adamw-torch"], seed=4, **kw).frame
    assert a.equals(b)
    assert not a.equals(c)


def test_divergence_is_reported_with_its_step():
    r = run_trajectories("rosenbrock", ["sgd-l2", "sgdw"], lr=0.5, wd=0.0, steps=200)
    for k in r.diverged.values():
        assert k is not None and 1 <= k <= 200
    f = r.frame[r.frame.optimizer == "sgd-l2"]
    k = r.diverged["sgd-l2"]
    assert f[f.step >= k].x.isna().all() and f[f.step < k].x.notna().all()


@pytest.mark.parametrize("name,lr,wd", [("adam-l2", 0.05, 1.0), ("adamw-torch", 0.05, 1.0),
                                        ("adamw", 0.01, 0.02), ("sgd-l2", 0.05, 0.5), ("sgdw", 0.05, 0.02)])
def test_runs_end_at_their_fixed_point(name, lr, wd):
    """The ◆ the app draws is where each rule really ends (cosine schedule to settle Adam's jitter)."""
    steps = 4000
    r = run_trajectories("quadratic", [name], lr=lr, wd=wd, steps=steps,
                         schedule=Schedule("cosine", total_steps=steps))
    end = r.frame.iloc[-1]
    fp = fixed_point("quadratic", name, lr, wd)
    assert math.dist((end.x, end.y), fp.point) < 0.02, (name, (end.x, end.y), fp)


def test_adam_l2_and_adamw_regularize_the_steep_axis_differently():
    """The paper's point on the ill-conditioned quadratic (minimum at (2, 2), x 100× steeper):
    Adam+L2 barely shrinks the steep coordinate but crushes the flat one; AdamW shrinks both alike."""
    r = run_trajectories("quadratic", ["adam-l2", "adamw-torch"], lr=0.05, wd=1.0, steps=2000,
                         schedule="cosine")
    end = r.frame[r.frame.step == 2000].set_index("optimizer")
    assert end.loc["adam-l2", "x"] > 1.8 and end.loc["adam-l2", "y"] < 0.2
    assert end.loc["adamw-torch", "x"] == pytest.approx(end.loc["adamw-torch", "y"], abs=1e-3)


def test_summary_table_says_where_each_run_ended_and_never_none():
    from explorer.runs.trajectory import summary_table
    names = ("sgd-l2", "sgdw")
    res = run_trajectories("rosenbrock", names, lr=1.0, wd=0.01, steps=200)        # both diverge
    fixed = {n: fixed_point("rosenbrock", n, 1.0, 0.01, 0.0) for n in names}
    table = summary_table(res.frame, res.diverged, fixed, names)
    assert list(table["diverged"]) == [f"at step {res.diverged[n]}" for n in names]
    assert table["distance to ◆"].isna().all()
    ok = run_trajectories("quadratic", ("adam-l2", "adamw-torch"), lr=0.05, wd=1.0, steps=3000)
    fixed = {n: fixed_point("quadratic", n, 0.05, 1.0, 0.0) for n in ("adam-l2", "adamw-torch")}
    table = summary_table(ok.frame, ok.diverged, fixed, ("adam-l2", "adamw-torch"))
    assert list(table["diverged"]) == ["no", "no"] and (table["distance to ◆"] < 0.05).all()
    assert "None" not in table.to_string()


def test_corrected_form_and_constant_decay_on_a_surface():
    """Constant schedule: the corrected form takes the PyTorch form's steps exactly. Cosine: it decays by
    η_t², and its ◆ is the box at the last step's η (λ·η_T); constant decay runs differ from following ones."""
    kw = dict(lr=0.05, wd=1.0, steps=400)
    same = run_trajectories("quadratic", ["adamw-torch", "adamw-corrected"], **kw).frame
    a, b = (same[same.optimizer == n][["x", "y"]].to_numpy() for n in ("adamw-torch", "adamw-corrected"))
    assert np.array_equal(a, b)
    cos = Schedule("cosine", total_steps=400)
    runs = run_trajectories("quadratic", ["adamw-torch", "adamw-corrected"], schedule=cos, **kw).frame
    a, b = (runs[runs.optimizer == n][["x", "y"]].to_numpy() for n in ("adamw-torch", "adamw-corrected"))
    assert np.abs(a - b).max() > 1e-3
    const = run_trajectories("quadratic", ["adamw-torch"], schedule=cos, decay_follows_schedule=False, **kw).frame
    assert np.abs(const[["x", "y"]].to_numpy() - a).max() > 1e-3
    eta = cos.multiplier(400)
    assert fixed_point("quadratic", "adamw-corrected", 0.05, 1.0, eta=eta).c == pytest.approx(1 / eta)
    assert fixed_point("quadratic", "adamw-torch", 0.05, 1.0, eta=eta).c == 1.0    # η drops out
    assert fixed_point("quadratic", "adamw", 0.05, 1.0, eta=0.5, decay_follows_schedule=False).c == \
        pytest.approx(0.05 * 0.5)        # constant decay λ against the step η·α·u: box α·η/λ
