"""Export: every figure as a valid PNG/SVG, its data as CSV/JSON; the CLI `export` command."""
import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from conftest import run_cli
from PIL import Image

from explorer.interface.params import TRAJECTORY
from explorer.runs.sweep import SweepConfig, pow2
from explorer.runs.train import TrainConfig
from explorer.viz import figures, training_charts
from explorer.viz.export import export


def check(data: bytes, fmt: str, rows: int | None = None):
    if fmt == "png":
        img = Image.open(io.BytesIO(data))
        img.verify()
        assert img.size[0] > 200 and img.size[1] > 150
    elif fmt == "svg":
        root = ET.fromstring(data)
        assert root.tag.endswith("svg")
    elif fmt == "csv":
        df = pd.read_csv(io.BytesIO(data))
        assert rows is None or len(df) == rows
    else:
        doc = json.loads(data)
        assert set(doc) == {"parameters", "rows"} and (rows is None or len(doc["rows"]) == rows)


@pytest.mark.parametrize("fmt", ["png", "svg", "csv", "json"])
def test_every_view_exports(fmt):
    p = {k: s.default for k, s in TRAJECTORY.items()} | {"steps": 50}
    fig = figures.trajectory_figure(p)
    check(export(fig.chart, fig.frame, fmt, fig.meta), fmt, rows=2 * 51)
    fig = figures.train_figure(TrainConfig(steps=40, eval_every=20, width=16, train_samples=100), "cpu")
    check(export(fig.chart, fig.frame, fmt, fig.meta), fmt, rows=2 * 3)
    cfg = SweepConfig(lrs=pow2(-9, -8), wds=(("adam-l2", pow2(-8, -6, 2)), ("adamw", pow2(-12, -10, 2)),
                                             ("adamw-torch", pow2(-2, 0, 2))), seeds=1,
                      train=TrainConfig(steps=20, width=16, train_samples=100))
    fig = figures.sweep_figure(cfg, device="cpu")
    check(export(fig.chart, fig.frame, fmt, fig.meta), fmt, rows=3 * 2 * 2)


def test_each_single_chart_exports_with_its_parameters_in_the_title():
    p = {k: s.default for k, s in TRAJECTORY.items()} | {"steps": 30, "start": (-0.5, -0.5)}
    frame, div, fixed = figures.trajectory_data(p)
    for chart in figures.trajectory_charts(p, frame, div, fixed).values():
        svg = export(chart, frame, "svg").decode()
        assert "α=0.05" in svg and "30 steps" in svg
    part = training_charts.training_part(pd.DataFrame([{"optimizer": "adam-l2", "step": 0, "test_loss": 1.0}]),
                                "test_loss", ["adam-l2"])
    assert "seed 7" in export(training_charts.to_altair(part, "seed 7"), part[0], "svg").decode()


def test_json_has_no_nan_tokens():
    p = {k: s.default for k, s in TRAJECTORY.items()} | {"surface": "rosenbrock", "pair": "sgd", "lr": 1.0,
                                                         "steps": 40}
    fig = figures.trajectory_figure(p)
    text = export(fig.chart, fig.frame, "json", fig.meta).decode()
    assert "NaN" not in text and json.loads(text)["rows"][-1]["x"] is None


def test_cli_export_and_its_errors(tmp_path):
    out = tmp_path / "f.png"
    p = subprocess.run([sys.executable, "-m", "explorer", "export", "--view", "trajectory", "--format", "png",
                        "--out", str(out), "--surface", "himmelblau", "--start", "-1,-1", "--steps", "100"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    check(out.read_bytes(), "png")
    for bad in (["--view", "x", "--format", "png", "--out", "a"], ["--view", "train", "--format", "gif",
                "--out", "a"], ["--view", "trajectory", "--format", "png", "--out", "a", "--lr", "0"],
                ["--view", "train", "--format", "csv", "--out", "a", "--model", "vgg"]):
        code, _, err = run_cli("export", *bad)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
