"""Transfer beyond the learning rate: the sweep's rows along steps, training digits or batch size at one lr."""
import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from conftest import fresh, run_cli, specs

from explorer.analysis import transfer as transfer_analysis
from explorer.analysis.interpret import coupling
from explorer.interface.params import SWEEP_GRID
from explorer.runs import transfer
from explorer.runs.axes import AXES, ROW_AXES
from explorer.runs.sweep import SweepConfig, pow2, run_sweep
from explorer.runs.train import TrainConfig

FORMS = ("adam-l2", "adamw", "adamw-torch")


def synthetic(column: str, target: dict, wds=pow2(-6, 0), flat=(), seeds=(0, 1)) -> pd.DataFrame:
    """A frame whose loss per row is (log2 λ − target)² + 1: its best λ is 2^target exactly."""
    rows = []
    for value, t in target.items():
        for wd in wds:
            for s in seeds:
                loss = 1.0 if value in flat else (math.log2(wd) - t) ** 2 + 1.0 + 0.01 * s
                rows.append({column: value, "optimizer": "adamw", "lr": 0.01, "wd": wd, "seed": s,
                             "train_loss": loss, "test_loss": loss, "test_error": 0.1, "diverged": False})
    return pd.DataFrame(rows)


def test_the_slope_along_an_axis_is_the_hand_computed_least_squares_line():
    # best λ 2^-2, 2^-4, 2^-3 at steps 100, 200, 400: x − x̄ = −1, 0, 1 and y − ȳ = 1, −1, 0, so
    # slope = Σ(x − x̄)(y − ȳ)/Σ(x − x̄)² = (−1·1 + 0 + 1·0)/2 = −0.5 and intercept = ȳ − slope·x̄
    frame = synthetic("steps", {100: -2, 200: -4, 400: -3, 800: -1}, flat=(800,))
    c = coupling(frame, "adamw", row="steps")
    assert c.best_wd == {100: 0.25, 200: 2.0 ** -4, 400: 0.125, 800: 2.0 ** -6}
    assert c.flat_rows == (800,)                      # λ does not matter there: left out of the fit
    assert c.slope == pytest.approx(-0.5)
    assert c.intercept == pytest.approx(-3 + 0.5 * math.log2(200))
    # the same numbers as the lr measure on the same frame with the column renamed
    same = coupling(frame.drop(columns="lr").rename(columns={"steps": "lr"}), "adamw")
    assert (same.slope, same.best_wd, same.flat_rows) == (c.slope, c.best_wd, c.flat_rows)
    # edge rows are marked as the lr measure marks them: best λ 2^0 is the grid's last value
    edge = coupling(synthetic("batch_size", {8: -3, 16: 0}), "adamw", row="batch_size")
    assert edge.edge_rows == (16,) and edge.slope == pytest.approx(3.0)


def _rule_lambda_torch(rule: str, lr: float, steps: int, n: int, b: int) -> float:
    """Each rule written out: τ_epoch = τ_iter·b/N with τ_iter = 1/(α·λ_torch) held at 10 epochs; or τ_iter
    held at a quarter of the run."""
    if rule == "τ in epochs":
        return b / (n * lr * 10.0)
    return 1.0 / (lr * 0.25 * steps)


@pytest.mark.parametrize("rule", list(transfer_analysis.RULES))
@pytest.mark.parametrize("axis", ROW_AXES)
def test_predicted_slopes_follow_from_each_rule_by_hand(rule, axis):
    point = {"lr": 0.01, "steps": 300, "n": 300, "b": 32}
    key = {"lr": "lr", "steps": "steps", "train-samples": "n", "batch-size": "b"}[axis]
    for name, power in (("adamw-torch", 1), ("adamw", 0)):          # λ_form = α^(1 − k)·λ_torch
        def lam(p):
            return p["lr"] ** (1 - power) * _rule_lambda_torch(rule, p["lr"], p["steps"], p["n"], p["b"])
        doubled = {**point, key: point[key] * 2}
        want = math.log2(lam(doubled) / lam(point))
        assert transfer_analysis.predicted_slope(rule, axis, name) == pytest.approx(want, abs=1e-12), (name, axis)
    assert transfer_analysis.predicted_slope(rule, axis, "adam-l2") is None


