"""The 2-D trajectories tab: two update rules racing on a loss surface."""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from explorer.core.fmt import fmt
from explorer.core.forms import OPTIMIZERS, pair_optimizers
from explorer.core.surfaces import SURFACES
from explorer.interface.params import START, TRAJECTORY, sanity_notes
from explorer.runs.trajectory import summary_table
from explorer.ui import jobs
from explorer.ui.controls import (
    FORM_CAPTIONS,
    PAIR_CAPTIONS,
    control_block,
    markdown_table,
    show_chart,
    spec_widget,
)
from explorer.ui.player import player
from explorer.ui.urlstate import url_name
from explorer.viz import chartkit, figures
from explorer.viz import chartkit as kit

TAB = "trajectories"     # its controls' URL names: url_name(TAB, spec) (bare names: the CLI's options)
# the URL parameters this tab's controls own (and the CLI-only ones, reported when no control claims them)
URL_KEYS = frozenset(url_name(TAB, name) for name in (*TRAJECTORY, *START))
X0, Y0, SURFACE = (url_name(TAB, name) for name in ("x0", "y0", "surface"))


def owns(key: str) -> bool:
    return key in URL_KEYS


@st.cache_data(max_entries=64, show_spinner=False)   # ≤ ~0.3 MB each (5,000 steps)
def trajectory_numbers(params: tuple):
    """(frame, diverged, fixed points) of the trajectory view, cached apart from its charts: the summary table
    shows a new setting's numbers as soon as they exist (~50 ms), before its four charts are built (~0.2 s)."""
    return figures.trajectory_data(dict(params))


@st.cache_data(max_entries=64, show_spinner=False)   # ≤ ~0.8 MB each (5,000 steps)
def trajectory_specs(params: tuple) -> dict:
    """The view's four chart specs, cached, so a setting seen before (by any session) redraws without rebuilding
    them."""
    frame, diverged, fixed = trajectory_numbers(params)
    figs = figures.trajectory_charts(dict(params), frame, diverged, fixed, clickable=True, subtitle=False)
    return {k: chartkit.spec(c) for k, c in figs.items()}


def exported(params: tuple, frame, diverged, fixed, name: str):
    """The chart `name` as exported: with its settings line under the title (the page shows it once, under the
    panels)."""
    return figures.trajectory_charts(dict(params), frame, diverged, fixed)[name]


def race_gif(params: tuple, session: str) -> bytes:
    """The view's race as an animated GIF, rendered when asked for (seconds, not at page load) in a worker
    process, queued like every heavy job; kept for every session."""
    # 10 s to minutes (a long job: it leaves a worker to live runs and panels, measured 52–132 s under load)
    gif = jobs.blocking("explorer.viz.animate:race_gif_of", params, session=session, estimate=30.0)
    return b"" if gif is None else gif       # cancelled: its session left before it was made, no one receives it


CLICKS = "_traj_clicks"     # surface clicks handled: part of the panels' keys, so each click starts afresh


def start_from_click(key: str) -> None:
    """A click on a panel's surface: both runs start at the clicked cell (a start-slider stop)."""
    state = st.session_state.get(key) or {}
    picked = (state.get("selection") or {}).get("start") or []
    if picked and isinstance(picked[0], dict):
        start = kit.start_of_cell(st.session_state.get(SURFACE, TRAJECTORY["surface"].default),
                                  picked[0].get("ix"), picked[0].get("iy"))
        if start is not None:
            st.session_state[X0], st.session_state[Y0] = start
    # a new key for the panels: their selection starts empty, so clicking the same cell again works too
    st.session_state[CLICKS] = st.session_state.get(CLICKS, 0) + 1


def reset_start():
    sx, sy = SURFACES[st.session_state[SURFACE]].start
    st.session_state[X0], st.session_state[Y0] = sx, sy


