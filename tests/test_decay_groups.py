"""Decay groups: parameters left out of the decay, as torch.optim param groups with weight_decay=0."""
import pytest
import torch

from explorer.models import NO_DECAY, ModelSpec, decay_mask
from explorer.optim import BatchedOptimizer
from explorer.packing import aligned, pack, row_matrices
from tests.test_optim import STEPS, WIDE_START, assert_roundoff, batched_path, tiny_net_loss, wide_net_loss

NET_START = [torch.randn(3, 4, generator=torch.Generator().manual_seed(1)),
             torch.randn(4, generator=torch.Generator().manual_seed(6)) / 2,
             torch.randn(4, 1, generator=torch.Generator().manual_seed(2))]
LR, WD = 1e-2, 0.3


def grouped_reference(name, start, fn, mask, lr=LR, wd=WD, momentum=0.9, steps=STEPS):
    """θ after every step of a torch.optim loop with two param groups: the decayed tensors with λ, the
    rest with weight_decay=0. SGDW has no torch class: its decay θ ← θ·(1 − λ) before the plain SGD step,
    by hand, on the decayed tensors only."""
    params = [t.clone().requires_grad_(True) for t in start]
    decayed = [p for p, m in zip(params, mask) if m]
    rest = [p for p, m in zip(params, mask) if not m]
    cls, group_wd = {
        "adam-l2": (torch.optim.Adam, wd), "adamw-torch": (torch.optim.AdamW, wd),
        "adamw": (torch.optim.AdamW, wd / lr),        # the paper's λ is torch's λ·lr (constant schedule)
        "sgd-l2": (torch.optim.SGD, wd), "sgdw": (torch.optim.SGD, 0.0),
    }[name]
    kw = dict(lr=lr, momentum=momentum) if cls is torch.optim.SGD else dict(lr=lr)
    opt = cls([{"params": decayed, "weight_decay": group_wd}, {"params": rest, "weight_decay": 0.0}],
              fused=True, **kw)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        fn(*params).backward()
        if name == "sgdw":
            with torch.no_grad():
                for p in decayed:
                    p.mul_(1 - wd)
        opt.step()
        out.append(torch.cat([p.detach().flatten() for p in params]))
    return torch.stack(out)


@pytest.mark.parametrize("mask", [(True, False, True), (True, True, False), (False, False, False)])
@pytest.mark.parametrize("precond,names", [("adam", ("adam-l2", "adamw", "adamw-torch")),
                                           ("sgd", ("sgd-l2", "sgdw"))])
def test_excluded_tensors_are_a_torch_param_group_without_decay(precond, names, mask):
    """Tiny tensors (the engine keeps L2 inside torch's kernel there): every decay form, 1,000 steps."""
    lr = LR if precond == "adam" else 0.1
    wd = WD if precond == "adam" else 0.01
    hyper = dict(lr=lr, wd=wd) | (dict(momentum=0.9) if precond == "sgd" else {})
    mine = batched_path(list(names), NET_START, tiny_net_loss, decay_mask=mask, **hyper)
    for j, name in enumerate(names):
        ref = grouped_reference(name, NET_START, tiny_net_loss, mask, lr=lr, wd=wd)
        assert_roundoff(mine[:, j], ref, f"{name} with decay mask {mask}")
        everything = grouped_reference(name, NET_START, tiny_net_loss, (True,) * 3, lr=lr, wd=wd)
        assert (everything - ref).abs().max() > 1e-4, name        # the mask changed the path


@pytest.mark.parametrize("mask", [(True, False, True), (True, True, False)])
def test_packed_runs_with_a_mask_are_torch_fused_bit_for_bit(mask):
    """Packed, aligned rows (L2 and the decoupled shrink as batched ops outside the kernel): each run equals
    torch.optim(fused=True) with two param groups exactly, over 1,000 steps."""
    classes = {"adam-l2": torch.optim.Adam, "adamw-torch": torch.optim.AdamW, "adam": torch.optim.Adam}
    cells = [(n, lr) for n in classes for lr in (3e-3, 1e-2)]
    params = pack([t[None].repeat(len(cells), *([1] * t.dim())) for t in WIDE_START])
    assert aligned(row_matrices(params))
    opt = BatchedOptimizer(params, [n for n, _ in cells], lr=[lr for _, lr in cells], wd=WD, decay_mask=mask)
    refs = []
    for n, lr in cells:
        ps = [t.clone().requires_grad_(True) for t in WIDE_START]
        wd = 0.0 if n == "adam" else WD
        groups = [{"params": [p for p, m in zip(ps, mask) if m], "weight_decay": wd},
                  {"params": [p for p, m in zip(ps, mask) if not m], "weight_decay": 0.0}]
        refs.append((ps, classes[n](groups, lr=lr, fused=True)))
    for _ in range(STEPS):
        for ps, o in refs:
            o.zero_grad()
            wide_net_loss(*ps).backward()
            o.step()
        opt.step([torch.stack([ps[i].grad for ps, _ in refs]) for i in range(len(params))])
    for r, (ps, _) in enumerate(refs):
        assert all(torch.equal(mine[r].detach(), ref.detach()) for mine, ref in zip(params, ps)), cells[r]
    excluded = mask.index(False)
    assert not torch.equal(params[excluded][0], params[excluded][4])   # Adam+L2 and Adam still differ there


def test_decay_rates_are_zero_outside_the_mask():
    params = pack([torch.randn(3, 8, 16), torch.randn(3, 16)])
    opt = BatchedOptimizer(params, ["adam-l2", "adamw", "adamw-torch"], lr=1e-2, wd=0.1, decay_mask=[True, False])
    opt.step([torch.randn_like(p) for p in params])
    weights, biases = opt.decay_rates(eta=1.0)
    assert torch.equal(biases, torch.zeros_like(biases))
    assert (weights > 0).all()
    assert torch.allclose(weights[1], torch.full_like(weights[1], 0.1))          # paper form: λ
    assert torch.allclose(weights[2], torch.full_like(weights[2], 1e-3))         # torch form: α·λ
    with pytest.raises(ValueError, match="decay_mask: expected 2 values"):
        BatchedOptimizer(params, "adamw", decay_mask=[True])


def test_no_decay_groups_of_the_model():
    """[W1, b1, …, W_out, b_out]: 'biases' leaves out every b, 'biases-and-output' also W_out."""
    spec = ModelSpec(depth=2)
    assert decay_mask(spec, "none") == [True] * 6
    assert decay_mask(spec, "biases") == [True, False, True, False, True, False]
    assert decay_mask(spec, "biases-and-output") == [True, False, True, False, False, False]
    assert set(NO_DECAY) == {"none", "biases", "biases-and-output"}
    with pytest.raises(ValueError, match="unknown no_decay group 'layernorm'"):
        decay_mask(spec, "layernorm")
