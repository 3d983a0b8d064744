"""Every chart of the explorer: pure functions, tidy DataFrame in → Altair chart out."""
from __future__ import annotations

import json
import math
from functools import lru_cache

import altair as alt
import numpy as np
import pandas as pd

from . import chartkit as kit
from . import playback as pb
from .optim import OPTIMIZERS
from .surfaces import SURFACES

# Altair's debug mode validates each object as built (~40 % of a redraw); to_dict() still does (export, tests)
alt.utils.schemapi.disable_debug_mode()

COLORS = {"adam-l2": "#d95f02", "sgd-l2": "#d95f02", "adam": "#7f7f7f", "sgd": "#7f7f7f",
          "adamw": "#1f78b4", "adamw-torch": "#1f78b4", "adamw-corrected": "#1f78b4", "sgdw": "#1f78b4"}


def spec(chart: alt.TopLevelMixin) -> dict:
    """The chart's Vega-Lite spec with its data inline, for `st.vega_lite_chart(spec(chart))`: the same
    dict as `chart.to_dict()` without the JSON-schema validation, which costs tens of ms per chart."""
    return chart.to_dict(validate=False)


def _color_scale(names):
    return alt.Scale(domain=[OPTIMIZERS[n].label for n in names], range=[COLORS[n] for n in names])


