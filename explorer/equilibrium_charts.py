"""Charts of the equilibrium instruments and the regime map: pure functions, tidy DataFrame in → Altair out."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from . import chartkit as kit
from .optim import OPTIMIZERS

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
