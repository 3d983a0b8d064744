"""The decay converter: equivalent λ by hand, and the shrink it promises is what torch.optim.AdamW does."""
import math

import pytest
import torch
from conftest import fresh, run_cli

from explorer.analysis.convert import CONVENTIONS, convert, convert_params, schedule_of, survival
from explorer.core.schedules import Schedule
from explorer.interface.params import CONVERT

DEFAULTS = {k: s.default for k, s in CONVERT.items()}


def test_constant_schedule_by_hand():
    c = convert("adamw-torch", lr=1e-3, wd=0.1, steps=1000, steps_per_epoch=50_000 / 128)
    lam = dict(zip(c.table["form"], c.table["lam"]))
    assert lam == pytest.approx({"adamw": 1e-4, "adamw-torch": 0.1, "adamw-corrected": 0.1, "composer": 1e-4})
    assert c.n == pytest.approx(0.1) and c.surviving == pytest.approx(math.exp(-0.1))
    assert c.table["tau_steps"].tolist() == pytest.approx([10_000.0] * 4)
    assert c.table["tau_epochs"].iloc[0] == pytest.approx(10_000 / 390.625)
    assert set(c.table["equal"]) == {"every step"} and not c.negligible


def test_cosine_matches_total_decay_and_says_only_that_for_the_corrected_form():
    steps = 300
    eta = [0.5 * (1 + math.cos(math.pi * t / steps)) for t in range(steps)]
    c = convert("adamw", lr=0.01, wd=2e-4, steps=steps, schedule=Schedule("cosine", total_steps=steps))
    row = c.table.set_index("form")
    assert c.n == pytest.approx(2e-4 * sum(eta))
    assert row.loc["adamw-torch", "lam"] == pytest.approx(2e-4 / 0.01)
    assert row.loc["adamw-corrected", "lam"] == pytest.approx(c.n / (0.01 * sum(e * e for e in eta)))
    assert row.loc["adamw-corrected", "equal"] == "same N" and row.loc["composer", "equal"] == "every step"


def test_the_issues_example_warns_that_decay_barely_acts():
    c = convert("adamw-torch", lr=1e-4, wd=0.01, steps=1000)
    assert c.n == pytest.approx(0.001) and c.negligible and "N = 0.001" in c.warning()


def _torch_adamw_shrink(lr_of_step, wd_of_step, steps):
    """A weight of 1 with zero gradients under torch.optim.AdamW driven step by step: only the decay acts."""
    w = torch.ones(1, requires_grad=True)
    opt = torch.optim.AdamW([w], lr=1.0, weight_decay=0.0)
    left = [1.0]
    for t in range(1, steps + 1):
        for g in opt.param_groups:
            g["lr"], g["weight_decay"] = lr_of_step(t), wd_of_step(t)
        w.grad = torch.zeros(1)
        opt.step()
        left.append(w.item())
    return left


@pytest.mark.parametrize("source", list(CONVENTIONS))
def test_every_forms_converted_lambda_shrinks_as_torch_adamw_does(source):
    p = {**DEFAULTS, "source": source, "lr": 0.01, "wd": 0.05 if "torch" in source or "corr" in source else 5e-4,
         "steps": 200, "schedule": "cosine"}
    c = convert_params(p)
    curves = survival(c, points=201)
    eta = schedule_of(p).multiplier
    lam = dict(zip(c.table["form"], c.table["lam"]))
    alpha = p["lr"]
    # how each library drives torch's AdamW (its shrink is lr·wd): the paper form and Composer take
    # wd = λ/α, the PyTorch form wd = λ, the corrected form (AdamC) wd = λ·η_t
    drive = {"adamw": lambda t: lam["adamw"] / alpha, "composer": lambda t: lam["composer"] / alpha,
             "adamw-torch": lambda t: lam["adamw-torch"], "adamw-corrected": lambda t: lam["adamw-corrected"] * eta(t)}
    for form, wd in drive.items():
        want = _torch_adamw_shrink(lambda t: alpha * eta(t), wd, 200)
        got = curves[curves["form"].str.startswith(form + ":")]["surviving"].tolist()
        assert got == pytest.approx(want, rel=1e-5), form
        assert got[-1] == pytest.approx(math.exp(-c.n), rel=0.05)   # N is Σ r_t: e^−N ≈ Π(1 − r_t)


def test_cli_prints_every_form_and_checks_its_arguments():
    code, out, err = run_cli("convert", "--from", "adamw-torch", "--lr", "1e-4", "--wd", "0.01", "--steps", "1000",
                             "--schedule", "constant")
    assert code == 0 and "N = 0.001" in out and "warning: N = 0.001" in err
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[2:]}
    assert rows == {"adamw": "1e-06", "adamw-torch": "0.01", "adamw-corrected": "0.01", "composer": "1e-06"}
    for bad in (["--from", "lion"], ["--lr", "0"], ["--wd", "-1"], ["--steps", "0"], ["--batch-size", "x"]):
        code, _, err = run_cli("convert", *bad)
        assert code == 2 and len(err.strip().splitlines()) == 1, (bad, err)


def test_the_panel_follows_a_link_and_refuses_a_bad_value():
    at = fresh({"i6_source": "adamw", "i6_lr": "0.001", "i6_wd": "0.0001", "i6_steps": "1000",
                "i6_schedule": "constant", "i6_batch_size": "-3"}, view="insights")
    assert not at.exception
    table = next(m.value for m in at.markdown if m.value.startswith("| form"))
    assert "| adamw-torch | PyTorch / optax / Keras AdamW | η_t·α·λ | 0.1 |" in table
    assert any("i6_batch_size" in w.value for w in at.warning)          # refused, default used
    assert at.number_input(key="i6_batch_size").value == CONVERT["batch_size"].default
    assert at.number_input(key="i6_lr").value == 0.001
