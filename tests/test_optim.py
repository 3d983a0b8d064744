"""Exactness of the optimizer core against torch.optim and the paper's algorithms."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from parity import (
    NET_START,
    PARITY_STEPS,
    ROSEN_START,
    WIDE_START,
    assert_roundoff,
    batched_path,
    lockstep,
    reference_path,
    rosenbrock,
    tiny_net_loss,
    wide_net_loss,
)

from explorer.core.forms import OPTIMIZERS, Decay, Precond
from explorer.core.optim import BatchedOptimizer
from explorer.core.schedules import Schedule

STEPS = PARITY_STEPS

PROBLEMS = {"rosenbrock": (ROSEN_START, rosenbrock), "tanh-net": (NET_START, tiny_net_loss)}


@settings(max_examples=6, deadline=None)
@given(lr=st.floats(1e-3, 2e-2), wd=st.floats(1e-2, 1.0), beta1=st.floats(0.5, 0.95),
       beta2=st.sampled_from([0.99, 0.999, 0.9999]), eps=st.sampled_from([1e-8, 1e-6, 1e-3]),
       problem=st.sampled_from(sorted(PROBLEMS)))
def test_adam_family_matches_torch(lr, wd, beta1, beta2, eps, problem):
    start, fn = PROBLEMS[problem]
    kw = dict(lr=lr, betas=(beta1, beta2), eps=eps, fused=True)
    refs = {
        "adam-l2": reference_path(lambda p: torch.optim.Adam(p, weight_decay=wd, **kw), start, fn),
        "adamw-torch": reference_path(lambda p: torch.optim.AdamW(p, weight_decay=wd, **kw), start, fn),
        # the paper form decays by λ, torch's by lr·λ: with a constant schedule, λ_torch = λ/lr
        "adamw": reference_path(lambda p: torch.optim.AdamW(p, weight_decay=wd / lr, **kw), start, fn),
    }
    mine = batched_path(list(refs), start, fn, lr=lr, wd=wd, beta1=beta1, beta2=beta2, eps=eps)
    for j, (name, ref) in enumerate(refs.items()):
        assert_roundoff(mine[:, j], ref, f"{name} on {problem}")
    # the three rules really differ here, so the comparisons above could fail
    assert (refs["adam-l2"] - refs["adamw-torch"]).abs().max() > 1e-3


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("lr", [1e-3, 3e-3])
def test_adam_family_matches_torch_default_implementation(problem, lr):
    """torch.optim's default (foreach) Adam orders its float operations differently from its fused
    kernel, which the engine uses. Where the dynamics do not amplify round-off the two agree to
    float32 round-off over 1,000 steps; where they do (large lr on Rosenbrock), torch's own two
    implementations drift apart exactly as far as ours does from the default one (test above: ours
    is the fused one, bit for bit)."""
    start, fn = PROBLEMS[problem]
    kw = dict(lr=lr, betas=(0.9, 0.999), eps=1e-8)
    refs = {"adam-l2": reference_path(lambda p: torch.optim.Adam(p, weight_decay=0.1, **kw), start, fn),
            "adamw-torch": reference_path(lambda p: torch.optim.AdamW(p, weight_decay=0.1, **kw), start, fn)}
    mine = batched_path(list(refs), start, fn, lr=lr, wd=0.1)
    for j, (name, ref) in enumerate(refs.items()):
        assert_roundoff(mine[:, j], ref, f"{name} on {problem} vs torch's default implementation")


@settings(max_examples=6, deadline=None)
@given(lr=st.floats(1e-5, 4e-4), wd=st.floats(1e-2, 1.0), momentum=st.sampled_from([0.0, 0.5, 0.9]),
       problem=st.sampled_from(sorted(PROBLEMS)))
def test_sgd_l2_matches_torch(lr, wd, momentum, problem):
    start, fn = PROBLEMS[problem]
    if problem == "tanh-net":
        lr *= 100  # its curvature is ~1000× smaller than Rosenbrock's
    ref = reference_path(lambda p: torch.optim.SGD(p, lr=lr, momentum=momentum, weight_decay=wd,
                                                    fused=True), start, fn)
    plain = reference_path(lambda p: torch.optim.SGD(p, lr=lr, momentum=momentum), start, fn)
    mine = batched_path(["sgd-l2"], start, fn, lr=lr, wd=wd, momentum=momentum)
    assert_roundoff(mine[:, 0], ref, f"sgd-l2 on {problem}")
    assert (ref - plain).abs().max() > 1e-5  # the decay changed the path


@pytest.mark.parametrize("kind,torch_sched", [
    ("cosine", lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=STEPS)),
    ("step", lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=STEPS // 3, gamma=0.1)),
    ("warm_restarts", lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=200, T_mult=2)),
])
def test_schedules_match_torch_schedulers(kind, torch_sched):
    sched = Schedule(kind, total_steps=STEPS, t0=200, t_mult=2)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    s = torch_sched(opt)
    for t in range(1, STEPS + 1):
        assert sched.multiplier(t) == pytest.approx(opt.param_groups[0]["lr"], abs=1e-12), t
        opt.step()
        s.step()
    # and through the optimizer: adam-l2 with a cosine schedule = torch Adam + CosineAnnealingLR
    start, fn = PROBLEMS["rosenbrock"]
    ref = reference_path(lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=0.1, fused=True), start, fn,
                         scheduler=torch_sched)
    mine = batched_path(["adam-l2"], start, fn, lr=1e-2, wd=0.1, schedule=sched)
    assert_roundoff(mine[:, 0], ref, f"adam-l2 with {kind} schedule")


def paper_algorithm_2(grad_fn, theta, steps, alpha, beta1, beta2, eps, lam, eta, decay_eta=None):
    """Loshchilov & Hutter, Algorithm 2 (AdamW), transcribed line by line in Python floats.
    decay_eta: the multiplier of the decay term (default η_t, as in line 13; 1 for constant decay)."""
    t = 0                                                  # 2: initialize time step t ← 0
    m = [0.0] * len(theta)                                 # 3: m_0 ← 0
    v = [0.0] * len(theta)                                 #    v_0 ← 0
    path = []
    while t < steps:                                       # 4: repeat
        t = t + 1                                          # 5: t ← t + 1
        g = grad_fn(theta)                                 # 6-7: g_t ← ∇f_t(θ_{t−1}) (no λθ: decoupled)
        m = [beta1 * mi + (1 - beta1) * gi for mi, gi in zip(m, g)]          # 8
        v = [beta2 * vi + (1 - beta2) * gi * gi for vi, gi in zip(v, g)]     # 9
        m_hat = [mi / (1 - beta1 ** t) for mi in m]                          # 10
        v_hat = [vi / (1 - beta2 ** t) for vi in v]                          # 11
        eta_t = eta(t)                                                       # 12: SetScheduleMultiplier(t)
        if decay_eta is None:
            theta = [th - eta_t * (alpha * mh / (math.sqrt(vh) + eps) + lam * th)  # 13
                     for th, mh, vh in zip(theta, m_hat, v_hat)]
        else:
            theta = [th - eta_t * alpha * mh / (math.sqrt(vh) + eps) - decay_eta(t) * lam * th
                     for th, mh, vh in zip(theta, m_hat, v_hat)]
        path.append(theta)
    return torch.tensor(path, dtype=torch.float64)


def rosen_grad_py(th):
    x, y = th
    return [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)]


@pytest.mark.parametrize("kind", ["cosine", "warm_restarts", "step"])
def test_adamw_paper_form_is_algorithm_2(kind):
    sched = Schedule(kind, total_steps=STEPS, t0=150, t_mult=2)
    alpha, lam = 0.02, 0.05
    ref = paper_algorithm_2(rosen_grad_py, [-1.2, 1.5], STEPS, alpha, 0.9, 0.999, 1e-8, lam,
                            sched.multiplier)
    p = torch.tensor([[-1.2, 1.5]], dtype=torch.float64)
    opt = BatchedOptimizer([p], "adamw", lr=alpha, wd=lam, schedule=sched)
    mine = []
    for _ in range(STEPS):
        opt.step([torch.tensor([rosen_grad_py(p[0].tolist())], dtype=torch.float64)])
        mine.append(p[0].clone())
    mine = torch.stack(mine)
    assert (mine - ref).abs().max() < 1e-10
    # torch's form with the same λ would be far off: the paper's decay is not multiplied by α
    q = torch.tensor([[-1.2, 1.5]], dtype=torch.float64)
    other = BatchedOptimizer([q], "adamw-torch", lr=alpha, wd=lam, schedule=sched)
    for _ in range(STEPS):
        other.step([torch.tensor([rosen_grad_py(q[0].tolist())], dtype=torch.float64)])
    assert (q[0] - ref[-1]).abs().max() > 1e-2


@pytest.mark.parametrize("schedule", ["constant", "cosine", "warm_restarts"])
def test_proposition_1_sgd_l2_equals_sgdw_without_momentum(schedule):
    """SGD + L2 with λ' = λ/α takes the same steps as SGDW with λ (Proposition 1)."""
    lr, lam = 3e-4, 0.05
    start, fn = PROBLEMS["rosenbrock"]
    sched = Schedule(schedule, total_steps=STEPS, t0=200)
    both = batched_path(["sgd-l2", "sgdw"], start, fn, lr=lr, wd=[lam / lr, lam], schedule=sched)
    no_decay = batched_path(["sgd"], start, fn, lr=lr, schedule=sched)
    assert_roundoff(both[:, 0], both[:, 1], "SGD+L2(λ/α) vs SGDW(λ)")
    assert (both[:, 1] - no_decay[:, 0]).abs().max() > 1e-2  # the decay is doing something


