"""Your data without the app: the upload's limits and one-line messages, the record a TrainConfig carries (equal and
hashed by its content), training and sweeping on it, and CSV exports that a spreadsheet cannot run."""
import copy
import pickle
from dataclasses import replace

import pytest
import torch

from explorer.core.tables import DataError
from explorer.core.yourdata import MAX_BYTES, MAX_CLASSES, MAX_FEATURES, MAX_ROWS, MIN_ROWS, table_data


def csv(rows=90, features=3, classes=("a", "b", "c"), name="f", target="label", shift=0.0) -> bytes:
    head = ",".join([f"{name}{i}" for i in range(features)] + [target])
    lines = [head] + [",".join([f"{((r * 7 + i * 3) % 11) - 5 + shift:g}" for i in range(features)]
                               + [classes[r % len(classes)]]) for r in range(rows)]
    return ("\n".join(lines) + "\n").encode()


GOOD = csv()

BAD = {
    "empty": (b"", "empty file"),
    "not UTF-8": (GOOD[:40] + b"\xff\xfe" + GOOD[40:], "not UTF-8"),
    "ragged": (GOOD.replace(b"\n", b",9\n", 5).replace(b",9\n", b"\n", 4), "row 5: 5 cells"),
    "a text cell": (GOOD.replace(b"\n-1,", b"\nabc,", 1), "'abc' is not a number"),
    "no target value": (GOOD.replace(b",b\n", b",\n", 1), "empty label"),
    "header only": (b"f0,label\n", "a header and no data rows"),
    "one class": (csv(classes=("a",)), "one class only"),
    "too big": (GOOD + b"#" * MAX_BYTES, "over the limit of"),
    "too many rows": (csv(rows=MAX_ROWS + 5), f"over the limit of {MAX_ROWS:,}"),
    "too few rows": (csv(rows=MIN_ROWS - 1), f"at least {MIN_ROWS}"),
    "too many columns": (csv(features=MAX_FEATURES + 1), f"over the limit of {MAX_FEATURES} features"),
    "too many classes": (csv(rows=200, classes=tuple(str(k / 10) for k in range(MAX_CLASSES + 1))),
                         f"over the limit of {MAX_CLASSES} classes"),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_file_is_one_line_naming_where(case):
    raw, said = BAD[case]
    with pytest.raises(DataError) as e:
        table_data(raw, "mine.csv", "label")
    message = str(e.value)
    assert said in message and message.startswith("mine.csv") and "\n" not in message


def test_a_missing_target_names_the_columns():
    with pytest.raises(DataError, match=r"no column 'y' \(columns: f0, f1, f2, label\)"):
        table_data(GOOD, "mine.csv", "y")


def test_the_record_is_equal_by_content_and_travels_whole():
    a, b = table_data(GOOD, "one.csv", "label"), table_data(GOOD, "two.csv", "label")
    other = table_data(csv(shift=0.5), "one.csv", "label")
    assert a == b and hash(a) == hash(b) and a != other and hash(a) != hash(other)
    assert a.name not in repr(a) and "tensor" not in repr(a)
    back = pickle.loads(pickle.dumps(a))
    assert back == a and torch.equal(back.x_test, a.x_test) and back.classes == ("a", "b", "c")
    assert copy.deepcopy(a) is a
    with pytest.raises(AttributeError):
        a.name = "x"


def test_a_fixed_seeded_test_third_standardized_by_the_training_rows():
    d = table_data(GOOD, "g.csv", "label")
    assert (d.train_rows, len(d.y_test)) == (60, 30)
    assert torch.equal(table_data(GOOD, "g.csv", "label").x_test, d.x_test)       # the same rows every time
    ds = d.dataset(40)
    assert ds.x_train.shape == (40, 3) and ds.x_test.shape == (30, 3) and ds.classes == 3
    assert torch.allclose(ds.x_train.mean(0), torch.zeros(3), atol=1e-5)
    assert d.dataset(10_000).x_train.shape[0] == 60                                 # all of them, at most


def test_trainer_and_sweep_run_on_your_data_and_presets_never_answer_for_it():
    from explorer.runs.precomputed import shipped
    from explorer.runs.sweep import PRESETS, SweepConfig, pow2, run_sweep
    from explorer.runs.train import TrainConfig, Trainer

    data = table_data(csv(rows=120, features=5, classes=("0", "1", "2", "3")), "g.csv", "label")
    cfg = TrainConfig(steps=60, data=data)
    assert cfg != TrainConfig(steps=60) and cfg == TrainConfig(steps=60, data=table_data(
        csv(rows=120, features=5, classes=("0", "1", "2", "3")), "other.csv", "label"))
    spec = cfg.model_spec
    assert (spec.inputs, spec.classes, cfg.train_count) == (5, 4, 80)
    rows = Trainer(cfg, "cpu").run()
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    assert shipped(PRESETS["coupling"]) is not None
    assert shipped(replace(PRESETS["coupling"], train=replace(PRESETS["coupling"].train, data=data))) is None
    small = SweepConfig(lrs=pow2(-8, -6, 2), wds=(("adam-l2", pow2(-9, -5, 2)), ("adamw-torch", pow2(-2, 2, 2))),
                        seeds=1, train=TrainConfig(steps=30, train_samples=100))
    mine = run_sweep(replace(small, train=replace(small.train, data=data)), "cpu")
    assert len(mine) == 8 and not mine.test_loss.equals(run_sweep(small, "cpu").test_loss)


def test_csv_export_neutralizes_text_that_starts_like_a_formula():
    import pandas as pd

    from explorer.viz.export import data_bytes
    frame = pd.DataFrame({'=HYPERLINK("http://x.example","click")': [-1.5, 2.0], "label": ["-1", "@SUM(A1)"],
                          "+n": [-3, 4], "ok": ["-2+3", "plain"]})
    text = data_bytes(frame, "csv").decode().splitlines()
    assert text[0] == '"\'=HYPERLINK(""http://x.example"",""click"")",label,\'+n,ok'
    assert text[1] == "-1.5,-1,-3,'-2+3" and text[2] == "2,'@SUM(A1),4,plain"


def test_an_export_s_metadata_summarizes_the_data():
    import dataclasses
    import json

    import pandas as pd

    from explorer.runs.train import TrainConfig
    from explorer.viz.export import data_bytes
    data = table_data(GOOD, "g.csv", "label")
    meta = json.loads(data_bytes(pd.DataFrame({"a": [1]}), "json", dataclasses.asdict(TrainConfig(data=data))))
    assert meta["parameters"]["data"] == data.summary() and meta["parameters"]["data"]["sha256"] == data.digest