def trajectory_controls(where) -> dict:
    """The trajectory tab's controls in one narrow column; the rarely moved ones in an expander."""
    v = {}
    # choice widgets show the canonical names: the URL (and the CLI) use exactly these
    v["surface"] = spec_widget(
        where,
        "Surface",
        TRAJECTORY["surface"], TAB,
        on_change=reset_start,
        help="; ".join(f"{s.name}: {s.title}" for s in SURFACES.values()),
    )
    c = where.columns(2)
    v["pair"] = spec_widget(c[0], "Compare", TRAJECTORY["pair"], TAB, captions=PAIR_CAPTIONS, help=None)
    v["form"] = spec_widget(c[1], "AdamW form", TRAJECTORY["form"], TAB, disabled=v["pair"] == "sgd",
                            captions=FORM_CAPTIONS)
    v["lr"] = spec_widget(where, "Learning rate α", TRAJECTORY["lr"], TAB)
    v["wd"] = spec_widget(where, "Decay λ", TRAJECTORY["wd"], TAB)
    v["steps"] = spec_widget(where, "Steps", TRAJECTORY["steps"], TAB)
    v["noise"] = spec_widget(where, "Gradient noise σ", TRAJECTORY["noise"], TAB)
    surf = SURFACES[v["surface"]]
    for key, lim, i in ((X0, surf.xlim, 0), (Y0, surf.ylim, 1)):
        if key in st.session_state and not lim[0] <= st.session_state[key] <= lim[1]:
            st.session_state[key] = surf.start[i]
    c = where.columns(2)
    for col, name, label, lim, i in ((c[0], "x0", "Start x", surf.xlim, 0), (c[1], "y0", "Start y", surf.ylim, 1)):
        spec = replace(START[name], lo=lim[0], hi=lim[1], default=surf.start[i], step=kit.START_STEP)  # the surface's
        v[name] = spec_widget(col, label, spec, TAB, help="or click the surface")
    adam = v["pair"] == "adam"
    more = where.expander("β1, β2, ε, μ · schedule · seed")
    v["schedule"] = spec_widget(
        more,
        "Schedule η_t",
        TRAJECTORY["schedule"], TAB,
        help="constant · cosine annealing · step (×0.1 every third of the steps) · "
        "warm_restarts: cosine with warm restarts (SGDR)",
    )
    restarts = v["schedule"] == "warm_restarts"
    c = more.columns(2)
    v["warmup"] = spec_widget(c[0], "Warm-up steps", TRAJECTORY["warmup"], TAB)
    v["decay_follows"] = spec_widget(c[1], "Decay follows η_t", TRAJECTORY["decay_follows"], TAB)
    c = more.columns(2)
    v["t0"] = spec_widget(c[0], "T₀", TRAJECTORY["t0"], TAB, disabled=not restarts)
    v["t_mult"] = spec_widget(c[1], "T_mult", TRAJECTORY["t_mult"], TAB, disabled=not restarts)
    v["beta1"] = spec_widget(more, "β1", TRAJECTORY["beta1"], TAB, format="%.3f", disabled=not adam)
    v["beta2"] = spec_widget(more, "β2", TRAJECTORY["beta2"], TAB, disabled=not adam)
    v["eps"] = spec_widget(more, "ε", TRAJECTORY["eps"], TAB, disabled=not adam)
    v["momentum"] = spec_widget(more, "Momentum μ (SGD)", TRAJECTORY["momentum"], TAB, disabled=adam)
    v["seed"] = spec_widget(more, "Seed", TRAJECTORY["seed"], TAB)
    return v


def render() -> None:
    left, right = st.columns([1, 3], gap="medium")
    v = trajectory_controls(control_block(TAB, left))
    with right:
        trajectory_view(v)


