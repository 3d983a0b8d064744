"""Every schedule η_t, with and without warm-up, equals its torch.optim.lr_scheduler construction."""
import warnings

import pytest
import torch
from torch.optim import lr_scheduler as S

from explorer.core.schedules import SCHEDULES, Schedule

T = 120


def torch_lrs(make, steps=T):
    """The learning rate torch uses at steps 1 … steps (base lr 1: the multiplier itself)."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = make(opt)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # SequentialLR's own deprecation notices
        for _ in range(steps):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    return out


def torch_schedule(kind: str, total: int, warmup: int = 0, **kw):
    """The torch construction of one kind over `total` steps after `warmup` steps of LinearLR warm-up: one
    SequentialLR of the phases (torch does not nest SequentialLR)."""
    after = total - warmup
    if kind == "constant":
        phases, marks = [lambda o: S.LambdaLR(o, lambda e: 1.0)], []
    elif kind == "cosine":
        phases, marks = [lambda o: S.CosineAnnealingLR(o, T_max=after)], []
    elif kind == "step":
        phases, marks = [lambda o: S.StepLR(o, step_size=after // 3, gamma=0.1)], []
    elif kind == "warm_restarts":
        phases, marks = [lambda o: S.CosineAnnealingWarmRestarts(o, T_0=kw["t0"], T_mult=kw["t_mult"])], []
    elif kind == "linear":
        phases, marks = [lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=after)], []
    else:
        decaying = round(0.2 * after)
        phases = [lambda o: S.ConstantLR(o, factor=1.0, total_iters=0),
                  lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=decaying)]
        marks = [after - decaying]
    if warmup:
        phases = [lambda o: S.LinearLR(o, start_factor=1 / warmup, end_factor=1.0, total_iters=warmup - 1)] + phases
        marks = [warmup] + [warmup + m for m in marks]
    if len(phases) == 1:
        return phases[0]
    return lambda o: S.SequentialLR(o, [p(o) for p in phases], milestones=marks)


@pytest.mark.parametrize("warmup", [0, 10])
@pytest.mark.parametrize("kind", SCHEDULES)
def test_each_schedule_equals_its_torch_construction(kind, warmup):
    ours = Schedule(kind, total_steps=T, t0=17, t_mult=2, warmup=warmup).multipliers(T)
    assert ours == pytest.approx(torch_lrs(torch_schedule(kind, T, warmup, t0=17, t_mult=2)), abs=1e-12), kind


def test_warmup_rises_linearly_then_hands_over_and_one_step_is_none():
    s = Schedule("cosine", total_steps=100, warmup=4)
    assert s.multipliers(6) == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, Schedule("cosine", 96).multiplier(2)])
    assert Schedule("linear", 50, warmup=1).multipliers(50) == Schedule("linear", 49).multipliers(49)[:1] + \
        Schedule("linear", 49).multipliers(49)
    with pytest.raises(ValueError):
        Schedule("wsd", warmup=-1)
    with pytest.raises(ValueError):
        Schedule("cosine2")


def test_wsd_is_stable_then_decays_over_its_last_fraction():
    eta = Schedule("wsd", total_steps=100, decay_fraction=0.25).multipliers(100)
    assert eta[:75] == [1.0] * 75 and eta[75] == 1.0 and eta[-1] == pytest.approx(1 / 25)
    assert all(a > b for a, b in zip(eta[75:], eta[76:]))
