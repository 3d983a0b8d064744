"""Every chart of the explorer: pure functions, tidy DataFrame in → Altair chart out."""
from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from explorer.core.forms import OPTIMIZERS
from explorer.core.surfaces import SURFACES
from explorer.viz import chartkit as kit
from explorer.viz import playback as pb
from explorer.viz.chartkit import color_scale

# Altair's debug mode validates each object as built (~40 % of a redraw); to_dict() still does (export, tests)
alt.utils.schemapi.disable_debug_mode()


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
    corners = pd.DataFrame({"x": [surf.xlim[0]], "x2": [surf.xlim[1]], "y": [surf.ylim[0]], "y2": [surf.ylim[1]]})
    image = alt.Chart(corners).mark_image(url=kit.surface_image(surface), aspect=False).encode(
        x=alt.X("x:Q", scale=xs, title="x"), x2="x2:Q", y=alt.Y("y:Q", scale=ys, title="y"), y2="y2:Q")
    tips = kit.surface_tips(surface)
    dx, dy = (float(np.ptp(lim)) / math.isqrt(len(tips)) for lim in (surf.xlim, surf.ylim))
    hover = alt.Chart(tips).transform_calculate(x2=f"datum.x + {dx!r}", y2=f"datum.y + {dy!r}").mark_rect(
        opacity=0).encode(x=alt.X("x:Q", scale=xs), x2="x2:Q", y=alt.Y("y:Q", scale=ys), y2="y2:Q",
                          tooltip=[alt.Tooltip("f:Q", format=".4g")])
    color = alt.Color("label:N", scale=color_scale(names),
                      legend=kit.legend([OPTIMIZERS[n].label for n in names], size))
    path = _paths(surf, inside, names, focus, xs, ys, color, size, race)
    # clickable: the start grid goes on top of every layer instead (a click on a path or a mark picks a start too)
    layers = [image, path] if clickable else [image, hover, path]
    layers += _end_marks(inside[inside["optimizer"] == focus], xs, ys, race)
    if race:            # under the ◆, which the end marker would hide where a run ends on it
        layers += pb.race_markers(rows, names, focus, xs, ys, color, OPTIMIZERS[focus].color)
    if fixed is not None:
        layers += _fixed_point(surf, fixed, xs, ys)
    if diverged_at is not None or clickable:        # the app's panels keep the layer (empty) so their spec stays
        msg = pd.DataFrame({"x": [np.mean(surf.xlim)], "y": [np.mean(surf.ylim)],
                            "text": [f"diverged at step {diverged_at}"]}).iloc[:int(diverged_at is not None)]
        layers.append(alt.Chart(msg).mark_text(fontSize=18, fontWeight="bold", color="#b2182b").encode(
            x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys), text="text:N"))
    if clickable:
        layers.append(pb.start_grid(surface, xs, ys, tips, dx, dy))
    head = kit.title(title, subtitle, size)
    if race:
        head.offset = 20                    # room for the step readout between the title and the plot
        return pb.with_race_param(alt.layer(*layers, width=size, height=size, title=head), frame)
    return alt.layer(*layers, width=size, height=size, title=head)


def _paths(surf, inside: pd.DataFrame, names: list[str], focus: str, xs, ys, color, size: int,
           race: bool) -> alt.Chart:
    """The runs' paths inside the window, thinned to what the pixels show; the focus run opaque."""
    tol = (np.ptp(surf.xlim) / size / 2, np.ptp(surf.ylim) / size / 2)
    drawn = [kit.thin_path(inside[inside["optimizer"] == n], tol) for n in names]
    path_data = pd.DataFrame({
        "x": np.concatenate([kit.sig(d["x"]) for d in drawn]), "y": np.concatenate([kit.sig(d["y"]) for d in drawn]),
        "step": np.concatenate([d["step"] for d in drawn]).astype(int),
        "label": np.repeat([OPTIMIZERS[n].label for n in names], [len(d) for d in drawn])})
    path = alt.Chart(path_data).mark_line(strokeWidth=2.2, clip=True).encode(
        x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys), order="step:Q", color=color,
        opacity=alt.condition(alt.datum.label == OPTIMIZERS[focus].label, alt.value(1.0), alt.value(0.35)),
        detail="label:N")
    if race:
        path = path.transform_filter(f"datum.step <= {kit.RACE}").properties(name=pb.RACE_LAYER + "path")
    return path


def _end_marks(ends: pd.DataFrame, xs, ys, race: bool) -> list[alt.Chart]:
    """The focus run's start (circle) and end (square) marks; none when its path never enters the window."""
    if not len(ends):
        return []
    marks = pd.concat([ends.iloc[[0]].assign(what="start"), ends.iloc[[-1]].assign(what="end")])
    has_loss = "loss" in marks        # the insight panels' paths carry no loss column
    marks = marks[["x", "y", "step", "what"] + (["loss"] if has_loss else [])]
    mark_tips = ["what:N", "step:Q", alt.Tooltip("x:Q", format=".4f"), alt.Tooltip("y:Q", format=".4f")]
    if race:        # the end mark appears when the playback gets there
        ends_chart = alt.Chart(marks).transform_filter(f"datum.what == 'start' || datum.step <= {kit.RACE}")
        ends_chart = ends_chart.properties(name=pb.RACE_LAYER + "ends")
    else:
        ends_chart = alt.Chart(marks)
    return [ends_chart.mark_point(filled=True, size=110, stroke="white", strokeWidth=1.2, clip=race).encode(
        x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys),
        shape=alt.Shape("what:N", scale=alt.Scale(domain=["start", "end"], range=["circle", "square"]),
                        legend=None),
        color=alt.value("#222222"),
        tooltip=mark_tips + ([alt.Tooltip("loss:Q", format=".4g")] if has_loss else []))]


def _fixed_point(surf, fixed, xs, ys) -> list[alt.Chart]:
    """The deterministic limit (a yellow ◆) and, for the box kind, the box ‖θ‖∞ ≤ c where it shows."""
    fp = pd.DataFrame({"x": [fixed.point[0]], "y": [fixed.point[1]], "label": [fixed.label]})
    layers = [alt.Chart(fp).mark_point(shape="diamond", size=200, filled=True,
                                       color="#ffd92f", stroke="#222222", strokeWidth=1.2).encode(
        x=alt.X("x:Q", scale=xs), y=alt.Y("y:Q", scale=ys),
        tooltip=[alt.Tooltip("label:N", title="deterministic limit"),
                 alt.Tooltip("x:Q", format=".4f"), alt.Tooltip("y:Q", format=".4f")])]
    if fixed.kind == "box":     # the layer is there even when the box is not in view (no rows): one spec for all λ
        c = fixed.c
        bx = pd.DataFrame({"x": [max(-c, surf.xlim[0])], "x2": [min(c, surf.xlim[1])],
                           "y": [max(-c, surf.ylim[0])], "y2": [min(c, surf.ylim[1])]})
        bx = bx.iloc[:int(c < max(abs(v) for v in (*surf.xlim, *surf.ylim)))]
        layers.append(alt.Chart(bx).mark_rect(fill=None, stroke="#ffd92f", strokeWidth=1.6, strokeDash=[5, 3]).encode(
            x=alt.X("x:Q", scale=xs), x2="x2:Q", y=alt.Y("y:Q", scale=ys), y2="y2:Q"))
    return layers