def tiny(seeds=1) -> SweepConfig:
    wds = pow2(-8, -2, 3)
    return SweepConfig(lrs=(2.0 ** -6, 2.0 ** -4), seeds=seeds,
                       wds=(("adam-l2", wds), ("adamw", pow2(-12, -6, 3)), ("adamw-torch", wds)),
                       train=TrainConfig(width=16, depth=1, steps=12, train_samples=100, batch_size=16))


def test_axis_lr_is_todays_sweep_bit_for_bit():
    base = tiny()
    assert transfer.axis_sweep(base, "lr", None) is base
    other = transfer.axis_sweep(base, "lr", (2.0 ** -6, 2.0 ** -4))
    assert other == base
    pd.testing.assert_frame_equal(run_sweep(other, "cpu"), run_sweep(base, "cpu"), check_exact=True)


@pytest.mark.parametrize("axis,values", [("steps", (6, 12)), ("train-samples", (50, 100)), ("batch-size", (8, 32))])
def test_a_sweep_along_an_axis_equals_separate_one_row_sweeps_cell_by_cell(axis, values):
    cfg = transfer.axis_sweep(tiny(seeds=2), axis, values)
    assert cfg.lr == 2.0 ** -4                            # the middle of the grid's lrs (sorted, upper middle)
    frame = transfer.run(cfg, "cpu")
    field = AXES[axis].field
    assert list(frame.columns) == [field, "optimizer", "lr", "wd", "seed", "train_loss", "test_loss",
                                   "test_error", "diverged"]
    for v in values:
        one = dataclasses.replace(cfg.base, train=dataclasses.replace(cfg.base.train, **{field: v}))
        want = run_sweep(one, "cpu")
        got = frame[frame[field] == v].drop(columns=field).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    # the rows differ: the axis changed the training, so the equality says something
    a, b = (frame[frame[field] == v]["test_loss"].to_numpy() for v in values)
    assert not np.array_equal(a, b)


def test_bad_axis_sweeps_are_refused():
    with pytest.raises(ValueError, match="whole numbers"):
        transfer.axis_sweep(tiny(), "steps", (1.5,))
    with pytest.raises(ValueError, match="from 10 to"):
        transfer.axis_sweep(tiny(), "train-samples", (5,))
    with pytest.raises(ValueError, match="one lr"):
        transfer.AxisSweep(tiny(), "steps", (10,))
    with pytest.raises(ValueError, match="unknown row axis"):
        transfer.AxisSweep(dataclasses.replace(tiny(), lrs=(0.01,)), "depth", (1,))


def test_the_verdict_names_which_rule_the_slopes_match():
    text = transfer_analysis.verdict_text("steps", {"adam-l2": 0.3, "adamw": -0.9, "adamw-torch": -1.1})
    first, second = text.split("*τ ∝ run*")
    assert "does not match" in first and "**matches**" in second and "Wang & Aitchison" in first
    assert "none in general" in text
    assert "No decoupled form" in transfer_analysis.verdict_text("steps", {"adamw": math.nan})


def test_prediction_lines_pass_through_the_mean_of_the_counted_points_with_the_rules_slope():
    t = transfer_analysis.Transfer("train-samples", {"adamw": 0.5}, pd.DataFrame({
        "optimizer": ["adamw"] * 3, "value": [100.0, 200.0, 400.0], "best_wd": [2.0 ** -3, 2.0 ** -2, 1.0],
        "counted": [True, True, False], "edge": [False] * 3}), "")
    lines = transfer_analysis.prediction_lines(t)
    epochs = lines[lines["rule"] == "τ in epochs"]          # slope −1 through (log2 141.4, −2.5)
    assert list(epochs["value"]) == [100.0, 200.0]
    assert np.log2(epochs["best_wd"]).tolist() == pytest.approx([-2.0, -3.0])