def test_with_momentum_l2_and_decoupled_differ():
    """With momentum the L2 gradient λ'θ is accumulated in the buffer (decayed μ-weighted history),
    while SGDW's decay acts on the current θ only: Proposition 1 no longer holds."""
    lr, lam = 3e-4, 0.05
    start, fn = PROBLEMS["rosenbrock"]
    both = batched_path(["sgd-l2", "sgdw"], start, fn, lr=lr, wd=[lam / lr, lam], momentum=0.9)
    assert (both[:, 0] - both[:, 1]).abs().max() > 1e-2
    # …but matching λ' = λ/(α/(1−μ)), the momentum's effective step, brings them close again
    both2 = batched_path(["sgd-l2", "sgdw"], start, fn, lr=lr, wd=[lam * (1 - 0.9) / lr, lam],
                         momentum=0.9)
    assert (both2[-1, 0] - both2[-1, 1]).abs().max() < (both[-1, 0] - both[-1, 1]).abs().max()


def test_a_batch_equals_the_same_runs_one_at_a_time():
    start, fn = PROBLEMS["tanh-net"]
    names = ["adam-l2", "adamw", "adamw-torch", "adam", "adam-l2"]
    hyper = dict(lr=[1e-2, 2e-3, 5e-3, 1e-2, 3e-3], wd=[0.1, 0.5, 0.01, 0.2, 1.0],
                 beta1=[0.9, 0.8, 0.9, 0.5, 0.9], beta2=[0.999, 0.99, 0.9999, 0.999, 0.999],
                 eps=[1e-8, 1e-6, 1e-8, 1e-4, 1e-8])
    sched = Schedule("cosine", total_steps=300)
    batch = batched_path(names, start, fn, steps=300, schedule=sched, **hyper)
    for j, name in enumerate(names):
        one = batched_path([name], start, fn, steps=300, schedule=sched,
                           **{k: v[j] for k, v in hyper.items()})
        assert torch.equal(batch[:, j], one[:, 0]), name


