"""Playback pieces of the charts: the step parameter a chart shows (bound to a range input that the app's
player drives, set by the animated export), each run's rows and marker at that step, the readout, the
clickable start grid of a trajectory panel, and the scrubber of a finished live run's curves."""
from __future__ import annotations

import json
import math

import altair as alt
import numpy as np
import pandas as pd

from explorer.core.forms import OPTIMIZERS
from explorer.core.surfaces import SURFACES
from explorer.viz import chartkit as kit

RACE_LAYER = "race_"    # name prefix of the layers that follow the playback step (animate.py redraws only those)


def race_param(frame: pd.DataFrame) -> alt.Parameter:
    """The step a playback shows (default: the last, the whole race), bound to a range input that the app's
    player drives (explorer/ui/player.py)."""
    last = int(frame["step"].max()) if len(frame) else 0
    return alt.param(name=kit.RACE, value=last, bind=alt.binding_range(min=0, max=max(last, 1), step=1))


def with_race_param(chart: alt.LayerChart, frame: pd.DataFrame) -> alt.LayerChart:
    """`chart.add_params(race_param(frame))` for a layer chart just built, the same spec without add_params'
    two deep copies of every layer (a third of building a trajectory panel): the parameter goes on the first
    layer, where add_params puts it."""
    chart.layer[0] = chart.layer[0].add_params(race_param(frame))
    return chart


def race_rows(frame: pd.DataFrame, focus: str, other: str | None) -> pd.DataFrame:
    """The runs' rows at the playback's steps (`kit.frame_steps`): step, run r (0: focus, 1: other), x, y, and
    the focus run's loss and norm for the readout; finite rows only, rounded (the spec stays small)."""
    n = int(frame["step"].max()) if len(frame) else 0
    out = []
    for r, name in enumerate([focus] + ([other] if other else [])):
        fields = ["x", "y"] + (["loss", "norm"] if r == 0 else [])
        rows = frame[(frame["optimizer"] == name) & frame["step"].isin(kit.frame_steps(n))]
        rows = rows[np.isfinite(rows[fields]).all(axis=1)]
        cols = {"step": rows["step"].astype(int).to_numpy(), "r": r}
        out.append(pd.DataFrame(cols | {f: kit.sig(rows[f].to_numpy(), 5 if f in "xy" else 4) for f in fields}))
    return pd.concat(out, ignore_index=True)        # the other run's loss and norm: null


def at_race_step(chart: alt.Chart, by: str = "label") -> alt.Chart:
    """Each run's last row at or before the playback step."""
    return chart.transform_filter(f"datum.step <= {kit.RACE}").transform_joinaggregate(
        shown="max(step)", groupby=[by]).transform_filter("datum.step == datum.shown")


def race_markers(rows, names, focus, xs, ys, color, text_color: str) -> list[alt.Chart]:
    data = race_rows(rows, focus, names[1] if len(names) > 1 else None)
    labels = [OPTIMIZERS[n].label for n in names]
    label = "datum.r == 0 ? " + json.dumps(labels[0]) + " : " + json.dumps(labels[-1])
    marker = at_race_step(alt.Chart(data), "r").transform_calculate(label=label).mark_point(
        filled=True, size=150, stroke="white", strokeWidth=1.5, clip=True).encode(
        x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys), color=color,
        opacity=alt.condition("datum.r == 0", alt.value(1.0), alt.value(0.5)),
        tooltip=["label:N", "step:Q", alt.Tooltip("x:Q", format=".4f"), alt.Tooltip("y:Q", format=".4f")],
    ).properties(name=RACE_LAYER + "marker")
    text = ("'step ' + format(datum.step, ',') + ' · f = ' + format(datum.loss, '.4~g') + ' · ‖θ‖ = ' "
            "+ format(datum.norm, '.4~g')")
    readout = at_race_step(alt.Chart(data).transform_filter("datum.r == 0"), "r").transform_calculate(
        readout=text).mark_text(align="left", baseline="bottom", dy=-6, fontSize=12, fontWeight="bold",
                                color=text_color).encode(
        x=alt.value(0), y=alt.value(0), text="readout:N").properties(name=RACE_LAYER + "readout")
    return [marker, readout]


