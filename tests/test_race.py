"""Watching the race: the playback parameter in every trajectory chart, the step readout, the clickable start
grid, the finished live run's scrubber, the player's HTML, and the animated GIF (app and CLI)."""
import io
import json

import numpy as np
import pandas as pd
import pytest
from conftest import finished_live_run, fresh, run_cli, specs
from PIL import Image

from explorer.core.surfaces import SURFACES
from explorer.interface.params import TRAJECTORY
from explorer.ui.player import player_html
from explorer.viz import animate, chartkit, figures, playback, training_charts
from explorer.viz.export import chart_bytes


def view(**kw):
    p = {k: s.default for k, s in TRAJECTORY.items()} | kw
    return {**p, "start": p["start"] or SURFACES[p["surface"]].start}


@pytest.fixture(scope="module")
def short():
    p = view(steps=40)
    return p, figures.trajectory_data(p)


def test_frame_steps_are_every_step_of_a_short_run_and_evenly_spaced_beyond():
    assert list(chartkit.frame_steps(40)) == list(range(41))
    long = chartkit.frame_steps(5000)
    assert len(long) == chartkit.MAX_FRAMES and long[0] == 0 and long[-1] == 5000
    assert set(np.diff(long)) <= {25, 26}
    assert animate.frame_schedule(10, 4) == [0, 3, 6, 10]
    assert animate.frame_schedule(3, 6) == [0, 1, 2, 3, 3, 3]        # beyond the path's end: the last frame


def test_every_trajectory_chart_plays_back_from_one_parameter(short):
    p, (frame, div, fixed) = short
    for name, chart in figures.trajectory_charts(p, frame, div, fixed, clickable=True).items():
        spec = chartkit.spec(chart)
        race = [q for q in spec["params"] if q["name"] == chartkit.RACE]
        assert race == [{"name": chartkit.RACE, "value": 40, "bind": {"input": "range", "max": 40, "min": 0,
                                                                      "step": 1}}], name
        text = json.dumps(spec["layer"])
        assert f"datum.step <= {chartkit.RACE}" in text, name
        assert ("start" in {q["name"] for q in spec["params"]}) == (name not in ("loss", "norm"))


@pytest.mark.parametrize("step", [0, 17, 40])
def test_the_readout_says_the_step_loss_and_norm_of_the_focus_run(short, step):
    p, (frame, div, fixed) = short
    panel = chartkit.spec(figures.trajectory_charts(p, frame, div, fixed)["adam-l2"])
    panel["params"] = [{**q, "value": step} if q["name"] == chartkit.RACE else q for q in panel["params"]]
    svg = chart_bytes(panel, "svg").decode()
    row = frame[(frame.optimizer == "adam-l2") & (frame.step == step)].iloc[0]
    loss, norm = (f"{float(chartkit.sig(v, 4)):.4g}" for v in (row.loss, row.norm))
    assert f"step {step} · f = {loss} · ‖θ‖ = {norm}" in svg


