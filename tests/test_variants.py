"""Variants of the irrelevant choices (seeds, batch order, init stream): each is what a plain torch.optim script
with that choice does, and a variant sweep is the sweep run under it."""
import dataclasses

import pytest
import torch
import torch.nn.functional as F

from explorer.core.data import WithReplacement, batch_order, digits
from explorer.core.models import ModelSpec, init_params
from explorer.runs.sweep import SweepConfig, grid_cells, seed_trainer
from explorer.runs.train import TrainConfig, Trainer
from explorer.runs.variants import BASE, VARIANTS, run_variants, variants_named

STEPS = 60


def plain_model(sizes, seed, scale=1.0):
    """What a user writes: nn.Sequential of nn.Linear under torch.manual_seed."""
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    with torch.no_grad():
        for m in model[0::2]:
            m.weight.mul_(scale)
    return model


def test_the_registry_crosses_three_seed_pairs_two_batch_orders_two_init_streams():
    assert len(VARIANTS) == 12 and BASE == "s0-epochs-engine"
    assert {(v.seed, v.batch_order, v.init_stream) for v in VARIANTS.values()} == {
        (s, o, i) for s in (0, 10, 20) for o in ("epochs", "replacement") for i in ("engine", "linear")}
    cfg = SweepConfig()
    assert VARIANTS[BASE].apply(cfg) == cfg                    # the first variant is the sweep as it is
    assert variants_named(["s10-replacement-linear"])[0].label(cfg) == "seeds 10–11, draws, nn.Linear init"
    with pytest.raises(ValueError, match="unknown variant.*s9"):
        variants_named(["s9"])


@pytest.mark.parametrize("scale", [1.0, 8.0])
def test_linear_init_stream_is_nn_linears_under_manual_seed_bit_for_bit(scale):
    spec = ModelSpec(width=24, depth=2, init_scale=scale)
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    mine = init_params(spec, 3, seed=7, stream="linear")
    assert torch.equal(torch.random.get_rng_state(), before)            # the caller's generator is untouched
    ref = plain_model(spec.sizes, 7, scale)
    want = [t for m in ref[0::2] for t in (m.weight.detach().T, m.bias.detach())]
    for p, w in zip(mine, want, strict=True):
        assert all(torch.equal(p[r].detach(), w) for r in range(3))
    assert not torch.equal(mine[0][0], init_params(spec, 1, seed=7)[0][0])     # another stream than the engine's
    with pytest.raises(ValueError, match="unknown init stream"):
        init_params(spec, 1, 0, stream="xavier")


def test_batches_with_replacement_are_torch_randint_bit_for_bit():
    src, g = WithReplacement(100, 16, 5), torch.Generator().manual_seed(5)
    for _ in range(20):
        assert torch.equal(src.next(), torch.randint(100, (16,), generator=g))
    assert isinstance(batch_order("replacement", 100, 16, 5), WithReplacement)
    with pytest.raises(ValueError, match="unknown batch order"):
        batch_order("sorted", 100, 16, 5)


@pytest.mark.parametrize("order,init", [("replacement", "linear"), ("replacement", "engine"), ("epochs", "linear")])
def test_a_variant_trains_as_its_plain_torch_optim_loop(order, init):
    """The engine under a variant against nn.Sequential + torch.optim (fused), with that init and batch order
    written out as a user writes them. The initial weights and batches are the same bits (above); the training
    agrees to float32 round-off (the one-model addmm and the engine's batched baddbmm round differently)."""
    cfg = TrainConfig(optimizers=("adam-l2", "adamw-torch"), width=32, depth=2, lr=3e-3, wd=0.05, steps=STEPS,
                      train_samples=200, schedule="constant", seed=3, batch_order=order, init_stream=init)
    tr = Trainer(cfg, "cpu")
    tr.step(STEPS)
    data = digits(200)
    for r, cls in enumerate((torch.optim.Adam, torch.optim.AdamW)):
        if init == "linear":
            model = plain_model(cfg.model_spec.sizes, 3)
        else:
            model = plain_model(cfg.model_spec.sizes, 0)
            with torch.no_grad():
                for m, (w, b) in zip(model[0::2], zip(*[iter(init_params(cfg.model_spec, 1, 3))] * 2)):
                    m.weight.copy_(w[0].T)
                    m.bias.copy_(b[0])
        opt = cls(model.parameters(), lr=3e-3, weight_decay=0.05, fused=True)
        g, epochs = torch.Generator().manual_seed(4), batch_order("epochs", 200, 32, 4)
        for _ in range(STEPS):
            idx = torch.randint(200, (32,), generator=g) if order == "replacement" else epochs.next()
            loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        want = [t for m in model[0::2] for t in (m.weight.detach().T, m.bias.detach())]
        for mine, theirs in zip(tr.params, want):
            torch.testing.assert_close(mine[r].detach(), theirs, rtol=1e-5, atol=2e-6)


def test_trainer_state_round_trip_with_draws_with_replacement():
    cfg = TrainConfig(width=16, depth=1, steps=40, train_samples=100, batch_order="replacement", init_stream="linear")
    whole = Trainer(cfg, "cpu")
    whole.step(40)
    first = Trainer(cfg, "cpu")
    first.step(15)
    second = Trainer(cfg, "cpu")
    second.load_state(first.state())
    second.step(25)
    assert all(torch.equal(a, b) for a, b in zip(whole.params, second.params))


def test_each_variant_cell_equals_its_own_one_run_trainer_bit_for_bit():
    """The variant sweep is the sweep under the variant: every cell (batched with all others of its seed) gets the
    bits of its own one-run Trainer; the variants really differ; same arguments → same frame."""
    wds = (2.0 ** -6, 2.0 ** -2)
    train = TrainConfig(width=16, depth=1, steps=30, train_samples=120, schedule="cosine", seed=2)
    cfg = SweepConfig(lrs=(2.0 ** -8, 2.0 ** -5), wds=(("adam-l2", wds), ("adamw-torch", wds)), seeds=1,
                      train=train)
    names = ["s0-epochs-engine", "s10-replacement-linear"]
    frame = run_variants(cfg, names, "cpu")
    assert list(frame.columns[:2]) == ["variant", "optimizer"] and list(frame["variant"].unique()) == names
    assert frame.equals(run_variants(cfg, names, "cpu"))
    a, b = (frame[frame["variant"] == n]["test_loss"].to_numpy() for n in names)
    assert (a != b).all()
    v = VARIANTS["s10-replacement-linear"].apply(cfg)
    grid = seed_trainer(v, 0, "cpu")
    grid.step(train.steps)
    for r, (name, lr, wd) in enumerate(grid_cells(v)):
        one = Trainer(dataclasses.replace(v.train, optimizers=(name,)), "cpu", lr=[lr], wd=[wd])
        one.step(train.steps)
        assert all(torch.equal(x[r], y[0]) for x, y in zip(grid.params, one.params)), (name, lr, wd)
