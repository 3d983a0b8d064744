"""Live training: the batched engine equals plain torch.optim loops; metrics are reproducible."""
import dataclasses
import io
from dataclasses import replace

import pandas as pd
import pytest
import torch
from conftest import STEPS, reference_run, run_cli

from explorer.core.data import MAX_TRAIN, TEST_SIZE, digits
from explorer.runs.train import TrainConfig, Trainer, changed_settings, train_table


@pytest.mark.parametrize("model", ["mlp", "mlp-ln"])
@pytest.mark.parametrize("pair,makers", [
    (("adam-l2", "adamw-torch"), (lambda c: (lambda p: torch.optim.Adam(p, lr=c.lr, betas=(c.beta1, c.beta2),
                                                                           eps=c.eps, weight_decay=c.wd, fused=True)),
                                  lambda c: (lambda p: torch.optim.AdamW(p, lr=c.lr, betas=(c.beta1, c.beta2),
                                                                            eps=c.eps, weight_decay=c.wd,
                                                                            fused=True)))),
    (("sgd-l2", "sgd"), (lambda c: (lambda p: torch.optim.SGD(p, lr=c.lr, momentum=c.momentum,
                                                                      weight_decay=c.wd, fused=True)),
                         lambda c: (lambda p: torch.optim.SGD(p, lr=c.lr, momentum=c.momentum, fused=True)))),
])
def test_batched_training_equals_separate_torch_optim_loops(pair, makers, model):
    lr = 3e-3 if pair[0].startswith("adam") else 0.05
    cfg = TrainConfig(optimizers=pair, model=model, width=32, depth=2, lr=lr, wd=0.05, steps=STEPS,
                      train_samples=200, schedule="constant", seed=3)
    tr = Trainer(cfg, "cpu")
    tr.step(STEPS)
    for r, make in enumerate(makers):
        ref = reference_run(cfg, make(cfg))
        for mine, theirs in zip(tr.params, ref):
            err = (mine[r].detach() - theirs).abs().max().item()
            assert err < 1e-5 * (1 + theirs.abs().max().item()), (pair[r], err)
    # and the two runs really differ, so equality above means something
    assert (tr.params[0][0] - tr.params[0][1]).abs().max() > 1e-3


def test_step_zero_is_identical_across_runs_and_same_seed_same_table():
    cfg = TrainConfig(steps=60, eval_every=20, train_samples=300, width=32)
    a, b = train_table(cfg, "cpu"), train_table(cfg, "cpu")
    assert a.equals(b)
    start = a[a.step == 0].drop(columns="optimizer")
    assert (start.nunique() == 1).all()
    assert a.step.unique().tolist() == [0, 20, 40, 60]
    other = train_table(TrainConfig(steps=60, eval_every=20, train_samples=300, width=32, seed=1), "cpu")
    assert not a.equals(other)


def test_effective_decay_is_uniform_for_decoupled_and_adam_scaled_for_l2():
    cfg = TrainConfig(optimizers=("adam-l2", "adamw-torch", "adamw"), steps=30, train_samples=200, width=16)
    tr = Trainer(cfg, "cpu")
    tr.step(30)
    rates = tr.opt.decay_rates(eta=1.0)
    w = rates[0]
    assert torch.allclose(w[1], torch.full_like(w[1], cfg.lr * cfg.wd))      # torch form: α·λ
    assert torch.allclose(w[2], torch.full_like(w[2], cfg.wd))               # paper form: λ
    v_hat = tr.opt.state[0][1][0] / (1 - cfg.beta2 ** 30)
    assert torch.allclose(w[0], cfg.lr * cfg.wd / (v_hat.sqrt() + cfg.eps))  # Adam+L2: α·λ/(√v̂+ε)
    assert w[0].max() / w[0].min() > 100                                     # …spread over decades
    dist = tr.effective_decay()
    assert set(dist.optimizer) == set(cfg.optimizers)
    sums = dist.groupby(["optimizer", "layer"]).fraction.sum()
    assert ((sums - 1).abs() < 1e-9).all()


