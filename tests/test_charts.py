"""Charts: sweep ticks on cell centres, small trajectory specs (surface as one image), the fast spec
hand-off, titles and legends that wrap instead of being cut, log axes labelled at powers of ten."""
import base64
import io
import itertools
import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from explorer.analysis.interpret import coupling
from explorer.core.surfaces import SURFACES
from explorer.interface.params import TRAJECTORY
from explorer.runs.sweep import pow2
from explorer.viz import chartkit, figures, insight_charts, sweep_charts, training_charts, trajectory_charts
from explorer.viz.export import chart_bytes


def sweep_frame(lrs, wds):
    rows = [{"optimizer": "adamw", "lr": lr, "wd": wd, "seed": 0, "diverged": False,
             "test_loss": 0.2 + 0.01 * (math.log2(wd) + 8) ** 2 + 0.001 * math.log2(lr) ** 2}
            for lr, wd in itertools.product(lrs, wds)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("wds", [pow2(-13, -1, 7), pow2(-12, -6, 9)])
def test_sweep_ticks_sit_on_the_cell_centres(wds):
    lrs = pow2(-10, -4, 7)
    frame = sweep_frame(lrs, wds)
    chart = sweep_charts.sweep_heatmap(frame, "adamw", "test_loss", coupling(frame, "adamw"), (0.2, 1.0))
    enc = chart.to_dict()["layer"][0]["encoding"]
    for axis, grid in ((enc["x"]["axis"], wds), (enc["y"]["axis"], lrs)):
        centres = np.round(np.log2(grid), 6)
        assert len(axis["values"]) >= 2 and set(axis["values"]) <= set(centres)   # never a cell edge
        assert axis["values"][0] == centres[0]
        assert "'2^'" in axis["labelExpr"]
    assert enc["y"]["axis"]["values"] == list(np.log2(lrs))       # 7 rows fit: every one labelled


def test_sweep_tick_labels_render_at_grid_values():
    wds, lrs = pow2(-13, -1, 7), pow2(-10, -4, 7)                                  # cell edges at −14, −12, …
    frame = sweep_frame(lrs, wds)
    svg = chart_bytes(sweep_charts.sweep_heatmap(frame, "adamw", "test_loss", coupling(frame, "adamw"), (0.2, 1.0)),
                      "svg").decode()
    assert "2^−13<" in svg and "2^−1<" in svg and "2^−10<" in svg and "2^−4<" in svg
    assert not any(f"2^−{k}<" in svg for k in (14, 12, 2, 0))                     # no edge labels


@pytest.fixture(scope="module")
def default_trajectory():
    p = {k: s.default for k, s in TRAJECTORY.items()}
    return {**p, "start": p["start"] or SURFACES[p["surface"]].start}


@pytest.mark.parametrize("steps", [500, 5000])
def test_trajectory_specs_stay_small(default_trajectory, steps):
    p = {**default_trajectory, "steps": steps}
    frame, div, fixed = figures.trajectory_data(p)
    assert len(frame) == 2 * (steps + 1)                                          # export keeps every step
    for name, chart in figures.trajectory_charts(p, frame, div, fixed).items():
        spec = chartkit.spec(chart)
        sent = len(json.dumps({k: v for k, v in spec.items() if k != "datasets"}))
        assert sent + sum(map(len, spec["datasets"].values())) < 100_000, name        # spec + Arrow tables
        for rows in chartkit.inline(spec)["datasets"].values():
            for label in {r.get("label") for r in rows} - {None}:
                assert sum(r.get("label") == label for r in rows) <= chartkit.MAX_POINTS


def test_the_surface_is_one_image_with_y_up():
    url = chartkit.surface_image("rosenbrock")
    img = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))), dtype=float)
    n = img.shape[0]
    s = SURFACES["rosenbrock"]
    r, c = np.unravel_index(np.argmin(img), img.shape)
    x = s.xlim[0] + (c + 0.5) * np.ptp(s.xlim) / n
    y = s.ylim[1] - (r + 0.5) * np.ptp(s.ylim) / n                               # row 0 is the top
    assert abs(y - x * x) < 0.1                                                    # darkest: in the valley
    assert img[0, n // 2] > img[-1, n // 2]               # f(0, 3) = 901 above f(0, −1) = 101: lighter


def test_the_surface_image_appears_in_the_png_export():
    frame = pd.DataFrame({"optimizer": ["adamw"] * 2, "step": [0, 1], "x": [-1.5, -1.0], "y": [2.5, 2.0],
                          "loss": [1.0, 1.0], "norm": [1.0, 1.0]})
    chart = trajectory_charts.trajectory_panel("himmelblau", frame, "adamw", None, size=200)
    img = np.asarray(Image.open(io.BytesIO(chart_bytes(chart, "png", scale=1))).convert("L"), dtype=float)
    rows, cols = np.where(img < 250)
    plot = img[np.median(rows).astype(int) - 60:np.median(rows).astype(int) + 60,
               np.median(cols).astype(int) - 60:np.median(cols).astype(int) + 60]
    assert plot.std() > 10 and plot.mean() < 230                                   # greys, not a blank view


def _named_by_order(spec: dict) -> dict:
    """A to_dict() spec with its data sets renamed data-0, data-1 … in the order the spec first names them."""
    text = json.dumps({k: v for k, v in spec.items() if k != "datasets"})
    names = list(dict.fromkeys(re.findall(r'"name": "(data-[0-9a-f]{32})"', text)))
    for i, name in enumerate(names):
        text = text.replace(name, f"data-{i}")
    return {**json.loads(text), "datasets": {f"data-{i}": spec["datasets"][n] for i, n in enumerate(names)}}


def test_spec_is_to_dict_with_its_data_as_arrow_under_names_by_order(default_trajectory):
    p = {**default_trajectory, "steps": 40}
    frame, div, fixed = figures.trajectory_data(p)
    chart = figures.trajectory_charts(p, frame, div, fixed)[p["optimizer"]]
    spec = chartkit.spec(chart)
    assert spec["datasets"] and all(isinstance(v, bytes) for v in spec["datasets"].values())
    assert chartkit.inline(spec) == _named_by_order(chart.to_dict())


def test_a_redraw_with_new_numbers_keeps_the_spec_and_swaps_only_the_data(default_trajectory):
    """The browser swaps the data of a chart already drawn only when the spec is the same: the app's trajectory
    charts (settings line outside the chart, layers present even when empty) keep theirs when λ moves, and the
    data differ. (The loss chart's log axis is labelled at the decades its data span: it changes with them.)"""
    specs = []
    for wd in (0.5, 0.2):
        p = {**default_trajectory, "steps": 200, "wd": wd}
        frame, div, fixed = figures.trajectory_data(p)
        specs.append(figures.trajectory_charts(p, frame, div, fixed, clickable=True, subtitle=False))
    from streamlit.elements.vega_charts import _stabilize_vega_json_spec  # Altair's view counter, as sent

    for name in set(specs[0]) - {"loss"}:
        a, b = (chartkit.spec(s[name]) for s in specs)
        sent = [_stabilize_vega_json_spec(json.dumps({k: v for k, v in x.items() if k != "datasets"})) for x in (a, b)]
        assert sent[0] == sent[1], name
        assert a["datasets"] != b["datasets"], name
    with_settings = figures.trajectory_charts(p, frame, div, fixed)
    assert "λ=0.2" in json.dumps(chartkit.spec(with_settings["loss"])["title"], ensure_ascii=False)  # exports keep it


def title_lines(title):
    text = title["text"] if isinstance(title, dict) else title
    return [text] if isinstance(text, str) else text


@pytest.mark.parametrize("title,width", [("‖θ_SGD+L2 − θ_SGDW‖ / ‖θ_SGDW‖ on the MLP", 380),
                                         ("What still differs, per coordinate", 300),
                                         ("AdamW (PyTorch form): ‖θ‖ at α/4, α, 4α", 240)])
def test_long_titles_wrap_to_the_width(title, width):
    d = pd.DataFrame({"step": [0, 1, 0, 1], "v": [1.0, 2.0, 3.0, 4.0],
                      "run": ["AdamW (PyTorch form) · α=0.00025"] * 2 + ["AdamW (PyTorch form) · α=0.001"] * 2})
    spec = insight_charts.lines(d, "step", "v", "run", title, width=width).to_dict()
    lines = title_lines(spec["title"])
    assert " ".join(lines).replace(" ", "") == title.replace(" ", "")
    assert all(len(s) <= min(40, width / chartkit.TITLE_PX) for s in lines)
    legend = spec["encoding"]["color"]["legend"]
    assert legend["labelLimit"] >= width and 1 <= legend["columns"] <= 2          # long labels: stacked


def test_sweep_subtitle_wraps_at_300px():
    sub = "mlp-ln · 1200 digits · batch 32 · 1500 steps · cosine · 3 seed(s) · normalized λ"
    frame = sweep_frame(pow2(-10, -9), pow2(-8, -6, 3))
    spec = sweep_charts.sweep_heatmap(frame, "adamw", "test_loss", coupling(frame, "adamw"), (0.2, 1.0),
                                size=300, subtitle=sub).to_dict()
    lines = spec["title"]["subtitle"]
    assert isinstance(lines, list) and all(len(s) <= 300 / chartkit.SUBTITLE_PX for s in lines)
    assert " · ".join(lines) == sub


def test_layer_norm_title_is_short_and_the_dashes_have_a_legend():
    rows = pd.DataFrame({"optimizer": ["adamw-torch"] * 2, "step": [0, 1], "norm_1": [1.0, 0.9],
                         "norm_2": [2.0, 1.8]})
    _, spec = training_charts.layer_norm_part(rows, ["adamw-torch"])
    assert spec["title"] == "‖W‖ per layer"
    assert spec["encoding"]["strokeDash"]["legend"]["title"] == "layer"


def test_landscape_colour_bar_is_beside_the_plot():
    a, b = np.meshgrid(np.linspace(0, 1, 5), np.linspace(0, 1, 5))
    grid = pd.DataFrame({"a": a.ravel(), "b": b.ravel(), "loss": 1 + a.ravel()})
    paths = pd.DataFrame({"optimizer": ["adam-l2", "adamw-torch"], "a": [0.2, 0.4], "b": [0.1, 0.3],
                          "step": [0, 0], "loss": [1.0, 1.0]})
    spec = insight_charts.landscape_chart(grid, paths, ("u", "v")).to_dict()
    legend = spec["layer"][0]["encoding"]["color"]["legend"]
    assert legend["orient"] == "right" and legend["titleLimit"] >= 400


def test_landscape_at_its_finest_grid_draws_and_exports():
    """81 × 81 = 6,561 cells, past Altair's 5,000-row guard: the page's spec and the PNG export both build (the
    panel used to show a traceback at its top grid stop)."""
    a, b = np.meshgrid(np.linspace(-1, 1, 81), np.linspace(-1, 1, 81))
    grid = pd.DataFrame({"a": a.ravel(), "b": b.ravel(), "loss": 1 + a.ravel() ** 2})
    paths = pd.DataFrame({"optimizer": ["adam-l2", "adamw-torch"], "a": [0.2, 0.4], "b": [0.1, 0.3],
                          "step": [0, 0], "loss": [1.0, 1.0]})
    chart = insight_charts.landscape_chart(grid, paths, ("u", "v"))
    spec = chartkit.spec(chart)
    cells = next(d for d in [spec["layer"][0].get("data", {})] + list(spec.get("datasets", {}).values()) if d)
    assert len(cells["values"] if isinstance(cells, dict) else cells) == 81 * 81
    assert chart_bytes(chart, "png")[:8] == b"\x89PNG\r\n\x1a\n"


def powers_of_ten(values):
    return all(abs(math.log10(v) - round(math.log10(v))) < 1e-9 for v in values)


def test_log_axes_are_labelled_at_powers_of_ten():
    d = pd.DataFrame({"step": np.arange(100), "distance": np.logspace(-7, -1.5, 100), "what": "d"})
    y = insight_charts.lines(d, "step", "distance", "what", "t", log_y=True).to_dict()["encoding"]["y"]["axis"]
    assert powers_of_ten(y["values"]) and y["values"][0] <= 1e-7 and y["values"][-1] >= 10 ** -1.5
    assert "labelExpr" in y
    frame = pd.DataFrame({"optimizer": ["adam-l2"] * 3, "step": [0, 1, 2], "loss": [30.0, 2.0, 0.1]})
    spec = training_charts.metric_chart(frame, "loss", "f", ["adam-l2"], log=True).to_dict()
    assert spec["encoding"]["y"]["axis"]["values"] == [0.1, 1.0, 10.0, 100.0]
    _, live = training_charts.training_part(frame.rename(columns={"loss": "test_loss"}), "test_loss", ["adam-l2"])
    assert live["encoding"]["y"]["axis"]["values"] == [0.1, 1.0, 10.0, 100.0]
    assert live["encoding"]["y"]["scale"]["type"] == "log"
    within = pd.DataFrame({"optimizer": ["adam-l2"] * 3, "step": [0, 1, 2], "loss": [2.3, 1.4, 1.05]})
    spec = training_charts.metric_chart(within, "loss", "f", ["adam-l2"], log=True).to_dict()
    assert spec["encoding"]["y"]["axis"]["values"] == [1.0, 2.0, 10.0]          # one decade: 2× (and 5×) too


def test_the_shared_altair_class_table_picks_the_classes_a_fresh_one_does():
    """chartkit builds Altair's schema-class table once (it was rebuilt for every shorthand channel): the
    channels it makes are those of a table built afresh, and the table is shared, not rebuilt."""
    import altair as alt
    from altair.utils import schemapi

    from explorer.core.schedules import Schedule  # noqa: F401  (any explorer import installs the shared table)
    shared = schemapi._FromDict._shared_tables
    chart = alt.Chart(pd.DataFrame({"a": [1.0], "b": ["x"]})).mark_point().encode(
        x2="a:Q", detail="b:N", tooltip=["b:N", "a:Q"],
        opacity=alt.condition(alt.datum.b == "x", alt.value(1.0), alt.value(0.3)))
    enc = chart.encoding
    assert [type(enc.x2), type(enc.detail), [type(t) for t in enc.tooltip]] == \
           [alt.X2, alt.Detail, [alt.Tooltip, alt.Tooltip]]
    fresh = {}
    schemapi._FromDict._shared_tables = fresh           # the next conversion builds its own table
    try:
        again = alt.Chart(pd.DataFrame({"a": [1.0], "b": ["x"]})).mark_point().encode(
            x2="a:Q", detail="b:N", tooltip=["b:N", "a:Q"],
            opacity=alt.condition(alt.datum.b == "x", alt.value(1.0), alt.value(0.3)))
    finally:
        schemapi._FromDict._shared_tables = shared
    assert len(fresh) == 1 and len(shared) >= 1 and list(fresh.values())[0] is not list(shared.values())[0]
    assert type(again.encoding.opacity) is type(enc.opacity)
    assert chartkit.spec(again) == chartkit.spec(chart)
    table = list(shared.values())[0]
    alt.Chart().encode(x2="a:Q")
    assert list(shared.values())[0] is table                                     # not rebuilt
