"""Shared pieces of every view: slider-from-spec, the link-safe heavy toggle, charts with an export menu,
small tables."""
from __future__ import annotations

import contextlib

import pandas as pd
import streamlit as st

from explorer.core.fmt import fmt
from explorer.core.forms import OPTIMIZERS, by_form, form_choices
from explorer.ui import urlstate
from explorer.ui.copy import CONTROLS, ROW
from explorer.ui.urlstate import url_widget
from explorer.viz import chartkit
from explorer.viz.export import FORMATS, MIME, export


def export_menu(key: str, stem: str, chart, frame, meta: dict, animation=None, animation_stem: str = "") -> None:
    """⤓ PNG / SVG (rendered server-side by vl-convert) and CSV / JSON of the chart's data; with `animation`
    (a callable giving GIF bytes) also an animated GIF.

    chart and frame are callables: nothing is rendered until a button is pressed."""
    with st.popover("Export", icon=":material/download:", width="content"):
        for fmt in FORMATS:
            st.download_button(
                fmt.upper(),
                data=lambda f=fmt: export(chart(), frame(), f, meta),
                file_name=f"{stem}.{fmt}",
                mime=MIME[fmt],
                key=f"dl_{key}_{fmt}",
                width="stretch",
                on_click="ignore",  # a download changes nothing: no rerun that could close the menu
            )
        if animation is not None:
            st.download_button("GIF (the race, animated)", data=animation, file_name=f"{animation_stem or stem}.gif",
                               mime="image/gif", key=f"dl_{key}_gif", width="stretch", on_click="ignore",
                               help="both panels, the paths growing; rendered when you click: 10–30 s")


def markdown_table(frame: pd.DataFrame) -> str:
    """A small table as Markdown (the page's first view then loads no data-grid code); numbers to 4
    significant digits."""
    def cell(v) -> str:
        text = f"{v:.4g}" if isinstance(v, float) else str(v)
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(map(cell, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


# Streamlit fits a chart's whole height (title, axes, legends) into the spec's `height`, squeezing the plot
# to a sliver; fit-x sizes the width to the column and keeps the plot's own height.
GROW = {"type": "fit-x", "contains": "padding"}
_CONCAT = ("hconcat", "vconcat", "concat", "facet", "repeat")


def show_chart(where, chart, *, key: str, stem: str, frame, meta: dict, chart_key: str | None = None,
               animation=None, animation_stem: str = "", grow: bool = True, export_chart=None, **size) -> None:
    """An Altair chart (or its spec) with its export menu underneath (every chart of the app exports; export_chart:
    a callable giving the chart to export when it differs from the one shown).
    grow: the plot keeps its spec height and the width follows the column (False: the whole chart fits the
    spec's size, as the square surface panels do to stay above the fold). chart_key and the rest of `size`
    (on_select, selection_mode, height …) go to st.vega_lite_chart."""
    # the spec as a dict, without Altair's per-chart JSON-schema validation (tested in test_charts)
    spec = chart if isinstance(chart, dict) else chartkit.spec(chart)
    if grow and not any(k in spec for k in _CONCAT):
        spec = {**spec, "autosize": GROW}       # the element then takes the chart's height: `height` is moot
        size.pop("height", None)
    where.vega_lite_chart(spec, key=chart_key, **({"width": "stretch"} | size))
    with contextlib.nullcontext() if where is st else where:
        export_menu(key, stem, export_chart or (lambda: chart), lambda: frame, meta, animation, animation_stem)


MEMO = "_memo_"     # session-state key prefix of memo()


def memo(name: str, key, build):
    """build()'s value, built again only when `key` changes (per session): a live view rerunning every second
    draws from what it built the last time while no new numbers have arrived."""
    held = st.session_state.get(MEMO + name)
    if held is None or held[0] != key:
        held = (key, build())
        st.session_state[MEMO + name] = held
    return held[1]


def control_block(name: str, where=st):
    """The container a tab's or a panel's controls go in. On a wide screen it stays where it is drawn; on a phone
    the page's style sheet (copy.COMPACT_PAGE) moves it after the charts of its block, so a visitor sees a chart
    first. Wrap a part of a tab in st.container() to keep its controls' move inside that part."""
    return where.container(key=CONTROLS + name)


def button_row(name: str, spec, where=st) -> list:
    """Columns for a row of buttons (and a caption). On a phone, where Streamlit stacks columns one under the
    other, they stay side by side (copy.COMPACT_PAGE): each as wide as its content, the row wrapping when full."""
    return where.container(key=ROW + name).columns(spec)


PAIR_CAPTIONS = ["Adam+L2 vs AdamW", "SGD+L2 vs SGDW"]
FORM_CAPTIONS = [OPTIMIZERS[by_form(f)].rule for f in form_choices()]   # in the radio's order


def spec_widget(where, label: str, spec, section: str, default=None, **kw):
    """The widget a spec (explorer/interface/params.py) describes — its choices, stops or bounds, its default — in
    one section of the app (a tab, or an Insights panel: urlstate.PREFIX), so the widget, its URL parameter and
    the CLI option accept the same values. `default`: a value set by code (a preset) instead of the spec's."""
    kw.setdefault("help", spec.help)
    at = {"section": section, "spec": spec}
    if spec.choices:
        choices = list(spec.choices)
        if spec.labels:
            kw.setdefault("format_func", dict(spec.labels).get)
        if default is not None:
            return url_widget(where, spec.widget or "selectbox", label, choices, default=default, **at, **kw)
        return url_widget(where, spec.widget or "selectbox", label, choices, index=choices.index(spec.default),
                          **at, **kw)
    if spec.options:
        if default is not None:
            return url_widget(where, "select_slider", label, options=list(spec.options), format_func=fmt,
                              default=default, **at, **kw)
        return url_widget(where, "select_slider", label, options=list(spec.options), value=spec.default,
                          format_func=fmt, **at, **kw)
    if spec.kind == "bool" or spec.widget == "toggle":
        return url_widget(where, "toggle", label, default=default, **at, **({} if default is not None else
                                                                            {"value": spec.default}), **kw)
    kind = spec.widget or "slider"
    lo, hi = spec.lo, spec.hi
    step = spec.step if spec.step is not None else (1 if spec.kind == "int" else None)
    if default is not None:
        return url_widget(where, kind, label, lo, hi, step=step, default=default, **at, **kw)
    return url_widget(where, kind, label, lo, hi, spec.default, step, **at, **kw)


def heavy_toggle(label: str, spec, section: str, what: str) -> bool:
    """A toggle for minutes-scale work: a link may restore it switched on, but only a click in this
    session starts the computation (a URL alone never does)."""
    on = spec_widget(st, label, spec, section, help=None)
    key = urlstate.url_name(section, spec)
    if on and urlstate.from_link(key):
        if not st.button(f"Compute: {what}", key=f"{key}_confirm", type="primary"):
            st.caption("This link asks for a computation; it starts when you press the button.")
            return False
        urlstate.confirm(key)
    return on