def test_registry_and_validation():
    # each name is the (preconditioner, decay placement) the README's table says it is
    expect = {"sgd-l2": (Precond.SGD, Decay.L2), "sgdw": (Precond.SGD, Decay.DECOUPLED, 1, False),
              "sgd": (Precond.SGD, Decay.NONE), "adam": (Precond.ADAM, Decay.NONE), "adam-l2": (Precond.ADAM, Decay.L2),
              "adamw": (Precond.ADAM, Decay.DECOUPLED, 1, False),
              "adamw-torch": (Precond.ADAM, Decay.DECOUPLED, 1, True),
              "adamw-corrected": (Precond.ADAM, Decay.DECOUPLED, 2, True)}
    assert {n: (k.precond, k.decay) + ((k.eta_power, k.scaled) if k.decay is Decay.DECOUPLED else ())
            for n, k in OPTIMIZERS.items()} == expect
    p = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="one preconditioner"):
        BatchedOptimizer([p], ["adam-l2", "sgdw"])
    with pytest.raises(ValueError, match="unknown optimizer"):
        BatchedOptimizer([p], "adamax")
    with pytest.raises(ValueError, match="expected 1 or 2"):
        BatchedOptimizer([p], "adamw", lr=[1, 2, 3])
    with pytest.raises(ValueError, match="unknown schedule"):
        Schedule("exponential")


def test_paper_form_is_the_torch_form_with_lambda_over_alpha_for_any_schedule():
    """λ_paper = α·λ_torch gives the same run: the two AdamW heat maps are one function on sheared grids."""
    lr, lam = 0.01, 0.02
    start, fn = PROBLEMS["tanh-net"]
    sched = Schedule("warm_restarts", total_steps=STEPS, t0=100, t_mult=2)
    both = batched_path(["adamw", "adamw-torch"], start, fn, lr=lr, wd=[lam, lam / lr], schedule=sched)
    assert_roundoff(both[:, 0], both[:, 1], "adamw(λ) vs adamw-torch(λ/α)")


