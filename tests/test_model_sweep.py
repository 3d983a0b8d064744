"""Sweeps of your own model (explorer.sweep_model, python -m explorer sweep --model FILE.py:FUNCTION): every cell
equals a plain torch.optim loop on the same model, initial weights and batches; the one-at-a-time fallback gives
the same numbers and says why once; bad files and CSVs exit 2 with one line naming file, row and column.

Tolerance: the batched path computes every run's forward and backward as one vmapped computation (a bmm or a
grouped convolution where the loop does one mm or convolution per model), so its sums run in another order: float32
round-off, about 1e-7 relative per operation, which a few Adam steps (each normalized by √v̂) carry into the
weights. After 12 steps the losses agree to 2e-7 relative here (MLP, CNN, LayerNorm, embedding) and 8e-5 with
BatchNorm (it divides by a batch's standard deviation, and Adam's first steps are ±α whatever a gradient's size, so a
round-off in a near-zero gradient moves a weight by a whole step); the test allows 2e-4 relative + 1e-5 absolute,
and a test error differing by at most one sample (a borderline argmax may flip)."""
import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from explorer.core.data import ShuffledEpochs, _digits, digits
from explorer.core.forms import FORMS
from explorer.core.grouping import decay_mask
from explorer.core.schedules import Schedule
from explorer.core.tables import DataError, load_tables, read_table
from explorer.interface.cli import main
from explorer.runs.model_sweep import sweep_model

STEPS, BATCH = 12, 32
LRS, WDS = (1e-3, 1e-2), (1e-3, 0.3)
DATA = digits(200)
TRAIN, TEST = (DATA.x_train, DATA.y_train), (DATA.x_test[:200], DATA.y_test[:200])
_RAW = torch.from_numpy(_digits()[0]).long()       # pixel intensities 0 … 16, as tokens for the embedding model
TOKENS_TRAIN, TOKENS_TEST = (_RAW[:200], torch.from_numpy(_digits()[1][:200])), \
    (_RAW[200:400], torch.from_numpy(_digits()[1][200:400]))


def mlp():
    return nn.Sequential(nn.Linear(64, 24), nn.ReLU(), nn.Linear(24, 10))


def cnn():
    return nn.Sequential(nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64, 10))


def layernorm():
    return nn.Sequential(nn.Linear(64, 24), nn.LayerNorm(24), nn.ReLU(), nn.Linear(24, 10))


def batchnorm():
    # no bias before the BatchNorm: its exact gradient is 0, so Adam would turn the round-off in it into steps of
    # ±α (a float32 coin toss in any two implementations, not a difference of the engine's)
    return nn.Sequential(nn.Linear(64, 24, bias=False), nn.BatchNorm1d(24), nn.ReLU(), nn.Linear(24, 10))


def embedding():
    return nn.Sequential(nn.Embedding(17, 3), nn.Flatten(), nn.Linear(64 * 3, 10))


class WithItem(nn.Module):
    """.item() in the forward: vmap cannot batch it."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(64, 16), nn.Linear(16, 10)

    def forward(self, x):
        h = torch.relu(self.a(x))
        scale = 1.0 if h.mean().item() < 10 else 0.5
        return self.b(h * scale)


class Branching(nn.Module):
    """Control flow on a tensor's value."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(64, 16), nn.Linear(16, 10)

    def forward(self, x):
        h = self.a(x)
        h = torch.relu(h) if h.sum() > -1e6 else torch.tanh(h)
        return self.b(h)


