"""Panel 5: the loss landscape of a trained pair."""
from __future__ import annotations

import streamlit as st

from explorer.core.fmt import fmt
from explorer.interface.params import INSIGHT
from explorer.runs.train import TrainConfig, default_device
from explorer.ui import jobs
from explorer.ui.controls import control_block, heavy_toggle, show_chart, spec_widget
from explorer.viz import insight_charts

SECTION = "insight5"       # this panel's controls: INSIGHT[5], URL names i5_…
SPECS = INSIGHT[5]


def _landscape(model, wd, steps, kind, n):
    """(the landscape, seconds it took) from a worker process (explorer.ui.jobs); None: cancelled or failed."""
    cfg = TrainConfig(model=model, wd=wd, steps=steps)
    key = ("explorer.runs.landscape:landscape", cfg, kind, n)
    done = jobs.compute(key[0], cfg, kind, n, key=key, label="Training the pair and evaluating the plane",
                        again=False, cancel_key="i5_cancel")
    return None if done is None else (done.value, done.seconds)


def render() -> None:
    st.markdown("#### 5 · The loss landscape of a trained Adam+L2 / AdamW pair")
    st.caption(
        "A plane through weight space: by default through both end points (first axis) and the main PCA "
        "direction of both trajectories (second axis); or two filter-normalized random directions "
        "(Li et al., 2018). The training loss on a grid over the plane is one batched computation."
    )
    c = control_block(SECTION).columns(5)
    model = spec_widget(c[0], "model", SPECS["model"], SECTION, help=None)
    wd = spec_widget(c[1], "λ", SPECS["wd"], SECTION, help=None)
    steps = spec_widget(c[2], "steps", SPECS["steps"], SECTION, help=None)
    kind = spec_widget(c[3], "plane", SPECS["kind"], SECTION, horizontal=True, help=None)
    n = spec_widget(c[4], "grid", SPECS["n"], SECTION, help=None)
    if not heavy_toggle(
        "Compute the landscape (trains the pair, then evaluates the grid)", SPECS["go"], SECTION,
        f"train the pair for {steps:,} steps and evaluate a {n}×{n} grid",
    ):
        return
    out = _landscape(model, wd, steps, kind, n)
    if out is None:
        return
    res, seconds = out
    meta = {"model": model, "wd": wd, "steps": steps, "plane": kind, "grid": n}
    show_chart(
        st,
        insight_charts.landscape_chart(
            res.grid, res.paths, res.axes, subtitle=f"{model} · λ={fmt(wd)} · {steps} steps · {n}×{n} grid"
        ),
        key="i5_landscape", stem="landscape", frame=res.grid, meta=meta, width="content", grow=False,
    )
    st.caption(f"Computed in {seconds:.1f} s on {default_device()} (training included).")
