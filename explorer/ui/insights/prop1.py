"""Panel 1: for SGD, L2 regularization is weight decay (Proposition 1)."""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.analysis import insights
from explorer.interface.params import INSIGHT
from explorer.runs.train import TrainConfig
from explorer.ui import jobs
from explorer.ui.controls import control_block, heavy_toggle, show_chart, spec_widget
from explorer.viz import insight_charts, trajectory_charts

SECTION = "insight1"       # this panel's controls: INSIGHT[1], URL names i1_…
SPECS = INSIGHT[1]


@st.cache_data(max_entries=64, show_spinner="Computing…")
def _prop1_surface(surface, lr, lam, steps, momentum, schedule):
    return insights.prop1_surface(surface, lr, lam, steps, momentum, schedule)


def _prop1_model(lr, lam, momentum, steps):
    """Trained in a worker process (explorer.ui.jobs); None: cancelled or failed (said on the page)."""
    cfg = TrainConfig(lr=lr, momentum=momentum, steps=steps, schedule="constant", train_samples=300)
    return jobs.result("explorer.analysis.insights:prop1_model", cfg, lam, label="Training SGD+L2 and SGDW on digits")


def render() -> None:
    st.markdown("#### 1 · SGD: L2 regularization *is* weight decay (Proposition 1)")
    st.latex(
        r"\theta_t=\theta_{t-1}-\eta_t\alpha\big(\nabla f+\tfrac{\lambda}{\alpha}\theta_{t-1}\big)"
        r"\;=\;\theta_{t-1}-\eta_t\alpha\nabla f-\eta_t\lambda\theta_{t-1}"
    )
    c = control_block(SECTION).columns(5)
    surface = spec_widget(c[0], "Surface", SPECS["surface"], SECTION, help=None)
    lr = spec_widget(c[1], "α", SPECS["lr"], SECTION, help=None)
    lam = spec_widget(c[2], "λ (SGDW)", SPECS["lam"], SECTION, help=None)
    momentum = spec_widget(c[3], "momentum μ", SPECS["momentum"], SECTION, help=None)
    schedule = spec_widget(c[4], "schedule", SPECS["schedule"], SECTION, help=None)
    meta = {"surface": surface, "lr": lr, "lambda": lam, "momentum": momentum, "schedule": schedule}
    f = _prop1_surface(surface, lr, lam, 1000, momentum, schedule)
    cols = st.columns(2)
    show_chart(
        cols[0],
        trajectory_charts.trajectory_panel(surface, f, "sgdw", "sgd-l2", title="SGDW and SGD+L2 (λ' = λ/α)", size=360),
        key="i1_paths", stem="prop1-paths", frame=f, meta=meta, width="content", grow=False,
    )
    dist = f[f.optimizer == "sgdw"][["step", "distance"]].assign(what="‖θ_SGD+L2 − θ_SGDW‖")
    show_chart(
        cols[1],
        insight_charts.lines(
            dist, "step", "distance", "what", "Distance between the two paths", log_y=True, y_title="distance"
        ),
        key="i1_distance", stem="prop1-distance", frame=dist, meta=meta, height=300,
    )
    worst = float(np.nanmax(f.distance)) if np.isfinite(f.distance).any() else float("nan")
    st.caption(
        f"Largest distance over 1,000 steps: **{worst:.2g}**. With μ = 0 it is float32 round-off "
        "(~1e-6) for any schedule. With momentum the L2 gradient λ'θ is accumulated in the buffer — a "
        "μ-weighted history of past θ — while SGDW decays the current θ only, so the paths drift apart; "
        "the match returns only if λ' accounts for the buffer's gain 1/(1−μ)."
    )
    if heavy_toggle(
        "Also on the digits model (300 steps of SGD+L2 and SGDW in one batch)", SPECS["model"], SECTION,
        "train SGD+L2 and SGDW on digits (300 steps)",
    ):
        d = _prop1_model(min(lr * 50, 0.1), lam, momentum, 300)
        if d is None:
            return
        d = d.assign(what="relative distance")
        show_chart(
            st,
            insight_charts.lines(
                d, "step", "relative_distance", "what", "‖θ_SGD+L2 − θ_SGDW‖ / ‖θ_SGDW‖ on the MLP",
                log_y=True, y_title="relative distance",
            ),
            key="i1_model_chart", stem="prop1-model", frame=d, meta=meta, height=300,
        )