def reference(build, train, test, form, lr, wd, seed, *, steps=STEPS, schedule="constant", no_decay="none"):
    """The loop a user writes: torch.manual_seed(S); build(); the form's torch.optim class (fused, as the engine);
    the built-in sweep's batch order; evaluation over the whole sets in eval mode."""
    torch.manual_seed(seed)
    model = build()
    mask = decay_mask(model, no_decay)
    named = list(model.named_parameters())
    groups = [{"params": [p for (_, p), m in zip(named, mask) if m]},
              {"params": [p for (_, p), m in zip(named, mask) if not m], "weight_decay": 0.0}]
    groups = [g for g in groups if g["params"]]
    f, sched = FORMS[form], Schedule(schedule, total_steps=steps, t0=max(1, steps // 5))
    if f.torch is None:        # SGDW has no torch class: the paper's θ ← θ − η_t·λ·θ by hand, then torch's SGD step
        opt = torch.optim.SGD(groups, lr=lr, momentum=0.9, weight_decay=0.0, fused=True)
    else:
        kw = {"momentum": 0.9} if f.precond.value == "sgd" else {}
        opt = f.torch.build(groups, lr, wd, fused=True, **kw)
    lr_sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: sched.multiplier(e + 1))
    batches = ShuffledEpochs(len(train[1]), BATCH, seed + 1)
    for t in range(1, steps + 1):
        idx = batches.next()
        model.train()
        loss = nn.functional.cross_entropy(model(train[0][idx]), train[1][idx])
        opt.zero_grad()
        loss.backward()
        if f.torch is None:
            with torch.no_grad():
                for p in groups[0]["params"]:
                    p.mul_(1 - sched.multiplier(t) * wd)
        opt.step()
        lr_sched.step()
    model.eval()
    with torch.no_grad():
        out = model(test[0])
        return {"train_loss": float(nn.functional.cross_entropy(model(train[0]), train[1])),
                "test_loss": float(nn.functional.cross_entropy(out, test[1])),
                "test_error": float((out.argmax(-1) != test[1]).double().mean())}


def assert_matches_loop(frame, build, train, test, **kw):
    assert list(frame.columns) == ["optimizer", "lr", "wd", "seed", "train_loss", "test_loss", "test_error",
                                   "diverged"]
    for row in frame.itertuples():
        ref = reference(build, train, test, row.optimizer, row.lr, row.wd, row.seed, **kw)
        for k in ("train_loss", "test_loss"):
            assert math.isclose(getattr(row, k), ref[k], rel_tol=2e-4, abs_tol=1e-5), (row, k, ref)
        assert abs(row.test_error - ref["test_error"]) <= 1 / len(test[1]) + 1e-12, (row, ref)
        assert not row.diverged


@pytest.mark.parametrize("build, train, test", [(mlp, TRAIN, TEST), (cnn, TRAIN, TEST), (layernorm, TRAIN, TEST),
                                                (batchnorm, TRAIN, TEST),
                                                (embedding, TOKENS_TRAIN, TOKENS_TEST)],
                         ids=["mlp", "cnn", "layernorm", "batchnorm", "embedding"])
def test_every_cell_equals_the_torch_optim_loop(build, train, test):
    notes = []
    frame = sweep_model(build, train, test, lrs=LRS, wds=WDS, steps=STEPS, batch_size=BATCH, seeds=1,
                        schedule="constant", notice=notes.append)
    assert not notes and frame.attrs["one_at_a_time"] == ""
    assert len(frame) == 3 * len(LRS) * len(WDS)
    assert_matches_loop(frame, build, train, test)


def test_sgd_pair_a_schedule_a_grouping_and_a_second_seed():
    frame = sweep_model(layernorm, TRAIN, TEST, lrs=(0.05,), wds=(1e-3, 0.1), pair="sgd", steps=STEPS,
                        batch_size=BATCH, seeds=2, schedule="cosine", no_decay="timm")
    assert set(frame["optimizer"]) == {"sgd-l2", "sgdw"} and set(frame["seed"]) == {0, 1}
    assert_matches_loop(frame, layernorm, TRAIN, TEST, schedule="cosine", no_decay="timm")


@pytest.mark.parametrize("build, why", [(WithItem, ".item()"), (Branching, "control flow")])
def test_a_model_vmap_cannot_batch_runs_one_at_a_time_with_the_same_numbers(build, why):
    notes = []
    frame = sweep_model(build, TRAIN, TEST, lrs=(1e-2,), wds=WDS, steps=STEPS, batch_size=BATCH, seeds=2,
                        schedule="constant", notice=notes.append)
    assert len(notes) == 1 and why in notes[0] and "\n" not in notes[0], notes
    assert why in frame.attrs["one_at_a_time"]
    assert_matches_loop(frame, build, TRAIN, TEST)


def test_dropout_differs_per_run_and_is_deterministic_and_the_callers_generator_is_untouched():
    def dropout():
        return nn.Sequential(nn.Linear(64, 24), nn.ReLU(), nn.Dropout(0.5), nn.Linear(24, 10))

    kw = dict(lrs=(1e-2,), wds=(1e-3, 1e-3), pair="adam", steps=6, batch_size=BATCH, seeds=1)
    torch.manual_seed(123)
    a = sweep_model(dropout, TRAIN, TEST, **kw)
    after = torch.rand(1)
    torch.manual_seed(123)
    b = sweep_model(dropout, TRAIN, TEST, **kw)
    pd.testing.assert_frame_equal(a, b)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(1), after)
    # the two identical cells of each form differ only by their dropout masks
    for _, g in a.groupby("optimizer"):
        assert g["train_loss"].iloc[0] != g["train_loss"].iloc[1]


