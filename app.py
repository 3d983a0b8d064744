"""Decoupled Weight Decay Explorer — the Streamlit face of `explorer` (no numerics here)."""
from __future__ import annotations

import math

import pandas as pd
import streamlit as st
import torch

from explorer import charts
from explorer.optim import OPTIMIZERS, Schedule
from explorer.params import TRAJECTORY as P, fmt, pair_optimizers
from explorer.surfaces import SURFACES
from explorer.trajectory import fixed_point, run_trajectories

# Sessions are threads of one process: small 2-D work runs fastest on one thread and leaves the
# other cores to other sessions.
torch.set_num_threads(1)

st.set_page_config(page_title="Decoupled Weight Decay Explorer", page_icon="⚖️", layout="wide")

ADAM_STEP = r"\eta_t\,\alpha\,\frac{\hat m_t}{\sqrt{\hat v_t}+\epsilon}"
FORMULAS = {
    "adam-l2": r"\begin{aligned}g_t&=\nabla f(\theta_{t-1})+\textcolor{#d95f02}{\lambda\theta_{t-1}}\\"
               r"\theta_t&=\theta_{t-1}-" + ADAM_STEP + r"\end{aligned}",
    "adamw": r"\begin{aligned}g_t&=\nabla f(\theta_{t-1})\\"
             r"\theta_t&=\theta_{t-1}-" + ADAM_STEP + r"-\textcolor{#1f78b4}{\eta_t\lambda\,\theta_{t-1}}\end{aligned}",
    "adamw-torch": r"\begin{aligned}g_t&=\nabla f(\theta_{t-1})\\"
                   r"\theta_t&=\theta_{t-1}\big(1-\textcolor{#1f78b4}{\eta_t\alpha\lambda}\big)-" + ADAM_STEP
                   + r"\end{aligned}",
    "sgd-l2": r"\begin{aligned}b_t&=\mu b_{t-1}+\nabla f(\theta_{t-1})+\textcolor{#d95f02}{\lambda\theta_{t-1}}\\"
              r"\theta_t&=\theta_{t-1}-\eta_t\,\alpha\,b_t\end{aligned}",
    "sgdw": r"\begin{aligned}b_t&=\mu b_{t-1}+\nabla f(\theta_{t-1})\\"
            r"\theta_t&=\theta_{t-1}-\eta_t\,\alpha\,b_t-\textcolor{#1f78b4}{\eta_t\lambda\,\theta_{t-1}}\end{aligned}",
}
CAPTIONS = {
    "adam-l2": "The L2 pull λθ enters the gradient, so Adam divides it by √v̂+ε like everything else: "
               "coordinates with large gradients are barely regularized, flat ones a lot. It stops at ◆, "
               "the minimum of f + λ/2‖θ‖².",
    "adamw": "The decay bypasses Adam's scaling and shrinks every coordinate at the same rate η_t·λ "
             "(not multiplied by α). With exact gradients Adam's step ≈ sign(∇f), so it stops at ◆: the "
             "minimum of f inside the dashed box ‖θ‖∞ ≤ α/λ.",
    "adamw-torch": "The decay bypasses Adam's scaling and shrinks every coordinate at the same rate "
                   "η_t·α·λ. With exact gradients Adam's step ≈ sign(∇f), so it stops at ◆: the minimum "
                   "of f inside the dashed box ‖θ‖∞ ≤ 1/λ.",
    "sgd-l2": "SGD scales every coordinate alike, so L2 here is plain weight decay with rate α·λ; it stops "
              "at ◆, the minimum of f + λ/2‖θ‖².",
    "sgdw": "Decoupled: θ shrinks by η_t·λ per step. Without momentum this is SGD+L2 with λ' = λ/α "
            "(Proposition 1); it stops at ◆, the L2 optimum for λ(1−μ)/α.",
}