def test_packed_parameters_take_the_same_steps():
    """Packed parameters (each run's slice of a tensor a padded row, runs grouped in blocks) and separate
    tensors (unpadded: one slice per run and tensor) are the same update, up to float32 round-off: the
    kernel's vector body and scalar tail fall on different elements."""
    from explorer.core.packing import aligned, pack, row_matrices
    g = torch.Generator().manual_seed(0)
    shapes = [(4, 7, 5), (4, 5), (4, 5, 3)]
    start = [torch.randn(s, generator=g) for s in shapes]
    grads = [[torch.randn(s, generator=g) for s in shapes] for _ in range(50)]
    names = ["adam-l2", "adamw", "adamw-torch", "adam"]
    results = []
    for packed in (False, True):
        params = pack(start) if packed else [t.clone() for t in start]
        assert aligned(row_matrices(params)) == packed
        opt = BatchedOptimizer(params, names, lr=[1e-2, 2e-3, 5e-3, 1e-3], wd=[0.1, 0.5, 0.01, 0.0],
                               schedule=Schedule("cosine", total_steps=50))
        for gs in grads:
            opt.step(gs)
        results.append(params)
    for a, b in zip(*results):
        assert_roundoff(a, b, "packed vs separate")
    assert all((a - s).abs().max() > 1e-3 for a, s in zip(results[1], start))   # the steps did something


@settings(max_examples=3, deadline=None)
@given(lrs=st.lists(st.floats(1e-3, 2e-2), min_size=2, max_size=2), wd=st.floats(1e-2, 1.0),
       beta1=st.floats(0.5, 0.95), beta2=st.sampled_from([0.99, 0.999]), eps=st.sampled_from([1e-8, 1e-6]))
def test_grouped_kernel_calls_are_torch_fused_bit_for_bit(lrs, wd, beta1, beta2, eps):
    """A sweep's shape: each lr row of each form shares one fused-kernel call (L2 and the torch-form
    decay as batched ops on the packed rows), and every run equals torch.optim(fused=True) exactly."""
    from explorer.core.packing import pack
    kw = dict(betas=(beta1, beta2), eps=eps, fused=True)
    torch_class = {"adam-l2": torch.optim.Adam, "adamw-torch": torch.optim.AdamW, "adam": torch.optim.Adam}
    cells = [(n, lr, w) for n in torch_class for lr in lrs for w in (wd, wd / 4)]
    params = pack([t[None].repeat(len(cells), *([1] * t.dim())) for t in WIDE_START])
    opt = BatchedOptimizer(params, [n for n, _, _ in cells], lr=[lr for _, lr, _ in cells],
                           wd=[w for _, _, w in cells], beta1=beta1, beta2=beta2, eps=eps)
    refs = []
    for n, lr, w in cells:
        ps = [t.clone().requires_grad_(True) for t in WIDE_START]
        refs.append((ps, torch_class[n](ps, lr=lr, weight_decay=0.0 if n == "adam" else w, **kw)))
    lockstep(opt, params, refs, wide_net_loss)
    assert (params[0][0] - params[0][len(lrs) * 2]).abs().max() > 1e-3     # L2 and AdamW differ here


def test_one_kernel_call_per_group_of_runs(monkeypatch):
    """The sweep's runs are grouped by (lr, β1, β2, ε): 3 forms × 4 lrs × 5 λ are 4 calls a step."""
    from explorer.core.packing import pack
    calls = []
    real = torch._fused_adam_
    monkeypatch.setattr(torch, "_fused_adam_", lambda p, *a, **k: calls.append(len(p)) or real(p, *a, **k))
    cells = [(n, lr, w) for n in ("adam-l2", "adamw", "adamw-torch") for lr in (1e-3, 2e-3, 4e-3, 8e-3)
             for w in (0.0, 0.01, 0.1, 0.3, 1.0)]
    params = pack([torch.randn(len(cells), 7, 5), torch.randn(len(cells), 5)])
    opt = BatchedOptimizer(params, [n for n, _, _ in cells], lr=[c[1] for c in cells], wd=[c[2] for c in cells])
    opt.step([torch.randn_like(p) for p in params])
    assert calls == [3 * 2] * 4      # each call: one block of 5 consecutive runs (rows) per form and tensor


CORRECTED_SCHEDULES = [Schedule("wsd", total_steps=STEPS, warmup=100)]   # warm-up, flat, then linear to 0