def trajectory_panel(surface: str, frame: pd.DataFrame, focus: str, other: str | None,
                     fixed=None, diverged_at: int | None = None, title: str = "",
                     size: int = 430, subtitle: str = "", race: bool = False,
                     clickable: bool = False) -> alt.Chart:
    """Heat map of f with `focus`'s path drawn over it (and `other`'s, faint, for comparison).

    The heat map is one greyscale image and a coarse transparent grid for the tooltip; the paths are
    thinned to what the pixels show — the spec stays ~100 KB instead of 1.3 MB.

    race: the paths are drawn up to the step held by the parameter `kit.RACE` (default: the last), with a
    marker on each run and the focus run's step, f and ‖θ‖ above the plot (playback, animated export).
    clickable: the tooltip grid becomes the start-slider grid (`kit.start_cells`) on top of every layer, a point
    selection "start" whose cell indices (ix, iy) a click reports (the app sets the start from them)."""
    surf = SURFACES[surface]
    xs = alt.Scale(domain=list(surf.xlim), nice=False, zero=False)
    ys = alt.Scale(domain=list(surf.ylim), nice=False, zero=False)
    names = [focus] + ([other] if other else [])
    rows = frame[frame["optimizer"].isin(names)]
    inside = rows[rows.x.between(*surf.xlim) & rows.y.between(*surf.ylim)]
    tol = (np.ptp(surf.xlim) / size / 2, np.ptp(surf.ylim) / size / 2)
    drawn = [kit.thin_path(inside[inside["optimizer"] == n], tol) for n in names]
    path_data = pd.DataFrame({
        "x": np.concatenate([kit.sig(d["x"]) for d in drawn]), "y": np.concatenate([kit.sig(d["y"]) for d in drawn]),
        "step": np.concatenate([d["step"] for d in drawn]).astype(int),
        "label": np.repeat([OPTIMIZERS[n].label for n in names], [len(d) for d in drawn])})
    corners = pd.DataFrame({"x": [surf.xlim[0]], "x2": [surf.xlim[1]], "y": [surf.ylim[0]], "y2": [surf.ylim[1]]})
    image = alt.Chart(corners).mark_image(url=kit.surface_image(surface), aspect=False).encode(
        x=alt.X("x:Q", scale=xs, title="x"), x2="x2:Q", y=alt.Y("y:Q", scale=ys, title="y"), y2="y2:Q")
    tips = kit.surface_tips(surface)
    dx, dy = (float(np.ptp(lim)) / math.isqrt(len(tips)) for lim in (surf.xlim, surf.ylim))
    hover = alt.Chart(tips).transform_calculate(x2=f"datum.x + {dx!r}", y2=f"datum.y + {dy!r}").mark_rect(
        opacity=0).encode(x=alt.X("x:Q", scale=xs), x2="x2:Q", y=alt.Y("y:Q", scale=ys), y2="y2:Q",
                          tooltip=[alt.Tooltip("f:Q", format=".4g")])
    color = alt.Color("label:N", scale=_color_scale(names),
                      legend=kit.legend([OPTIMIZERS[n].label for n in names], size))
    path = alt.Chart(path_data).mark_line(strokeWidth=2.2, clip=True).encode(
        x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys), order="step:Q", color=color,
        opacity=alt.condition(alt.datum.label == OPTIMIZERS[focus].label, alt.value(1.0), alt.value(0.35)),
        detail="label:N")
    if race:
        path = path.transform_filter(f"datum.step <= {kit.RACE}").properties(name=pb.RACE_LAYER + "path")
    # clickable: the start grid goes on top of every layer instead (a click on a path or a mark picks a start too)
    layers = [image, path] if clickable else [image, hover, path]
    ends = inside[inside["optimizer"] == focus]
    if len(ends):
        marks = pd.concat([ends.iloc[[0]].assign(what="start"), ends.iloc[[-1]].assign(what="end")])
        has_loss = "loss" in marks        # the insight panels' paths carry no loss column
        marks = marks[["x", "y", "step", "what"] + (["loss"] if has_loss else [])]
        mark_tips = ["what:N", "step:Q", alt.Tooltip("x:Q", format=".4f"), alt.Tooltip("y:Q", format=".4f")]
        if race:        # the end mark appears when the playback gets there
            ends_chart = alt.Chart(marks).transform_filter(f"datum.what == 'start' || datum.step <= {kit.RACE}")
            ends_chart = ends_chart.properties(name=pb.RACE_LAYER + "ends")
        else:
            ends_chart = alt.Chart(marks)
        layers.append(ends_chart.mark_point(filled=True, size=110, stroke="white", strokeWidth=1.2, clip=race).encode(
            x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys),
            shape=alt.Shape("what:N", scale=alt.Scale(domain=["start", "end"], range=["circle", "square"]),
                            legend=None),
            color=alt.value("#222222"),
            tooltip=mark_tips + ([alt.Tooltip("loss:Q", format=".4g")] if has_loss else [])))
    if race:            # under the ◆, which the end marker would hide where a run ends on it
        layers += pb.race_markers(rows, names, focus, xs, ys, color, COLORS[focus])
    if fixed is not None:
        fp = pd.DataFrame({"x": [fixed.point[0]], "y": [fixed.point[1]], "label": [fixed.label]})
        layers.append(alt.Chart(fp).mark_point(shape="diamond", size=200, filled=True,
                                               color="#ffd92f", stroke="#222222", strokeWidth=1.2).encode(
            x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys),
            tooltip=[alt.Tooltip("label:N", title="deterministic limit"),
                     alt.Tooltip("x:Q", format=".4f"), alt.Tooltip("y:Q", format=".4f")]))
        if fixed.kind == "box":
            c = fixed.c
            bx = pd.DataFrame({"x": [max(-c, surf.xlim[0])], "x2": [min(c, surf.xlim[1])],
                               "y": [max(-c, surf.ylim[0])], "y2": [min(c, surf.ylim[1])]})
            if c < max(abs(v) for v in (*surf.xlim, *surf.ylim)):
                layers.append(alt.Chart(bx).mark_rect(fill=None, stroke="#ffd92f", strokeWidth=1.6,
                                                      strokeDash=[5, 3]).encode(
                    x=alt.X("x:Q", scale=xs), x2="x2", y=alt.Y("y:Q", scale=ys), y2="y2"))
    if diverged_at is not None:
        msg = pd.DataFrame({"x": [np.mean(surf.xlim)], "y": [np.mean(surf.ylim)],
                            "text": [f"diverged at step {diverged_at}"]})
        layers.append(alt.Chart(msg).mark_text(fontSize=18, fontWeight="bold", color="#b2182b").encode(
            x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys), text="text:N"))
    if clickable:
        layers.append(pb.start_grid(surface, xs, ys, tips, dx, dy))
    head = kit.title(title, subtitle, size)
    if race:
        head.offset = 20                    # room for the step readout between the title and the plot
        return pb.with_race_param(alt.layer(*layers, width=size, height=size, title=head), frame)
    return alt.layer(*layers, width=size, height=size, title=head)


