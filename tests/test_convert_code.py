"""The converter's code table: each library's snippet shrinks a weight by the converter's (1 − r_t) at every step.

torch.optim.AdamW's snippet is executed as written. timm, Composer, optax, Keras and the Trainer are not
installed here: their snippets run against small stand-ins that transcribe each library's own rule and
schedules from its source (the file named in the snippet), so the numbers the snippet passes are checked
against what the library would do with them.
"""
import math
import sys
import types

import numpy as np
import pytest
import torch
from conftest import fresh, run_cli

from explorer.analysis.convert import CONVENTIONS, convert_params, schedule_of
from explorer.analysis.snippets import LIBRARIES, snippet, snippets_params
from explorer.core.schedules import SCHEDULES
from explorer.interface.params import CONVERT

STEPS = 60


def params(source, schedule):
    wd = 0.05 if source in ("adamw-torch", "adamw-corrected") else 5e-4
    return {**{k: s.default for k, s in CONVERT.items()}, "source": source, "lr": 0.01, "wd": wd,
            "steps": STEPS, "schedule": schedule}


def converter_rates(p, library):
    """r_t, t = 1 … steps, of the converter's row for the library's form."""
    c = convert_params(p)
    form = CONVENTIONS[LIBRARIES[library].form]
    lam = c.table.set_index("form").loc[form.name, "lam"]
    return lam * c.lr ** form.lr_power * c.eta ** form.eta_power


def model():
    torch.manual_seed(0)
    return torch.nn.Linear(3, 2).double()


def run_torch_snippet(code, steps=STEPS):
    """exec our own generated code with a model, then zero-gradient steps: the weight's and bias's ratio per step."""
    net = model()
    w0, b0 = net.weight.detach().clone(), net.bias.detach().clone()
    ns = {"model": net}
    exec(compile(code, "<snippet>", "exec"), ns)
    opt, sched = ns["optimizer"], ns["scheduler"]
    ratios = []
    for _ in range(steps):
        for p in net.parameters():
            p.grad = torch.zeros_like(p)
        opt.step()
        sched.step()
        ratios.append((net.weight / w0).mean().item())
        assert torch.equal(net.bias.detach(), b0)            # 1-D: not decayed
        assert torch.allclose(net.weight / w0, (net.weight / w0).mean())   # one factor for the whole matrix
    return np.array(ratios)


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("source", list(CONVENTIONS))
def test_torch_adamw_snippet_executed_shrinks_as_the_converter_says(source, schedule):
    p = params(source, schedule)
    got = run_torch_snippet(snippets_params(p)["torch"])
    want = np.cumprod(1 - converter_rates(p, "torch"))
    np.testing.assert_allclose(got, want, rtol=1e-9)


# --- stand-ins transcribing each library's rule (the file each snippet cites) -------------------------------

class ComposerDecoupledAdamW(torch.optim.Optimizer):
    """composer/optim/decoupled_weight_decay.py with zero gradients: initial_lr = the lr at construction,
    param.mul_(1 - lr / initial_lr * weight_decay); the Adam step of a zero gradient is zero."""
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=1e-5, amsgrad=False):
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay})
        for group in self.param_groups:
            group["initial_lr"] = group["lr"]

    @torch.no_grad()
    def step(self, closure=None):
        for g in self.param_groups:
            for p in g["params"]:
                p.mul_(1 - g["lr"] / g["initial_lr"] * g["weight_decay"])


class TimmAdamWLegacy(torch.optim.Optimizer):
    """timm/optim/adamw.py with corrected_weight_decay=True and zero gradients: max_lr = defaults['lr'],
    wd_scale = lr ** 2 / max_lr, param.mul_(1 - wd_scale * weight_decay)."""
    @torch.no_grad()
    def step(self, closure=None):
        for g in self.param_groups:
            for p in g["params"]:
                p.mul_(1 - g["lr"] ** 2 / self.defaults["lr"] * g["weight_decay"])