def driven_torch_adamw(start, loss_fn, alpha, wd_of_t, sched, beta1=0.9, beta2=0.999, eps=1e-8):
    """torch.optim.AdamW(fused) driven step by step with lr = α·η_t and weight_decay = wd_of_t(t)."""
    ps = [t.clone().requires_grad_(True) for t in start]
    o = torch.optim.AdamW(ps, lr=alpha, betas=(beta1, beta2), eps=eps, fused=True)
    out = []
    for t in range(1, STEPS + 1):
        o.param_groups[0]["lr"] = alpha * sched.multiplier(t)
        o.param_groups[0]["weight_decay"] = wd_of_t(t)
        o.zero_grad()
        loss_fn(*ps).backward()
        o.step()
        out.append([p.detach().clone() for p in ps])
    return out


@pytest.mark.parametrize("sched", CORRECTED_SCHEDULES, ids=lambda s: f"{s.kind}-warmup{s.warmup}")
def test_adamw_corrected_is_torch_adamw_driven_with_lr_t_and_wd_times_eta_t(sched):
    """The corrected form's shrink α·λ·η_t² is torch AdamW's lr·wd with lr = α·η_t and wd = λ·η_t
    (timm's corrected_weight_decay, AdamC): bit for bit on 64-byte rows, over 1,000 steps."""
    from explorer.core.packing import pack
    alpha, lam = 0.01, 0.5
    ref = driven_torch_adamw(WIDE_START, wide_net_loss, alpha, lambda t: lam * sched.multiplier(t), sched)
    params = pack([t.clone()[None] for t in WIDE_START])
    opt = BatchedOptimizer(params, "adamw-corrected", lr=alpha, wd=lam, schedule=sched)
    mirror = [t.clone().requires_grad_(True) for t in WIDE_START]
    for t in range(STEPS):
        for m, p in zip(mirror, params):
            m.data.copy_(p[0])
            m.grad = None
        wide_net_loss(*mirror).backward()
        opt.step([m.grad[None] for m in mirror])
        assert all(torch.equal(p[0], r) for p, r in zip(params, ref[t])), f"step {t + 1}"
    # not the PyTorch form: its shrink α·λ·η_t keeps decaying through the schedule's tail
    torch_form = batched_path(["adamw-torch", "adamw-corrected"], WIDE_START, wide_net_loss, lr=alpha, wd=lam,
                              schedule=sched)
    assert (torch_form[-1, 0] - torch_form[-1, 1]).abs().max() > 1e-3


def test_constant_decay_ignores_the_schedule_in_every_decoupled_form():
    """decay_follows_schedule=False: the paper form is Algorithm 2 with line 13's decay term not
    multiplied by η_t; the PyTorch and corrected forms shrink by α·λ every step (torch AdamW driven with
    wd = λ/η_t), so they coincide."""
    sched = Schedule("step", total_steps=STEPS, step_size=300, gamma=0.2, warmup=20)
    alpha, lam = 0.02, 0.05
    ref = paper_algorithm_2(rosen_grad_py, [-1.2, 1.5], STEPS, alpha, 0.9, 0.999, 1e-8, lam,
                            sched.multiplier, decay_eta=lambda t: 1.0)
    p = torch.tensor([[-1.2, 1.5]], dtype=torch.float64)
    opt = BatchedOptimizer([p], "adamw", lr=alpha, wd=lam, schedule=sched, decay_follows_schedule=False)
    for _ in range(STEPS):
        opt.step([torch.tensor([rosen_grad_py(p[0].tolist())], dtype=torch.float64)])
    assert (p[0] - ref[-1]).abs().max() < 1e-10
    assert opt.decay_rates()[0].unique().tolist() == [lam]          # η_t = 0.008 at the end: not applied

    start, fn = PROBLEMS["tanh-net"]
    ref = driven_torch_adamw(start, fn, alpha, lambda t: lam / sched.multiplier(t), sched)
    both = batched_path(["adamw-torch", "adamw-corrected"], start, fn, lr=alpha, wd=lam, schedule=sched,
                        decay_follows_schedule=False)
    assert torch.equal(both[:, 0], both[:, 1])
    assert_roundoff(both[-1, 0], torch.cat([r.flatten() for r in ref[-1]]), "constant decay vs driven AdamW")
    follows = batched_path(["adamw-torch"], start, fn, lr=alpha, wd=lam, schedule=sched)
    assert (follows[-1, 0] - both[-1, 0]).abs().max() > 1e-4
