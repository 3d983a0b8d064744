"""The live-training charts: metrics against step, per-layer norms, the decay-rate distribution."""
from __future__ import annotations

import json
from functools import lru_cache

import altair as alt
import numpy as np
import pandas as pd

from explorer.core.forms import OPTIMIZERS
from explorer.viz import chartkit as kit
from explorer.viz import playback as pb
from explorer.viz.chartkit import color_scale


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
    color = alt.Color("label:N", scale=color_scale(names), legend=kit.legend([OPTIMIZERS[n].label for n in names],
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
    return alt.Color("label:N", scale=color_scale(names),
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