def trajectory_view(v: dict) -> None:
    names = pair_optimizers(v["pair"], v["form"])
    p = {**v, "start": (v["x0"], v["y0"]), "steps": int(v["steps"]), "t0": int(v["t0"]),
         "t_mult": int(v["t_mult"]), "seed": int(v["seed"]), "warmup": int(v["warmup"]),
         "decay_follows": bool(v["decay_follows"])}
    key = tuple(sorted(p.items()))
    frame, diverged, fixed = trajectory_numbers(key)
    l2, dec = (OPTIMIZERS[n].label for n in names)
    st.markdown(
        f"Same start, same gradients, same λ: **{l2}** (left) adds λθ to the gradient, so "
        + ("Adam rescales it per coordinate; " if v["pair"] == "adam" else "the step scales it; ")
        + f"**{dec}** (right) shrinks θ outside the {'Adam' if v['pair'] == 'adam' else 'gradient'} step. "
        "◆ marks where each rule must end."
    )
    for note in sanity_notes(names, v["lr"], v["wd"], v["beta1"], v["beta2"], v["eps"]):
        st.info(note)
    meta = {**p, "optimizers": names}
    # the page in two boxes, the table's drawn first: a moved control's new numbers reach the page before the charts
    # are built (both boxes keep their places: the charts above, the table under them)
    charts, table = st.container(), st.container()
    with table:
        st.markdown(markdown_table(summary_table(frame, diverged, fixed, names)))
        st.caption(
            "f(end) is the loss *without* the decay term. Each rule ends near its own ◆ — the minimum of what "
            "it really optimizes (f + λ/2‖θ‖² for L2, f inside the box ‖θ‖∞ ≤ 1/λ_torch for AdamW) — so a "
            "larger f(end) is the regularization at work, not a worse optimizer: compare *distance to ◆*."
        )
    with charts:
        trajectory_charts_shown(v, p, names, key, frame, diverged, fixed, meta)


def trajectory_charts_shown(v: dict, p: dict, names, key: tuple, frame, diverged, fixed, meta: dict) -> None:
    """The race player, both panels with their formulas, the notes, and the loss and ‖θ‖ charts."""
    figs = trajectory_specs(key)
    player(kit.RACE, kit.frame_steps(int(frame["step"].max())), "Race")
    cols = st.columns(2, gap="small")
    clicks = st.session_state.get(CLICKS, 0)
    for col, name in zip(cols, names):
        with col:
            if diverged[name] is not None:
                st.error(
                    f"{OPTIMIZERS[name].label} diverged at step {diverged[name]} (the loss or θ became "
                    "inf/NaN). Lower the learning rate."
                )
            chart_key = f"traj_{name}_{clicks}"
            show_chart(st, figs[name], key=f"traj_{name}", stem=f"trajectory-{v['surface']}-{name}",
                       export_chart=lambda n=name: exported(key, frame, diverged, fixed, n),
                       frame=frame, meta=meta, chart_key=chart_key, selection_mode=["start"],
                       on_select=lambda k=chart_key: start_from_click(k),
                       animation=lambda s=jobs.owner(): race_gif(key, s), animation_stem=f"race-{v['surface']}",
                       height=416,
                       grow=False)
            st.latex(OPTIMIZERS[name].formula)
            st.caption(OPTIMIZERS[name].caption)
    # the charts' settings line, once for all four (in the charts it would make a λ move a new chart, not new data)
    st.caption("Every chart of this view: " + figures.trajectory_subtitle(p))
    if v["pair"] == "adam" and v["form"] == "corrected" and p["schedule"] == "constant" and not p["warmup"]:
        st.info("With a constant schedule (η_t = 1) the corrected form is the PyTorch form: pick a schedule to "
                "see them differ (the corrected decay η_t²·α·λ fades faster as η_t falls).")
    if v["pair"] == "adam" and v["form"] == "paper" and v["lr"] > 0:
        st.info(
            f"Same λ, different meaning: the paper form decays by η·λ, PyTorch's by η·α·λ. "
            f"Here λ = {fmt(v['wd'])} in the paper form equals λ_torch = λ/α = {v['wd'] / v['lr']:.4g}."
        )
    cols = st.columns(2, gap="small")
    for col, field in zip(cols, ("loss", "norm")):
        show_chart(col, figs[field], key=f"traj_{field}", stem=f"trajectory-{v['surface']}-{field}",
                   export_chart=lambda f=field: exported(key, frame, diverged, fixed, f), frame=frame, meta=meta,
                   height=300)
