"""Panel 3: effective decay per coordinate and per layer."""
from __future__ import annotations

import streamlit as st

from explorer.analysis import insights
from explorer.core.forms import OPTIMIZERS
from explorer.interface.params import INSIGHT
from explorer.ui import jobs
from explorer.ui.controls import export_menu, heavy_toggle, show_chart
from explorer.ui.insights.common import adam_surface_controls
from explorer.viz import insight_charts, training_charts


@st.cache_data(max_entries=64, show_spinner=False)
def _effective_decay(surface, lr, wd, steps, form, noise):
    return insights.effective_decay_surface(surface, lr, wd, steps, form, noise=noise)


def _model_decay(form, wd, steps):
    """Trained in a worker process (explorer.ui.jobs); None: cancelled or failed (said on the page)."""
    return jobs.result("explorer.analysis.insights:model_effective_decay", form, wd, steps,
                       label="Training the pair on digits")


def render() -> None:
    st.markdown("#### 3 · Effective decay per coordinate: weights with large gradients are regularized less")
    st.latex(
        r"\text{Adam+L2: }\frac{\alpha\lambda}{\sqrt{\hat v_{t,i}}+\epsilon}\ \text{per coordinate }i"
        r"\qquad\text{AdamW: }\alpha\lambda\ (\text{PyTorch})\ \text{or}\ \lambda\ (\text{paper})"
    )
    meta = adam_surface_controls(3, "λ")
    surface, form, lr, wd, noise = meta.values()
    e = _effective_decay(surface, lr, wd, 500, form, noise)
    e = e.assign(label=e["optimizer"].map(lambda n: OPTIMIZERS[n].label))
    show_chart(
        st,
        insight_charts.lines(
            e, "step", "rate", "label", "Share of θ removed per step by the decay term (η_t = 1)",
            optimizers=list(dict.fromkeys(e["optimizer"])), dash="coordinate", log_y=True,
            y_title="decay rate", width=520,
        ),
        key="i3_rates", stem="effective-decay", frame=e, meta=meta, height=300,
    )
    last = e[e.step == e.step.max()].set_index(["optimizer", "coordinate"])["rate"]
    st.caption(
        f"At the last step Adam+L2 decays x at {last[('adam-l2', 'x')]:.3g} and y at "
        f"{last[('adam-l2', 'y')]:.3g} per step; AdamW decays both at "
        f"{last.drop('adam-l2').iloc[0]:.3g}. On the quadratic x is 100× steeper: its large √v̂ "
        "shrinks its L2 decay."
    )
    if heavy_toggle(
        "Also per layer on the digits network (the live-training default, 500 steps)", INSIGHT[3]["model"], "insight3",
        "train the Adam+L2 / AdamW pair on digits (500 steps)",
    ):
        out = _model_decay(form, 0.05, 500)
        if out is None:
            return
        dist, names, step = out
        part = training_charts.decay_part(dist, names, step)
        st.vega_lite_chart(*part, width="content")
        export_menu("i3_model_chart", "effective-decay-layers", lambda: training_charts.to_altair(part), lambda: dist,
                    meta | {"model_lambda": 0.05, "model_steps": 500})
