"""The regime map: the edge-argmin rule on synthetic grids, a small map equals its separate sweeps, the
map's slopes and seed spread are the sweep's coupling measure, progress and bad configurations."""
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from explorer.analysis.interpret import coupling
from explorer.analysis.regime import map_points, points_frame
from explorer.runs.cost import torch_threads
from explorer.runs.regime import MapConfig, run_map
from explorer.runs.sweep import SweepConfig, run_sweep
from explorer.runs.train import TrainConfig

LRS = [2.0 ** e for e in (-4, -3, -2, -1)]
WDS = [2.0 ** e for e in (-3, -2, -1, 0, 1, 2, 3)]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread is fastest, and a busy machine does not stall a second one."""
    with torch_threads(1):
        yield


def synthetic(target, seeds=(0,), flat=()) -> pd.DataFrame:
    """A grid whose loss is (log2 λ − target(log2 α))² + 1 (+ a seed offset): its argmin is known."""
    rows = []
    for s in seeds:
        for lr in LRS:
            for wd in WDS:
                loss = 1.0 + (1e-4 if lr in flat else 1.0) * (math.log2(wd) - target(math.log2(lr))) ** 2 + 0.01 * s
                rows.append({"optimizer": "adamw", "lr": lr, "wd": wd, "seed": s, "test_loss": loss,
                             "test_error": 0.1, "train_loss": 0.0, "diverged": False})
    return pd.DataFrame(rows)


def test_edge_argmins_are_marked_and_left_out_only_when_asked():
    # best log2 λ = log2 α + 2: -2, -1, 0, 1 inside the grid, then the row α = 2^-1 wants 1 … but its
    # target is moved past the grid's top: its argmin is the last λ (an edge)
    frame = synthetic(lambda x: x + 2 if x < -1 else 9.0)
    c = coupling(frame, "adamw")
    assert c.edge_rows == (0.5,) and c.flat_rows == ()
    assert c.best_wd[0.5] == 8.0                                   # the grid's largest λ
    assert c.slope != pytest.approx(1.0)                           # counted, it bends the line
    e = coupling(frame, "adamw", exclude_edges=True)
    assert e.edge_rows == (0.5,) and e.slope == pytest.approx(1.0) and e.intercept == pytest.approx(2.0)


def test_lower_edge_and_flat_rows():
    frame = synthetic(lambda x: -7.0 if x == -4 else -x - 3, flat=(0.5,))
    e = coupling(frame, "adamw", exclude_edges=True)
    assert e.edge_rows == (2.0 ** -4,)                              # best λ = the grid's smallest
    assert e.flat_rows == (0.5,)                                    # flat wins over edge: not listed twice
    assert e.slope == pytest.approx(-1.0)                           # rows -3, -2 only: 0, -1
    assert math.isnan(coupling(synthetic(lambda x: 9.0), "adamw", exclude_edges=True).slope)


def tiny(seeds=2) -> SweepConfig:
    return SweepConfig(lrs=(2.0 ** -6, 2.0 ** -4), seeds=seeds,
                       wds=(("adam-l2", (1e-3, 1e-2, 1e-1)), ("adamw", (1e-4, 1e-3, 1e-2)),
                            ("adamw-torch", (0.1, 1.0, 10.0))),
                       train=TrainConfig(train_samples=50, steps=6, width=16, batch_size=16))


def test_a_small_map_equals_separate_sweeps():
    cfg = MapConfig(tiny(), "init_scale", (1.0, 4.0))
    frame = run_map(cfg, "cpu")
    for value in cfg.values:
        alone = run_sweep(replace(cfg.base, train=replace(cfg.base.train, init_scale=value)), "cpu")
        got = frame[frame.axis_value == value].drop(columns="axis_value").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, alone)
    # each point's slopes are the coupling measure of its sweep; the spread that of each seed alone
    for p in map_points(cfg, frame):
        part = frame[frame.axis_value == p.axis_value]
        assert p.slope == coupling(part, p.optimizer, exclude_edges=True).slope or (
            math.isnan(p.slope) and math.isnan(coupling(part, p.optimizer, exclude_edges=True).slope))
        assert len(p.seed_slopes) == 2
        assert p.counted + p.edge_rows + p.flat_rows == 2
    table = points_frame(map_points(cfg, frame))
    assert len(table) == 2 * 3 and set(table.optimizer) == {"adam-l2", "adamw", "adamw-torch"}


def test_map_points_count_decay_times_at_the_best_cells():
    cfg = MapConfig(tiny(), "steps", (100, 300))
    rows = []
    for steps, best in ((100, 1.0), (300, 0.25)):
        for s in (0, 1):
            for lr in cfg.base.lrs:
                for wd in (0.0625, 0.25, 1.0, 4.0):
                    loss = 1 + (math.log2(wd) - math.log2(best)) ** 2
                    rows.append({"axis_value": steps, "optimizer": "adamw-torch", "lr": lr, "wd": wd, "seed": s,
                                 "train_loss": 0.0, "test_loss": loss, "test_error": 0.1, "diverged": False})
    frame = pd.DataFrame(rows)
    cfg = replace(cfg, base=replace(cfg.base, wds=(("adamw-torch", (0.0625, 0.25, 1.0, 4.0)),)))
    pts = map_points(cfg, frame)
    # cosine over T steps: Σ η_t = (T + 1)/2; N = α·λ_torch·Σ η_t, median over the two rows
    want_100 = np.median([lr * 1.0 * 50.5 for lr in cfg.base.lrs])
    want_300 = np.median([lr * 0.25 * 150.5 for lr in cfg.base.lrs])
    assert [p.n_median for p in pts] == pytest.approx([want_100, want_300])
    assert all(p.slope == pytest.approx(0.0) and p.seed_slopes == pytest.approx((0.0, 0.0)) for p in pts)


def test_map_progress_reaches_one_and_a_cancel_stops_it():
    cfg = MapConfig(replace(tiny(), lrs=(2.0 ** -6,)), "batch_size", (8, 16))
    seen = []
    run_map(cfg, "cpu", progress=lambda f, left: seen.append(f), estimates=[1.0, 3.0])
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0) and seen[0] < 0.25 + 1e-9

    class Cancel(Exception):
        pass

    def cancel(f, left):
        raise Cancel

    with pytest.raises(Cancel):
        run_map(cfg, "cpu", progress=cancel)


def test_bad_map_configurations_are_refused():
    with pytest.raises(ValueError, match="2 seeds"):
        MapConfig(tiny(seeds=1), "steps", (100,))
    with pytest.raises(ValueError, match="unknown regime axis"):
        MapConfig(tiny(), "depth", (1, 2))
    with pytest.raises(ValueError, match="at least one"):
        MapConfig(tiny(), "steps", ())


def test_cli_map_writes_points_and_refuses_bad_input(tmp_path):
    from conftest import run_cli
    out, runs = tmp_path / "map.csv", tmp_path / "runs.csv"
    common = ("map", "--lrs", "0.0078,0.0156", "--wds", "0.001,0.01,0.1", "--steps", "6", "--train-samples", "50")
    # batch_size: the spelling older scripts use; the output spells it batch-size
    code, _, err = run_cli(*common, "--axis", "batch_size", "--values", "16,32", "--out", str(out), "--runs", str(runs))
    assert code == 0, err
    table, frame = pd.read_csv(out), pd.read_csv(runs)
    assert list(table.columns[:3]) == ["axis_value", "optimizer", "slope"] and len(table) == 6
    assert sorted(frame.axis_value.unique()) == [16, 32] and len(frame) == 2 * 3 * 2 * 3 * 2
    assert err.count("batch-size=16") == 3           # the old spelling is accepted, the output uses the one spelling
    for bad, what in ((("--seeds", "1"), "--seeds"), (("--axis", "steps", "--values", "1.5"), "--values"),
                      (("--axis", "depth"), "--axis"), (("--preset", "sgd"), "--pair"),
                      (("--runs", "-"), "--runs")):
        code, _, err = run_cli(*common, *bad)
        assert code == 2 and len(err.strip().splitlines()) == 1 and what in err, (bad, err)


@pytest.mark.parametrize("torch_slope,paper_slope,model,n_star,needle", [
    (0.0, 0.79, "mlp-ln", [12, 47, 750], "not* what rotational equilibrium predicts"),
    (-1.0, 0.0, "mlp-ln", [4, 8, 16], "rotational-equilibrium"),
    (-1.0, 0.0, "mlp-ln", [0.2, 0.5, 1.0], "far-from-equilibrium"),   # same slopes, N too small: transient
    (-1.0, 0.0, "mlp", [4, 8, 16], "far-from-equilibrium"),
])
def test_regime_text_names_each_prediction_with_its_source(torch_slope, paper_slope, model, n_star, needle):
    from explorer.analysis.interpret import regime_text
    text = regime_text(torch_slope, paper_slope, n_star, model)
    assert needle in text
    assert f"PyTorch form {torch_slope:+.2f}, paper form {paper_slope:+.2f}" in text
    for source in ("Xie & Li", "Wang & Aitchison", "Kosson"):       # every regime's rule, none as general
        assert source in text
    assert "none in general" in text


def test_map_estimate_times_the_base_sweep_once(monkeypatch):
    from explorer.runs import regime as regime
    timed = []

    def fake(cfg, device=None, threads=None):
        timed.append(cfg.train)
        return 1.0 + 0.01 * cfg.train.steps

    monkeypatch.setattr(regime, "estimate_seconds", fake)
    base = tiny()                                    # 6 steps, batch 16
    assert regime.estimate_map_seconds(MapConfig(base, "init_scale", (1.0, 4.0, 16.0))) == [1.06] * 3
    assert regime.estimate_map_seconds(MapConfig(base, "steps", (100, 300))) == pytest.approx([2.0, 4.0])
    timed.clear()
    got = regime.estimate_map_seconds(MapConfig(base, "batch_size", (8, 16, 64, 256)))
    assert got == pytest.approx([1.06, 1.06, 4 * 1.06, 16 * 1.06])
    assert [t.batch_size for t in timed] == [16]     # a link asking for large batches times no large batch