def test_mse_test_error_is_the_test_mse():
    x = torch.randn(80, 5, generator=torch.Generator().manual_seed(0))
    y = x @ torch.arange(1.0, 6.0) / 5
    frame = sweep_model(lambda: nn.Linear(5, 1), (x[:60], y[:60]), (x[60:], y[60:]), lrs=(1e-2,), wds=(1e-3,),
                        steps=5, batch_size=16, seeds=1, loss="mse")
    assert np.allclose(frame["test_error"], frame["test_loss"])


def test_the_result_reads_like_a_preset_sweep():
    from explorer.analysis.interpret import coupling, interpret
    frame = sweep_model(mlp, TRAIN, TEST, lrs=LRS, wds=WDS, steps=4, batch_size=BATCH, seeds=1)
    cfg = frame.attrs["sweep_config"]
    couplings = {n: coupling(frame, n) for n in cfg.optimizers}
    assert interpret(cfg, frame, couplings).l2 == "adam-l2"


# --- CSV tables --------------------------------------------------------------------------------------------------

def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize("text, said", [
    ("", "empty file"),
    ("a,b,y\n", "no data rows"),
    ("a,b,label\n1,2,0\n3,4,1\n", "no column 'y'"),
    ("a,b,y\n1,2,0\n3,x,1\n", "row 3, column 'b': 'x' is not a number"),
    ("a,b,y\n1,2,0\n3,4,1\n5,6\n", "row 4: 2 cells, but the header has 3 columns"),
    ("a,b,y\n1,2,0\n3,4,0\n", "column 'y': one class only"),
    ("a,b,y\n1,,0\n3,4,1\n", "row 2, column 'b': empty cell"),
    ("a,b,y\n1,nan,0\n3,4,1\n", "row 2, column 'b': 'nan' is not a finite number"),
    (b"a,b,y\n1,2,\xff\n", "not UTF-8"),
])
def test_a_bad_csv_is_one_line_naming_file_row_and_column(tmp_path, text, said):
    path = write(tmp_path, "train.csv", text)
    with pytest.raises(DataError) as e:
        read_table(path, "y")
    assert said in str(e.value) and str(path) in str(e.value) and "\n" not in str(e.value)


def test_labels_become_class_indices_and_the_test_file_shares_them(tmp_path):
    train = write(tmp_path, "train.csv", "a,y,b\n1,cat,2\n3,dog,4\n5,cat,6\n")
    test = write(tmp_path, "test.csv", "b,y,a\n2,dog,1\n")
    tr, te = load_tables(train, "y", test=test)
    assert tr.classes == ("cat", "dog") and tr.y.tolist() == [0, 1, 0] and tr.features == ("a", "b")
    assert te.y.tolist() == [1] and te.x.tolist() == [[1.0, 2.0]]
    numeric = read_table(write(tmp_path, "n.csv", "a,y\n1,10\n2,9\n3,10\n"), "y")
    assert numeric.classes == ("9", "10") and numeric.y.tolist() == [1, 0, 1]
    with pytest.raises(DataError, match=r"row 2, column 'y': class 'bird'"):
        load_tables(train, "y", test=write(tmp_path, "t2.csv", "a,b,y\n1,2,bird\n"))


