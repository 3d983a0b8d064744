"""Equilibrium instruments: rotation, the predicted equilibrium rotation, λ_torch of each form, timescales,
scale invariance, and the per-step hook on a Trainer."""
import math
from dataclasses import replace

import pandas as pd
import pytest
import torch

from explorer.core.measures import (
    LAYER_STATS_COLUMNS,
    angle,
    attach,
    lambda_torch,
    predicted_rotation,
    run_timescales,
    scale_invariant,
    timescale,
)
from explorer.core.models import ModelSpec, forward, init_params
from explorer.runs.cost import torch_threads
from explorer.runs.train import TrainConfig, Trainer


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread is fastest, and a busy machine does not stall a second one."""
    with torch_threads(1):
        yield


def rotated(x: torch.Tensor, theta: float, seed: int = 0) -> torch.Tensor:
    """x turned by theta inside the plane of x and a random direction orthogonal to it (per run r)."""
    g = torch.Generator().manual_seed(seed)
    flat = x.flatten(1)
    y = torch.randn(flat.shape, generator=g, dtype=flat.dtype)
    y -= (y * flat).sum(1, keepdim=True) / (flat * flat).sum(1, keepdim=True) * flat    # ⟂ x
    y *= flat.norm(dim=1, keepdim=True) / y.norm(dim=1, keepdim=True)
    return (math.cos(theta) * flat + math.sin(theta) * y).reshape(x.shape)


@pytest.mark.parametrize("theta", [1e-7, 1e-4, 3e-2, 0.7, 2.0, 3.1])
def test_rotation_of_a_known_rotation_is_exact(theta):
    x = torch.randn(3, 20, 30, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    got = angle(x, rotated(x, theta))
    assert got.shape == (3,)
    assert torch.allclose(got, torch.full((3,), theta, dtype=torch.float64), rtol=1e-9, atol=0)
    # the angle ignores the length of either matrix
    assert torch.allclose(angle(2.5 * x, 0.1 * rotated(x, theta)), got, rtol=1e-9, atol=0)


def test_rotation_of_float32_weights_and_degenerate_cases():
    x = torch.randn(2, 64, 128, generator=torch.Generator().manual_seed(2))
    assert torch.equal(angle(x, x), torch.zeros(2, dtype=torch.float64))
    assert torch.allclose(angle(x, -x), torch.full((2,), math.pi, dtype=torch.float64))
    # float32 weights a small step apart: the angle is the float64 one of the same numbers
    y = rotated(x.double(), 1e-3).float()
    assert torch.allclose(angle(x, y), angle(x.double(), y.double()), rtol=1e-12)
    assert angle(x, y)[0].item() == pytest.approx(1e-3, rel=1e-4)     # float32 rounding of y only
    assert torch.isnan(angle(torch.zeros(1, 5), torch.ones(1, 5))).all()


def test_predicted_rotation_by_hand_and_through_lambda_paper():
    # √(2·η·α·λ·(1−β1)/(1+β1)) with η = 1, α = 1e-3, λ_torch = 0.1, β1 = 0.9: √(2e-5/1.9)
    assert predicted_rotation(1.0, 1e-3, 0.1, 0.9) == pytest.approx(0.0032444284226152509, rel=1e-14)
    assert predicted_rotation(0.5, 1e-3, 0.1, 0.0) == pytest.approx(math.sqrt(1e-4), rel=1e-14)
    assert predicted_rotation(0.0, 1e-3, 0.1, 0.9) == 0.0
    # depends on α and λ_torch only through α·λ_torch = λ_paper: the paper form at λ_paper = 1e-4, any α
    for lr in (1e-4, 1e-3, 1e-2):
        lam = lambda_torch("adamw", lr, 1e-4)
        assert predicted_rotation(1.0, lr, lam, 0.9) == pytest.approx(0.0032444284226152509, rel=1e-12)


def test_lambda_torch_of_each_decay_form():
    lr, wd = 1e-3, 0.05
    assert lambda_torch("adamw-torch", lr, wd) == wd
    assert lambda_torch("adamw", lr, wd) == pytest.approx(wd / lr)       # λ_paper = α·λ_torch
    assert lambda_torch("sgdw", lr, wd) == pytest.approx(wd / lr)
    assert lambda_torch("sgd-l2", lr, wd) == wd                           # Proposition 1
    assert lambda_torch("adam-l2", lr, wd) is None                        # runs through √v̂: no timescale
    assert lambda_torch("adam", lr, wd) == 0.0 and lambda_torch("sgd", lr, wd) == 0.0


def test_timescale_matches_hand_computation():
    # the example: λ = 0.01 at α = 1e-4 for 1,000 steps (constant η): N = 0.001
    t = timescale("adamw-torch", 1e-4, 0.01, 1000.0, 1200 / 32)
    assert t.tau_steps == pytest.approx(1e6) and t.tau_epochs == pytest.approx(1e6 / 37.5)
    assert t.n == pytest.approx(0.001) and t.surviving == pytest.approx(math.exp(-0.001))
    assert t.negligible
    # the paper form at λ_paper = α·λ_torch is the same timescale
    p = timescale("adamw", 1e-4, 1e-6, 1000.0, 37.5)
    assert p.n == pytest.approx(t.n) and p.tau_steps == pytest.approx(t.tau_steps)
    assert not timescale("adamw-torch", 1e-3, 1.0, 1000.0, 37.5).negligible          # N = 1
    none = timescale("adam-l2", 1e-3, 0.05, 1000.0, 37.5)
    assert none.lam_torch is None and math.isnan(none.n) and not none.negligible
    assert timescale("adam", 1e-3, 0.05, 1000.0, 37.5).tau_steps == math.inf


def test_run_timescales_sum_the_schedule():
    # cosine over T steps: Σ η_t = T/2 + 1/2 (Σ_k cos(πk/T) = 1 for k = 0 … T−1)
    cfg = TrainConfig(optimizers=("adam-l2", "adamw-torch", "adamw"), lr=1e-3, wd=0.05, steps=1000,
                      schedule="cosine", train_samples=300, batch_size=32)
    l2, torch_form, paper = run_timescales(cfg)
    assert l2.lam_torch is None
    assert torch_form.n == pytest.approx(1e-3 * 0.05 * 500.5, rel=1e-12)
    assert torch_form.tau_epochs == pytest.approx(20_000 / (300 / 32))
    assert paper.n == pytest.approx(0.05 * 500.5, rel=1e-12)
    const = run_timescales(replace(cfg, schedule="constant"))[1]
    assert const.n == pytest.approx(1e-3 * 0.05 * 1000, rel=1e-12)
    # the corrected form decays by η_t²: Σ_k ((1 + cos(πk/T))/2)² = 3T/8 + 1/2; constant decay: Σ 1 = T
    corrected = replace(cfg, optimizers=("adamw-corrected", "adamw-torch"))
    assert run_timescales(corrected)[0].n == pytest.approx(1e-3 * 0.05 * 375.5, rel=1e-12)
    flat = run_timescales(replace(corrected, decay_follows=False))
    assert flat[0].n == flat[1].n == pytest.approx(1e-3 * 0.05 * 1000, rel=1e-12)
    warm = run_timescales(replace(cfg, schedule="constant", warmup=100))[1]   # Σ_{t≤100} t/100 = 50.5
    assert warm.n == pytest.approx(1e-3 * 0.05 * (900 + 50.5), rel=1e-12)


@pytest.mark.parametrize("kind", ["mlp", "mlp-ln"])
def test_scale_invariance_flags_match_the_model(kind):
    """A layer is flagged exactly when scaling its W and b leaves the logits unchanged."""
    spec = ModelSpec(kind, width=16, depth=2)
    params = [p.detach().double() for p in init_params(spec, 1, seed=3)]
    x = torch.randn(8, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    base = forward(spec, params, x)
    measured = []
    for i in range(spec.depth + 1):
        scaled = [p * 3.0 if j in (2 * i, 2 * i + 1) else p for j, p in enumerate(params)]
        # LayerNorm's ε (1e-5 added to the variance) leaves a change of that order; a layer whose scale
        # matters moves the logits by tens of percent
        change = ((forward(spec, scaled, x) - base).abs().max() / base.abs().max()).item()
        assert change < 1e-4 or change > 1e-2
        measured.append(change < 1e-4)
    assert scale_invariant(spec) == measured
    assert measured[-1] is False and any(measured) == (kind == "mlp-ln")


def small_cfg(**kw) -> TrainConfig:
    base = dict(optimizers=("adam-l2", "adamw-torch", "adamw"), model="mlp-ln", width=16, depth=2,
                lr=1e-2, wd=0.5, steps=30, train_samples=100, batch_size=16, schedule="cosine", eval_every=10)
    return TrainConfig(**(base | kw))


def test_layer_stats_are_the_means_of_the_steps_between_evaluations():
    cfg = small_cfg()
    tr = Trainer(cfg, "cpu")
    stats = attach(tr)
    snapshots = [[w.detach().clone() for w in tr.params[0::2]]]
    for _ in range(cfg.steps):
        tr.step()
        snapshots.append([w.detach().clone() for w in tr.params[0::2]])
    rows = pd.DataFrame(stats.rows)
    assert list(rows.columns[:len(LAYER_STATS_COLUMNS)]) == LAYER_STATS_COLUMNS
    assert sorted(rows.step.unique()) == [0, 10, 20, 30]
    assert rows[rows.step == 0].rotation.isna().all()
    lam = {"adam-l2": None, "adamw-torch": 0.5, "adamw": 0.5 / 1e-2}
    for r, name in enumerate(cfg.optimizers):
        for i, layer in enumerate(tr.spec.layer_names):
            got = rows[(rows.optimizer == name) & (rows.layer == layer) & (rows.step == 20)].iloc[0]
            want = sum(angle(snapshots[t - 1][i], snapshots[t][i])[r].item() for t in range(11, 21)) / 10
            # the hook's float32 difference is exact for small steps; where a weight crosses zero it rounds
            # (≤ 6e-8 of that weight's change)
            assert got.rotation == pytest.approx(want, rel=1e-6)
            assert got.weight_norm == pytest.approx(snapshots[20][i][r].double().norm().item(), rel=1e-12)
            assert got.scale_invariant == (i < 2)
            if lam[name] is None or i == 2:
                assert math.isnan(got.predicted_rotation)
            else:
                etas = [tr.opt.schedule.multiplier(t) for t in range(11, 21)]
                pred = sum(predicted_rotation(e, 1e-2, lam[name], 0.9) for e in etas) / 10
                assert got.predicted_rotation == pytest.approx(pred, rel=1e-12)


def test_instruments_do_not_change_the_run():
    cfg = small_cfg(steps=20)
    plain = Trainer(cfg, "cpu").run()
    tr = Trainer(cfg, "cpu")
    attach(tr)
    assert tr.run() == plain
    assert Trainer.on_step is None           # attaching is per trainer


def test_cli_writes_layer_stats_and_prints_timescales(tmp_path):
    from conftest import run_cli
    out, stats = tmp_path / "train.csv", tmp_path / "layers.csv"
    code, _, err = run_cli("train", "--model", "mlp-ln", "--width", "16", "--steps", "20", "--eval-every", "10",
                           "--train-samples", "100", "--optimizers", "adam-l2,adamw", "--lr", "0.01", "--wd", "0.01",
                           "--schedule", "constant", "--out", str(out), "--layer-stats", str(stats))
    assert code == 0, err
    frame = pd.read_csv(stats)
    assert list(frame.columns) == LAYER_STATS_COLUMNS
    assert len(frame) == 2 * 3 * 3                          # optimizers × evaluations (0, 10, 20) × layers
    later = frame[frame.step > 0]
    assert later.rotation.gt(0).all() and frame[frame.step == 0].rotation.isna().all()
    pred = later.set_index(["optimizer", "layer"]).predicted_rotation
    # paper form, λ_paper = 0.01 = α·λ_torch, constant η: √(2·0.01·0.1/1.9) on the two LayerNorm layers only
    assert pred.loc[("adamw", "layer 1")].tolist() == pytest.approx([math.sqrt(0.002 / 1.9)] * 2, rel=1e-9)  # 10 digits
    assert pred.loc[("adamw", "layer 3")].isna().all() and pred.loc["adam-l2"].isna().all()
    assert "timescale adamw: λ_torch = 1, τ = 1/(α·λ_torch) = 100 steps" in err and "N = α·λ_torch·Ση_t = 0.2," in err
    code, _, err = run_cli("train", "--steps", "5", "--layer-stats", "-")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--layer-stats" in err


def test_regime_of_a_run_follows_its_decay_timescales():
    from explorer.analysis.timescales import regime_of
    per_epoch = 37.5
    assert "barely acts" in regime_of(timescale("adamw-torch", 1e-4, 0.01, 1000.0, per_epoch), False)   # N = 0.001
    assert "transient" in regime_of(timescale("adamw-torch", 1e-3, 1.0, 1000.0, per_epoch), True)        # N = 1
    assert "LayerNorm" in regime_of(timescale("adamw", 1e-2, 1e-2, 1000.0, per_epoch), True)              # N = 10
    assert "fixed point" in regime_of(timescale("adamw", 1e-2, 1e-2, 1000.0, per_epoch), False)
    assert "√v̂" in regime_of(timescale("adam-l2", 1e-2, 1e-2, 1000.0, per_epoch), True)
    assert "forgotten" in regime_of(timescale("sgdw", 1e-2, 1e-2, 1000.0, per_epoch), True)      # no prediction
