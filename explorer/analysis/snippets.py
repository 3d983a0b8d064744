"""The converter's answer as code: for one decay, the optimizer (and schedule) each library needs to shrink the
weights by the same (1 − r_t) per step as the converter's row for that library's form.

One row per library in LIBRARIES: its form (a key of convert.CONVENTIONS), its per-step shrink in its own terms,
the source file that rule was read from, a code template and its schedules (schedule kind → code; a kind it
lacks says so in the snippet). Numbers are written to 12 significant digits.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from string import Template

from explorer.analysis.convert import CONVENTIONS, Conversion, convert_params, schedule_of
from explorer.core.schedules import Schedule


@dataclass(frozen=True)
class Library:
    name: str                   # the CLI's --code value
    label: str
    form: str                   # its row in convert.CONVENTIONS
    shrink: str                 # the per-step shrink in the library's own terms
    source: str                 # where that rule was read
    template: str               # $header $lr $wd $steps $schedule
    schedules: dict[str, str] = field(default_factory=dict)   # schedule kind → code; absent: no equivalent
    missing: str = ""           # what the snippet says for a schedule it lacks ($label)


# The torch.optim.lr_scheduler construction of each schedule kind (tests/test_schedules.py checks it against
# Schedule); torch.optim.AdamW, timm's and Composer's optimizers are torch optimizers and take it as is.
TORCH_SCHEDULES = {
    "constant": "scheduler = lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)",
    "cosine": "scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=$total)",
    "step": "scheduler = lr_scheduler.StepLR(optimizer, step_size=$step_size, gamma=$gamma)",
    "warm_restarts": "scheduler = lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=$t0, T_mult=$t_mult)",
    "linear": "scheduler = lr_scheduler.LinearLR(optimizer, start_factor=1.0, end_factor=0.0, total_iters=$total)",
    "wsd": "scheduler = lr_scheduler.SequentialLR(optimizer, [\n"
           "    lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0),\n"
           "    lr_scheduler.LinearLR(optimizer, start_factor=1.0, end_factor=0.0, total_iters=$decaying),\n"
           "], milestones=[$stable])",
}
TORCH_GROUPS = ("# matrices decay; biases and norm gains (1-D) do not\n"
                "groups = [{\"params\": [p for p in model.parameters() if p.ndim >= 2], \"weight_decay\": $wd},\n"
                "          {\"params\": [p for p in model.parameters() if p.ndim < 2], \"weight_decay\": 0.0}]\n")
STEP_LOOP = "# each step: loss.backward(); optimizer.step(); scheduler.step(); optimizer.zero_grad()"

OPTAX_SCHEDULES = {      # optax/schedules/_schedule.py, _join.py: a schedule reads the update count, 0 first
    "constant": "schedule = optax.constant_schedule($lr)",
    "cosine": "schedule = optax.cosine_decay_schedule(init_value=$lr, decay_steps=$total, alpha=0.0)",
    "step": "schedule = optax.exponential_decay(init_value=$lr, transition_steps=$step_size, decay_rate=$gamma, "
            "staircase=True)",
    "warm_restarts": "schedule = optax.join_schedules(\n"
                     "    [optax.cosine_decay_schedule(init_value=$lr, decay_steps=period) for period in $periods],\n"
                     "    boundaries=$boundaries)",
    "linear": "schedule = optax.linear_schedule(init_value=$lr, end_value=0.0, transition_steps=$total)",
    "wsd": "schedule = optax.join_schedules(\n"
           "    [optax.constant_schedule($lr), optax.linear_schedule(init_value=$lr, end_value=0.0, "
           "transition_steps=$decaying)],\n"
           "    boundaries=[$stable])",
}

KERAS_SCHEDULES = {      # keras/src/optimizers/schedules/learning_rate_schedule.py: called with iterations, 0 first
    "constant": "schedule = $lr",
    "cosine": "schedule = keras.optimizers.schedules.CosineDecay(initial_learning_rate=$lr, decay_steps=$total, "
              "alpha=0.0)",
    "step": "schedule = keras.optimizers.schedules.ExponentialDecay(initial_learning_rate=$lr, "
            "decay_steps=$step_size, decay_rate=$gamma, staircase=True)",
    "warm_restarts": "schedule = keras.optimizers.schedules.CosineDecayRestarts(initial_learning_rate=$lr, "
                     "first_decay_steps=$t0, t_mul=$t_mult_float, m_mul=1.0, alpha=0.0)",
    "linear": "schedule = keras.optimizers.schedules.PolynomialDecay(initial_learning_rate=$lr, decay_steps=$total, "
              "end_learning_rate=0.0, power=1.0)",
    "wsd": "class StableThenLinear(keras.optimizers.schedules.LearningRateSchedule):\n"
           "    # Keras has no warmup-stable-decay schedule: α until step $stable, then linearly to 0 over $decaying\n"
           "    def __call__(self, step):\n"
           "        done = keras.ops.clip((keras.ops.cast(step, \"float32\") - $stable) / $decaying, 0.0, 1.0)\n"
           "        return $lr * (1.0 - done)\n\n\n"
           "schedule = StableThenLinear()",
}

HF_SCHEDULES = {         # transformers/optimization.py: LambdaLR of the optimizer step, 0 first
    "constant": "lr_scheduler_type=\"constant\",",
    "cosine": "lr_scheduler_type=\"cosine\",",
    "linear": "lr_scheduler_type=\"linear\",",
    "wsd": "lr_scheduler_type=\"warmup_stable_decay\",\n"
           "    lr_scheduler_kwargs={\"num_decay_steps\": $decaying, \"decay_type\": \"linear\"},",
}

LIBRARIES: dict[str, Library] = {lib.name: lib for lib in (
    Library("torch", "torch.optim.AdamW", "adamw-torch", "p ← p·(1 − lr_t·weight_decay)",
            "torch/optim/adam.py (AdamW: decoupled_weight_decay=True, param.mul_(1 - lr * weight_decay))",
            "$header\nimport torch\nfrom torch.optim import lr_scheduler\n\n" + TORCH_GROUPS
            + "optimizer = torch.optim.AdamW(groups, lr=$lr)\n$schedule\n" + STEP_LOOP + "\n",
            TORCH_SCHEDULES),
    Library("timm", "timm create_optimizer_v2(opt=\"adamc\")", "adamw-corrected",
            "p ← p·(1 − lr_t²/max_lr·weight_decay), max_lr = the lr it was created with",
            "timm/optim/adamw.py (AdamWLegacy: wd_scale = lr ** 2 / max_lr, max_lr = defaults['lr']); "
            "timm/optim/_optim_factory.py ('adamc' = corrected_weight_decay=True; timm ≥ 1.0.16)",
            "$header\nfrom timm.optim import create_optimizer_v2\nfrom torch.optim import lr_scheduler\n\n"
            "# filter_bias_and_bn=True (the default): no decay for 1-D tensors, biases and model.no_weight_decay()\n"
            "optimizer = create_optimizer_v2(model, opt=\"adamc\", lr=$lr, weight_decay=$wd)\n$schedule\n"
            + STEP_LOOP + "\n", TORCH_SCHEDULES),
    Library("composer", "Composer DecoupledAdamW", "composer", "p ← p·(1 − lr_t/initial_lr·weight_decay)",
            "composer/optim/decoupled_weight_decay.py (decay_factor = lr / initial_lr; "
            "param.mul_(1 - decay_factor * weight_decay))",
            "$header\nfrom composer.optim import DecoupledAdamW\nfrom torch.optim import lr_scheduler\n\n"
            + TORCH_GROUPS + "optimizer = DecoupledAdamW(groups, lr=$lr)\n$schedule\n"
            "# composer.Trainer(..., optimizers=optimizer, schedulers=scheduler, step_schedulers_every_batch=True)\n"
            "# steps it every batch, as here: " + STEP_LOOP.removeprefix("# ") + "\n", TORCH_SCHEDULES),
    Library("optax", "optax.adamw", "adamw-torch", "p ← p − learning_rate(count)·weight_decay·p (with the Adam step)",
            "optax/_src/alias.py (adamw = chain(scale_by_adam, add_decayed_weights, scale_by_learning_rate): "
            "the decay is multiplied by the learning rate)",
            "$header\nimport jax\nimport optax\n\n$schedule\n"
            "# mask: decay only the ≥2-D leaves (matrices); biases and norm scales keep their value\n"
            "optimizer = optax.adamw(learning_rate=schedule, weight_decay=$wd,\n"
            "                        mask=lambda params: jax.tree_util.tree_map(lambda p: p.ndim >= 2, params))\n"
            "opt_state = optimizer.init(params)\n", OPTAX_SCHEDULES),
    Library("keras", "keras.optimizers.AdamW", "adamw-torch", "variable ← variable − variable·weight_decay·lr_t",
            "keras/src/optimizers/base_optimizer.py (_apply_weight_decay: variable - variable * wd * lr)",
            "$header\nimport keras\n\n$schedule\n"
            "optimizer = keras.optimizers.AdamW(learning_rate=schedule, weight_decay=$wd)\n"
            "# decay only ≥2-D variables (kernels); call before the optimizer is built\n"
            "optimizer.exclude_from_weight_decay(\n"
            "    var_list=[v for v in model.trainable_variables if len(v.shape) < 2])\n",
            KERAS_SCHEDULES),
    Library("transformers", "Hugging Face Trainer", "adamw-torch",
            "p ← p·(1 − lr_t·weight_decay) (optim=\"adamw_torch\": torch.optim.AdamW)",
            "transformers/trainer.py (create_optimizer: weight_decay on every parameter but biases and LayerNorm "
            "weights); transformers/optimization.py (the lr_scheduler_type schedules)",
            "$header\nfrom transformers import Trainer, TrainingArguments\n\n${missing}"
            "args = TrainingArguments(\n    output_dir=\"out\",\n    optim=\"adamw_torch\",\n    learning_rate=$lr,\n"
            "    weight_decay=$wd,\n    max_steps=$steps,\n    warmup_steps=0,\n    $schedule\n)\n"
            "trainer = Trainer(model=model, args=args, train_dataset=train_dataset)\n",
            HF_SCHEDULES,
            "# no equivalent: Trainer has no lr_scheduler_type for\n# $label.\n"
            "# Build torch.optim.AdamW and its scheduler as in the torch.optim.AdamW snippet and pass\n"
            "# Trainer(..., optimizers=(optimizer, scheduler)); weight_decay below then goes unused.\n"),
)}

SCHEDULE_LABELS = {"warm_restarts": "SGDR warm restarts with T_mult = $t_mult (its \"cosine_with_restarts\" "
                                    "restarts at equal intervals)",
                   "step": "step decay (γ = $gamma every $step_size steps)"}


def literal(x: float) -> str:
    """A number as Python code: 12 significant digits (a converted λ's round-off dropped), shortest form."""
    return repr(float(f"{float(x):.12g}"))


def schedule_values(schedule: Schedule) -> dict[str, str]:
    """The numbers the templates need, as Python literals. Refuses what the table does not write."""
    if schedule.warmup or schedule.eta_min:
        raise ValueError("the code table writes schedules without warm-up and with η_min = 0 (the converter's)")
    total = max(1, schedule.total_steps)
    decaying = max(1, round(schedule.decay_fraction * total))
    periods, start, t_i = [], 0, max(1, schedule.t0)
    while start < total:                              # SGDR's periods until they cover the run
        periods.append(t_i)
        start += t_i
        t_i *= max(1, schedule.t_mult)
    bounds = [sum(periods[:i + 1]) for i in range(len(periods) - 1)]
    return {"total": str(total), "step_size": str(schedule.step_size or max(1, total // 3)),
            "gamma": literal(schedule.gamma), "t0": str(max(1, schedule.t0)), "t_mult": str(schedule.t_mult),
            "t_mult_float": repr(float(schedule.t_mult)), "decaying": str(decaying), "stable": str(total - decaying),
            "periods": repr(periods), "boundaries": repr(bounds)}


def snippet(library: str, c: Conversion, schedule: Schedule | None = None) -> str:
    """Code for `library` that decays as the converter's row for its form: the same (1 − r_t) at every step."""
    if library not in LIBRARIES:
        raise ValueError(f"unknown library {library!r}; choose from {', '.join(LIBRARIES)}")
    lib = LIBRARIES[library]
    schedule = schedule or Schedule("constant", total_steps=c.steps)
    values = {**schedule_values(schedule), "lr": literal(c.lr), "steps": str(c.steps)}
    row = c.table.set_index("form").loc[lib.form]
    form = CONVENTIONS[lib.form]
    values["wd"] = literal(row["lam"])
    equal = "at every step" if row["equal"] == "every step" else "in total decay N only (not step by step)"
    header = (f"# {lib.label}: λ in the {form.label} form (shrink {form.rate} per step), equal to yours {equal}\n"
              f"# per step: {lib.shrink}\n# read in {lib.source}")
    code = lib.schedules.get(schedule.kind)
    label = Template(SCHEDULE_LABELS.get(schedule.kind, schedule.kind)).substitute(values)
    missing = "" if code else Template(lib.missing).substitute(label=label)
    text = Template(lib.template).substitute(values, header=header, missing=missing,
                                             schedule=Template(code or "").substitute(values))
    return re.sub(r"\n +\n", "\n", text)                # a schedule argument left out leaves no blank line


def snippets(c: Conversion, schedule: Schedule | None = None) -> dict[str, str]:
    """snippet() for every library: name → code."""
    return {name: snippet(name, c, schedule) for name in LIBRARIES}


def snippets_params(p: dict) -> dict[str, str]:
    """snippets() from the converter's parameters (the CLI's and the panel's)."""
    return snippets(convert_params(p), schedule_of(p))
