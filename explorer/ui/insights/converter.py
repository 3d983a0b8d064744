"""Panel 6: one decay in every library's spelling — equivalent λ, timescale τ, N and e^−N, and the code."""
from __future__ import annotations

import streamlit as st

from explorer.analysis import convert, snippets
from explorer.core.fmt import fmt
from explorer.interface.params import CONVERT, INSIGHT
from explorer.ui.controls import control_block, markdown_table, show_chart, spec_widget
from explorer.viz import insight_charts

LABELS = {"source": "Your λ is in the form", "lr": "Peak learning rate α", "wd": "λ", "steps": "Steps",
          "schedule": "Schedule η_t", "train_samples": "Training examples", "batch_size": "Batch size"}
FORMATS = {"lr": "%g", "wd": "%g"}


@st.cache_data(max_entries=64, show_spinner=False)
def _convert(p: dict):
    c = convert.convert_params(p)
    return c, convert.survival(c), snippets.snippets(c, convert.schedule_of(p))


def render() -> None:
    st.markdown("#### 6 · One decay, four spellings: convert λ between the paper's, PyTorch's, the corrected "
                "and Composer's form")
    st.latex(r"\theta \leftarrow \theta\,(1 - r_t):\quad r_t = \eta_t\lambda_{\text{paper}}"
             r" = \eta_t\,\alpha\,\lambda_{\text{torch}} = \eta_t^2\,\alpha\,\lambda_{\text{corrected}}"
             r"\qquad N = \textstyle\sum_t r_t,\quad \tau = 1/(\alpha\lambda_{\text{torch}})")
    cols = control_block("insight6").columns(len(CONVERT))
    p = {name: spec_widget(col, LABELS[name], INSIGHT[6][name], "insight6",
                           **({"format": FORMATS[name]} if name in FORMATS else {}))
         for col, name in zip(cols, CONVERT)}
    try:
        c, left, code = _convert(p)
    except ValueError as e:
        st.error(f"{e}. Change the values above.")
        return
    table = c.table.assign(lam=c.table["lam"].map(lambda v: f"{v:.4g}"))
    table = table[["form", "library", "shrink", "lam", "tau_steps", "tau_epochs", "equal"]].rename(columns={
        "lam": "λ", "shrink": "shrink per step", "tau_steps": "τ (steps, at η_t = 1)", "tau_epochs": "τ (epochs)",
        "equal": "equal to yours"})
    st.markdown(markdown_table(table))      # its full width: beside the code its last column was cut off
    st.markdown(f"Over {c.steps:,} steps the decay lasts **N = {c.n:.3g}** timescales: **{c.surviving:.1%}** of "
                f"the initial weights survive it (e^−N, gradients aside). One epoch is "
                f"{fmt(round(c.steps_per_epoch, 2))} steps.")
    if c.warning():
        st.warning(c.warning())
    show_chart(st, insight_charts.lines(left, "step", "surviving", "form", "Share of the initial weights the decay "
                                "leaves after t steps", y_title="Π(1 − r_t)", width=560, height=220),
               key="i6_survival", stem="decay-forms-converted", frame=left, meta=p, width="content")
    st.caption("Forms with the same power of η_t make the same update at every step once their λ agree; the "
               "corrected form (η_t²) can only match the total N under a varying schedule — it decays less "
               "while the learning rate is low. Composer's DecoupledAdamW scales λ by lr_t/lr_0 = η_t: the "
               "paper's form.")
    st.markdown("**The same decay as code**: each library's optimizer and schedule, with the λ of its row")
    for tab, text in zip(st.tabs([lib.label for lib in snippets.LIBRARIES.values()]), code.values()):
        tab.code(text, language="python")