def test_cli_sweep_along_an_axis_and_its_bad_input(tmp_path):
    out = tmp_path / "t.csv"
    code, stdout, err = run_cli("sweep", "--axis", "train-samples", "--values", "50,100", "--lrs", "0.01",
                                "--wds", "0.001,0.1", "--steps", "8", "--seeds", "1", "--out", str(out))
    assert code == 0, err
    frame = pd.read_csv(out)
    assert sorted(frame["train_samples"].unique()) == [50, 100] and set(frame["lr"]) == {0.01}
    assert len(frame) == 2 * 3 * 2                             # rows × forms × λ values
    lines = stdout.strip().splitlines()
    assert [l.split()[2] for l in lines] == list(FORMS)
    assert "predicted: τ in epochs -1, τ ∝ run +0" in lines[2] and "predicted" not in lines[0]
    for bad, what in ((("--axis", "depth"), "--axis"), (("--axis", "steps"), "--values"),
                      (("--axis", "steps", "--values", "1.5"), "--values"),
                      (("--axis", "batch-size", "--values", "8,0"), "--values"),
                      (("--axis", "batch-size", "--values", "8", "--lrs", "0.1,0.2"), "--lrs"),
                      (("--axis", "lr", "--values", "0.1", "--lrs", "0.1,0.2"), "--values")):
        code, _, err = run_cli("sweep", *bad)
        assert code == 2 and len(err.strip().splitlines()) == 1 and what in err, (bad, err)


def test_the_app_specs_match_the_cli_axes():
    assert SWEEP_GRID["axis"].choices == ROW_AXES
    for axis, field in ((a.name, a.field) for a in AXES.values() if a.rows):
        if axis != "lr":
            spec = SWEEP_GRID[f"rows_{field}"]
            assert transfer.check_values(axis, spec.options) == spec.options      # every stop is a valid value


LINK = {"s_axis": "train-samples", "s_rows_train_samples": "75,150", "s_lr": "-6", "s_n_wd": "3", "s_seeds": "1",
        "s_steps": "100"}


def test_a_link_restores_the_axis_and_a_click_draws_heat_maps_along_it():
    at = fresh(LINK, view="sweep")
    assert not at.exception and not at.warning
    assert at.selectbox(key="s_axis").value == "train-samples"
    assert at.select_slider(key="s_rows_train_samples").value == (75, 150)
    assert at.slider(key="s_lr").value == -6 and at.slider(key="s_lr_range").disabled
    at.button(key="s_run").click().run(timeout=300)
    assert not at.exception
    drawn = specs(at)
    titles = [str(s.get("title", "")) for s in drawn]
    assert sum("slope" in t for t in titles) == 4 and any("Best λ along training digits" in t for t in titles)
    heat = [s for s in drawn if "AdamW (paper form) · slope" in str(s.get("title", ""))][0]
    assert "training digits (log₂)" in str(heat)                     # the rows' axis names the setting
    assert any("Transfer along training digits" in m.value for m in at.markdown)
    # the share link holds the axis controls: a new session from it restores them and the cached result
    from explorer.ui import urlstate
    params = at.session_state[urlstate._LINK]
    assert {k: params[k] for k in ("s_axis", "s_rows_train_samples", "s_lr")} == \
        {"s_axis": "train-samples", "s_rows_train_samples": "75,150", "s_lr": "-6"}
    again = fresh(params, view="sweep")
    assert not again.exception and not again.warning
    assert again.button(key="s_run").disabled                        # the same sweep: cached, drawn at once
    assert any("Transfer along training digits" in m.value for m in again.markdown)
    # back to lr rows: the axis's own controls leave the link (a link holds only controls that are shown)
    again.selectbox(key="s_axis").set_value("lr").run()
    assert not again.exception
    assert not {"s_axis", "s_rows_train_samples", "s_lr"} & set(again.session_state[urlstate._LINK])


def test_bad_axis_values_in_a_link_warn_by_name_and_fall_back():
    at = fresh({"s_axis": "depth", "s_rows_steps": "150,7", "s_lr": "3"}, view="sweep")
    assert not at.exception
    text = " ".join(w.value for w in at.warning)
    assert "s_axis" in text and "s_lr" in text
    assert at.selectbox(key="s_axis").value == "lr"


def test_export_of_a_sweep_along_an_axis_keeps_the_axis(tmp_path):
    out = tmp_path / "t.json"
    code, _, err = run_cli("export", "--view", "sweep", "--format", "json", "--out", str(out), "--axis", "batch-size",
                           "--values", "8,16", "--seeds", "1", "--steps", "6", "--wds", "0.01,1", "--train-samples",
                           "100")
    assert code == 0, err
    import json
    got = json.loads(out.read_text())
    assert got["parameters"]["axis"] == "batch-size" and got["parameters"]["values"] == [8, 16]
    assert sorted({r["batch_size"] for r in got["rows"]}) == [8, 16]