def timm_create_optimizer_v2(model, opt="sgd", lr=None, weight_decay=0.0, filter_bias_and_bn=True, **kw):
    """timm/optim/_optim_factory.py + _param_groups.py: 'adamc' is AdamWLegacy with corrected decay; with
    filter_bias_and_bn, 1-D tensors and biases go to a group with no decay."""
    assert opt == "adamc" and not kw
    named = list(model.named_parameters())
    no = [p for n, p in named if p.ndim <= 1 or n.endswith(".bias")]
    yes = [p for n, p in named if not (p.ndim <= 1 or n.endswith(".bias"))]
    return TimmAdamWLegacy([{"params": no, "weight_decay": 0.0}, {"params": yes, "weight_decay": weight_decay}],
                           {"lr": lr, "weight_decay": weight_decay})


def _module(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    return m


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("library", ["composer", "timm"])
def test_composer_and_timm_snippets_shrink_as_their_rules_say(library, schedule, monkeypatch):
    monkeypatch.setitem(sys.modules, "composer", _module("composer"))
    monkeypatch.setitem(sys.modules, "composer.optim", _module("composer.optim", DecoupledAdamW=ComposerDecoupledAdamW))
    monkeypatch.setitem(sys.modules, "timm", _module("timm"))
    monkeypatch.setitem(sys.modules, "timm.optim", _module("timm.optim", create_optimizer_v2=timm_create_optimizer_v2))
    for source in CONVENTIONS:
        p = params(source, schedule)
        got = run_torch_snippet(snippets_params(p)[library])
        np.testing.assert_allclose(got, np.cumprod(1 - converter_rates(p, library)), rtol=1e-9, err_msg=source)


# optax/schedules/_schedule.py and _join.py; optax/_src/alias.py (adamw: the decay term is scaled by the
# learning rate). The schedule is read at the update count, 0 for the first update.
def _optax():
    def cosine_decay_schedule(init_value, decay_steps, alpha=0.0, exponent=1.0):
        return lambda n: init_value * ((1 - alpha) * (0.5 * (1 + math.cos(math.pi * min(n, decay_steps)
                                                                           / decay_steps))) ** exponent + alpha)

    def linear_schedule(init_value, end_value, transition_steps, transition_begin=0):
        return lambda n: (init_value - end_value) * (1 - min(max(n - transition_begin, 0), transition_steps)
                                                     / transition_steps) + end_value

    def exponential_decay(init_value, transition_steps, decay_rate, staircase=False):
        return lambda n: init_value * decay_rate ** (n // transition_steps if staircase else n / transition_steps)

    def join_schedules(schedules, boundaries):
        def schedule(n):
            out = schedules[0](n)
            for b, s in zip(boundaries, schedules[1:]):
                out = out if n < b else s(n - b)
            return out
        return schedule

    def adamw(learning_rate, weight_decay=1e-4, mask=None, **kw):
        return types.SimpleNamespace(learning_rate=learning_rate, weight_decay=weight_decay, mask=mask,
                                     init=lambda params: None)
    return _module("optax", constant_schedule=lambda v: (lambda n: v), cosine_decay_schedule=cosine_decay_schedule,
                   linear_schedule=linear_schedule, exponential_decay=exponential_decay,
                   join_schedules=join_schedules, adamw=adamw)


# keras/src/optimizers/schedules/learning_rate_schedule.py; base_optimizer.py (_apply_weight_decay:
# variable - variable * wd * lr, lr = the schedule at `iterations`, 0 for the first update).
def _keras():
    class LearningRateSchedule:
        pass

    class CosineDecay(LearningRateSchedule):
        def __init__(self, initial_learning_rate, decay_steps, alpha=0.0):
            self.a, self.t, self.alpha = initial_learning_rate, decay_steps, alpha

        def __call__(self, n):
            return self.a * ((1 - self.alpha) * 0.5 * (1 + math.cos(math.pi * min(n, self.t) / self.t)) + self.alpha)

    class ExponentialDecay(LearningRateSchedule):
        def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
            self.a, self.t, self.r, self.stair = initial_learning_rate, decay_steps, decay_rate, staircase

        def __call__(self, n):
            return self.a * self.r ** (n // self.t if self.stair else n / self.t)

    class PolynomialDecay(LearningRateSchedule):
        def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0):
            self.a, self.t, self.end, self.power = initial_learning_rate, decay_steps, end_learning_rate, power

        def __call__(self, n):
            return (self.a - self.end) * (1 - min(n, self.t) / self.t) ** self.power + self.end

    class CosineDecayRestarts(LearningRateSchedule):
        def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0):
            self.a, self.t0, self.t_mul, self.m_mul, self.alpha = (initial_learning_rate, first_decay_steps, t_mul,
                                                                   m_mul, alpha)

        def __call__(self, n):
            frac = n / self.t0
            i = math.floor(math.log(1 - frac * (1 - self.t_mul)) / math.log(self.t_mul))
            frac = (frac - (1 - self.t_mul ** i) / (1 - self.t_mul)) / self.t_mul ** i
            return self.a * ((1 - self.alpha) * 0.5 * self.m_mul ** i * (1 + math.cos(math.pi * frac)) + self.alpha)

    class AdamW:
        def __init__(self, learning_rate=0.001, weight_decay=0.004, **kw):
            self.learning_rate, self.weight_decay, self.excluded = learning_rate, weight_decay, None

        def exclude_from_weight_decay(self, var_list=None, var_names=None):
            self.excluded = var_list

    schedules = types.SimpleNamespace(LearningRateSchedule=LearningRateSchedule, CosineDecay=CosineDecay,
                                      ExponentialDecay=ExponentialDecay, PolynomialDecay=PolynomialDecay,
                                      CosineDecayRestarts=CosineDecayRestarts)
    ops = types.SimpleNamespace(cast=lambda x, dtype: float(x), clip=lambda x, lo, hi: min(max(x, lo), hi))
    return _module("keras", optimizers=types.SimpleNamespace(AdamW=AdamW, schedules=schedules), ops=ops)


# transformers/optimization.py: each lr_scheduler_type a LambdaLR of the optimizer step (0 first) over max_steps;
# the Trainer's default optimizer with optim="adamw_torch" is torch.optim.AdamW (lr_t·weight_decay).
HF_FACTORS = {
    "constant": lambda n, total, kw: 1.0,
    "cosine": lambda n, total, kw: max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * n / max(1, total)))),
    "linear": lambda n, total, kw: max(0.0, (total - n) / max(1, total)),
    "warmup_stable_decay": lambda n, total, kw: (
        1.0 if n < total - kw["num_decay_steps"] else
        max(0.0, 1.0 - (n - (total - kw["num_decay_steps"])) / max(1, kw["num_decay_steps"]))
        if n < total else 0.0),
}


