"""The decay audit of your own model (explorer.analysis.audit, `python -m explorer audit`): each tensor's kind, what
three common grouping rules decide, the shrink per step checked against torch.optim itself, the warnings, the CSV
and the command line."""
import io
import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import run_cli
from torch import nn

from explorer.analysis.audit import COLUMNS, audit, name_rule
from explorer.core.forms import OPTIMIZERS

ROOT = Path(__file__).resolve().parents[1]


class Zoo(nn.Module):
    """One of each: a norm layer under a name no name rule knows, a non-LayerNorm norm, a bare parameter."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(8))          # bare: owned by the root module
        self.emb = nn.Embedding(10, 8)
        self.fc = nn.Linear(8, 16)
        self.conv = nn.Conv2d(3, 4, 3)
        self.ln = nn.LayerNorm(8)
        self.bn = nn.BatchNorm1d(16)
        self.post_attention_scale = nn.LayerNorm(8)       # transformers' rule finds it by module type only
        self.gate_scale = nn.RMSNorm(8)                   # … and misses this one: not an nn.LayerNorm


# parameter: (kind, dim_rule, timm_rule, name_rule)
EXPECTED = {
    "scale": ("other", False, False, True),
    "emb.weight": ("embedding", True, True, True),
    "fc.weight": ("linear weight", True, True, True),
    "fc.bias": ("bias", False, False, False),
    "conv.weight": ("conv weight", True, True, True),
    "conv.bias": ("bias", False, False, False),
    "ln.weight": ("norm gain", False, False, False),
    "ln.bias": ("norm bias", False, False, False),
    "bn.weight": ("norm gain", False, False, True),
    "bn.bias": ("norm bias", False, False, False),
    "post_attention_scale.weight": ("norm gain", False, False, False),
    "post_attention_scale.bias": ("norm bias", False, False, False),
    "gate_scale.weight": ("norm gain", False, False, True),
}


def rows(a) -> dict:
    return {r.parameter: r for r in a.table.itertuples()}


def test_kinds_and_the_three_rules():
    t = audit(Zoo()).table
    got = {r.parameter: (r.kind, r.dim_rule, r.timm_rule, r.name_rule) for r in t.itertuples()}
    assert got == EXPECTED
    assert set(t.parameter[t.rules_disagree]) == {"scale", "bn.weight", "gate_scale.weight"}
    # the names alone would decay the unusually named LayerNorm; its module type spares it
    p = Zoo().post_attention_scale.weight
    assert name_rule("post_attention_scale.weight", p) and not name_rule("post_attention_scale.weight", p, True)
    assert list(t.columns) == COLUMNS
    assert t.numel.sum() == sum(p.numel() for p in Zoo().parameters())
    assert rows(audit(Zoo()))["conv.weight"].shape == "4x3x3x3"


def test_timm_reads_the_models_no_weight_decay_list():
    class Listed(Zoo):
        def no_weight_decay(self):
            return {"emb.weight"}
    assert not rows(audit(Listed()))["emb.weight"].timm_rule
    assert rows(audit(Listed()))["emb.weight"].dim_rule


@pytest.mark.parametrize("no_decay, column", [("none", None), ("dim", "dim_rule"), ("timm", "timm_rule"),
                                              ("name", "name_rule")])
def test_your_grouping_by_rule(no_decay, column):
    t = audit(Zoo(), no_decay=no_decay).table
    expected = [True] * len(t) if column is None else t[column].tolist()
    assert t.decayed.tolist() == expected


def test_your_grouping_by_name_substrings_or_a_function():
    t = audit(Zoo(), no_decay="bias, ln.").table
    assert set(t.parameter[~t.decayed]) == {"fc.bias", "conv.bias", "ln.weight", "ln.bias", "bn.bias",
                                            "post_attention_scale.bias"}
    assert audit(Zoo(), no_decay=["bias", "ln."]).table.equals(t)
    t = audit(Zoo(), no_decay=lambda name, p: p.ndim < 2 and "scale" in name).table
    assert set(t.parameter[~t.decayed]) == {"scale", "post_attention_scale.weight", "post_attention_scale.bias",
                                            "gate_scale.weight"}
    frozen = Zoo()
    frozen.emb.weight.requires_grad_(False)     # torch.optim skips a tensor without a gradient: no decay either
    r = rows(audit(frozen))["emb.weight"]
    assert not r.decayed and not r.trainable and r.shrink_per_step == 1.0
    with pytest.raises(ValueError, match="no_decay"):
        audit(Zoo(), no_decay=" , ")


def one_step(model, a, optimizer: str, lr: float, wd: float) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """One torch.optim step with zero gradients under the audit's grouping: each tensor before and after."""
    decayed = set(a.table.parameter[a.table.decayed])
    named = dict(model.named_parameters())
    groups = [{"params": [p for n, p in named.items() if n in decayed]},
              {"params": [p for n, p in named.items() if n not in decayed], "weight_decay": 0.0}]
    opt = OPTIMIZERS[optimizer].torch.build(groups, lr, wd)
    before = {n: p.detach().clone() for n, p in named.items()}
    for p in named.values():
        p.grad = torch.zeros_like(p)
    opt.step()
    return {n: (before[n], p.detach()) for n, p in named.items()}


