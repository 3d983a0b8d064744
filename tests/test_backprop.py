"""The hand-written backward of the batched MLP: autograd's gradients to the bit, written in place."""
import dataclasses

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from explorer.core.models import Backprop, ModelSpec, forward, init_params, loss_per_run
from explorer.core.optim import BatchedOptimizer
from explorer.core.packing import padded, row_matrices, zeros_like_rows
from explorer.runs.train import TrainConfig, Trainer


def autograd_grads(spec, params, x, y):
    for p in params:
        p.grad = None
    losses = loss_per_run(forward(spec, params, x), y)
    losses.sum().backward()
    return losses.detach(), [p.grad for p in params]


def _layout_is_autograds(t: torch.Tensor) -> bool:
    """A packed row with no padding: each run's gradient sits where autograd's contiguous result puts it
    (the same offset modulo 64 bytes). A padded row starts each run on a 64-byte boundary instead, and
    MKL's GEMM may round a row one ulp differently at another alignment (seen on AMD EPYC: width 33)."""
    n = t[0].numel()
    return padded(n, t.element_size()) == n


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(["mlp", "mlp-ln"]), width=st.sampled_from([4, 16, 33, 128]),
       depth=st.integers(1, 3), runs=st.integers(1, 5), batches=st.lists(st.integers(1, 40), min_size=2, max_size=3),
       seed=st.integers(0, 2**16), init_scale=st.sampled_from([0.5, 1.0, 8.0]))
@example(kind="mlp", width=4, depth=3, runs=1, batches=[35, 1], seed=690, init_scale=0.5)   # dead hidden units
@example(kind="mlp", width=33, depth=1, runs=2, batches=[1, 8], seed=0, init_scale=0.5)    # padded W2: one ulp off
def test_gradients_are_autograds_bit_for_bit_where_the_layout_is_autograds(kind, width, depth, runs, batches, seed,
                                                                           init_scale):
    """Several batches in a row (the kept buffers are reused or remade) on packed parameters whose runs
    differ, as after some training; the gradients land in the given packed buffer. Bit for bit wherever
    the packed row needs no padding (every weight of the product's widths, multiples of 8); to float32
    round-off where it does (the same sums at another memory alignment)."""
    spec = ModelSpec(kind, width, depth, init_scale=init_scale)
    params = init_params(spec, runs, seed)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in params:
            p.add_(0.1 * torch.randn(p.shape, generator=g))
    grads = zeros_like_rows(row_matrices(params), params)
    backprop = Backprop(spec, params, grads)
    for b in batches:
        x = torch.randn(b, spec.inputs, generator=g)
        y = torch.randint(0, spec.classes, (b,), generator=g)
        want_losses, want = autograd_grads(spec, params, x, y)
        with torch.no_grad():
            losses = backprop(x, y)
        assert torch.equal(losses, want_losses)
        for i, (mine, theirs) in enumerate(zip(grads, want)):
            if _layout_is_autograds(mine):
                assert torch.equal(mine, theirs), (i, (mine - theirs).abs().max().item())
            else:   # a sum of b products in another order: a few ulps of the largest term at most
                torch.testing.assert_close(mine, theirs, rtol=0, atol=4 * b * 2.0 ** -24 * theirs.abs().max().item())
        # never vacuous: the output bias's gradient, softmax − one-hot, cannot vanish (hidden weights' may:
        # ReLUs dead on a small batch, whose zeros must match autograd's too)
        assert (want[-1].abs().flatten(1).sum(1) > 0).all()


def test_the_product_widths_need_no_padding():
    """The app's widths (multiples of 8) pack every weight row without padding, so the bit-for-bit case above is
    the one the product trains."""
    from explorer.interface.params import TRAIN
    for width in TRAIN["width"].options:
        spec = ModelSpec("mlp", width, 2)
        assert all(_layout_is_autograds(p.detach()) for p in init_params(spec, 2, 0)[0::2]), width


def test_nonfinite_losses_are_reported_not_hidden():
    spec = ModelSpec("mlp", 8, 1)
    params = init_params(spec, 2, 0)
    with torch.no_grad():
        params[0][1].fill_(float("inf"))
    grads = zeros_like_rows(row_matrices(params), params)
    losses = Backprop(spec, params, grads)(torch.randn(4, 64), torch.arange(4))
    assert torch.isfinite(losses[0]) and not torch.isfinite(losses[1])


def test_the_optimizer_reads_its_own_gradient_buffer_without_a_copy():
    """step(opt.grads) after writing them in place == step(the same gradients handed in), L2 included;
    L2 runs' λθ goes into the buffer (the next backward overwrites it)."""
    spec = ModelSpec("mlp", 16, 2)
    names = ["adam-l2", "adamw", "adamw-torch", "adam-l2"]
    hyper = dict(lr=[1e-2, 3e-3, 1e-3, 3e-2], wd=[0.1, 0.3, 1.0, 0.01])
    a, b = init_params(spec, 4, 1), init_params(spec, 4, 1)
    opt_a, opt_b = BatchedOptimizer(a, names, **hyper), BatchedOptimizer(b, names, **hyper)
    g = torch.Generator().manual_seed(2)
    for _ in range(30):
        grads = [torch.randn(p.shape, generator=g) for p in a]
        opt_a.step(grads)
        for mine, given_ in zip(opt_b.grads, grads):
            mine.copy_(given_)
        opt_b.step(opt_b.grads)
    assert all(torch.equal(p, q) for p, q in zip(a, b))
    assert not torch.equal(opt_b.grads[0][0], grads[0][0])     # λθ was added in place for run 0 (L2)
    assert torch.equal(opt_b.grads[0][1], grads[0][1])         # not for a decoupled run


@pytest.mark.parametrize("model", ["mlp", "mlp-ln"])
@pytest.mark.parametrize("optimizers,extra", [(("adam-l2", "adamw", "adamw-torch"), {}),
                                              (("sgd-l2", "sgdw"), {"momentum": 0.9})])
def test_trainer_is_the_autograd_trainer_bit_for_bit(model, optimizers, extra):
    """Trainer.step (hand-written backward into the optimizer's buffer) takes exactly the steps an autograd
    loop over the same batches takes with the same optimizer, and leaves no autograd state behind."""
    cfg = TrainConfig(optimizers=optimizers, model=model, width=32, depth=2, steps=40, train_samples=200,
                      wd=0.05, schedule="cosine", **extra)
    tr = Trainer(cfg, "cpu")
    tr.step(cfg.steps)
    ref = Trainer(dataclasses.replace(cfg), "cpu")
    for _ in range(cfg.steps):
        idx = ref._next_batch()
        _, grads = autograd_grads(ref.spec, ref.params, ref.data.x_train[idx], ref.data.y_train[idx])
        ref.opt.step(grads)
    assert all(torch.equal(p, q) for p, q in zip(tr.params, ref.params))
    assert all(p.grad is None for p in tr.params)
    assert (tr.params[0][0] - tr.params[0][1]).abs().max() > 1e-4
