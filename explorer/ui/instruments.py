"""The live run's equilibrium instruments: timescales, rotation per step of every weight matrix and AdamW's
predicted equilibrium rotation (explorer.instruments computes; this module only shows)."""
from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from explorer.analysis.timescales import regime_of
from explorer.core.forms import OPTIMIZERS
from explorer.core.measures import NEGLIGIBLE_N, run_timescales, scale_invariant
from explorer.ui.controls import markdown_table, memo, show_chart
from explorer.viz.equilibrium_charts import rotation_chart


def _num(v: float, digits: str = ".3g") -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:,{digits}}"


def timescale_readout(cfg) -> None:
    """τ = 1/(α·λ_torch), N = α·λ_torch·Ση_t and e^−N of every run of cfg, and a warning when N ≪ 1."""
    rows, faint = [], []
    invariant = any(scale_invariant(cfg.model_spec))
    for t in run_timescales(cfg):
        label = OPTIMIZERS[t.optimizer].label
        if t.lam_torch is None:
            rows.append([label, "—", "none: α·λ/(√v̂+ε) differs per weight", "—", "—", "—", regime_of(t, invariant)])
            continue
        rows.append([label, _num(t.lam_torch, ".4g"), _num(t.tau_steps), _num(t.tau_epochs), _num(t.n, ".3g"),
                     f"{t.surviving:.3g}", regime_of(t, invariant)])
        if t.negligible:
            faint.append(f"{label}: N = {t.n:.2g}")
    st.markdown("**Decay timescales of this run** — τ = 1/(α·λ_torch) steps to forget the start by a factor "
                "e; N = α·λ_torch·Σ_t η_t^p timescales in the whole run (p = 1; 2 for the corrected form; 0 for "
                "constant decay); e^−N of the initial weights would survive the decay alone (λ_paper = α·λ_torch).")
    st.markdown(markdown_table(pd.DataFrame(rows, columns=["run", "λ_torch", "τ (steps)", "τ (epochs)", "N",
                                                           "e^−N", "regime"])))
    if faint:
        st.warning(f"{'; '.join(faint)} (< {NEGLIGIBLE_N}): the decay can barely act in this run — the weights "
                   "end where the gradients took them, whatever λ is. Raise λ, α or the steps to see it work.")


def render(cfg, layer_rows: list[dict], subtitle: str, meta: dict) -> None:
    """Below the live charts: the timescales, each run's rotation chart and the per-layer table (layer_rows:
    the run's LayerStats rows so far)."""
    st.markdown("#### Equilibrium instruments")
    timescale_readout(cfg)
    frame = pd.DataFrame(layer_rows)
    if frame.empty or frame["step"].max() == 0:
        st.caption("Rotation per step appears at the first evaluation.")
        return
    charts = memo("rotation", (id(layer_rows), len(layer_rows), subtitle),
                  lambda: {name: rotation_chart(frame, name, subtitle) for name in cfg.optimizers})
    cols = st.columns(len(cfg.optimizers))
    for col, name in zip(cols, cfg.optimizers):
        show_chart(col, charts[name], key=f"train_rotation_{name}",
                   stem=f"train-rotation-{name}", frame=frame[frame.optimizer == name], meta=meta,
                   height=430)   # the whole chart: title and legend take ~190 px of it
    last = frame[frame.step == frame.step.max()].copy()
    last["measured / predicted"] = last["rotation"] / last["predicted_rotation"]
    table = pd.DataFrame({
        "run": last["optimizer"].map(lambda n: OPTIMIZERS[n].label), "layer": last["layer"],
        "scale-inv.": last["scale_invariant"].map({True: "yes", False: "no"}), "‖W‖": last["weight_norm"],
        "rotation": last["rotation"], "predicted": last["predicted_rotation"],
        "ratio": last["measured / predicted"], "‖ΔW‖/‖W‖": last["relative_update"]})
    st.markdown(f"**Per weight matrix, steps up to {int(frame.step.max()):,}** (rotation and its prediction "
                "in radians per step, ‖ΔW‖/‖W‖ per step: means since the last evaluation; ratio = measured / "
                "predicted)")
    st.markdown(markdown_table(table).replace("nan", "—"))
    st.caption(
        "Rotation: the angle between W at consecutive steps, averaged over the steps between two evaluations. "
        "A weight matrix followed by a LayerNorm without affine (Model: mlp-ln) is scale-invariant: only its "
        "direction matters. Under AdamW such a matrix settles where it turns by √(2·η_t·α·λ_torch·(1−β1)/(1+β1)) "
        "radians per step (dashed; Kosson, Messmer & Jaggi, ICML 2024) — a function of α·λ_torch = λ_paper only, "
        "reached after a few timescales τ. Adam+L2 has no such law: its decay runs through √v̂, so its layers' "
        "rotations fan out. Layers whose scale matters (the output layer; every layer of mlp) have no such "
        "prediction.")