def test_data_split_is_fixed_nested_and_standardized():
    small, big = digits(100), digits(MAX_TRAIN)
    assert len(big.y_test) == TEST_SIZE and torch.equal(small.y_test, big.y_test)
    assert torch.equal(small.y_train, big.y_train[:100])
    assert small.x_train.mean(0).abs().max() < 1e-5
    with pytest.raises(ValueError):
        digits(5)


def test_divergence_is_reported():
    cfg = TrainConfig(optimizers=("sgd-l2", "sgdw"), lr=1000.0, momentum=0.9, steps=40, train_samples=100,
                      width=16, schedule="constant")
    tr = Trainer(cfg, "cpu")
    tr.step(40)
    for k in tr.diverged().values():
        assert k is not None and 1 <= k <= 40
    for row in tr.evaluate():
        assert all(row[m] != row[m] for m in ("train_loss", "test_loss", "test_acc"))  # NaN, not chance


def test_evaluation_and_restart_periods_follow_steps_unless_given():
    cfg = TrainConfig(steps=3000)
    assert (cfg.eval_interval, cfg.restart_period) == (100, 600)
    shorter = dataclasses.replace(cfg, steps=20)                 # derived again, not carried over
    assert (shorter.eval_interval, shorter.restart_period) == (1, 4)
    assert TrainConfig(steps=3000, eval_every=7, t0=11).eval_interval == 7
    assert TrainConfig(steps=3000, t0=11).restart_period == 11
    steps = sorted({r["step"] for r in Trainer(TrainConfig(steps=90, train_samples=100, width=8), "cpu").run()})
    assert steps == list(range(0, 91, 3))


def test_warmup_and_constant_decay_reach_the_optimizer():
    """TrainConfig's one schedule carries the warm-up; "decay follows η_t" off keeps the decoupled shrink at
    α·λ per step (the corrected and PyTorch forms then take the same steps); the CLI sets both."""
    cfg = TrainConfig(optimizers=("adamw-torch", "adamw-corrected"), steps=30, warmup=10, train_samples=100,
                      width=8, eval_every=30)
    assert cfg.lr_schedule.multipliers(12)[:11] == [t / 10 for t in range(1, 11)] + [1.0]
    follows, constant = (pd.DataFrame(Trainer(c, "cpu").run()) for c in (cfg, replace(cfg, decay_follows=False)))
    end = constant[constant.step == 30].set_index("optimizer").weight_norm
    assert end["adamw-torch"] == end["adamw-corrected"]
    assert not follows.equals(constant)
    code, out, _ = run_cli("train", "--optimizers", "adamw-torch,adamw-corrected", "--steps", "30", "--warmup", "10",
                           "--decay-follows", "false", "--train-samples", "100", "--width", "8", "--eval-every", "30")
    cli = pd.read_csv(io.StringIO(out))
    assert code == 0
    assert cli[cli.step == 30].weight_norm.tolist() == pytest.approx(end.tolist(), rel=1e-9)    # CSV: 10 digits


def test_train_cli_csv_and_bad_arguments(tmp_path):
    out = tmp_path / "t.csv"
    args = ["train", "--steps", "40", "--eval-every", "20", "--train-samples", "200", "--width", "16",
            "--out", str(out)]
    assert run_cli(*args)[0] == 0
    first = out.read_text()
    assert first.splitlines()[0] == "optimizer,step,train_loss,test_loss,test_acc,weight_norm"
    assert len(first.splitlines()) == 1 + 2 * 3
    assert run_cli(*args)[0] == 0
    assert out.read_text() == first
    for bad in (["--optimizers", "adam-l2,sgdw"], ["--model", "resnet"], ["--batch-size", "0"],
                ["--train-samples", "5"], ["--lr", "-1"], ["--warmup", "-1"], ["--decay-follows", "yes"]):
        code, _, err = run_cli("train", *bad)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_changed_settings_names_the_fields():
    a = TrainConfig()
    assert changed_settings(a, a) == []
    assert changed_settings(a, TrainConfig(wd=0.1, seed=3)) == ["wd", "seed"]