@st.cache_data(max_entries=512, show_spinner=False)
def compute(surface, names, lr, wd, beta1, beta2, eps, momentum, steps, start, schedule, t0, t_mult,
            noise, seed):
    sched = Schedule(schedule, total_steps=steps, t0=t0, t_mult=t_mult)
    res = run_trajectories(surface, names, lr=lr, wd=wd, beta1=beta1, beta2=beta2, eps=eps,
                           momentum=momentum, steps=steps, start=start, schedule=sched, noise=noise,
                           seed=seed)
    return res.frame, res.diverged


@st.cache_data(max_entries=512, show_spinner=False)
def fixed_points(surface, names, lr, wd, momentum):
    return {n: fixed_point(surface, n, lr, wd, momentum) for n in names}


def log_slider(label, spec, **kw):
    return st.select_slider(label, options=list(spec.options), value=spec.default, format_func=fmt,
                            key=spec.name, help=spec.help, bind="query-params", **kw)


def reset_start():
    sx, sy = SURFACES[st.session_state["surface"]].start
    st.session_state["x0"], st.session_state["y0"] = sx, sy


def sidebar() -> dict:
    sb = st.sidebar
    with sb:
        st.header("Settings")
        v = {}
        # choice widgets show the canonical names: the URL (and the CLI) use exactly these
        v["surface"] = st.selectbox("Surface", list(SURFACES), key="surface", bind="query-params",
                                    on_change=reset_start,
                                    help="; ".join(f"{s.name}: {s.title}" for s in SURFACES.values()))
        v["pair"] = st.radio("Compare", ["adam", "sgd"], horizontal=True, key="pair", bind="query-params",
                             captions=["Adam+L2 vs AdamW", "SGD+L2 vs SGDW"])
        v["form"] = st.radio("AdamW form", ["torch", "paper"], horizontal=True, key="form",
                             bind="query-params", disabled=v["pair"] == "sgd",
                             captions=["θ·(1−η·α·λ)", "θ − η·λ·θ"], help=P["form"].help)
        v["lr"] = log_slider("Learning rate α", P["lr"])
        v["wd"] = log_slider("Decay λ", P["wd"])
        adam = v["pair"] == "adam"
        v["beta1"] = st.slider("β1", 0.0, 0.999, P["beta1"].default, 0.001, format="%.3f", key="beta1",
                               bind="query-params", disabled=not adam)
        v["beta2"] = st.select_slider("β2", [0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999], P["beta2"].default,
                                      key="beta2", bind="query-params", disabled=not adam)
        v["eps"] = log_slider("ε", P["eps"], disabled=not adam)
        v["momentum"] = st.slider("Momentum μ (SGD)", 0.0, 0.99, P["momentum"].default, 0.01, key="momentum",
                                  bind="query-params", disabled=adam)
        v["steps"] = st.slider("Steps", 10, 5000, P["steps"].default, 10, key="steps", bind="query-params")
        surf = SURFACES[v["surface"]]
        for key, lim, i in (("x0", surf.xlim, 0), ("y0", surf.ylim, 1)):
            if key in st.session_state and not lim[0] <= st.session_state[key] <= lim[1]:
                st.warning(f"{key} = {st.session_state[key]:g} is outside the plot; using the surface's start")
                st.session_state[key] = surf.start[i]
        c1, c2 = st.columns(2)
        v["x0"] = c1.slider("Start x", *surf.xlim, surf.start[0], 0.05, key="x0", bind="query-params")
        v["y0"] = c2.slider("Start y", *surf.ylim, surf.start[1], 0.05, key="y0", bind="query-params")
        v["schedule"] = st.selectbox("Schedule η_t", list(P["schedule"].choices), key="schedule",
                                     bind="query-params",
                                     help="constant · cosine annealing · step (×0.1 every third of the "
                                          "steps) · warm_restarts: cosine with warm restarts (SGDR)")
        restarts = v["schedule"] == "warm_restarts"
        c1, c2 = st.columns(2)
        v["t0"] = c1.number_input("T₀", 1, 100_000, P["t0"].default, key="t0", bind="query-params",
                                  disabled=not restarts)
        v["t_mult"] = c2.number_input("T_mult", 1, 10, P["t_mult"].default, key="t_mult",
                                      bind="query-params", disabled=not restarts)
        v["noise"] = st.select_slider("Gradient noise σ", [0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0],
                                      P["noise"].default, key="noise", bind="query-params",
                                      help=P["noise"].help)
        v["seed"] = st.number_input("Seed", 0, 2**31 - 1, P["seed"].default, key="seed", bind="query-params")
    return v