@pytest.mark.parametrize("optimizer", ["adamw-torch", "adamw", "adamw-corrected"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shrink_per_step_is_what_torch_does_in_one_step(optimizer, dtype):
    """Every tensor, decayed or not, ends one zero-gradient step of torch.optim at exactly before × the factor
    (rounded to its dtype, as torch multiplies by the Python float): the PyTorch form 1 − α·λ, the paper form 1 − λ."""
    lr, wd = 1e-3, 0.1
    model = Zoo().to(dtype)
    a = audit(model, lr=lr, wd=wd, optimizer=optimizer, no_decay="timm")
    expected = 1 - wd if optimizer == "adamw" else 1 - lr * wd
    r = rows(a)
    assert r["fc.weight"].shrink_per_step == pytest.approx(expected, rel=1e-15) and r["fc.bias"].shrink_per_step == 1
    for name, (before, after) in one_step(model, a, optimizer, lr, wd).items():
        factor = torch.tensor(r[name].shrink_per_step, dtype=dtype)
        assert torch.equal(after, before * factor), name
        assert not torch.equal(after, before) or not r[name].decayed


def test_sgd_l2_shrinks_by_one_minus_lr_wd_and_adam_l2_has_no_single_factor():
    model = Zoo().double()
    a = audit(model, lr=0.01, wd=0.5, optimizer="sgd-l2")
    for name, (before, after) in one_step(model, a, "sgd-l2", 0.01, 0.5).items():
        torch.testing.assert_close(after, before * rows(a)[name].shrink_per_step, rtol=1e-15, atol=0)
    a = audit(Zoo(), lr=1e-4, wd=1e-4, optimizer="adam-l2", steps=10)
    t = a.table
    assert t.decayed.all() and t.shrink_per_step.isna().all() and t.N.isna().all()
    assert not t.warning.str.contains("rounds to 1|N = ").any()     # neither applies to a preconditioned λθ
    assert "no single factor" in a.summary
    t = audit(Zoo(), optimizer="adam", wd=0.1).table                  # no decay in the form: nothing decays
    assert not t.decayed.any() and (t.shrink_per_step == 1).all()


def test_a_factor_that_rounds_to_one_in_float32_is_flagged_and_does_nothing():
    """lr = wd = 1e-4 (DETR's settings): 1 − 1e-8 is 1 in float32, and torch.optim.AdamW leaves the weights alone."""
    model = Zoo()
    a = audit(model, lr=1e-4, wd=1e-4, no_decay="dim")
    t = a.table
    flagged = t.warning.str.contains("rounds to 1 in float32")
    assert flagged.tolist() == t.decayed.tolist() and flagged.any()
    assert a.counts["rounds"] == int(flagged.sum())
    for name, (before, after) in one_step(model, a, "adamw-torch", 1e-4, 1e-4).items():
        assert torch.equal(before, after), name
    assert not audit(model.double(), lr=1e-4, wd=1e-4).table.warning.str.contains("rounds").any()


def test_a_factor_that_rounds_to_one_in_bfloat16_is_flagged_for_that_tensor():
    model = Zoo()
    model.fc.to(torch.bfloat16)
    a = audit(model, lr=1e-3, wd=0.1)              # 1 − 1e-4: fine in float32, 1 in bfloat16
    r = rows(a)
    assert "rounds to 1 in bfloat16" in r["fc.weight"].warning and r["fc.weight"].dtype == "bfloat16"
    assert "rounds" not in r["conv.weight"].warning
    changed = {n for n, (b, after) in one_step(model, a, "adamw-torch", 1e-3, 0.1).items() if not torch.equal(b, after)}
    assert "fc.weight" not in changed and "conv.weight" in changed
    assert "rounds to 1 in float32 (and so in bfloat16)" in rows(audit(model, lr=1e-4, wd=1e-4))["fc.weight"].warning


def test_a_run_shorter_than_a_tenth_of_a_timescale_is_flagged():
    from explorer.analysis.convert import convert
    from explorer.core.schedules import Schedule

    t = audit(Zoo(), lr=1e-3, wd=1e-2, steps=1000, no_decay="dim").table     # N = α·λ·T = 0.01
    assert t.warning[t.decayed].str.contains("N = 0.01 < 0.1").all()
    assert t.N[t.decayed].tolist() == pytest.approx([0.01] * int(t.decayed.sum()))
    assert t.N[~t.decayed].isna().all()
    assert not audit(Zoo(), lr=1e-3, wd=1e-2, steps=100_000).table.warning.str.contains("N = ").any()
    # with a schedule, N is the converter's: α·λ·Σ_t η_t
    t = audit(Zoo(), lr=1e-3, wd=0.1, steps=500, schedule="cosine").table
    c = convert("adamw-torch", 1e-3, 0.1, 500, Schedule("cosine", total_steps=500))
    assert t.N.iloc[0] == pytest.approx(c.n, rel=1e-12) and t.N.iloc[0] == pytest.approx(0.025, rel=1e-2)
    assert not audit(Zoo(), lr=1e-3, wd=1e-2).table.warning.str.contains("N = ").any()   # no steps: not checked


def test_norm_gains_biases_and_embeddings_decayed_are_flagged():
    a = audit(Zoo(), lr=1e-2, wd=0.1)
    t = a.table
    flagged = set(t.parameter[t.warning.str.contains(" decayed")])
    assert flagged == {n for n, e in EXPECTED.items() if e[0] in ("norm gain", "norm bias", "bias", "embedding")}
    assert a.counts == {"rounds": 0, "short": 0, "spared": len(flagged)}
    t = audit(Zoo(), lr=1e-2, wd=0.1, no_decay="timm").table
    assert set(t.parameter[t.warning != ""]) == {"emb.weight"}


def test_summary_counts_each_rule():
    s = audit(Zoo(), lr=1e-2, wd=0.1).summary
    weights = sum(p.numel() for p in Zoo().parameters())
    dim = sum(p.numel() for p in Zoo().parameters() if p.ndim >= 2)
    assert re.search(rf"yours\s+13/13\s+{weights:,}/{weights:,}", s)
    assert re.search(rf"dim\s+3/13\s+{dim:,}/{weights:,}", s)
    assert re.search(r"name\s+6/13", s)
    assert "disagree on 3 tensor(s): scale, bn.weight, gate_scale.weight" in s
    assert "N (decay timescales over the run) not checked" in s


def test_csv_round_trip_and_the_python_entry_point():
    import explorer
    a = explorer.audit(Zoo(), lr=1e-4, wd=1e-4, steps=100)
    back = pd.read_csv(io.StringIO(a.to_csv()), keep_default_na=False)
    required = "parameter,shape,numel,kind,decayed,dim_rule,timm_rule,name_rule,shrink_per_step,warning".split(",")
    assert set(required) <= set(back.columns) and len(back) == len(EXPECTED)
    assert back.parameter.tolist() == list(EXPECTED)
    assert back.shrink_per_step.iloc[0] == pytest.approx(1 - 1e-8, rel=1e-12)
    with pytest.raises(TypeError, match="nn.Module"):
        audit(object())
    with pytest.raises(ValueError, match="unknown optimizer"):
        audit(Zoo(), optimizer="lamb")


MODEL_FILE = """
import torch
from torch import nn
from helper import width          # a neighbour of this file: importable as it would be at home


def build():
    return nn.Sequential(nn.Linear(4, width), nn.LayerNorm(width), nn.Linear(width, 2))


def not_a_model():
    return 3


def needs_args(n):
    return nn.Linear(n, n)
"""


@pytest.fixture
def model_file(tmp_path):
    (tmp_path / "helper.py").write_text("width = 8\n")
    path = tmp_path / "my_model.py"
    path.write_text(MODEL_FILE)
    (tmp_path / "broken.py").write_text("import torch\nraise RuntimeError('no GPU here')\n")
    (tmp_path / "syntax.py").write_text("def build(:\n")
    return path


def test_cli_writes_the_csv_and_prints_the_summary(model_file, tmp_path):
    out = tmp_path / "audit.csv"
    code, stdout, err = run_cli("audit", f"{model_file}:build", "--lr", "1e-4", "--wd", "1e-4", "--steps", "100",
                                "--schedule", "cosine", "--no-decay", "timm", "--out", str(out))
    assert code == 0, err
    t = pd.read_csv(out, keep_default_na=False)
    assert t.parameter.tolist() == ["0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"]
    assert t.decayed.tolist() == [True, False, False, False, True, False]
    assert t.kind.tolist() == ["linear weight", "bias", "norm gain", "norm bias", "linear weight", "bias"]
    assert "rounds to 1 in float32" in t.warning[0] and "N = " in t.warning[0]
    assert "timm" in stdout and "Warnings on 2 tensor(s)" in stdout
    code, stdout, err = run_cli("audit", f"{model_file}:build", "--optimizer", "adamw", "--wd", "0.5")
    assert code == 0 and stdout.startswith("parameter,shape,") and "AdamW (paper form)" in err
    assert pd.read_csv(io.StringIO(stdout)).shrink_per_step.tolist() == [0.5] * 6


@pytest.mark.parametrize("target, args, needle", [
    ("{dir}/nope.py:build", [], "nope.py: no such file"),
    ("{dir}/broken.py:build", [], "broken.py failed to import: RuntimeError: no GPU here"),
    ("{dir}/syntax.py:build", [], "syntax.py failed to import: SyntaxError"),
    ("{dir}/my_model.py:missing", [], "has no function missing"),
    ("{dir}/my_model.py:not_a_model", [], "not_a_model() returned int, not a torch.nn.Module"),
    ("{dir}/my_model.py:needs_args", [], "needs_args() raised TypeError"),
    ("{dir}/my_model.py", [], "expected FILE.py:FUNCTION"),
    ("{dir}/my_model.py:build", ["--lr", "0"], "--lr: must be > 0"),
    ("{dir}/my_model.py:build", ["--wd", "abc"], "--wd: expected a number"),
    ("{dir}/my_model.py:build", ["--wd", "nan"], "--wd: must be a finite number"),
    ("{dir}/my_model.py:build", ["--steps", "0"], "--steps"),
    ("{dir}/my_model.py:build", ["--optimizer", "lamb"], "--optimizer"),
    ("{dir}/my_model.py:build", ["--schedule", "exp"], "--schedule"),
    ("{dir}/my_model.py:build", ["--no-decay", ","], "--no-decay"),
    ("{dir}/my_model.py:build", ["--out", "/nonexistent-dir/a.csv"], "cannot write"),
])
def test_cli_bad_input_exits_2_with_one_line(model_file, target, args, needle):
    code, out, err = run_cli("audit", target.format(dir=model_file.parent), *args)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and needle in err and "Traceback" not in err


def test_cli_as_a_program(model_file):
    p = subprocess.run([sys.executable, "-m", "explorer", "audit", f"{model_file}:build", "--no-decay", "dim"],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert p.returncode == 0 and p.stdout.startswith("parameter,") and "Traceback" not in p.stderr, p.stderr
    p = subprocess.run([sys.executable, "-m", "explorer", "audit", f"{model_file.parent}/broken.py:build"],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr


def test_the_docs_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                          # the example writes audit.csv where it runs
    text = (ROOT / "docs" / "cli.md").read_text()
    section = text.split("## Your own model", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL).group(1)
    scope = {"__name__": "docs_example"}
    exec(compile(code, "docs/cli.md: Your own model", "exec"), scope)
    assert math.isfinite(scope["report"].table.numel.sum()) and (tmp_path / "audit.csv").exists()