def _transformers(seen):
    def training_arguments(**kw):
        seen.update(kw)
        return kw
    return _module("transformers", TrainingArguments=training_arguments, Trainer=lambda **kw: None)


def _shrink_per_step(library, code, monkeypatch):
    """(r_t from the stand-in library for t = 1 … STEPS, or None where the snippet says it has no such schedule)."""
    ns = {"model": types.SimpleNamespace(trainable_variables=[types.SimpleNamespace(shape=(3, 2)),
                                                              types.SimpleNamespace(shape=(2,))]),
          "params": {"w": np.zeros((3, 2)), "b": np.zeros(2)}, "train_dataset": None}
    seen = {}
    monkeypatch.setitem(sys.modules, "optax", _optax())
    monkeypatch.setitem(sys.modules, "jax", _module("jax", tree_util=types.SimpleNamespace(
        tree_map=lambda f, tree: {k: f(v) for k, v in tree.items()})))
    monkeypatch.setitem(sys.modules, "keras", _keras())
    monkeypatch.setitem(sys.modules, "transformers", _transformers(seen))
    exec(compile(code, "<snippet>", "exec"), ns)
    n = np.arange(STEPS)
    if library == "optax":
        opt = ns["optimizer"]
        assert opt.mask(ns["params"]) == {"w": True, "b": False}
        return np.array([opt.learning_rate(k) * opt.weight_decay for k in n])
    if library == "keras":
        opt = ns["optimizer"]
        assert [v.shape for v in opt.excluded] == [(2,)]
        lr = opt.learning_rate
        return np.array([(lr(k) if callable(lr) else lr) * opt.weight_decay for k in n])
    if "lr_scheduler_type" not in seen:
        assert "no equivalent" in code
        return None
    factor = HF_FACTORS[seen["lr_scheduler_type"]]
    assert seen["optim"] == "adamw_torch" and seen["warmup_steps"] == 0
    return np.array([seen["learning_rate"] * factor(k, seen["max_steps"], seen.get("lr_scheduler_kwargs", {}))
                     * seen["weight_decay"] for k in n])


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("library", ["optax", "keras", "transformers"])
def test_optax_keras_and_trainer_snippets_decay_as_their_documented_rules_say(library, schedule, monkeypatch):
    for source in CONVENTIONS:
        p = params(source, schedule)
        got = _shrink_per_step(library, snippets_params(p)[library], monkeypatch)
        if got is None:
            assert library == "transformers" and schedule in ("step", "warm_restarts")
            continue
        np.testing.assert_allclose(got, converter_rates(p, library), rtol=1e-9, atol=1e-15, err_msg=source)