def test_a_click_maps_to_a_start_slider_stop_inside_the_window():
    for name, surf in SURFACES.items():
        for lim, axis in ((surf.xlim, 0), (surf.ylim, 1)):
            width, cells = chartkit.start_cells(lim)
            assert cells <= chartkit.START_CELLS + 1 and lim[0] + (cells - 1) * width <= lim[1] + 1e-9
        (_, nx), (_, ny) = chartkit.start_cells(surf.xlim), chartkit.start_cells(surf.ylim)
        for ix, iy in ((0, 0), (nx - 1, ny - 1), (nx // 2, 3)):
            x, y = chartkit.start_of_cell(name, ix, iy)
            assert surf.xlim[0] <= x <= surf.xlim[1] and surf.ylim[0] <= y <= surf.ylim[1]
            for v, lo in ((x, surf.xlim[0]), (y, surf.ylim[0])):
                k = (v - lo) / chartkit.START_STEP
                assert abs(k - round(k)) < 1e-6                           # a stop of the start slider
        for bad in ((nx, 0), (0, -1), (1.5, 0), ("1", 0), (None, 0), (True, 0)):
            assert chartkit.start_of_cell(name, *bad) is None
    assert chartkit.start_of_cell("quadratic", 10, 30) == (0.0, 2.0)       # cells of 0.1 from −1


@pytest.fixture(scope="module")
def renderer(short):
    p, data = short
    spec = figures.race_chart(p, *data).to_dict()
    return spec, animate.RaceRenderer(spec)


def test_the_composed_frame_is_the_figure_rendered_at_that_step(renderer):
    spec, renderer = renderer
    for step in (5, 40):
        whole = Image.open(io.BytesIO(chart_bytes(animate._set_step(json.loads(json.dumps(spec)), step), "png",
                                                  scale=1))).convert("RGB")
        composed = renderer.frame(step)
        assert composed.size == whole.size
        assert animate.frame_difference(whole, composed) < 0.05           # the same pixels but a handful
    assert animate.frame_difference(renderer.frame(5), renderer.frame(40)) > 0.2


def test_the_gif_is_valid_its_frames_move_and_the_same_parameters_give_the_same_bytes(short, renderer):
    p, data = short
    gif = animate.race_gif(p, frames=4, fps=10, data=data)
    img = Image.open(io.BytesIO(gif))
    assert img.format == "GIF" and img.n_frames == 4 and img.info.get("loop") == 0
    frames, durations = [], []
    for i in range(img.n_frames):
        img.seek(i)
        frames.append(img.convert("RGB"))
        durations.append(img.info["duration"])
    assert durations == [100] * 3 + [100 + 1000 * animate.HOLD_SECONDS]
    assert all(animate.frame_difference(a, b) > 0.05 for a, b in zip(frames, frames[1:]))
    assert animate.race_gif(p, frames=4, fps=10, data=figures.trajectory_data(p)) == gif
    # frames that hold the last step (beyond the path's end) become one longer frame
    held = Image.open(io.BytesIO(animate.encode_gif([renderer[1].frame(s) for s in (38, 39, 40, 40, 40)], 10)))
    assert held.n_frames == 3
    held.seek(2)
    assert held.info["duration"] == 300 + 1000 * animate.HOLD_SECONDS


def test_the_default_race_gif_stays_under_8_mb():
    # the default view's first 4 of its DEFAULT_FRAMES frames, at its own frame spacing: the first frame
    # is the whole picture, the others what changed, so the full GIF is at most 8 MB when these are ≤ 4/48
    p = view()
    data = figures.trajectory_data(p)
    renderer = animate.RaceRenderer(figures.race_chart(p, *data).to_dict())
    steps = animate.frame_schedule(p["steps"], animate.DEFAULT_FRAMES)[:4]
    gif = animate.encode_gif([renderer.frame(s) for s in steps], animate.DEFAULT_FPS)
    assert len(gif) <= 8e6 * 4 / animate.DEFAULT_FRAMES


def test_cli_gif_and_its_errors(tmp_path):
    out = tmp_path / "race.gif"
    code, _, err = run_cli("export", "--view", "trajectory", "--format", "gif", "--out", str(out), "--steps", "30",
                           "--frames", "3", "--fps", "5", "--surface", "himmelblau")
    assert code == 0, err
    img = Image.open(out)
    assert img.format == "GIF" and img.n_frames == 3
    for bad in (["--frames", "1"], ["--frames", "601"], ["--fps", "0"], ["--fps", "nan"], ["--frames", "x"]):
        code, _, err = run_cli("export", "--view", "trajectory", "--format", "gif", "--out", str(out), *bad)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, bad
    code, _, err = run_cli("export", "--view", "trajectory", "--format", "png", "--out", str(out), "--frames", "3")
    assert code == 2 and "only with --format gif" in err


def test_player_html_and_its_checks():
    html = player_html("race_step", [0, 5, 10])
    assert 'data-steps="[0, 5, 10]"' in html and 'max="2"' in html and "step 10 / 10" in html
    assert '.vega-bindings:has(input[name="race_step"])' in html and "http" not in html
    for bad in (("race_step", []), ("race_step", [3, 1]), ("x;alert(1)", [1])):
        with pytest.raises(ValueError):
            player_html(*bad)


def test_a_finished_live_run_gets_a_scrubber_over_its_curves():
    rows = pd.DataFrame({"optimizer": ["adam-l2", "adamw-torch"] * 3, "step": [0, 0, 50, 50, 100, 100],
                         "train_loss": [2.3, 2.3, 1.0, 0.8, 0.5, 0.3], "test_loss": [2.3, 2.3, 1.1, 0.9, 0.6, 0.4],
                         "test_acc": [0.1, 0.1, 0.7, 0.8, 0.8, 0.9], "weight_norm": [9.0, 9.0, 8.0, 9.5, 7.0, 9.9],
                         "norm_0": [5.0] * 6, "norm_1": [3.0] * 6})
    names = ["adam-l2", "adamw-torch"]
    for metric in ("train_loss", "test_acc"):
        data, spec = playback.with_scrubber(training_charts.training_part(rows, metric, names), "train_step", 100)
        assert spec["params"][0]["name"] == "train_step" and spec["params"][0]["value"] == 100
        full = {**spec, "data": {"values": json.loads(data.to_json(orient="records"))}, "params": [
            {**spec["params"][0], "value": 50}]}
        svg = chart_bytes(full, "svg").decode()
        assert svg.count('class="mark-symbol') >= 1 and "mark-rule" in svg
    data, spec = playback.with_scrubber(training_charts.layer_norm_part(rows, names), "train_step", 100)
    assert {"label", "layer"} <= set(spec["layer"][2]["transform"][1]["groupby"])


def test_the_app_shows_the_race_player_and_clickable_panels():
    at = fresh()
    assert not at.exception
    html = [h.proto.body for h in at.get("html") if "player-race_step" in h.proto.body]
    assert len(html) == 1
    steps = json.loads(html[0].split('data-steps="', 1)[1].split('"', 1)[0])
    assert steps == chartkit.frame_steps(TRAJECTORY["steps"].default).tolist()
    panels = [s for s in specs(at) if any(q["name"] == "start" for q in s.get("params", []))]
    assert len(panels) == 2


def test_a_finished_live_run_shows_its_player_and_scrubbable_curves():
    at = finished_live_run()
    at.run()
    assert not at.exception and at.session_state["live"].done
    assert any("player-train_step" in h.proto.body for h in at.get("html"))
    scrubbed = [s for s in specs(at) if any(q.get("name") == "train_step" for q in s.get("params", []))]
    assert len(scrubbed) == 5                  # train/test loss, accuracy, ‖θ‖, ‖W‖ per layer
