"""Optimizer parity problems shared by test_optim and test_decay_groups: small losses, a plain torch.optim loop,
the engine on the same problem, the lock-step comparison (a helper module: conftest stays free of torch, which
xdist's controller would import for nothing)."""
import torch

from explorer.core.optim import BatchedOptimizer

PARITY_STEPS = 1000


def rosenbrock(p):
    return (1 - p[..., 0]) ** 2 + 100 * (p[..., 1] - p[..., 0] ** 2) ** 2


NET_X = torch.randn(32, 3, generator=torch.Generator().manual_seed(0))
NET_Y = torch.sin(NET_X.sum(1, keepdim=True))


def tiny_net_loss(w1, b1, w2):
    """A real non-quadratic loss: a 3-4-1 tanh network on fixed random regression data."""
    X, y = NET_X, NET_Y
    pred = torch.tanh(X @ w1 + b1) @ w2
    return ((pred - y) ** 2).mean()


def reference_path(make_opt, start, loss_fn, steps=PARITY_STEPS, scheduler=None):
    """θ after every step of a plain torch.optim loop, for one run."""
    params = [t.clone().requires_grad_(True) for t in start]
    opt = make_opt(params)
    sched = scheduler(opt) if scheduler else None
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(*params).backward()
        opt.step()
        if sched:
            sched.step()
        out.append(torch.cat([p.detach().flatten() for p in params]))
    return torch.stack(out)


def batched_path(names, start, loss_fn, steps=PARITY_STEPS, **hyper):
    """Same, with all runs in one BatchedOptimizer (gradients by autograd on the batched params)."""
    runs = len(names)
    params = [t.clone()[None].repeat(runs, *([1] * t.dim())).requires_grad_(True) for t in start]
    opt = BatchedOptimizer(params, names, **hyper)
    out = []
    for _ in range(steps):
        for p in params:
            p.grad = None
        # per-run losses through indexing: each run's gradient is computed exactly as in the reference
        sum(loss_fn(*[p[r] for p in params]) for r in range(runs)).backward()
        opt.step([p.grad for p in params])
        out.append(torch.cat([p.detach().flatten(1) for p in params], 1))
    return torch.stack(out)  # (steps, runs, n)


def assert_roundoff(mine, ref, what):
    err = (mine - ref).abs().max().item()
    scale = 1 + ref.abs().max().item()
    assert err <= 2e-5 * scale, f"{what}: max deviation {err:.3g} exceeds float32 round-off"


ROSEN_START = [torch.tensor([-1.2, 1.5])]
NET_START = [torch.randn(3, 4, generator=torch.Generator().manual_seed(1)),
             torch.zeros(4), torch.randn(4, 1, generator=torch.Generator().manual_seed(2))]

WIDE_X = torch.randn(16, 8, generator=torch.Generator().manual_seed(3))
WIDE_START = [torch.randn(8, 16, generator=torch.Generator().manual_seed(4)) / 3, torch.zeros(16),
              torch.randn(16, 1, generator=torch.Generator().manual_seed(5)) / 4]


def wide_net_loss(w1, b1, w2):
    """Every tensor a whole number of 64-byte units, so torch's own fused call takes the kernel's vector
    body only, as the engine's packed rows always do: then the float ops are the same, one by one."""
    return ((torch.tanh(WIDE_X @ w1 + b1) @ w2 - 0.5) ** 2).mean()


def lockstep(opt, params, refs, loss_fn, steps=PARITY_STEPS):
    """Step torch.optim references (params, optimizer) and the engine `opt` (its packed `params`, one row per
    reference) together; the engine takes the references' gradients (its own, as long as its parameters are
    theirs), so what is compared is the update. Asserts every run equals its reference bit for bit."""
    for _ in range(steps):
        for ps, o in refs:
            o.zero_grad()
            loss_fn(*ps).backward()
            o.step()
        opt.step([torch.stack([ps[i].grad for ps, _ in refs]) for i in range(len(params))])
    for r, (ps, _) in enumerate(refs):
        assert all(torch.equal(mine[r].detach(), ref.detach()) for mine, ref in zip(params, ps)), f"run {r}"