def trajectory_view(v: dict) -> None:
    names = pair_optimizers(v["pair"], v["form"])
    fixed = fixed_points(v["surface"], names, v["lr"], v["wd"], v["momentum"])
    frame, diverged = compute(v["surface"], names, v["lr"], v["wd"], v["beta1"], v["beta2"],
                                     v["eps"], v["momentum"], int(v["steps"]), (v["x0"], v["y0"]),
                                     v["schedule"], int(v["t0"]), int(v["t_mult"]), v["noise"],
                                     int(v["seed"]))
    hyper = f"α={fmt(v['lr'])} λ={fmt(v['wd'])}"
    hyper += (f" β=({fmt(v['beta1'])}, {fmt(v['beta2'])}) ε={fmt(v['eps'])}" if v["pair"] == "adam"
              else f" μ={fmt(v['momentum'])}")
    hyper += f" · {v['steps']} steps · {v['schedule']}" + (f" · σ={fmt(v['noise'])}" if v["noise"] else "")
    cols = st.columns(2, gap="large")
    for col, name, other in ((cols[0], names[0], names[1]), (cols[1], names[1], names[0])):
        with col:
            label = OPTIMIZERS[name].label
            if diverged[name] is not None:
                st.error(f"{label} diverged at step {diverged[name]} (the loss or θ became inf/NaN). "
                         "Lower the learning rate.")
            chart = charts.trajectory_panel(v["surface"], frame, name, other, fixed[name], diverged[name],
                                            title=f"{label} · {SURFACES[v['surface']].title}")
            st.altair_chart(chart, width="content")
            st.latex(FORMULAS[name])
            st.caption(CAPTIONS[name])
    if v["pair"] == "adam" and v["form"] == "paper" and v["lr"] > 0:
        st.info(f"Same λ, different meaning: the paper form decays by η·λ, PyTorch's by η·α·λ. "
                f"Here λ = {fmt(v['wd'])} in the paper form equals λ_torch = λ/α = {v['wd'] / v['lr']:.4g}.")
    c1, c2 = st.columns(2, gap="large")
    c1.altair_chart(charts.metric_chart(frame, "loss", "f(θ), without the decay term", names, log=True),
                    width="stretch", height=300)
    c2.altair_chart(charts.metric_chart(frame, "norm", "‖θ‖", names), width="stretch", height=300)
    rows = []
    for n in names:
        end = frame[(frame.optimizer == n)].iloc[-1]
        fp = fixed[n]
        rows.append({"optimizer": OPTIMIZERS[n].label, "end x": end.x, "end y": end.y, "f(end)": end.loss,
                     "‖θ_end‖": end.norm, "◆ deterministic limit": fp.label,
                     "◆ at": f"({fp.point[0]:.4f}, {fp.point[1]:.4f})",
                     "distance to ◆": math.dist((end.x, end.y), fp.point) if diverged[n] is None else math.nan,
                     "diverged at step": diverged[n]})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def main() -> None:
    st.title("Decoupled Weight Decay Explorer")
    st.markdown("Why **Adam + L2 regularization is not weight decay**, and what **AdamW** "
                "(Loshchilov & Hutter, ICLR 2019) changes: the same start, surface and hyperparameters; "
                "only *where λ enters the update* differs.")
    v = sidebar()
    trajectory_view(v)


main()
