"""The insight panels' own charts: lines of a few series, the loss landscape."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from explorer.core.forms import OPTIMIZERS
from explorer.viz import chartkit as kit
from explorer.viz.chartkit import color_scale


# ---------------------------------------------------------------- insight panels
def lines(data: pd.DataFrame, x: str, y: str, color: str, title: str, *, dash: str | None = None,
          log_x: bool = False, log_y: bool = False, x_title: str | None = None, y_title: str | None = None,
          subtitle: str = "", width: int = 380, height: int = 230, color_title: str | None = None,
          optimizers: list[str] | None = None) -> alt.Chart:
    """A generic multi-line chart (the insight panels' workhorse); `optimizers`: colour the lines (whose
    `color` values are those optimizers' labels) in the explorer's optimizer colours. Titles wrap and
    legends break into columns at `width`; log axes are labelled at powers of ten."""
    d = data[np.isfinite(data[y]) & ((data[y] > 0) if log_y else True)]
    d = d[[c for c in dict.fromkeys((x, y, color, dash)) if c]]
    x_axis = (kit.log_axis(d[x], title=x_title or x) if log_x else
              kit.step_axis(width, x_title or x) if x == "step" else alt.Axis(title=x_title or x))
    y_axis = kit.log_axis(d[y], title=y_title or y) if log_y else alt.Axis(title=y_title or y)
    enc = {"x": alt.X(f"{x}:Q", axis=x_axis, scale=alt.Scale(type="log" if log_x else "linear", zero=False)),
           "y": alt.Y(f"{y}:Q", axis=y_axis, scale=alt.Scale(type="log" if log_y else "linear", zero=False)),
           "color": alt.Color(f"{color}:N", legend=kit.legend(d[color].unique(), width, color_title),
                              scale=color_scale(optimizers) if optimizers else alt.Undefined),
           "tooltip": [f"{color}:N", alt.Tooltip(f"{x}:Q", format=".4g"), alt.Tooltip(f"{y}:Q", format=".4g")]}
    if dash:
        enc["strokeDash"] = alt.StrokeDash(f"{dash}:N", legend=kit.legend(d[dash].unique(), width))
        enc["tooltip"].append(f"{dash}:N")
    return alt.Chart(d).mark_line(strokeWidth=2).encode(**enc).properties(
        width=width, height=height, title=kit.title(title, subtitle, width))


def landscape_chart(grid: pd.DataFrame, paths: pd.DataFrame, axes: tuple[str, str], subtitle: str = "",
                    size: int = 460) -> alt.Chart:
    """Training loss on the plane (log colour) with both trajectories projected on it."""
    a, b = np.sort(grid["a"].unique()), np.sort(grid["b"].unique())
    da, db = (a[1] - a[0]) * 1.02, (b[1] - b[0]) * 1.02
    cells = grid.assign(a2=grid["a"] + da, b2=grid["b"] + db, level=np.log10(grid["loss"].clip(lower=1e-6)))
    xs = alt.Scale(domain=[float(a[0]), float(a[-1] + da)], nice=False, zero=False)
    ys = alt.Scale(domain=[float(b[0]), float(b[-1] + db)], nice=False, zero=False)
    # A vertical colour bar at the right: side by side with the run legend at the bottom it ran
    # past the edge of a narrow column.
    level = alt.Color("level:Q", title=["log₁₀", "train loss"], scale=alt.Scale(scheme="greys", reverse=True),
                      legend=alt.Legend(orient="right", direction="vertical", gradientLength=int(size * 0.5),
                                        titleLimit=size, labelLimit=size))
    ticks = max(3, size // 80)
    # inline values: the finest grid (81² = 6,561 cells) is past Altair's 5,000-row guard for DataFrames, which
    # is there to catch accidents; this many cells is the chart's purpose
    cells = alt.Data(values=cells[["a", "a2", "b", "b2", "level", "loss"]].to_dict("records"))
    heat = alt.Chart(cells).mark_rect(strokeWidth=0).encode(
        x=alt.X("a:Q", scale=xs, axis=alt.Axis(title=axes[0], grid=False, tickCount=ticks)), x2="a2",
        y=alt.Y("b:Q", scale=ys, axis=alt.Axis(title=axes[1], grid=False, tickCount=ticks)), y2="b2",
        color=level, tooltip=[alt.Tooltip("loss:Q", format=".4g")])
    p = paths.assign(label=paths["optimizer"].map(lambda n: OPTIMIZERS[n].label))
    names = list(dict.fromkeys(p["optimizer"]))
    centre = p.assign(a=p["a"] + da / 2, b=p["b"] + db / 2)
    path = alt.Chart(centre).mark_line(strokeWidth=2.5, point=True).encode(
        x=alt.X("a:Q", scale=xs), y=alt.Y("b:Q", scale=ys), order="step:Q",
        color=alt.Color("label:N", scale=color_scale(names),
                        legend=kit.legend([OPTIMIZERS[n].label for n in names], size)),
        tooltip=["label:N", "step:Q", alt.Tooltip("loss:Q", format=".4g")])
    return alt.layer(heat, path).properties(width=size, height=size,
                                            title=kit.title("Loss landscape through both runs", subtitle, size))