def test_the_split_is_a_seeded_shuffle_and_features_stay_as_given(tmp_path):
    rows = "".join(f"{i},{i % 2}\n" for i in range(20))
    path = write(tmp_path, "d.csv", "a,y\n" + rows)
    a, b = load_tables(path, "y", test_fraction=0.25), load_tables(path, "y", test_fraction=0.25)
    assert torch.equal(a[1].x, b[1].x) and len(a[1]) == 5 and len(a[0]) == 15
    assert sorted(torch.cat([a[0].x, a[1].x]).flatten().tolist()) == list(map(float, range(20)))
    s_train, _ = load_tables(path, "y", test_fraction=0.25, standardize=True)
    assert abs(float(s_train.x.mean())) < 1e-5


# --- the command line --------------------------------------------------------------------------------------------

MODEL_FILE = """
from torch import nn

def build():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))

def not_a_model():
    return 42
"""


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4))
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)
    body = "".join(",".join(f"{v:.4f}" for v in r) + f",{c}\n" for r, c in zip(x, y))
    return {"model": write(tmp_path, "model.py", MODEL_FILE),
            "data": write(tmp_path, "d.csv", "a,b,c,d,label\n" + body),
            "broken": write(tmp_path, "broken.py", "import not_a_module_here\n"), "dir": tmp_path}


def run_cli(capsys, *argv):
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:
        rc = e.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_writes_the_usual_csv_and_the_slopes(capsys, files):
    out = files["dir"] / "sweep.csv"
    rc, stdout, err = run_cli(capsys, "sweep", "--model", f"{files['model']}:build", "--data", files["data"],
                              "--target", "label", "--lrs", "0.001,0.01", "--wds", "0.001,0.1", "--steps", 5,
                              "--seeds", 1, "--out", out)
    assert rc == 0, err
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["optimizer", "lr", "wd", "seed", "train_loss", "test_loss", "test_error",
                                   "diverged"]
    assert len(frame) == 12 and "coupling slope adamw-torch" in stdout


@pytest.mark.parametrize("args, said", [
    (["--model", "{broken}:build"], "broken.py failed to import: ModuleNotFoundError"),
    (["--model", "{model}:not_a_model"], "not_a_model() returned int, not a torch.nn.Module"),
    (["--model", "{model}:build", "--target", "nope"], "d.csv: no column 'nope'"),
    (["--model", "{model}:build", "--data", "{dir}/text.csv"], "text.csv, row 3, column 'b': 'x' is not a number"),
    (["--model", "{model}:build", "--data", "{dir}/one.csv"], "one.csv, column 'label': one class only"),
    (["--model", "{model}:build", "--data", "{dir}/ragged.csv"], "ragged.csv, row 3: 2 cells"),
    (["--model", "{model}:build", "--train-samples", "100"], "argument --train-samples"),
    (["--data", "{data}"], "argument --data: needs --model FILE.py:FUNCTION"),
])
def test_cli_bad_input_exits_2_with_one_line(capsys, files, args, said):
    write(files["dir"], "text.csv", "a,b,c,d,label\n1,2,3,4,0\n1,x,3,4,1\n")
    write(files["dir"], "one.csv", "a,b,c,d,label\n1,2,3,4,0\n1,2,3,4,0\n")
    write(files["dir"], "ragged.csv", "a,b,c,d,label\n1,2,3,4,0\n1,2\n")
    base = {"--data": str(files["data"]), "--target": "label"}
    given = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    for flag, value in base.items():
        if flag not in given and "--model" in given:
            given += [flag, value]
    rc, _, err = run_cli(capsys, "sweep", *given, "--steps", 2, "--seeds", 1)
    assert rc == 2 and said in err and err.count("\n") == 1 and "Traceback" not in err, err
