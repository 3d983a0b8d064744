"""Helpers shared by the tests: the app under AppTest (open from a link, switch tabs, read charts) and the CLI
in this process."""
import contextlib
import io
import json
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from explorer.data import digits
from explorer.models import forward_one, init_params
from explorer.optim import BatchedOptimizer
from explorer.train import TrainConfig, Trainer

TIMEOUT = 60

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)          # the suite runs on one worker per core: one torch thread each
APP = str(Path(__file__).resolve().parents[1] / "app.py")


VIEWS = {"train": "Live training", "sweep": "lr × λ sweep", "insights": "Insights", "traj": "2-D trajectories"}


def fresh(query=None, view=None):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if view:
        at.query_params["view"] = VIEWS[view]
    return at.run()


def show(at, view):
    """Switch tabs the way a click does — the tab and the URL change (only the active tab renders)."""
    at.session_state["view"] = VIEWS[view]
    at.query_params["view"] = VIEWS[view]
    return at.run()


def specs(at):
    return [json.loads(c.proto.spec) for c in at.get("arrow_vega_lite_chart")] or \
           [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def trajectory_data(at):
    """The two trajectory panels' data, wherever the spec keeps it (Streamlit moves each data set out and
    names it by a hash of its content; inline values or top-level datasets otherwise)."""
    def data(node):
        if isinstance(node, dict):
            return [node[k] for k in ("data", "datasets") if k in node] + [x for v in node.values() for x in data(v)]
        if isinstance(node, list):
            return [x for v in node for x in data(v)]
        return []

    found = [json.dumps(data(s), sort_keys=True) for s in specs(at)[:2]]
    assert all(len(f) > 40 for f in found), "no chart data found"
    return found




def run_cli(*args):
    """python -m explorer ARGS in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            from explorer.cli import main
            code = main(list(args))
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue()


STEPS = 120


def reference_run(cfg: TrainConfig, make_opt, run_index: int = 0, steps: int = STEPS):
    """One model with torch.optim, written the way a user would: same init, same batches."""
    spec = cfg.model_spec
    params = [p[run_index].detach().clone().requires_grad_(True)
              for p in init_params(spec, 1, cfg.seed)]
    opt = make_opt(params)
    data = digits(cfg.train_samples)
    tr = Trainer(cfg, "cpu")              # only used for its batch order
    for _ in range(steps):
        idx = tr._next_batch()
        loss = F.cross_entropy(forward_one(spec, params, data.x_train[idx]), data.y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [p.detach() for p in params]


# ---------------------------------------------------------------- optimizer parity problems (test_optim,
# test_decay_groups): small losses, a plain torch.optim loop, the engine on the same problem
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