def metric_chart(frame: pd.DataFrame, field: str, title: str, names, log: bool = False,
                 width: int = 380, height: int = 220, subtitle: str = "", race: bool = False) -> alt.Chart:
    """One metric against step for every optimizer on shared axes (≤ MAX_POINTS drawn per run); race: a rule
    and each run's point at the playback step (`kit.RACE`)."""
    rows = frame[frame["optimizer"].isin(names)]
    rows = rows[np.isfinite(rows[field]) & ((rows[field] > 0) if log else True)]
    runs = [kit.every(rows[rows["optimizer"] == n]) for n in names]
    data = pd.DataFrame({"step": np.concatenate([r["step"] for r in runs]).astype(int),
                         field: kit.sig(np.concatenate([r[field] for r in runs])),
                         "label": np.repeat([OPTIMIZERS[n].label for n in names], [len(r) for r in runs])})
    y_axis = kit.log_axis(data[field]) if log else alt.Axis()
    color = alt.Color("label:N", scale=_color_scale(names), legend=kit.legend([OPTIMIZERS[n].label for n in names],
                                                                               width))
    y_scale = alt.Scale(type="log" if log else "linear")
    line = alt.Chart(data).mark_line(strokeWidth=2).encode(
        x=alt.X("step:Q", axis=kit.step_axis(width)),
        y=alt.Y(f"{field}:Q", title=None, scale=y_scale, axis=y_axis),
        color=color,
        tooltip=["label:N", "step:Q", alt.Tooltip(f"{field}:Q", format=".5g")],
    ).properties(width=width, height=height, title=kit.title(title, subtitle, width))
    if not race:
        return line
    return pb.with_race_param(alt.layer(line, *pb.step_rule_and_dots(data, field, y_scale, color), width=width,
                                        height=height, title=kit.title(title, subtitle, width)), frame)


TRAIN_TITLES = {"train_loss": "train loss", "test_loss": "test loss", "test_acc": "test accuracy",
                "weight_norm": "‖θ‖ (all parameters)"}

# Live charts redraw several times a second. Building an Altair chart and validating its spec costs
# ~13 ms, so each live chart is a fixed Vega-Lite spec built once (cached, data-free) plus the data of
# the moment; the Altair chart (for export and tests) is the same spec with the data put back.
LivePart = tuple[pd.DataFrame, dict]


def _spec(chart: alt.Chart) -> str:
    spec = chart.to_dict()
    for top_level_only in ("data", "datasets", "$schema", "config"):
        spec.pop(top_level_only, None)
    return json.dumps(spec)


def to_altair(part: LivePart, subtitle: str = "") -> alt.Chart:
    """The live part as a self-contained Altair chart (for export), with a parameter subtitle."""
    data, spec = part
    spec = {**spec, "data": {"values": json.loads(data.to_json(orient="records"))}}
    if subtitle:
        title = spec.get("title", "")
        width = spec.get("width") or spec.get("spec", {}).get("width", 330) * 3   # facets: ~3 panels
        spec["title"] = kit.title(title if isinstance(title, (str, list)) else title.get("text", ""), subtitle,
                               width).to_dict()
    return (alt.FacetChart if "facet" in spec else alt.Chart).from_dict(spec)


def _labelled(rows: pd.DataFrame, names) -> pd.DataFrame:
    data = rows[rows["optimizer"].isin(names)].copy()
    data["label"] = data["optimizer"].map(lambda n: OPTIMIZERS[n].label)
    return data


def _color(names, width: int = 330):
    return alt.Color("label:N", scale=_color_scale(names),
                     legend=kit.legend([OPTIMIZERS[n].label for n in names], width))


@lru_cache(maxsize=64)
def _metric_spec(metric: str, names: tuple, width: int, height: int) -> str:
    log = metric.endswith("loss")
    empty = pd.DataFrame({"step": [], metric: [], "label": []})
    return _spec(alt.Chart(empty).mark_line(strokeWidth=2).encode(
        x=alt.X("step:Q", axis=kit.step_axis(width)),
        y=alt.Y(f"{metric}:Q", title=None, scale=alt.Scale(type="log") if log else alt.Scale(zero=False)),
        color=_color(names, width),
        tooltip=["label:N", "step:Q", alt.Tooltip(f"{metric}:Q", format=".4g")],
    ).properties(width=width, height=height, title=TRAIN_TITLES.get(metric, metric)))


def training_part(rows: pd.DataFrame, metric: str, names, width: int = 330, height: int = 200) -> LivePart:
    """A live-training metric against step for every run on shared axes (log scale for losses)."""
    data = _labelled(rows, names)[["step", metric, "label"]]
    data = data[np.isfinite(data[metric])]
    if metric.endswith("loss"):
        data = data[data[metric] > 0]
    spec = json.loads(_metric_spec(metric, tuple(names), width, height))
    if metric.endswith("loss"):
        spec["encoding"]["y"]["axis"] = kit.log_axis(data[metric]).to_dict()
    if metric == "test_acc" and len(data):
        # frame the part where the runs differ, not the climb from chance level
        late = data[data["step"] >= 0.1 * data["step"].max()][metric]
        lo = float(late.min() if len(late) else data[metric].min())
        spec["encoding"]["y"]["scale"] = {"domain": [max(0.0, lo - 0.02), 1.0], "clamp": True}
    return data, spec


