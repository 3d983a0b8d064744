"""Charts of the equilibrium instruments and the regime map: pure functions, tidy DataFrame in → Altair out."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from explorer.core.forms import OPTIMIZERS
from explorer.viz import chartkit as kit

PREDICTED = "predicted (Kosson et al. 2024)"
LAYER_COLORS = ["#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]


def rotation_chart(stats: pd.DataFrame, optimizer: str, subtitle: str = "", width: int = 330,
                   height: int = 220) -> alt.LayerChart:
    """One run's rotation per step of each weight matrix against step (log scale), and AdamW's predicted
    equilibrium rotation on its scale-invariant layers as a dashed line."""
    rows = stats[(stats["optimizer"] == optimizer) & (stats["step"] > 0)]
    layers = list(dict.fromkeys(rows["layer"]))
    measured = rows[np.isfinite(rows["rotation"]) & (rows["rotation"] > 0)].assign(
        series=lambda d: d["layer"] + np.where(d["scale_invariant"], " (scale-invariant)", ""))
    pred = rows[np.isfinite(rows["predicted_rotation"])].groupby("step", as_index=False)["predicted_rotation"].mean()
    series = list(dict.fromkeys(measured["series"]))
    domain = series + ([PREDICTED] if len(pred) else [])
    colors = [LAYER_COLORS[layers.index(s.split(" (")[0]) % len(LAYER_COLORS)] for s in series] + ["#222222"]
    color = alt.Color("series:N", scale=alt.Scale(domain=domain, range=colors[:len(domain)]),
                      legend=kit.legend(domain, width))
    y = alt.Y("rotation:Q", title="radians per step", scale=alt.Scale(type="log"),
              axis=kit.log_axis(pd.concat([measured["rotation"], pred["predicted_rotation"]])))
    x = alt.X("step:Q", axis=kit.step_axis(width))
    lines = alt.Chart(measured[["step", "rotation", "series"]]).mark_line(strokeWidth=2).encode(
        x=x, y=y, color=color,
        tooltip=["series:N", "step:Q", alt.Tooltip("rotation:Q", format=".4g", title="rotation (rad/step)")])
    chart = lines
    if len(pred):
        dashed = alt.Chart(pred.rename(columns={"predicted_rotation": "rotation"}).assign(series=PREDICTED)).mark_line(
            strokeWidth=1.6, strokeDash=[6, 4]).encode(
            x=x, y=y, color=color,
            tooltip=["series:N", "step:Q", alt.Tooltip("rotation:Q", format=".4g", title="predicted (rad/step)")])
        chart = alt.layer(lines, dashed)
    title = f"Rotation per step · {OPTIMIZERS[optimizer].label}"
    return chart.properties(width=width, height=height, title=kit.title(title, subtitle, width))


def map_chart(points: pd.DataFrame, axis_title: str, log_x: bool = True, subtitle: str = "",
              width: int = 620, height: int = 300) -> alt.LayerChart:
    """Coupling slope against the regime axis, one line per form, seed spread as a vertical bar (with robust_lo and
    robust_hi columns: the range over the variants, whiskered), and the three predictions (0: best λ independent of
    α, +1: ∝ α, −1: ∝ 1/α) as dotted reference lines."""
    robust = "robust_lo" in points.columns
    lo_col, hi_col = ("robust_lo", "robust_hi") if robust else ("seed_min", "seed_max")
    data = points.assign(label=points["optimizer"].map(lambda n: OPTIMIZERS[n].label))
    names = list(dict.fromkeys(data["optimizer"]))
    labels = [OPTIMIZERS[n].label for n in names]
    color = alt.Color("label:N", scale=alt.Scale(domain=labels, range=[OPTIMIZERS[n].hue for n in names]),
                      legend=kit.legend(labels, width))
    values = sorted(data["axis_value"].unique())
    x = alt.X("axis_value:Q", title=axis_title,
              scale=alt.Scale(type="log" if log_x else "linear", nice=False, zero=False,
                              domain=[values[0] / 1.2, values[-1] * 1.2] if log_x else None),
              axis=alt.Axis(values=[float(v) for v in values], format="~g"))
    finite = data[np.isfinite(data["slope"])]
    lo = float(np.nanmin(np.r_[finite[lo_col], finite["slope"], -1.5])) if len(finite) else -1.5
    hi = float(np.nanmax(np.r_[finite[hi_col], finite["slope"], 1.5])) if len(finite) else 1.5
    yscale = alt.Scale(domain=[lo - 0.1, hi + 0.1])
    y = alt.Y("slope:Q", title="coupling slope (log₂ best λ on log₂ α)", scale=yscale)
    refs = pd.DataFrame({"slope": [1.0, 0.0, -1.0], "what": ["+1: best λ ∝ α", "0: independent of α",
                                                             "−1: best λ ∝ 1/α"]})
    rules = alt.Chart(refs).mark_rule(strokeDash=[2, 3], color="#888").encode(y=alt.Y("slope:Q", scale=yscale),
                                                                                 tooltip=["what:N"])
    rule_text = alt.Chart(refs).mark_text(align="left", dx=4, dy=-6, color="#666", fontSize=11).encode(
        y=alt.Y("slope:Q", scale=yscale), x=alt.value(2), text="what:N")
    tips = ["label:N", alt.Tooltip("axis_value:Q", title=axis_title), alt.Tooltip("slope:Q", format="+.2f"),
            alt.Tooltip("seed_slopes:N", title="each seed"), alt.Tooltip("counted_rows:Q", title="rows counted"),
            alt.Tooltip("edge_rows:Q", title="edge rows (left out)"), alt.Tooltip("flat_rows:Q", title="flat rows"),
            alt.Tooltip("n_median:Q", format=".3g", title="N at best cells (median)")]
    if robust:
        tips += [alt.Tooltip("robust_median:Q", format="+.2f", title="median over the variants"),
                 alt.Tooltip("robust_lo:Q", format="+.2f", title="smallest"),
                 alt.Tooltip("robust_hi:Q", format="+.2f", title="largest"),
                 alt.Tooltip("robust_k:Q", title="variants")]
    base = alt.Chart(finite)
    line = base.mark_line(strokeWidth=2, point=alt.OverlayMarkDef(size=60, filled=True)).encode(
        x=x, y=y, color=color, tooltip=tips)
    spread = base.mark_rule(strokeWidth=3, opacity=0.45).encode(
        x=x, y=alt.Y(f"{lo_col}:Q", scale=yscale), y2=f"{hi_col}:Q", color=color, tooltip=tips)
    layers = [rules, rule_text, spread, line]
    if robust:          # whisker caps at the variants' smallest and largest slope
        layers += [base.mark_tick(thickness=2, size=10).encode(x=x, y=alt.Y(f"{c}:Q", scale=yscale), color=color,
                                                                tooltip=tips) for c in (lo_col, hi_col)]
    return alt.layer(*layers).properties(
        width=width, height=height, title=kit.title("Which form decouples, along the regime axis", subtitle, width))