def step_rule_and_dots(data: pd.DataFrame, field: str, y_scale, color) -> list[alt.Chart]:
    """A metric chart's rule at the playback step and each run's point there — the drawn points themselves
    (every step up to MAX_POINTS, then within a pixel): no second data set."""
    rule = alt.Chart(pd.DataFrame({"n": [0]})).transform_calculate(step=kit.RACE).mark_rule(
        color="#555555", strokeDash=[3, 3]).encode(x="step:Q").properties(name=RACE_LAYER + "rule")
    dots = at_race_step(alt.Chart(data)).mark_point(filled=True, size=70, stroke="white", strokeWidth=1).encode(
        x="step:Q", y=alt.Y(f"{field}:Q", scale=y_scale), color=color,
        tooltip=["label:N", "step:Q", alt.Tooltip(f"{field}:Q", format=".5g")]).properties(name=RACE_LAYER + "dots")
    return [rule, dots]


def start_grid(surface: str, xs, ys, tips: pd.DataFrame, dx: float, dy: float) -> alt.Chart:
    """Transparent cells centred on every k-th start-slider stop (generated in the browser: no data in the
    spec), each with f of its tooltip cell; a click selects the cell's indices (ix, iy)."""
    surf = SURFACES[surface]
    (wx, nx), (wy, ny) = kit.start_cells(surf.xlim), kit.start_cells(surf.ylim)
    (x0, x1), (y0, y1) = surf.xlim, surf.ylim
    n = math.isqrt(len(tips))
    keyed = tips.assign(key=np.arange(len(tips)))           # tips run x fastest, as `key` below
    pick = alt.selection_point(name="start", fields=["ix", "iy"], on="click", clear=False, toggle=False)
    return alt.Chart(alt.sequence(0, nx * ny, as_="i")).transform_calculate(
        ix=f"datum.i % {nx}", iy=f"floor(datum.i / {nx})").transform_calculate(
        cx=f"{x0!r} + {wx!r} * datum.ix", cy=f"{y0!r} + {wy!r} * datum.iy").transform_calculate(
        x=f"max({x0!r}, datum.cx - {wx / 2!r})", x2=f"min({x1!r}, datum.cx + {wx / 2!r})",
        y=f"max({y0!r}, datum.cy - {wy / 2!r})", y2=f"min({y1!r}, datum.cy + {wy / 2!r})",
        key=f"min({n - 1}, floor((datum.cx - {x0!r}) / {dx!r})) + {n} * min({n - 1}, floor((datum.cy - {y0!r}) "
            f"/ {dy!r}))").transform_lookup(
        lookup="key", from_=alt.LookupData(keyed, key="key", fields=["f"])).mark_rect(opacity=0).encode(
        x=alt.X("x:Q", scale=xs), x2="x2:Q", y=alt.Y("y:Q", scale=ys), y2="y2:Q",
        tooltip=[alt.Tooltip("f:Q", format=".4g"), alt.Tooltip("cx:Q", title="click: start x", format=".4g"),
                 alt.Tooltip("cy:Q", title="start y", format=".4g")]).add_params(pick)


def with_scrubber(part: tuple[pd.DataFrame, dict], param: str, last_step: int) -> tuple[pd.DataFrame, dict]:
    """A live metric part with a rule at the step held by `param` and each run's point there (the last
    recorded at or before it), the parameter bound to a range input that the app's player drives."""
    data, spec = part
    keep = ("width", "height", "title", "config", "$schema", "autosize")
    base = {k: v for k, v in spec.items() if k not in keep}
    enc = base.get("encoding", {})
    y = {k: v for k, v in enc.get("y", {}).items() if k in ("field", "type", "scale")}
    at_step = [{"filter": f"datum.step <= {param}"},
               {"joinaggregate": [{"op": "max", "field": "step", "as": "shown"}],
                "groupby": [f for f in ("label", "layer") if f in data]},
               {"filter": "datum.step == datum.shown"}]
    rule = {"data": {"values": [{}]}, "transform": [{"calculate": param, "as": "step"}],
            "mark": {"type": "rule", "color": "#555555", "strokeDash": [3, 3]},
            "encoding": {"x": {"field": "step", "type": "quantitative"}}}
    dots = {"transform": at_step, "mark": {"type": "point", "filled": True, "size": 60, "stroke": "white",
                                           "strokeWidth": 1},
            "encoding": {"x": {"field": "step", "type": "quantitative"}, "y": y, "color": enc.get("color"),
                         "tooltip": enc.get("tooltip")}}
    out = {k: spec[k] for k in keep if k in spec}
    out["layer"] = [base, rule, dots]
    out["params"] = [{"name": param, "value": int(last_step),
                      "bind": {"input": "range", "min": 0, "max": max(int(last_step), 1), "step": 1}}]
    return data, out