@lru_cache(maxsize=64)
def _layer_norm_spec(names: tuple, width: int, height: int) -> str:
    empty = pd.DataFrame({"step": [], "norm": [], "layer": [], "label": []})
    return _spec(alt.Chart(empty).mark_line(strokeWidth=1.8).encode(
        x=alt.X("step:Q", axis=kit.step_axis(width)), y=alt.Y("norm:Q", title=None), color=_color(names, width),
        strokeDash=alt.StrokeDash("layer:N", legend=alt.Legend(title="layer", orient="bottom", direction="horizontal",
                                                               columns=2)),   # beside the runs' legend: 2 fit
        tooltip=["label:N", "layer:N", "step:Q", alt.Tooltip("norm:Q", format=".4g")],
    ).properties(width=width, height=height, title="‖W‖ per layer"))


def layer_norm_part(rows: pd.DataFrame, names, width: int = 330, height: int = 200) -> LivePart:
    """Per-layer weight norms (one dash pattern per layer) for every run."""
    cols = [c for c in rows.columns if c.startswith("norm_")]
    data = _labelled(rows, names).melt(id_vars=["label", "step"], value_vars=cols, var_name="layer",
                                       value_name="norm")
    data["layer"] = data["layer"].str.replace("norm_", "", regex=False)
    return data[np.isfinite(data["norm"])], json.loads(_layer_norm_spec(tuple(names), width, height))


@lru_cache(maxsize=64)
def _decay_spec(names: tuple, width: int, height: int) -> str:
    empty = pd.DataFrame({"log10_rate": [], "fraction": [], "layer": [], "label": []})
    return _spec(alt.Chart(empty).mark_bar(opacity=0.75, binSpacing=0).encode(
        x=alt.X("log10_rate:Q", title="log₁₀ share removed per step"),
        y=alt.Y("fraction:Q", title="share of weights", stack=None),
        color=_color(names),
        tooltip=["label:N", "layer:N", alt.Tooltip("log10_rate:Q", format=".2f"),
                 alt.Tooltip("fraction:Q", format=".3f")],
    ).properties(width=width, height=height).facet(column=alt.Column("layer:N", title=None)))


def decay_part(dist: pd.DataFrame, names, step: int, width: int = 230, height: int = 170) -> LivePart:
    """Per-weight decay rate, one histogram per layer: a spread for Adam+L2, one spike for decoupled."""
    data = _labelled(dist, names)[["log10_rate", "fraction", "layer", "label"]]
    spec = json.loads(_decay_spec(tuple(names), width, height))
    spec["title"] = f"Effective decay per weight at step {step}"
    return data, spec


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
                              scale=_color_scale(optimizers) if optimizers else alt.Undefined),
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
    heat = alt.Chart(cells).mark_rect(strokeWidth=0).encode(
        x=alt.X("a:Q", scale=xs, axis=alt.Axis(title=axes[0], grid=False, tickCount=ticks)), x2="a2",
        y=alt.Y("b:Q", scale=ys, axis=alt.Axis(title=axes[1], grid=False, tickCount=ticks)), y2="b2",
        color=level, tooltip=[alt.Tooltip("loss:Q", format=".4g")])
    p = paths.assign(label=paths["optimizer"].map(lambda n: OPTIMIZERS[n].label))
    names = list(dict.fromkeys(p["optimizer"]))
    centre = p.assign(a=p["a"] + da / 2, b=p["b"] + db / 2)
    path = alt.Chart(centre).mark_line(strokeWidth=2.5, point=True).encode(
        x=alt.X("a:Q", scale=xs), y=alt.Y("b:Q", scale=ys), order="step:Q",
        color=alt.Color("label:N", scale=_color_scale(names),
                        legend=kit.legend([OPTIMIZERS[n].label for n in names], size)),
        tooltip=["label:N", "step:Q", alt.Tooltip("loss:Q", format=".4g")])
    return alt.layer(heat, path).properties(width=size, height=size,
                                            title=kit.title("Loss landscape through both runs", subtitle, size))
