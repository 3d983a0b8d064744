"""Decoupled Weight Decay Explorer — the Streamlit face of `explorer` (no numerics here)."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st
import torch

import collections
import contextlib
import dataclasses
import threading
import time
import uuid

import numpy as np

from explorer import charts, figures, insights
from explorer.export import FORMATS, MIME, export
from explorer.ui import urlstate
from explorer.ui.urlstate import url_widget
from explorer.optim import OPTIMIZERS, Schedule
from explorer.params import TRAIN as T, TRAJECTORY as P, fmt, pair_optimizers, sanity_notes
from explorer.cost import ActiveSessions, sweep_threads_now, torch_threads
from explorer.sweep import PRESETS, SweepConfig, estimate_seconds, pow2, regime_text, run_sweep
from explorer.train import LiveRun, TrainConfig, Trainer, changed_settings, default_device
from explorer.surfaces import SURFACES
from explorer.trajectory import summary_table

# Sessions are threads of one process. Trajectories and live training are small and run fastest on
# one thread, which also leaves the other cores to other sessions; only a sweep (one big batched
# computation) asks for every core while it runs.
torch.set_num_threads(1)
torch.set_flush_denormal(True)  # tiny Adam states otherwise make CPU training several times slower

st.set_page_config(
    page_title="Decoupled Weight Decay Explorer", page_icon=":material/balance:", layout="wide", initial_sidebar_state="collapsed"
)

ADAM_STEP = r"\eta_t\,\alpha\,\frac{\hat m_t}{\sqrt{\hat v_t}+\epsilon}"
FORMULAS = {
    "adam-l2": r"\begin{aligned}g_t&=\nabla f(\theta_{t-1})+\textcolor{#d95f02}{\lambda\theta_{t-1}}\\"
    r"\theta_t&=\theta_{t-1}-" + ADAM_STEP + r"\end{aligned}",
    "adamw": r"\begin{aligned}g_t&=\nabla f(\theta_{t-1})\\"
    r"\theta_t&=\theta_{t-1}-"
    + ADAM_STEP
    + r"-\textcolor{#1f78b4}{\eta_t\lambda\,\theta_{t-1}}\end{aligned}",
    "adamw-torch": r"\begin{aligned}g_t&=\nabla f(\theta_{t-1})\\"
    r"\theta_t&=\theta_{t-1}\big(1-\textcolor{#1f78b4}{\eta_t\alpha\lambda}\big)-"
    + ADAM_STEP
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


ABOUT = (
    "Loshchilov & Hutter, *Decoupled Weight Decay Regularization* (ICLR 2019).\n\n"
    "- **2-D trajectories**: where each update rule ends, and why.\n"
    "- **Live training**: Adam+L2 vs AdamW on real digits, same weights and batches.\n"
    "- **lr × λ sweep**: the paper's heat maps, measured live.\n"
    "- **Insights**: Propositions 1 and 2, effective decay, the two decay forms, the loss landscape.\n\n"
    "Every update is torch's own fused Adam / SGD kernel, checked bit for bit against "
    "`torch.optim` (`fused=True`) over 1,000 steps; every view is a link (the address bar, or "
    "*Share this view* above) and every chart exports."
)

# Less empty space above the title, so the first chart is on screen at 1366×768 (a constant style sheet)
COMPACT_PAGE = "<style>[data-testid='stMainBlockContainer']{padding-top:3.2rem}</style>"

# A link's parameters for a tab that is not shown are recognised by name and checked when it opens;
# what the shown tab's controls did not claim is reported then.
TAB_PREFIXES = ("t_", "s_", "i1_", "i2_", "i3_", "i4_", "i5_")
TRAJECTORY_KEYS = set(P) | {"x0", "y0"}


def view_of_url_key(key: str) -> str | None:
    """The tab whose controls a URL parameter's name belongs to (None: no tab's)."""
    if key in TRAJECTORY_KEYS:
        return "2-D trajectories"
    for prefix, view in (("t_", "Live training"), ("s_", "lr × λ sweep"), ("i", "Insights")):
        if key.startswith(prefix) and key.startswith(TAB_PREFIXES):
            return view
    return None


def export_menu(key: str, stem: str, chart, frame, meta: dict) -> None:
    """⤓ PNG / SVG (rendered server-side by vl-convert) and CSV / JSON of the chart's data.

    chart and frame are callables: nothing is rendered until a button is pressed."""
    with st.popover("Export", icon=":material/download:", width="content"):
        for fmt in FORMATS:
            st.download_button(
                fmt.upper(),
                data=lambda f=fmt: export(chart(), frame(), f, meta),
                file_name=f"{stem}.{fmt}",
                mime=MIME[fmt],
                key=f"dl_{key}_{fmt}",
                width="stretch",
                on_click="ignore",  # a download changes nothing: no rerun that could close the menu
            )


def markdown_table(frame: pd.DataFrame) -> str:
    """A small table as Markdown (the page's first view then loads no data-grid code); numbers to 4
    significant digits."""
    def cell(v) -> str:
        text = f"{v:.4g}" if isinstance(v, float) else str(v)
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(map(cell, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def show_chart(where, chart, *, key: str, stem: str, frame, meta: dict, **size) -> None:
    """An Altair chart (or its spec) with its export menu underneath (every chart of the app exports)."""
    # the spec as a dict, without Altair's per-chart JSON-schema validation (tested in test_charts)
    spec = chart if isinstance(chart, dict) else charts.spec(chart)
    where.vega_lite_chart(spec, **({"width": "stretch"} | size))
    with contextlib.nullcontext() if where is st else where:
        export_menu(key, stem, lambda: chart, lambda: frame, meta)


@st.cache_data(max_entries=256, show_spinner=False)
def trajectory_view_data(params: tuple):
    """(frame, diverged, fixed points, chart specs) of the trajectory view: the numbers and the charts
    both cached, so a setting seen before (by any session) redraws without recomputing either."""
    p = dict(params)
    frame, diverged, fixed = figures.trajectory_data(p)
    figs = figures.trajectory_charts(p, frame, diverged, fixed)
    return frame, diverged, fixed, {k: charts.spec(c) for k, c in figs.items()}


def stops_slider(where, label, spec, key: str | None = None, **kw):
    """A slider over a spec's stops (params.py), starting at the spec's default."""
    return url_widget(
        where,
        "select_slider",
        label,
        options=list(spec.options),
        value=spec.default,
        format_func=fmt,
        key=key or spec.name,
        help=spec.help,
        **kw,
    )


def reset_start():
    sx, sy = SURFACES[st.session_state["surface"]].start
    st.session_state["x0"], st.session_state["y0"] = sx, sy


def trajectory_controls(where) -> dict:
    """The trajectory tab's controls in one narrow column; the rarely moved ones in an expander."""
    v = {}
    # choice widgets show the canonical names: the URL (and the CLI) use exactly these
    v["surface"] = url_widget(
        where,
        "selectbox",
        "Surface",
        list(SURFACES),
        key="surface",
        on_change=reset_start,
        help="; ".join(f"{s.name}: {s.title}" for s in SURFACES.values()),
    )
    c = where.columns(2)
    v["pair"] = url_widget(c[0], "radio", "Compare", ["adam", "sgd"], key="pair",
                           captions=["Adam+L2 vs AdamW", "SGD+L2 vs SGDW"])
    v["form"] = url_widget(c[1], "radio", "AdamW form", ["torch", "paper"], key="form",
                           disabled=v["pair"] == "sgd", captions=["θ·(1−η·α·λ)", "θ − η·λ·θ"],
                           help=P["form"].help)
    v["lr"] = stops_slider(where, "Learning rate α", P["lr"])
    v["wd"] = stops_slider(where, "Decay λ", P["wd"])
    v["steps"] = url_widget(where, "slider", "Steps", 10, 5000, P["steps"].default, 10, key="steps")
    v["noise"] = stops_slider(where, "Gradient noise σ", P["noise"])
    surf = SURFACES[v["surface"]]
    for key, lim, i in (("x0", surf.xlim, 0), ("y0", surf.ylim, 1)):
        if key in st.session_state and not lim[0] <= st.session_state[key] <= lim[1]:
            st.session_state[key] = surf.start[i]
    c = where.columns(2)
    v["x0"] = url_widget(c[0], "slider", "Start x", *surf.xlim, surf.start[0], 0.05, key="x0")
    v["y0"] = url_widget(c[1], "slider", "Start y", *surf.ylim, surf.start[1], 0.05, key="y0")
    adam = v["pair"] == "adam"
    more = where.expander("β1, β2, ε, μ · schedule · seed")
    v["schedule"] = url_widget(
        more,
        "selectbox",
        "Schedule η_t",
        list(P["schedule"].choices),
        key="schedule",
        help="constant · cosine annealing · step (×0.1 every third of the steps) · "
        "warm_restarts: cosine with warm restarts (SGDR)",
    )
    restarts = v["schedule"] == "warm_restarts"
    c = more.columns(2)
    v["t0"] = url_widget(c[0], "number_input", "T₀", 1, 100_000, P["t0"].default, key="t0", disabled=not restarts)
    v["t_mult"] = url_widget(
        c[1], "number_input", "T_mult", 1, 10, P["t_mult"].default, key="t_mult", disabled=not restarts
    )
    v["beta1"] = url_widget(
        more, "slider", "β1", 0.0, 0.999, P["beta1"].default, 0.001, format="%.3f", key="beta1", disabled=not adam
    )
    v["beta2"] = stops_slider(more, "β2", P["beta2"], disabled=not adam)
    v["eps"] = stops_slider(more, "ε", P["eps"], disabled=not adam)
    v["momentum"] = url_widget(
        more, "slider", "Momentum μ (SGD)", 0.0, 0.99, P["momentum"].default, 0.01, key="momentum", disabled=adam
    )
    v["seed"] = url_widget(more, "number_input", "Seed", 0, 2**31 - 1, P["seed"].default, key="seed")
    return v


def trajectory_tab() -> None:
    left, right = st.columns([1, 3], gap="medium")
    v = trajectory_controls(left)
    with right:
        trajectory_view(v)


def trajectory_view(v: dict) -> None:
    names = pair_optimizers(v["pair"], v["form"])
    p = {**v, "start": (v["x0"], v["y0"]), "steps": int(v["steps"]), "t0": int(v["t0"]),
         "t_mult": int(v["t_mult"]), "seed": int(v["seed"])}
    frame, diverged, fixed, figs = trajectory_view_data(tuple(sorted(p.items())))
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
    cols = st.columns(2, gap="small")
    for col, name in zip(cols, names):
        with col:
            if diverged[name] is not None:
                st.error(
                    f"{OPTIMIZERS[name].label} diverged at step {diverged[name]} (the loss or θ became "
                    "inf/NaN). Lower the learning rate."
                )
            show_chart(st, figs[name], key=f"traj_{name}", stem=f"trajectory-{v['surface']}-{name}",
                       frame=frame, meta=meta)
            st.latex(FORMULAS[name])
            st.caption(CAPTIONS[name])
    if v["pair"] == "adam" and v["form"] == "paper" and v["lr"] > 0:
        st.info(
            f"Same λ, different meaning: the paper form decays by η·λ, PyTorch's by η·α·λ. "
            f"Here λ = {fmt(v['wd'])} in the paper form equals λ_torch = λ/α = {v['wd'] / v['lr']:.4g}."
        )
    cols = st.columns(2, gap="small")
    for col, field in zip(cols, ("loss", "norm")):
        show_chart(col, figs[field], key=f"traj_{field}", stem=f"trajectory-{v['surface']}-{field}",
                   frame=frame, meta=meta, height=300)
    st.markdown(markdown_table(summary_table(frame, diverged, fixed, names)))
    st.caption(
        "f(end) is the loss *without* the decay term. Each rule ends near its own ◆ — the minimum of what "
        "it really optimizes (f + λ/2‖θ‖² for L2, f inside the box ‖θ‖∞ ≤ 1/λ_torch for AdamW) — so a "
        "larger f(end) is the regularization at work, not a worse optimizer: compare *distance to ◆*."
    )


# ---------------------------------------------------------------- live training
TICK_SECONDS = 0.6  # training per fragment run (= its timer period): the page redraws between ticks


def train_controls() -> TrainConfig:
    st.subheader("Live training on digits")
    st.caption(
        "scikit-learn's 8×8 digits, a fixed test third (597 images). Both runs start from the same "
        "weights and see the same mini-batches in the same order, in one batched computation; only "
        "where λ enters the update differs."
    )
    c = st.columns(4)
    pair = url_widget(
        c[0],
        "radio",
        "Compare",
        ["adam", "sgd"],
        key="t_pair",
        horizontal=True,
        captions=["Adam+L2 vs AdamW", "SGD+L2 vs SGDW"],
    )
    form = url_widget(
        c[0],
        "radio",
        "AdamW form",
        ["torch", "paper"],
        key="t_form",
        horizontal=True,
        disabled=pair == "sgd",
        captions=["θ·(1−η·α·λ)", "θ − η·λ·θ"],
    )
    model = url_widget(c[1], "selectbox", "Model", list(T["model"].choices), key="t_model", help=T["model"].help)
    width = stops_slider(c[1], "Width", T["width"], key="t_width")
    depth = url_widget(c[1], "slider", "Hidden layers", 1, 4, T["depth"].default, key="t_depth")
    init_scale = stops_slider(c[1], "Initial weights × k", T["init_scale"], key="t_init")
    lr = stops_slider(c[2], "Learning rate α", T["lr"], key="t_lr")
    wd = stops_slider(c[2], "Decay λ", T["wd"], key="t_wd")
    adam = pair == "adam"
    beta1 = url_widget(
        c[2],
        "slider",
        "β1",
        0.0,
        0.999,
        T["beta1"].default,
        0.001,
        format="%.3f",
        key="t_beta1",
        disabled=not adam,
    )
    beta2 = stops_slider(c[2], "β2", T["beta2"], key="t_beta2", disabled=not adam)
    eps = stops_slider(c[2], "ε", T["eps"], key="t_eps", disabled=not adam)
    momentum = url_widget(
        c[2], "slider", "Momentum μ", 0.0, 0.99, T["momentum"].default, 0.01, key="t_momentum", disabled=adam
    )
    batch = stops_slider(c[3], "Batch size", T["batch_size"], key="t_batch")
    steps = stops_slider(c[3], "Steps", T["steps"], key="t_steps")
    samples = stops_slider(c[3], "Train samples", T["train_samples"], key="t_samples")
    schedule = url_widget(c[3], "selectbox", "Schedule η_t", list(T["schedule"].choices), index=1, key="t_schedule")
    seed = url_widget(c[3], "number_input", "Seed", 0, 2**31 - 1, T["seed"].default, key="t_seed")
    names = pair_optimizers(pair, form)
    return TrainConfig(
        optimizers=names,
        model=model,
        width=int(width),
        depth=int(depth),
        init_scale=float(init_scale),
        lr=lr,
        wd=wd,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
        momentum=momentum,
        batch_size=int(batch),
        steps=int(steps),
        train_samples=int(samples),
        schedule=schedule,
        t0=max(1, int(steps) // 5),
        t_mult=2,
        seed=int(seed),
        eval_every=max(1, int(steps) // 30),
    )


SETTING_LABELS = {
    "optimizers": "Compare / AdamW form", "model": "Model", "width": "Width", "depth": "Hidden layers",
    "init_scale": "Initial weights × k", "lr": "Learning rate α", "wd": "Decay λ", "beta1": "β1",
    "beta2": "β2", "eps": "ε", "momentum": "Momentum μ", "batch_size": "Batch size", "steps": "Steps",
    "train_samples": "Train samples", "schedule": "Schedule η_t", "t0": "Steps", "t_mult": "Steps",
    "seed": "Seed", "eval_every": "Steps",
}


def start_training(cfg: TrainConfig) -> None:
    st.session_state["live"] = LiveRun(cfg)


def training_view() -> None:
    cfg = train_controls()
    live: LiveRun | None = st.session_state.get("live")
    changed = [] if live is None else changed_settings(live.cfg, cfg)
    before = st.session_state.get("_t_controls", cfg)
    st.session_state["_t_controls"] = cfg
    moved = changed_settings(before, cfg)
    if live is not None and live.running and moved:
        # a control moved while the run trains: the run keeps its own settings and pauses, so what it
        # shows stays one reproducible run; the page says why and offers both ways on
        names = ", ".join(dict.fromkeys(SETTING_LABELS[c] for c in moved))
        live.pause(f"you changed {names}")
    running = live is not None and live.running
    b1, b2, b3, b4 = st.columns([1, 1, 1, 3])
    b1.button(
        "▶ Start" if live is None else "↻ Restart" if running or not changed else "▶ Start with these settings",
        type="primary",
        on_click=start_training,
        args=(cfg,),
        key="t_start",
    )
    b2.button("■ Stop", on_click=live.pause if running else None, disabled=not running, key="t_stop")
    can_resume = live is not None and not running and not live.trainer.done
    b3.button(
        "Resume", icon=":material/resume:", on_click=live.resume if can_resume else None, disabled=not can_resume, key="t_resume",
        help="continue the run shown below with its own settings",
    )
    b4.caption(
        f"Device: **{default_device()}**"
        + (f" ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else "")
        + f" · torch {torch.__version__}"
    )
    for note in sanity_notes(cfg.optimizers, cfg.lr, cfg.wd, cfg.beta1, cfg.beta2, cfg.eps):
        st.info(note)
    if live is not None and changed and not running:
        because = live.paused_because
        st.info(
            (f"Paused at step {live.trainer.step_count:,}: {because}. " if because else "")
            + "The run below keeps its own settings. ▶ Start trains with the settings above; "
            + ("Resume continues the run below." if can_resume else "")
        )
    # the fragment re-runs itself on a timer only while training, so an idle page costs nothing
    st.fragment(run_every=TICK_SECONDS if running else None)(live_panel)()


def live_panel() -> None:
    live: LiveRun | None = st.session_state.get("live")
    if live is None:
        st.info("Press ▶ Start: both models train live, on the same data and initial weights.")
        return
    if live.running:
        live.tick(TICK_SECONDS)  # a no-op while another script thread is stepping this run
        if not live.running:
            st.rerun()  # finished: the whole page, so Start/Stop and the timer follow the new state
    snap = live.snapshot()
    trainer = live.trainer
    rows = pd.DataFrame(snap["rows"])
    names = list(trainer.cfg.optimizers)
    speed = f" · {snap['steps_per_second']:,.0f} steps/s" if snap["steps_per_second"] else ""
    state = " · running" if snap["running"] else " · done" if snap["step"] >= trainer.cfg.steps else " · paused"
    st.progress(
        snap["step"] / trainer.cfg.steps,
        text=f"step {snap['step']:,} / {trainer.cfg.steps:,}{speed}{state}",
    )
    for name, k in snap["diverged"].items():
        if k is not None:
            st.error(f"{OPTIMIZERS[name].label} diverged at step {k} (loss inf/NaN); its curves stop there.")
    meta = dataclasses.asdict(trainer.cfg) | {"device": str(trainer.device), "step": snap["step"]}
    sub = figures.train_subtitle(trainer.cfg)
    parts = figures.train_parts(rows, names, snap["effective_decay"], snap["step"])
    decay = parts.pop("effective_decay")
    slots = st.columns(3) + st.columns(3)
    for slot, (key, part) in zip(slots, parts.items()):
        slot.vega_lite_chart(*part, width="stretch", height=260)
        with slot:
            export_menu(
                f"train_{key}", f"train-{key}", lambda p=part: charts.to_altair(p, sub), lambda: rows, meta
            )
    cols = slots[3:]
    with cols[2]:
        last = rows[rows.step == rows.step.max()].set_index("optimizer")
        st.markdown(f"**At step {int(rows.step.max()):,}**")
        shown = last[["test_acc", "test_loss", "train_loss", "weight_norm"]].rename(index=lambda n: OPTIMIZERS[n].label)
        st.markdown(markdown_table(shown.rename_axis("run").reset_index()))
        if len(names) == 2 and rows.step.max() > 0:
            a, b = (last.loc[n] for n in names)
            if abs(a.test_acc - b.test_acc) < 0.005 and abs(a.test_loss - b.test_loss) < 0.01 * b.test_loss:
                st.caption(
                    "At this setting the two runs end within 0.5 % accuracy and 1 % test loss of "
                    "each other: here the placement of λ hardly matters (try a larger λ or more steps)."
                )
    st.vega_lite_chart(*decay, width="content")
    export_menu(
        "train_decay", "train-effective-decay", lambda: charts.to_altair(decay, sub), lambda: decay[0], meta
    )
    st.caption(
        "Each weight's share removed by the decay term per step (at η_t = 1, from the current "
        "state). Adam+L2 applies α·λ/(√v̂+ε): weights with large gradients (large √v̂) are decayed "
        "orders of magnitude less than weights with small ones. Decoupled decay removes the same "
        "share, α·λ (PyTorch form) or λ (paper form), from every weight."
    )


# ---------------------------------------------------------------- lr × λ sweeps
@dataclasses.dataclass(frozen=True)
class SweepResult:
    frame: pd.DataFrame
    seconds: float
    estimate: float | None
    threads: int


@st.cache_resource
def sweep_store() -> collections.OrderedDict:
    """Finished sweeps (SweepResult), keyed by their full configuration, shared read-only by every
    session; read and written under server_state()["lock"]."""
    return collections.OrderedDict()


def _log2_range(cfg_values) -> tuple[int, int]:

    return int(round(math.log2(min(cfg_values)))), int(round(math.log2(max(cfg_values))))


def preset_values(name: str) -> dict:
    """The grid widgets' values for a preset."""
    p = PRESETS[name]
    values = {
        "s_lr_range": _log2_range(p.lrs),
        "s_n_lr": len(p.lrs),
        "s_n_wd": len(p.wds[0][1]),
        "s_seeds": p.seeds,
        "s_steps": p.train.steps,
        "s_samples": p.train.train_samples,
        "s_model": p.train.model,
        "s_init": p.train.init_scale,
        "s_normalized": p.normalized,
    }
    values.update({f"s_wd_{n}": _log2_range(g) for n, g in p.wds})
    return values


def apply_preset() -> None:
    """Set every grid widget to the chosen preset's values."""
    for key, value in preset_values(st.session_state["s_preset"]).items():
        st.session_state[key] = value


def sweep_controls() -> tuple[SweepConfig, str, int]:
    st.subheader("The coupling, measured: lr × λ heat maps")
    st.caption(
        "Every cell is a full training run on the same training digits, the same "
        "initial weights and the same mini-batches; all cells of all optimizers train together as one "
        "batched computation. The paper's Figures 1–2, computed live."
    )
    c = st.columns(4)
    preset_name = url_widget(
        c[0],
        "selectbox",
        "Preset",
        list(PRESETS),
        key="s_preset",
        on_change=apply_preset,
        help="measured starting points; see the README",
    )
    p, d = PRESETS[preset_name], preset_values(preset_name)
    metric = url_widget(
        c[0],
        "radio",
        "Colour = ",
        list(charts.SWEEP_METRICS),
        format_func=charts.SWEEP_METRICS.get,
        key="s_metric",
        horizontal=True,
    )
    top_k = url_widget(c[0], "slider", "Circle the best k cells", 1, 10, 3, key="s_topk")
    lr_lo, lr_hi = url_widget(
        c[1], "slider", "learning rates: log₂ range", -16, 0, key="s_lr_range", default=d["s_lr_range"]
    )
    n_lr = url_widget(c[1], "slider", "rows (learning rates)", 2, 9, key="s_n_lr", default=d["s_n_lr"])
    n_wd = url_widget(c[1], "slider", "columns (λ values)", 2, 9, key="s_n_wd", default=d["s_n_wd"])
    wds = []
    for name, _ in p.wds:
        key = f"s_wd_{name}"
        label = f"λ of {OPTIMIZERS[name].label}: log₂ range"
        lo, hi = url_widget(c[2], "slider", label, -24, 10, key=key, default=d[key])
        wds.append((name, pow2(lo, hi, n_wd) if hi > lo else pow2(lo, lo + 1, n_wd)))
    seeds = url_widget(c[3], "slider", "seeds (averaged)", 1, 4, key="s_seeds", default=d["s_seeds"])
    steps = url_widget(
        c[3],
        "select_slider",
        "steps per run",
        [100, 300, 600, 1000, 1500, 3000, 6000],
        key="s_steps",
        default=d["s_steps"],
    )
    samples = url_widget(
        c[3],
        "select_slider",
        "train samples",
        [100, 300, 600, 1200],
        key="s_samples",
        default=d["s_samples"],
    )
    model = url_widget(c[3], "selectbox", "model", list(T["model"].choices), key="s_model", default=d["s_model"])
    init_scale = url_widget(
        c[3],
        "select_slider",
        "initial weights × k",
        list(T["init_scale"].options),
        format_func=fmt,
        key="s_init",
        default=d["s_init"],
        help="1: PyTorch's default init. Large k: the decay's job is to remove a large random start, "
        "which runs the sweep far from equilibrium",
    )
    normalized = url_widget(
        c[3],
        "toggle",
        "normalized λ (App. B.1)",
        key="s_normalized",
        default=d["s_normalized"],
        help="the λ axis is λ_norm; each run uses λ = λ_norm·√(b/(B·T))",
    )
    train = dataclasses.replace(
        p.train, steps=int(steps), train_samples=int(samples), model=model, init_scale=float(init_scale)
    )
    cfg = SweepConfig(
        pair=p.pair,
        lrs=pow2(lr_lo, lr_hi if lr_hi > lr_lo else lr_lo + 1, n_lr),
        wds=tuple(wds),
        seeds=int(seeds),
        normalized=bool(normalized),
        train=train,
    )
    return cfg, metric, top_k


# The presets' sweep time on this project's quiet 2-core CPU (README, "Speed"), quoted before a first run.
QUIET_SECONDS = {"coupling": "10 s on 2 threads (18 s on 1)", "long-runs": "46 s (92 s)"}
SWEEP_CONFIRM_SECONDS = 60   # a sweep expected to take longer asks before it starts
ACTIVE_SECONDS = 60          # a session that ran its script this recently counts as active


@st.cache_resource
def server_state() -> dict:
    """Shared by every session: one sweep computes at a time (a second one waits its turn, so two
    sessions do not split the cores and the memory), the finished-sweep store's lock, and which
    sessions are active (a sweep takes one thread while others are)."""
    return {"sweep": threading.Lock(), "lock": threading.Lock(), "sessions": ActiveSessions(ACTIVE_SECONDS)}


def session_id() -> str:
    return st.session_state.setdefault("_session", uuid.uuid4().hex)


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def sweep_view() -> None:
    cfg, metric, top_k = sweep_controls()
    store, shared = sweep_store(), server_state()
    with shared["lock"]:
        done = store.get(cfg)
    cells = len(cfg.optimizers) * len(cfg.lrs) * len(cfg.wds[0][1])
    threads = sweep_threads_now(shared["sessions"].others(session_id()))
    # measured on this machine, now, for this grid's sizes (a few steps of the real computation)
    estimate = None if done else estimate_seconds(cfg, threads=threads)
    b1, b2, b3 = st.columns([1, 1, 4])
    run = b1.button("▶ Run sweep", type="primary", key="s_run", disabled=done is not None)
    b2.button("■ Cancel", key="s_cancel", help="stops a running sweep (nothing is cached)")
    b3.caption(
        f"{cells} cells × {cfg.seeds} seed(s) × {cfg.train.steps:,} steps, one batched run per seed on "
        f"**{default_device()}**"
        + (" · cached" if done else f" · about **{duration(estimate)}** with {threads} thread(s) now")
    )
    if run and estimate > SWEEP_CONFIRM_SECONDS:
        st.session_state["s_asked"] = cfg
        run = False
    if done is None and st.session_state.get("s_asked") == cfg:
        st.warning(
            f"This sweep takes about **{duration(estimate)}** here (measured now: "
            f"{cells} cells × {cfg.seeds} seed(s) × {cfg.train.steps:,} steps). Fewer seeds, steps or "
            "grid rows make it faster."
        )
        run = st.button(f"Run it anyway (≈ {duration(estimate)})", key="s_confirm")
    if run and done is None:
        st.session_state.pop("s_asked", None)
        bar = st.progress(0.0, text="starting…")
        waited = 0.0
        while not shared["sweep"].acquire(timeout=0.5):
            waited += 0.5
            bar.progress(0.0, text=f"waiting for another session's sweep to finish ({waited:.0f} s)…")
        try:
            t0 = time.perf_counter()

            def progress(f: float, left: float | None) -> None:
                text = f"{f:.0%}" + (f" · about {duration(left)} left" if left is not None else "")
                bar.progress(min(f, 1.0), text=text)

            with torch_threads(threads):
                frame = run_sweep(cfg, progress=progress, prior_seconds=estimate)
            done = SweepResult(frame, time.perf_counter() - t0, estimate, threads)
        finally:
            shared["sweep"].release()
        with shared["lock"]:
            store[cfg] = done
            while len(store) > 24:
                store.popitem(last=False)
        bar.empty()
    if done is None:
        st.info(
            "Press ▶ Run sweep. Measured on a quiet 2-core CPU: the default preset `coupling` "
            f"(3 × 49 cells, 2 seeds, 300 steps) takes about {QUIET_SECONDS['coupling']}, `long-runs` about "
            f"{QUIET_SECONDS['long-runs']}; the estimate above is measured for this grid, now. Results are "
            "cached, so a sweep anyone ran before appears at once."
        )
        return
    show_sweep(cfg, done.frame, metric, top_k)
    st.caption(
        f"Computed in {duration(done.seconds)} with {done.threads} thread(s)"
        + (f" (estimated {duration(done.estimate)})" if done.estimate else "")
        + "."
    )


def show_sweep(cfg: SweepConfig, frame: pd.DataFrame, metric: str, top_k: int) -> None:
    heatmaps, couplings = figures.sweep_charts(cfg, frame, metric, top_k)
    meta = dataclasses.asdict(cfg) | {"metric": metric}
    cols = st.columns(len(cfg.optimizers))
    for col, name in zip(cols, cfg.optimizers):
        show_chart(col, heatmaps[name], key=f"sweep_{name}", stem=f"sweep-{name}",
                   frame=frame[frame.optimizer == name], meta=meta, height=430)
    st.caption(
        "● best cell, ○ the next best (seed-averaged); × a run diverged; ≈ a row where λ hardly "
        "matters (max − min < 2 % of the row's min), left out of the fit; dashed red: the least-squares "
        "line log₂ λ* = slope · log₂ α + c over the other rows."
    )
    explain_sweep(cfg, frame, couplings)
    st.download_button(
        "Download the sweep (CSV)", frame.to_csv(index=False), "sweep.csv", "text/csv", key="s_csv"
    )


def explain_sweep(cfg: SweepConfig, frame: pd.DataFrame, couplings: dict) -> None:
    """What this measurement says, in numbers computed from it."""

    s = {n: c.slope for n, c in couplings.items()}
    fmt_s = lambda v: "n/a" if math.isnan(v) else f"{v:+.2f}"  # noqa: E731
    lines = [
        "**Slopes** (0 = the best λ does not depend on α; −1 = best λ ∝ 1/α; +1 = best λ ∝ α): "
        + ", ".join(f"{OPTIMIZERS[n].label} **{fmt_s(v)}**" for n, v in s.items())
        + "."
    ]
    l2 = "adam-l2" if cfg.pair == "adam" else "sgd-l2"
    dec = [n for n in cfg.optimizers if n != l2]
    sep = min(dec, key=lambda n: abs(s[n]) if not math.isnan(s[n]) else math.inf)
    if not math.isnan(s[l2]) and not math.isnan(s[sep]):
        verdict = (
            "the coupling and its removal are both visible"
            if abs(s[l2] - s[sep]) >= 0.5
            else "less than 0.5: the L2 coupling is weak at this setting"
        )
        lines.append(
            f"The decoupled form closest to slope 0 is **{OPTIMIZERS[sep].label}**; its slope differs "
            f"from {OPTIMIZERS[l2].label}'s by **{abs(s[l2] - s[sep]):.2f}**: {verdict}."
        )
    if cfg.pair == "adam" and not math.isnan(s["adamw"]) and not math.isnan(s["adamw-torch"]):
        lines.append(
            f"The two AdamW forms are the same runs on sheared grids (λ_paper = α·λ_torch, for any "
            f"schedule), so their slopes differ by about 1: measured "
            f"{s['adamw'] - s['adamw-torch']:+.2f}. Which one looks decoupled is a question of "
            "regime, not of the optimizer."
        )
        eta_sum = sum(
            Schedule(
                cfg.train.schedule, total_steps=cfg.train.steps, t0=cfg.train.t0, t_mult=cfg.train.t_mult
            ).multipliers(cfg.train.steps)
        )
        c = couplings["adamw-torch"]
        n_star = [lr * wd * cfg.wd_scale * eta_sum for lr, wd in c.best_wd.items()]
        if n_star:
            lines.append(regime_text(s["adamw-torch"], s["adamw"], n_star, cfg.train.model))
    if cfg.train.init_scale > 1:
        err = frame.groupby(["optimizer", "lr", "wd"])["test_error"].mean().groupby("lr").min()
        lines.append(
            f"**Initial weights × {cfg.train.init_scale:g}.** The decay's first job here is to remove a large "
            f"random start. The price is a worse start: the best seed-averaged test error per row goes from "
            f"{err.iloc[0]:.0%} at α = 2^{math.log2(err.index[0]):.3g} to {err.min():.1%} (the slowest rows "
            "under-fit; compare the default init)."
        )
    st.markdown("\n\n".join(lines))


# ---------------------------------------------------------------- insights
@st.cache_data(max_entries=64, show_spinner="Computing…")
def _prop1_surface(surface, lr, lam, steps, momentum, schedule):
    return insights.prop1_surface(surface, lr, lam, steps, momentum, schedule)


@st.cache_data(max_entries=16, show_spinner="Training SGD+L2 and SGDW on digits…")
def _prop1_model(lr, lam, momentum, steps):
    cfg = TrainConfig(lr=lr, momentum=momentum, steps=steps, schedule="constant", train_samples=300)
    return insights.prop1_model(cfg, lam)


@st.cache_data(max_entries=64, show_spinner="Searching λ'…")
def _best_match(surface, target, candidate, lr, wd, steps, noise):
    return insights.best_match(surface, target, candidate, lr=lr, wd=wd, steps=steps, noise=noise)


@st.cache_data(max_entries=64, show_spinner=False)
def _effective_decay(surface, lr, wd, steps, form, noise):
    return insights.effective_decay_surface(surface, lr, wd, steps, form, noise=noise)


@st.cache_data(max_entries=16, show_spinner="Training the pair on digits…")
def _model_decay(form, wd, steps):
    tr = Trainer(TrainConfig(optimizers=pair_optimizers("adam", form), wd=wd, steps=steps))
    tr.step(steps)
    return tr.effective_decay(), tr.names, tr.step_count


@st.cache_data(max_entries=16, show_spinner="Training six runs…")
def _decay_forms(lam_torch, lr, steps):
    cfg = TrainConfig(lr=lr, steps=steps, train_samples=300)
    return insights.decay_forms(cfg, lam_torch, (lr / 4, lr, lr * 4))


@st.cache_data(max_entries=16, show_spinner="Training the pair and evaluating the plane…")
def _landscape(model, wd, steps, kind, n):
    from explorer.landscape import landscape

    cfg = TrainConfig(model=model, wd=wd, steps=steps)
    t0 = time.perf_counter()
    res = landscape(cfg, kind, n)
    return res, time.perf_counter() - t0


def heavy_toggle(label: str, key: str, what: str) -> bool:
    """A toggle for minutes-scale work: a link may restore it switched on, but only a click in this
    session starts the computation (a URL alone never does)."""
    on = url_widget(st, "toggle", label, key=key)
    if on and urlstate.from_link(key):
        if not st.button(f"Compute: {what}", key=f"{key}_confirm", type="primary"):
            st.caption("This link asks for a computation; it starts when you press the button.")
            return False
        urlstate.confirm(key)
    return on


def insight_prop1() -> None:
    st.markdown("#### 1 · SGD: L2 regularization *is* weight decay (Proposition 1)")
    st.latex(
        r"\theta_t=\theta_{t-1}-\eta_t\alpha\big(\nabla f+\tfrac{\lambda}{\alpha}\theta_{t-1}\big)"
        r"\;=\;\theta_{t-1}-\eta_t\alpha\nabla f-\eta_t\lambda\theta_{t-1}"
    )
    c = st.columns(5)
    surface = url_widget(c[0], "selectbox", "Surface", list(SURFACES), index=1, key="i1_surface")
    lr = url_widget(c[1], "select_slider", "α", list(P["lr"].options), 0.001, format_func=fmt, key="i1_lr")
    lam = url_widget(
        c[2], "select_slider", "λ (SGDW)", list(P["wd"].options), 0.01, format_func=fmt, key="i1_lam"
    )
    momentum = url_widget(c[3], "slider", "momentum μ", 0.0, 0.99, 0.0, 0.01, key="i1_momentum")
    schedule = url_widget(c[4], "selectbox", "schedule", list(P["schedule"].choices), key="i1_schedule")
    meta = {"surface": surface, "lr": lr, "lambda": lam, "momentum": momentum, "schedule": schedule}
    f = _prop1_surface(surface, lr, lam, 1000, momentum, schedule)
    cols = st.columns(2)
    show_chart(
        cols[0],
        charts.trajectory_panel(surface, f, "sgdw", "sgd-l2", title="SGDW and SGD+L2 (λ' = λ/α)", size=360),
        key="i1_paths", stem="prop1-paths", frame=f, meta=meta, width="content",
    )
    dist = f[f.optimizer == "sgdw"][["step", "distance"]].assign(what="‖θ_SGD+L2 − θ_SGDW‖")
    show_chart(
        cols[1],
        charts.lines(
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
        "Also on the digits model (300 steps of SGD+L2 and SGDW in one batch)", "i1_model",
        "train SGD+L2 and SGDW on digits (300 steps)",
    ):
        d = _prop1_model(min(lr * 50, 0.1), lam, momentum, 300).assign(what="relative distance")
        show_chart(
            st,
            charts.lines(
                d, "step", "relative_distance", "what", "‖θ_SGD+L2 − θ_SGDW‖ / ‖θ_SGDW‖ on the MLP",
                log_y=True, y_title="relative distance",
            ),
            key="i1_model_chart", stem="prop1-model", frame=d, meta=meta, height=300,
        )


def adam_surface_controls(prefix: str, wd_label: str):
    """Surface, AdamW form, α, λ and gradient noise for an Adam-on-a-surface insight panel."""
    c = st.columns(5)
    return (
        url_widget(c[0], "selectbox", "Surface", list(SURFACES), key=f"{prefix}_surface"),
        url_widget(c[1], "radio", "AdamW form", ["torch", "paper"], horizontal=True, key=f"{prefix}_form"),
        url_widget(
            c[2], "select_slider", "α", list(P["lr"].options), 0.05, format_func=fmt, key=f"{prefix}_lr"
        ),
        url_widget(
            c[3], "select_slider", wd_label, list(P["wd"].options), 1.0, format_func=fmt, key=f"{prefix}_wd"
        ),
        url_widget(c[4], "select_slider", "noise σ", [0.0, 0.1, 0.3, 1.0, 3.0], 0.0, key=f"{prefix}_noise"),
    )


def insight_prop2() -> None:
    st.markdown("#### 2 · Adam: no λ' makes L2 equal decoupled decay (Proposition 2)")
    st.latex(
        r"\min_{\lambda'}\;\frac1T\sum_t\big\|\theta^{\text{Adam+L2}(\lambda')}_t-\theta^{\text{AdamW}(\lambda)}_t\big\|"
        r"\;>\;0"
    )
    surface, form, lr, wd, noise = adam_surface_controls("i2", "λ (AdamW)")
    meta = {"surface": surface, "form": form, "lr": lr, "wd": wd, "noise": noise}
    target = "adamw-torch" if form == "torch" else "adamw"
    m = _best_match(surface, target, "adam-l2", lr, wd, 500, noise)
    sgd = _best_match(surface, "sgdw", "sgd-l2", min(lr, 0.01), min(wd, 0.1), 500, 0.0)
    cols = st.columns(3)
    curve = m.curve.assign(what="Adam+L2(λ') vs AdamW(λ)")
    show_chart(
        cols[0],
        charts.lines(
            curve, "wd", "distance", "what", "Mean path distance for every λ'",
            log_x=True, log_y=True, x_title="λ'", width=300,
        ),
        key="i2_curve", stem="prop2-distance-by-lambda", frame=curve, meta=meta, height=300,
    )
    show_chart(
        cols[1],
        charts.trajectory_panel(
            surface, m.paths, target, "adam-l2", size=300, title=f"AdamW and the best Adam+L2, λ' = {m.best_wd:.3g}"
        ),
        key="i2_paths", stem="prop2-paths", frame=m.paths, meta=meta | {"best_lambda": m.best_wd}, width="content",
    )
    p = m.paths.pivot(index="step", columns="optimizer", values=["x", "y"])
    resid = pd.concat(
        [
            pd.DataFrame(
                {"step": p.index, "coordinate": ax, "gap": (p[ax]["adam-l2"] - p[ax][target]).abs().values}
            )
            for ax in ("x", "y")
        ]
    )
    show_chart(
        cols[2],
        charts.lines(
            resid, "step", "gap", "coordinate", "Remaining gap per coordinate",
            y_title="|Δθ|", width=300,
        ),
        key="i2_gap", stem="prop2-gap", frame=resid, meta=meta, height=300,
    )
    st.caption(
        f"The best λ' = {m.best_wd:.4g} still leaves a mean distance of **{m.residual:.3g}**: Adam divides "
        "λ'θ by √v̂, so one λ' cannot give every coordinate AdamW's common rate — the steep one is "
        f"decayed too little or the flat one too much. The same search for SGD+L2 against SGDW finds "
        f"λ' = {sgd.best_wd:.4g} = λ/α with distance {sgd.residual:.1g} (Proposition 1)."
    )


def insight_effective_decay() -> None:
    st.markdown("#### 3 · Effective decay per coordinate: weights with large gradients are regularized less")
    st.latex(
        r"\text{Adam+L2: }\frac{\alpha\lambda}{\sqrt{\hat v_{t,i}}+\epsilon}\ \text{per coordinate }i"
        r"\qquad\text{AdamW: }\alpha\lambda\ (\text{PyTorch})\ \text{or}\ \lambda\ (\text{paper})"
    )
    surface, form, lr, wd, noise = adam_surface_controls("i3", "λ")
    meta = {"surface": surface, "form": form, "lr": lr, "wd": wd, "noise": noise}
    e = _effective_decay(surface, lr, wd, 500, form, noise)
    e = e.assign(label=e["optimizer"].map(lambda n: OPTIMIZERS[n].label))
    show_chart(
        st,
        charts.lines(
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
        "Also per layer on the digits network (the live-training default, 500 steps)", "i3_model",
        "train the Adam+L2 / AdamW pair on digits (500 steps)",
    ):
        dist, names, step = _model_decay(form, 0.05, 500)
        part = charts.decay_part(dist, names, step)
        st.vega_lite_chart(*part, width="content")
        export_menu("i3_model_chart", "effective-decay-layers", lambda: charts.to_altair(part), lambda: dist,
                    meta | {"model_lambda": 0.05, "model_steps": 500})


def insight_decay_forms() -> None:
    st.markdown("#### 4 · The two decoupled forms: paper (η_t·λ) and PyTorch (η_t·α·λ)")
    st.latex(
        r"\lambda_{\text{torch}}=\lambda_{\text{paper}}/\alpha\qquad"
        r"\text{shrink per step: }\eta_t\lambda_{\text{paper}}=\eta_t\alpha\lambda_{\text{torch}}\qquad"
        r"\text{timescale: }1/(\alpha\lambda_{\text{torch}})"
    )
    c = st.columns(3)
    lam = url_widget(
        c[0], "select_slider", "λ_torch", list(P["wd"].options[1:]), 0.5, format_func=fmt, key="i4_lam"
    )
    lr = url_widget(c[1], "select_slider", "base α", list(T["lr"].options), 0.001, format_func=fmt, key="i4_lr")
    steps = url_widget(c[2], "select_slider", "steps", [300, 1000, 3000], 1000, key="i4_steps")
    meta = {"lambda_torch": lam, "lr": lr, "steps": steps}
    d = _decay_forms(lam, lr, steps)
    d = d.assign(run=d["optimizer"].map(lambda n: OPTIMIZERS[n].label) + " · α=" + d["lr"].map(fmt))
    cols = st.columns(2)
    for col, name in zip(cols, ("adamw-torch", "adamw")):
        sub = d[d.optimizer == name]
        show_chart(
            col,
            charts.lines(
                sub, "step", "weight_norm", "run", OPTIMIZERS[name].label + ": ‖θ‖ at α/4, α, 4α",
                y_title="‖θ‖", width=360,
            ),
            key=f"i4_{name}", stem=f"decay-forms-{name}", frame=sub, meta=meta, height=300,
        )
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
        f"Both forms are the same run at the base α (λ_paper = α·λ_torch = {lam * lr:.3g}). Move α and the "
        "PyTorch form's shrink per step and timescale move with it, the paper form's do not — which is why "
        "the sweep tab's heat maps are the same function on sheared grids and why which form looks "
        "'decoupled' depends on how many timescales a run lasts."
    )
    c = st.columns(4)
    lam_norm = url_widget(c[0], "number_input", "λ_norm", 0.0, 10.0, 0.05, 0.01, key="i4_norm", format="%.4f")
    b = url_widget(c[1], "number_input", "batch size b", 1, 100_000, 128, key="i4_b")
    big_b = url_widget(c[2], "number_input", "training points B", 1, 10_000_000, 50_000, key="i4_B")
    epochs = url_widget(c[3], "number_input", "epochs T", 1, 10_000, 100, key="i4_T")
    st.latex(
        r"\lambda=\lambda_{\text{norm}}\sqrt{\frac{b}{B\,T}}="
        + f"{insights.normalized_decay(lam_norm, b, big_b, epochs):.4g}"
    )
    c = st.columns(3)
    t0 = url_widget(c[0], "number_input", "T₀ (steps)", 1, 10_000, 100, key="i4_t0")
    tmult = url_widget(c[1], "number_input", "T_mult", 1, 4, 2, key="i4_tmult")
    total = url_widget(c[2], "select_slider", "steps shown", [300, 700, 1500, 3100], 700, key="i4_total")
    sched = insights.schedule_frame("warm_restarts", total, t0, tmult).assign(what="η_t (SGDR / AdamWR)")
    show_chart(
        st,
        charts.lines(
            sched, "step", "eta", "what", "Cosine annealing with warm restarts", y_title="η_t",
            width=700, height=160,
        ),
        key="i4_schedule", stem="sgdr-schedule", frame=sched,
        meta={"t0": t0, "t_mult": tmult, "steps": total}, height=300,
    )


def insight_landscape() -> None:
    st.markdown("#### 5 · The loss landscape of a trained Adam+L2 / AdamW pair")
    st.caption(
        "A plane through weight space: by default through both end points (first axis) and the main PCA "
        "direction of both trajectories (second axis); or two filter-normalized random directions "
        "(Li et al., 2018). The training loss on a grid over the plane is one batched computation."
    )
    c = st.columns(5)
    model = url_widget(c[0], "selectbox", "model", list(T["model"].choices), key="i5_model")
    wd = url_widget(c[1], "select_slider", "λ", list(T["wd"].options), 0.05, format_func=fmt, key="i5_wd")
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


def insights_view() -> None:
    st.subheader("The paper's claims, one at a time")
    for panel in (
        insight_prop1,
        insight_prop2,
        insight_effective_decay,
        insight_decay_forms,
        insight_landscape,
    ):
        with st.container(border=True):
            # each panel reruns alone when one of its controls moves
            urlstate.fragment(panel)()


VIEWS = {
    "2-D trajectories": trajectory_tab,
    "Live training": training_view,
    "lr × λ sweep": sweep_view,
    "Insights": insights_view,
}


def main() -> None:
    server_state()["sessions"].touch(session_id())
    urlstate.start_run(lambda key: view_of_url_key(key) is not None)
    views = list(VIEWS)
    if "view" not in st.session_state:  # a link opens its tab
        asked = st.query_params.get("view")
        if asked is not None and asked not in views:
            urlstate.warn(
                f"URL parameter **view** = {urlstate.shown_text(asked)} is not valid "
                f"(one of {', '.join(views)}); showing the first."
            )
        st.session_state["view"] = asked if asked in views else views[0]
    st.html(COMPACT_PAGE)
    head, share = st.columns([5, 1], vertical_alignment="center")
    head.markdown(
        "### Decoupled Weight Decay Explorer\n"
        "Why **Adam + L2 regularization is not weight decay**, and what **AdamW** "
        "(Loshchilov & Hutter, ICLR 2019) changes: the same start, data and hyperparameters; "
        "only *where λ enters the update* differs."
    )
    notices = st.container()
    with st.sidebar:
        st.markdown("### About")
        st.markdown(ABOUT)
    tabs = st.tabs(views, key="view", on_change="rerun")
    active = st.session_state.get("view") or views[0]
    urlstate.set_view(active if active != views[0] else None)
    # only the active tab renders: a first visit draws one tab's charts, and reruns stay cheap
    with tabs[views.index(active)]:
        VIEWS[active]()
    urlstate.drop_unclaimed(lambda key: view_of_url_key(key) == active)
    with share:
        with st.popover("Share this view", icon=":material/link:"):
            st.caption("This link restores every control of every tab (the address bar holds the same):")
            st.code(urlstate.share_link(), language=None, wrap_lines=True)
    warnings = urlstate.pop_warnings()
    if warnings:
        notices.warning("\n\n".join(warnings))
    urlstate.sync_address_bar()


main()