def test_every_snippet_is_python_and_says_its_rule_its_source_and_how_it_matches_yours():
    p = params("adamw", "cosine")
    for name, code in snippets_params(p).items():
        compile(code, name, "exec")
        lib = LIBRARIES[name]
        assert f"# per step: {lib.shrink}" in code and lib.source in code
        assert ("in total decay N only" in code) == (lib.form == "adamw-corrected")
    with pytest.raises(ValueError, match="unknown library"):
        snippet("lion", convert_params(p))
    with pytest.raises(ValueError, match="warm-up"):
        from explorer.core.schedules import Schedule
        snippet("torch", convert_params(p), Schedule("cosine", total_steps=STEPS, warmup=5))
    assert schedule_of(p).kind == "cosine"


def test_cli_prints_the_code_for_one_library_or_all():
    code, out, err = run_cli("convert", "--from", "adamw", "--lr", "1e-3", "--wd", "1e-4", "--steps", "1000",
                             "--schedule", "linear", "--code", "torch")
    assert code == 0 and "torch.optim.AdamW(groups, lr=0.001)" in out and '"weight_decay": 0.1}' in out
    assert "total_iters=1000" in out and "| form" not in out
    compile(out, "cli", "exec")
    code, out, _ = run_cli("convert", "--code", "all")
    assert code == 0 and out.count("# per step:") == len(LIBRARIES)
    code, _, err = run_cli("convert", "--code", "lion")
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_the_panel_shows_each_librarys_code_beside_the_table():
    at = fresh({"i6_source": "adamw", "i6_lr": "0.001", "i6_wd": "0.0001", "i6_steps": "1000",
                "i6_schedule": "linear"}, view="insights")
    assert not at.exception
    blocks = [c for c in at.code if c.language == "python" and "# per step:" in c.value]
    assert len(blocks) == len(LIBRARIES)
    text = "\n".join(c.value for c in blocks)
    assert "torch.optim.AdamW(groups, lr=0.001)" in text and 'opt="adamc", lr=0.001' in text
    assert "lr_scheduler_type=\"linear\"" in text
    assert any(m.value.startswith("| form") for m in at.markdown)
