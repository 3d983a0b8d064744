"""Decay groups: parameters left out of the decay, as torch.optim param groups with weight_decay=0."""
import dataclasses
import functools

import pytest
import torch
from conftest import fresh, live_until, reference_run, run_cli
from parity import PARITY_STEPS, WIDE_START, assert_roundoff, batched_path, lockstep, tiny_net_loss, wide_net_loss

from explorer.core.models import NO_DECAY, ModelSpec, decay_mask
from explorer.core.optim import BatchedOptimizer
from explorer.core.packing import aligned, pack, row_matrices
from explorer.runs.train import TrainConfig, Trainer

STEPS = PARITY_STEPS

NET_START = (torch.randn(3, 4, generator=torch.Generator().manual_seed(1)),      # a tuple: the references are cached
             torch.randn(4, generator=torch.Generator().manual_seed(6)) / 2,
             torch.randn(4, 1, generator=torch.Generator().manual_seed(2)))
LR, WD = 1e-2, 0.3
STEPS_TRAIN = 120


@functools.lru_cache(maxsize=None)
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


def test_packed_runs_with_a_mask_are_torch_fused_bit_for_bit():
    """Packed, aligned rows (L2 and the decoupled shrink as batched ops outside the kernel, on blocks of
    runs): each run equals torch.optim(fused=True) with two param groups exactly, over 1,000 steps."""
    mask = (True, False, True)
    classes = {"adam-l2": torch.optim.Adam, "adamw-torch": torch.optim.AdamW}
    cells = [(n, lr) for n in classes for lr in (3e-3, 1e-2)]
    params = pack([t[None].repeat(len(cells), *([1] * t.dim())) for t in WIDE_START])
    assert aligned(row_matrices(params))
    opt = BatchedOptimizer(params, [n for n, _ in cells], lr=[lr for _, lr in cells], wd=WD, decay_mask=mask)
    refs = []
    for n, lr in cells:
        ps = [t.clone().requires_grad_(True) for t in WIDE_START]
        groups = [{"params": [p for p, m in zip(ps, mask) if m], "weight_decay": WD},
                  {"params": [p for p, m in zip(ps, mask) if not m], "weight_decay": 0.0}]
        refs.append((ps, classes[n](groups, lr=lr, fused=True)))
    lockstep(opt, params, refs, wide_net_loss)
    assert (params[0][0] - params[0][2]).abs().max() > 1e-3     # L2 and AdamW differ here


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


def _grouped(cls, cfg, **kw):
    """torch.optim with the trainer's no_decay groups: the decayed tensors with λ, the rest with 0."""
    mask = decay_mask(cfg.model_spec, cfg.no_decay)
    return lambda ps: cls([{"params": [p for p, m in zip(ps, mask) if m], "weight_decay": cfg.wd},
                           {"params": [p for p, m in zip(ps, mask) if not m], "weight_decay": 0.0}],
                          lr=cfg.lr, fused=True, **kw)


@pytest.mark.parametrize("no_decay", ["biases", "biases-and-output"])
def test_trainer_with_no_decay_groups_equals_torch_param_groups(no_decay):
    cfg = TrainConfig(optimizers=("adam-l2", "adamw-torch"), width=32, lr=3e-3, wd=0.5, steps=STEPS_TRAIN,
                      train_samples=200, schedule="constant", seed=3, no_decay=no_decay)
    tr = Trainer(cfg, "cpu")
    tr.step(STEPS_TRAIN)
    for r, cls in enumerate((torch.optim.Adam, torch.optim.AdamW)):
        ref = reference_run(cfg, _grouped(cls, cfg), steps=STEPS_TRAIN)
        for mine, theirs in zip(tr.params, ref):
            err = (mine[r].detach() - theirs).abs().max().item()
            assert err < 1e-5 * (1 + theirs.abs().max().item()), (cfg.optimizers[r], err)
    everything = Trainer(dataclasses.replace(cfg, no_decay="none"), "cpu")
    everything.step(STEPS_TRAIN)
    assert (everything.params[1] - tr.params[1]).abs().max() > 1e-4        # the biases' path changed

    groups = tr.decay_groups()
    assert list(groups["group"]) == ["decayed"] * 2 + ["not decayed"] * 2
    left_out = groups[groups["group"] == "not decayed"]
    assert (left_out["median_decay"] == 0).all()
    assert (groups.loc[groups["group"] == "decayed", "median_decay"] > 0).all()
    assert left_out["tensors"].iloc[0] == ("b1, b2, b3" if no_decay == "biases" else "b1, b2, W3, b3")
    assert groups["parameters"].iloc[0] + left_out["parameters"].iloc[0] == sum(p[0].numel() for p in tr.params)
    norm = torch.cat([p[1].detach().flatten() for p, m in zip(tr.params, tr.opt.decay_mask) if not m]).norm()
    assert left_out["norm"].iloc[1] == pytest.approx(float(norm), rel=1e-6)
    # the histogram leaves out the excluded weight matrix (its rate is 0, not a log-scale bar)
    layers = set(tr.effective_decay()["layer"])
    assert layers == ({"layer 1", "layer 2", "layer 3"} if no_decay == "biases" else {"layer 1", "layer 2"})


def test_no_decay_none_is_the_default_and_changes_nothing():
    assert TrainConfig().no_decay == "none"
    cfg = TrainConfig(width=16, steps=20, train_samples=100, no_decay="biases", wd=0.0)
    a, b = Trainer(cfg, "cpu"), Trainer(dataclasses.replace(cfg, no_decay="none"), "cpu")
    assert a.run() == b.run()                  # with λ = 0 the groups are the same run, bit for bit
    assert list(b.decay_groups()["group"]) == ["decayed"] * 2


def test_cli_no_decay_flag(tmp_path):
    out = tmp_path / "t.csv"
    code, _, err = run_cli("train", "--no-decay", "biases-and-output", "--width", "8", "--steps", "5",
                           "--train-samples", "50", "--out", str(out))
    assert code == 0 and "Traceback" not in err and out.read_text().startswith("optimizer,")
    code, _, err = run_cli("train", "--no-decay", "layernorm", "--steps", "1")
    assert code == 2 and err.count("\n") == 1
    assert "--no-decay: unknown value 'layernorm'; choose from none, biases, biases-and-output" in err


def test_app_control_is_bound_to_the_url():
    at = fresh({"t_no_decay": "biases-and-output"}, view="train")
    assert not at.exception and not at.warning
    assert at.selectbox(key="t_no_decay").value == "biases-and-output"
    at.select_slider(key="t_steps").set_value(100).run()
    at.button(key="t_start").click().run()
    live_until(at, lambda live: live.step > 0)
    assert not at.exception
    assert at.session_state["live"].cfg.no_decay == "biases-and-output"
    assert any("Decay groups" in m.value for m in at.markdown)
    assert any("0 (not decayed)" in m.value for m in at.markdown)
    link = [c.value for c in at.code if "t_no_decay=" in c.value]
    assert link and "t_no_decay=biases-and-output" in link[0]
    bad = fresh({"t_no_decay": "everything"}, view="train")
    assert not bad.exception
    assert any("t_no_decay" in w.value for w in bad.warning)
    assert bad.selectbox(key="t_no_decay").value == "none"
