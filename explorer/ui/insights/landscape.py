"""Panel 5: the loss landscape of a trained pair."""
from __future__ import annotations

import time

import streamlit as st

from explorer import charts
from explorer.params import TRAIN, fmt
from explorer.train import TrainConfig, default_device
from explorer.ui.controls import heavy_toggle, show_chart
from explorer.ui.urlstate import url_widget


@st.cache_data(max_entries=16, show_spinner="Training the pair and evaluating the plane…")
def _landscape(model, wd, steps, kind, n):
    from explorer.landscape import landscape

    cfg = TrainConfig(model=model, wd=wd, steps=steps)
    t0 = time.perf_counter()
    res = landscape(cfg, kind, n)
    return res, time.perf_counter() - t0


def render() -> None:
    st.markdown("#### 5 · The loss landscape of a trained Adam+L2 / AdamW pair")
    st.caption(
        "A plane through weight space: by default through both end points (first axis) and the main PCA "
        "direction of both trajectories (second axis); or two filter-normalized random directions "
        "(Li et al., 2018). The training loss on a grid over the plane is one batched computation."
    )
    c = st.columns(5)
    model = url_widget(c[0], "selectbox", "model", list(TRAIN["model"].choices), key="i5_model")
    wd = url_widget(c[1], "select_slider", "λ", list(TRAIN["wd"].options), 0.05, format_func=fmt, key="i5_wd")
    steps = url_widget(c[2], "select_slider", "steps", [300, 750, 1500], 1500, key="i5_steps")
    kind = url_widget(c[3], "radio", "plane", ["pca", "random"], horizontal=True, key="i5_kind")
    n = url_widget(c[4], "select_slider", "grid", [21, 41, 61, 81], 41, key="i5_n")
    if not heavy_toggle(
        "Compute the landscape (trains the pair, then evaluates the grid)", "i5_go",
        f"train the pair for {steps:,} steps and evaluate a {n}×{n} grid",
    ):
        return
    res, seconds = _landscape(model, wd, steps, kind, n)
    meta = {"model": model, "wd": wd, "steps": steps, "plane": kind, "grid": n}
    show_chart(
        st,
        charts.landscape_chart(
            res.grid, res.paths, res.axes, subtitle=f"{model} · λ={fmt(wd)} · {steps} steps · {n}×{n} grid"
        ),
        key="i5_landscape", stem="landscape", frame=res.grid, meta=meta, width="content",
    )
    st.caption(f"Computed in {seconds:.1f} s on {default_device()} (training included).")
