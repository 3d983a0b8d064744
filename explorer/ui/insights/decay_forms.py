"""Panel 4: the decay forms — paper (η_t·λ), PyTorch (η_t·α·λ), corrected (η_t²·α·λ) and L2."""
from __future__ import annotations

import streamlit as st

from explorer.analysis import insights
from explorer.core.fmt import fmt
from explorer.core.forms import OPTIMIZERS
from explorer.interface.params import INSIGHT
from explorer.runs.train import TrainConfig
from explorer.ui import jobs
from explorer.ui.controls import control_block, markdown_table, show_chart, spec_widget
from explorer.viz import insight_charts

SECTION = "insight4"       # this panel's controls: INSIGHT[4], URL names i4_…
SPECS = INSIGHT[4]


def _decay_forms(lam_torch, lr, steps):
    """Trained in a worker process (explorer.ui.jobs); None: cancelled or failed (said on the page)."""
    cfg = TrainConfig(lr=lr, steps=steps, train_samples=300)
    return jobs.result("explorer.analysis.insights:decay_forms", cfg, lam_torch, (lr / 4, lr, lr * 4),
                       label="Training twelve runs")


def _shown() -> tuple[str, ...]:
    """The PyTorch form first (the panel's λ is λ_torch), then the other forms in the registry's order."""
    rest = tuple(n for n in insights.panel_forms() if n != "adamw-torch")
    return ("adamw-torch",) + rest


def _forms_table(d, lam: float, lr: float) -> None:
    """Each form's shrink per step, timescale and final norm at each α, and which invariant each keeps."""
    table = (
        d.groupby(["optimizer", "lr"])
        .agg(
            shrink=("shrink_per_step", "first"),
            timescale=("timescale", "first"),
            final_norm=("weight_norm", "last"),
        )
        .reset_index()
    )
    table["optimizer"] = table["optimizer"].map(lambda n: OPTIMIZERS[n].label)
    table["lr"] = table["lr"].map(fmt)
    st.markdown(markdown_table(table.rename(columns={
        "lr": "α", "shrink": "shrink per step (η=1)", "timescale": "timescale (steps)", "final_norm": "final ‖θ‖",
    })))
    st.caption(
        f"The paper and PyTorch forms are the same run at the base α (λ_paper = α·λ_torch = {lam * lr:.3g}); all "
        "runs use a cosine schedule (η_t: 1 → 0). L2 (λ = λ_torch) has no single shrink per step (nan): Adam "
        "divides its λθ by √v̂+ε, weight by weight."
    )
    st.markdown(
        "**Which invariant each form keeps.** "
        "*Paper* (η_t·λ): the total shrinkage λ·Ση_t does not depend on α — what matters when the decay's job "
        "is to remove a large start (far from equilibrium). "
        "*PyTorch* (η_t·α·λ): AdamW's fixed point m̂/(√v̂+ε) = −λθ does not involve α — what matters when the "
        "run lasts many timescales 1/(α·λ) and the weights' scale matters. "
        "*Corrected* (η_t²·α·λ = lr_t²/lr_max·λ, Defazio 2025; timm's `corrected_weight_decay`): a normalized "
        "layer's equilibrium norm ∝ √(lr_t/λ_t) with λ_t = η_t·λ stays constant as the schedule decays, so "
        "its effective step does not collapse at the end of a cosine. "
        "*L2*: none of these — the pull runs through Adam's √v̂. "
        "The sweep tab measures which one decouples here; its *+ AdamW, corrected form* toggle adds the fourth map."
    )


def render() -> None:
    st.markdown("#### 4 · The decay forms: paper (η_t·λ), PyTorch (η_t·α·λ), corrected (η_t²·α·λ), L2")
    st.latex(
        r"\text{shrink per step: }\underbrace{\eta_t\lambda_{\text{paper}}}_{\text{paper}}"
        r"=\underbrace{\eta_t\alpha\lambda_{\text{torch}}}_{\text{PyTorch}}\qquad"
        r"\underbrace{\eta_t^2\alpha\lambda}_{\text{corrected}}\qquad"
        r"\underbrace{\eta_t\alpha\lambda/(\sqrt{\hat v}+\epsilon)}_{\text{L2, per weight}}\qquad"
        r"\text{timescale: }1/(\alpha\lambda_{\text{torch}})"
    )
    with st.container():     # three parts, each with its controls (on a phone they follow the part's output)
        _forms_part()
    with st.container():
        _normalized_decay()
    with st.container():
        _restarts()


def _forms_part() -> None:
    """The forms' ‖θ‖ at α/4, α and 4α, and the table of their shrink, timescale and final norm."""
    c = control_block(SECTION).columns(3)
    lam = spec_widget(c[0], "λ_torch", SPECS["lam"], SECTION, help=None)
    lr = spec_widget(c[1], "base α", SPECS["lr"], SECTION, help=None)
    steps = spec_widget(c[2], "steps", SPECS["steps"], SECTION, help=None)
    meta = {"lambda_torch": lam, "lr": lr, "steps": steps}
    d = _decay_forms(lam, lr, steps)
    if d is None:
        return
    d = d.assign(run=d["optimizer"].map(lambda n: OPTIMIZERS[n].label) + " · α=" + d["lr"].map(fmt))
    cols = st.columns(2) + st.columns(2)
    for col, name in zip(cols, _shown()):
        sub = d[d.optimizer == name]
        show_chart(
            col,
            insight_charts.lines(
                sub, "step", "weight_norm", "run", OPTIMIZERS[name].label + ": ‖θ‖ at α/4, α, 4α",
                y_title="‖θ‖", width=360,
            ),
            key=f"i4_{name}", stem=f"decay-forms-{name}", frame=sub, meta=meta, height=300,
        )
    _forms_table(d, lam, lr)


def _normalized_decay() -> None:
    """The paper's normalized decay (App. B.1)."""
    c = control_block(SECTION + "_norm").columns(4)
    lam_norm = spec_widget(c[0], "λ_norm", SPECS["norm"], SECTION, format="%.4f", help=None)
    b = spec_widget(c[1], "batch size b", SPECS["b"], SECTION, help=None)
    big_b = spec_widget(c[2], "training points B", SPECS["B"], SECTION, help=None)
    epochs = spec_widget(c[3], "epochs T", SPECS["T"], SECTION, help=None)
    st.latex(
        r"\lambda=\lambda_{\text{norm}}\sqrt{\frac{b}{B\,T}}="
        + f"{insights.normalized_decay(lam_norm, b, big_b, epochs):.4g}"
    )


def _restarts() -> None:
    """The warm-restart schedule (SGDR / AdamWR)."""
    c = control_block(SECTION + "_restarts").columns(3)
    t0 = spec_widget(c[0], "T₀ (steps)", SPECS["t0"], SECTION, help=None)
    tmult = spec_widget(c[1], "T_mult", SPECS["tmult"], SECTION, help=None)
    total = spec_widget(c[2], "steps shown", SPECS["total"], SECTION, help=None)
    sched = insights.schedule_frame("warm_restarts", total, t0, tmult).assign(what="η_t (SGDR / AdamWR)")
    show_chart(
        st,
        insight_charts.lines(
            sched, "step", "eta", "what", "Cosine annealing with warm restarts", y_title="η_t",
            width=700, height=160,
        ),
        key="i4_schedule", stem="sgdr-schedule", frame=sched,
        meta={"t0": t0, "t_mult": tmult, "steps": total}, height=300,
    )
