"""The lr × λ heat maps."""
from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from explorer.core.forms import OPTIMIZERS
from explorer.viz import chartkit as kit

# ---------------------------------------------------------------- lr × λ sweeps
SWEEP_METRICS = {"test_loss": "final test loss", "test_error": "final test error"}


def _edges(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell extents around sorted log2 grid values (half-way to the neighbours)."""
    v = np.asarray(values, dtype=float)
    if len(v) == 1:
        return v - 0.5, v + 0.5
    mid = (v[1:] + v[:-1]) / 2
    return np.r_[v[0] - (mid[0] - v[0]), mid], np.r_[mid, v[-1] + (v[-1] - mid[-1])]


def sweep_cells(frame: pd.DataFrame, optimizer: str, metric: str, top_k: int = 3, row: str = "lr") -> pd.DataFrame:
    """Seed-averaged cells of one optimizer with their extents, rank and divergence; rows along `row`."""
    f = frame[frame["optimizer"] == optimizer]
    g = f.groupby([row, "wd"]).agg(value=(metric, "mean"), diverged=("diverged", "any"),
                                   seeds=("seed", "nunique")).reset_index()
    g.loc[g["diverged"] | ~np.isfinite(g["value"]), "value"] = np.nan
    g["log2_lr"], g["log2_wd"] = np.log2(g[row].astype(float)), np.log2(g["wd"])
    for col in ("log2_lr", "log2_wd"):
        vals = np.sort(g[col].unique())
        lo, hi = _edges(vals)
        g[col + "_lo"] = g[col].map(dict(zip(vals, lo)))
        g[col + "_hi"] = g[col].map(dict(zip(vals, hi)))
    g["rank"] = g["value"].rank(method="first")
    g["mark"] = np.where(g["rank"] == 1, "best", np.where(g["rank"] <= top_k, f"top {top_k}", ""))
    return g


def _grid_axis(log2_values, title: str, size: int, across: bool) -> alt.Axis:
    """Ticks at the cell centres — the grid's own log₂ values, every k-th when they would crowd (the k
    that keeps the most whole powers) — labelled 2^v with up to two decimals."""
    v = np.unique(np.round(np.asarray(log2_values, dtype=float), 6))
    longest = max((len(f"{x:.2f}".rstrip("0").rstrip(".")) for x in v), default=2) + 2
    room = size / (longest * 7 + 12) if across else size / 18      # labels side by side or stacked
    least = max(1, math.ceil(len(v) / max(room, 1)))
    stride = max(range(least, 2 * least + 1), key=lambda k: (np.sum(v[::k] == np.round(v[::k])), -k))
    return alt.Axis(title=title, values=[float(x) for x in v[::stride]],
                    labelExpr="'2^' + format(datum.value, '.2~f')")


def sweep_heatmap(frame: pd.DataFrame, optimizer: str, metric: str, coupling, domain: tuple[float, float],
                  top_k: int = 3, wd_label: str = "λ", size: int = 300, subtitle: str = "", row: str = "lr",
                  row_title: str = "learning rate α") -> alt.Chart:
    """One optimizer's grid (rows along `row`), best cells circled, diverged crossed, flat rows marked, fitted line."""
    cells = sweep_cells(frame, optimizer, metric, top_k, row)
    x = alt.X("log2_wd_lo:Q", axis=_grid_axis(cells["log2_wd"], f"{wd_label} (log₂)", size, across=True),
              scale=alt.Scale(zero=False, nice=False))
    y = alt.Y("log2_lr_lo:Q", axis=_grid_axis(cells["log2_lr"], f"{row_title} (log₂)", size, across=False),
              scale=alt.Scale(zero=False, nice=False))
    tooltip = [alt.Tooltip(f"{row}:Q", format=".3g"), alt.Tooltip("wd:Q", title=wd_label, format=".3g"),
               alt.Tooltip("value:Q", title=SWEEP_METRICS[metric], format=".4f"), "diverged:N", "seeds:Q"]
    heat = alt.Chart(cells).mark_rect(stroke="white", strokeWidth=0.5).encode(
        x=x, x2="log2_wd_hi:Q", y=y, y2="log2_lr_hi:Q",
        color=alt.condition("isValid(datum.value)",
                            alt.Color("value:Q", title=SWEEP_METRICS[metric],
                                      scale=alt.Scale(scheme="viridis", domain=list(domain), clamp=True),
                                      legend=alt.Legend(orient="bottom", direction="horizontal",
                                                        gradientLength=size * 0.8)),
                            alt.value("#d9d9d9")),
        tooltip=tooltip)
    centre = {"x": alt.X("log2_wd:Q"), "y": alt.Y("log2_lr:Q")}
    layers = [heat]
    crossed = cells[cells["diverged"]]
    if len(crossed):
        layers.append(alt.Chart(crossed).mark_text(text="×", fontSize=16, color="#b2182b").encode(**centre))
    for mark, filled in (("best", True), (f"top {top_k}", False)):
        layers.append(alt.Chart(cells[cells["mark"] == mark]).mark_point(
            size=140, strokeWidth=2, color="black", filled=filled, opacity=1).encode(**centre, tooltip=tooltip))
    flat = cells[cells[row].isin(coupling.flat_rows)].groupby(row).first().reset_index()
    if len(flat):
        flat = flat.assign(x=cells["log2_wd_hi"].max())
        layers.append(alt.Chart(flat).mark_text(text="≈", fontSize=15, dx=8, align="left", color="#555").encode(
            x="x:Q", y=alt.Y("log2_lr:Q"), tooltip=[alt.Tooltip(f"{row}:Q", title=f"λ hardly matters at {row}")]))
    title = OPTIMIZERS[optimizer].label
    if math.isfinite(coupling.slope):
        counted = [math.log2(lr) for lr in coupling.best_wd if lr not in coupling.flat_rows]
        ys = np.linspace(min(counted), max(counted), 20)
        line = pd.DataFrame({"log2_lr": ys, "log2_wd": coupling.slope * ys + coupling.intercept})
        line = line[line["log2_wd"].between(cells["log2_wd_lo"].min(), cells["log2_wd_hi"].max())]
        layers.append(alt.Chart(line).mark_line(color="#e41a1c", strokeWidth=2.5, strokeDash=[6, 3]).encode(
            x="log2_wd:Q", y="log2_lr:Q", order="log2_lr:Q"))
        title += f" · slope {coupling.slope:+.2f}"
    else:
        title += " · slope n/a"
    return alt.layer(*layers).properties(width=size, height=size, title=kit.title(title, subtitle, size))
