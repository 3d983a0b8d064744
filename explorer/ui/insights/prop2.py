"""Panel 2: for Adam, no λ' makes L2 equal decoupled decay (Proposition 2)."""
from __future__ import annotations

import streamlit as st

from explorer.analysis import insights
from explorer.core.forms import pair_optimizers
from explorer.ui.controls import show_chart
from explorer.ui.insights.common import adam_surface_controls
from explorer.viz import insight_charts, trajectory_charts


@st.cache_data(max_entries=64, show_spinner="Searching λ'…")
def _best_match(surface, target, candidate, lr, wd, steps, noise):
    return insights.best_match(surface, target, candidate, lr=lr, wd=wd, steps=steps, noise=noise)


def render() -> None:
    st.markdown("#### 2 · Adam: no λ' makes L2 equal decoupled decay (Proposition 2)")
    st.latex(
        r"\min_{\lambda'}\;\frac1T\sum_t\big\|\theta^{\text{Adam+L2}(\lambda')}_t-\theta^{\text{AdamW}(\lambda)}_t\big\|"
        r"\;>\;0"
    )
    meta = adam_surface_controls(2, "λ (AdamW)")
    surface, form, lr, wd, noise = meta.values()
    target = pair_optimizers("adam", form)[1]
    m = _best_match(surface, target, "adam-l2", lr, wd, 500, noise)
    sgd = _best_match(surface, "sgdw", "sgd-l2", min(lr, 0.01), min(wd, 0.1), 500, 0.0)
    cols = st.columns(3)
    curve = m.curve.assign(what="Adam+L2(λ') vs AdamW(λ)")
    show_chart(
        cols[0],
        insight_charts.lines(
            curve, "wd", "distance", "what", "Mean path distance for every λ'",
            log_x=True, log_y=True, x_title="λ'", width=300,
        ),
        key="i2_curve", stem="prop2-distance-by-lambda", frame=curve, meta=meta, height=300,
    )
    show_chart(
        cols[1],
        trajectory_charts.trajectory_panel(
            surface, m.paths, target, "adam-l2", size=300, title=f"AdamW and the best Adam+L2, λ' = {m.best_wd:.3g}"
        ),
        key="i2_paths", stem="prop2-paths", frame=m.paths, meta=meta | {"best_lambda": m.best_wd}, width="content",
        grow=False,
    )
    resid = insights.match_gaps(m, target)
    show_chart(
        cols[2],
        insight_charts.lines(
            resid, "step", "gap", "coordinate", "Remaining gap per coordinate",
            y_title="|Δθ|", width=300,
        ),
        key="i2_gap", stem="prop2-gap", frame=resid, meta=meta, height=300,
    )
    if m.best_wd == 0:
        st.caption("With λ = 0 AdamW is plain Adam, and so is Adam+L2 with λ' = 0: the paths are the same. "
                   "Move λ to see that no λ' matches AdamW once it decays.")
        return
    st.caption(
        f"The best λ' = {m.best_wd:.4g} still leaves a mean distance of **{m.residual:.3g}**: Adam divides "
        "λ'θ by √v̂, so one λ' cannot give every coordinate AdamW's common rate — the steep one is "
        f"decayed too little or the flat one too much. The same search for SGD+L2 against SGDW finds "
        f"λ' = {sgd.best_wd:.4g} = λ/α with distance {sgd.residual:.1g} (Proposition 1)."
    )
