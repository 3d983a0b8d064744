"""One registry per idea: a decay form is one record in explorer.core.forms, and every table of the product — the
CLI's and the URL's accepted names, the form control, the sweep's pairs, the chart colours, the converter, the
engine's update — is derived from it. The same for the axes and the predictions."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from parity import PARITY_STEPS, WIDE_START, assert_roundoff, batched_path, lockstep, reference_path, wide_net_loss

from explorer.core.forms import FORMS, Decay, Precond
from explorer.core.optim import BatchedOptimizer
from explorer.core.packing import pack

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("precond", list(Precond))
def test_every_form_with_a_torch_class_equals_it(precond):
    """Each form's own `torch` record, built with fused=True, is the parity oracle (constant schedule, 1,000 steps):
    bit for bit where torch's weight_decay is the form's λ itself, to float32 round-off where it is a quotient
    (the paper form's λ/α). A new form with a torch class gets this test by being registered."""
    lr, wd = 1e-2, 0.1
    kw = dict(betas=(0.9, 0.999), eps=1e-8) if precond is Precond.ADAM else dict(momentum=0.9)
    hyper = dict(momentum=0.9) if precond is Precond.SGD else {}
    forms = [f for f in FORMS.values() if f.precond is precond and f.torch is not None]
    exact = [f for f in forms if f.torch.weight_decay(lr, wd) in (wd, 0.0)]
    assert exact, "nothing to compare"
    params = pack([t[None].repeat(len(exact), *([1] * t.dim())) for t in WIDE_START])
    opt = BatchedOptimizer(params, [f.name for f in exact], lr=lr, wd=wd, **hyper)
    refs = []
    for f in exact:
        ps = [t.clone().requires_grad_(True) for t in WIDE_START]
        refs.append((ps, f.torch.build(ps, lr, wd, fused=True, **kw)))
    lockstep(opt, params, refs, wide_net_loss, steps=PARITY_STEPS)
    for f in (f for f in forms if f not in exact):
        ref = reference_path(lambda p, f=f: f.torch.build(p, lr, wd, fused=True, **kw), WIDE_START, wide_net_loss)
        mine = batched_path([f.name], WIDE_START, wide_net_loss, lr=lr, wd=wd, **hyper)[:, 0]
        assert_roundoff(mine, ref, f.name)


def test_the_registry_is_complete_for_what_the_app_shows():
    """Every form the app draws has a colour, and every decoupled form its rule; each pair has an L2 form first."""
    for f in FORMS.values():
        assert f.color.startswith("#") and f.hue.startswith("#"), f.name
        if f.decay is not Decay.NONE:
            assert f.formula and f.caption, f.name
    from explorer.core.forms import pair_forms
    for p in Precond:
        names = pair_forms(p)
        assert FORMS[names[0]].decay is Decay.L2 and all(FORMS[n].decay is Decay.DECOUPLED for n in names[1:])


THROWAWAY = r'''
import json, sys
import torch
from explorer.core.forms import Decay, DecayForm, Precond, register
register(DecayForm("adamw-cubic", Precond.ADAM, Decay.DECOUPLED, "AdamW (cubic form)", eta_power=3, scaled=True,
                   form="cubic", in_pair=True, color="#123456", hue="#654321", formula="x", caption="y"))
# the rest of the product is imported only now: registering a form comes before the tables are built, as a row
# written in forms.py does
from explorer.analysis.convert import CONVENTIONS
from explorer.analysis.insights import panel_forms
from explorer.core.forms import pair_forms, pair_optimizers
from explorer.core.optim import BatchedOptimizer
from explorer.core.schedules import Schedule
from explorer.interface import cli, params
from explorer.runs.sweep import PRESETS, with_extra_forms
from explorer.ui.controls import FORM_CAPTIONS
from explorer.viz import chartkit, equilibrium_charts
found = {}
args = cli.build_parser().parse_args(["train", "--optimizers", "adam-l2,adamw-cubic"])
found["cli_train"] = list(args.optimizers)
found["cli_trajectory"] = cli.build_parser().parse_args(["trajectory", "--optimizer", "adamw-cubic"]).optimizer
found["url_form"] = params.TRAJECTORY["form"].parse("cubic")
found["url_form_choices"] = list(params.TRAIN["form"].choices)
found["radio_captions"] = FORM_CAPTIONS
found["raced"] = list(pair_optimizers("adam", "cubic"))
found["sweep_pair"] = list(pair_forms("adam"))
found["color"] = chartkit.color_scale(["adamw-cubic"]).to_dict()["range"]
found["map_hue"] = equilibrium_charts.OPTIMIZERS["adamw-cubic"].hue
found["converter"] = "adamw-cubic" in CONVENTIONS and CONVENTIONS["adamw-cubic"].eta_power == 3
found["insight_panel"] = "adamw-cubic" in panel_forms()
found["sweep_extra"] = [n for n, _ in with_extra_forms(PRESETS["coupling"]).wds]
# the engine: with zero gradients only the decay moves θ, by 1 − η_t³·α·λ at step 1 of a warm-up (η_1 = 1/4)
w = torch.ones(1, 16)
opt = BatchedOptimizer([w], ["adamw-cubic"], lr=0.5, wd=0.2, schedule=Schedule("constant", total_steps=10, warmup=4))
opt.step([torch.zeros(1, 16)])
found["shrink"] = float(w[0, 0])
print(json.dumps(found))
'''


def test_a_throwaway_form_reaches_every_table_from_its_one_record():
    """Adding a form is one record: registered in a fresh interpreter (so this process's tables stay as they are),
    it is accepted by the CLI and the URL, offered by the form control with its rule, raced, swept, coloured,
    converted, drawn in the forms panel, and the engine shrinks by its η power."""
    out = subprocess.run([sys.executable, "-c", THROWAWAY], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["cli_train"] == ["adam-l2", "adamw-cubic"]
    assert found["cli_trajectory"] == "adamw-cubic"
    assert found["url_form"] == "cubic" and found["url_form_choices"][-1] == "cubic"
    assert found["radio_captions"][-1] == "θ·(1−η^3·α·λ)"
    assert found["raced"] == ["adam-l2", "adamw-cubic"]
    assert "adamw-cubic" in found["sweep_pair"]
    assert found["color"] == ["#123456"] and found["map_hue"] == "#654321"
    assert found["converter"] and found["insight_panel"]
    assert found["sweep_extra"][-1] == "adamw-cubic"      # swept on the PyTorch form's grid (α-scaled alike)
    assert found["shrink"] == pytest.approx(1 - 0.25 ** 3 * 0.5 * 0.2, rel=1e-6)


PREDICTION = r'''
import json
from explorer.analysis.predictions import REGIMES, RULES, Prediction
REGIMES["steady state"] = Prediction("steady state", {"adamw-torch": 0.5, "adamw": 1.5}, "a throw-away regime")
RULES["τ ∝ nothing"] = Prediction("τ ∝ nothing", {"lr": 0.0, "steps": 2.0, "train-samples": 0.0, "batch-size": 0.0},
                                  "a throw-away rule", dash=(1, 1))
from explorer.analysis.interpret import regime_text
from explorer.analysis.transfer import predicted_slope, verdict_text
print(json.dumps({"regime": regime_text(0.5, 1.5, [4.0], "mlp"), "rule": predicted_slope("τ ∝ nothing", "steps",
                  "adamw-torch"), "verdict": verdict_text("steps", {"adamw-torch": 2.0})}))
'''


def test_a_throwaway_prediction_reaches_the_verdicts_from_its_one_record():
    out = subprocess.run([sys.executable, "-c", PREDICTION], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert "*steady state* — slopes PyTorch +0.5, paper +1.5 when a throw-away regime" in found["regime"]
    assert found["rule"] == 2.0
    assert "*τ ∝ nothing* — predicts AdamW (PyTorch form) +2 (measured +2.00): **matches**" in found["verdict"]


def test_one_axis_table_one_spelling():
    """The sweep's rows and the regime map read one table; names are hyphenated, the field's underscore spelling
    still opens (older links and scripts)."""
    from explorer.interface.params import REGIME_MAP, SWEEP_GRID
    from explorer.runs.axes import AXES, axis_named
    assert set(SWEEP_GRID["axis"].choices) | set(REGIME_MAP["map_axis"].choices) <= set(AXES)
    assert all("_" not in name for name in AXES)
    assert axis_named("batch_size") is AXES["batch-size"]
    assert REGIME_MAP["map_axis"].parse("init_scale") == "init-scale"
    for a in AXES.values():
        if a.regime:
            assert f"map_{a.field}" in REGIME_MAP
        if a.rows and a.name != "lr":
            assert f"rows_{a.field}" in SWEEP_GRID


def test_registry_records_print_as_json_safe_text():
    """The CSV and URL spelling of every form is its name, and the names are unique CLI-safe words."""
    names = list(FORMS)
    assert len(set(names)) == len(names)
    assert all(json.dumps(n) == f'"{n}"' and n.replace("-", "").isalnum() for n in names)
