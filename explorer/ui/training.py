"""The live-training tab: the pair trains on digits, or your data, while the page shows it."""
from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st
import torch

from explorer.core.forms import OPTIMIZERS, pair_optimizers
from explorer.interface.params import TRAIN, sanity_notes
from explorer.runs.live import LiveRun
from explorer.runs.train import TrainConfig, changed_settings, default_device
from explorer.ui import instruments, jobs, urlstate, yourdata
from explorer.ui.controls import (
    FORM_CAPTIONS,
    GROW,
    PAIR_CAPTIONS,
    button_row,
    control_block,
    export_menu,
    markdown_table,
    memo,
    spec_widget,
)
from explorer.ui.player import player
from explorer.viz import figures, playback, training_charts

TAB = "training"       # its controls' URL names: url_name(TAB, spec), t_…


def owns(key: str) -> bool:
    """This tab's URL parameters: t_…"""
    return key.startswith(urlstate.PREFIX[TAB])


TRAIN_STEP = "train_step"   # the finished run's playback parameter (explorer/ui/player.py)
TICK_SECONDS = 1.0  # the live view's timer: a worker trains a second at a time; each look redraws the whole view


def train_controls() -> TrainConfig:
    st.subheader("Live training")
    st.caption(
        "scikit-learn's 8×8 digits, a fixed test third (597 images), or your own CSV. Both runs start from the same "
        "weights and see the same mini-batches in the same order, in one batched computation; only "
        "where λ enters the update differs."
    )
    data = yourdata.picker(block := control_block(TAB))     # a control too: on a phone it follows the charts
    c = block.columns(4)
    pair = spec_widget(c[0], "Compare", TRAIN["pair"], TAB, horizontal=True, captions=PAIR_CAPTIONS,
                       help=None)
    form = spec_widget(c[0], "AdamW form", TRAIN["form"], TAB, horizontal=True, disabled=pair == "sgd",
                       captions=FORM_CAPTIONS, help=None)
    model = spec_widget(c[1], "Model", TRAIN["model"], TAB)
    width = spec_widget(c[1], "Width", TRAIN["width"], TAB)
    depth = spec_widget(c[1], "Hidden layers", TRAIN["depth"], TAB, help=None)
    init_scale = spec_widget(c[1], "Initial weights × k", TRAIN["init_scale"], TAB)
    lr = spec_widget(c[2], "Learning rate α", TRAIN["lr"], TAB)
    wd = spec_widget(c[2], "Decay λ", TRAIN["wd"], TAB)
    no_decay = spec_widget(c[2], "Left out of the decay", TRAIN["no_decay"], TAB)
    adam = pair == "adam"
    beta1 = spec_widget(c[2], "β1", TRAIN["beta1"], TAB, format="%.3f", disabled=not adam, help=None)
    beta2 = spec_widget(c[2], "β2", TRAIN["beta2"], TAB, disabled=not adam)
    eps = spec_widget(c[2], "ε", TRAIN["eps"], TAB, disabled=not adam)
    momentum = spec_widget(c[2], "Momentum μ", TRAIN["momentum"], TAB, disabled=adam, help=None)
    batch = spec_widget(c[3], "Batch size", TRAIN["batch_size"], TAB)
    steps = spec_widget(c[3], "Steps", TRAIN["steps"], TAB)
    samples = spec_widget(c[3], "Train samples", TRAIN["train_samples"], TAB)
    schedule = spec_widget(c[3], "Schedule η_t", TRAIN["schedule"], TAB, help=None)
    warmup = spec_widget(c[3], "Warm-up steps", TRAIN["warmup"], TAB)
    follows = spec_widget(c[3], "Decay follows η_t", TRAIN["decay_follows"], TAB)
    seed = spec_widget(c[3], "Seed", TRAIN["seed"], TAB, help=None)
    names = pair_optimizers(pair, form)
    return TrainConfig(
        optimizers=names,
        model=model,
        width=int(width),
        depth=int(depth),
        init_scale=float(init_scale),
        lr=lr,
        wd=wd,
        no_decay=no_decay,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
        momentum=momentum,
        batch_size=int(batch),
        steps=int(steps),
        train_samples=int(samples),
        schedule=schedule,
        warmup=int(warmup),
        decay_follows=bool(follows),
        seed=int(seed),
        data=data,
    )


SETTING_LABELS = {
    "optimizers": "Compare / AdamW form", "model": "Model", "width": "Width", "depth": "Hidden layers",
    "init_scale": "Initial weights × k", "lr": "Learning rate α", "wd": "Decay λ", "no_decay": "Left out of the decay",
    "beta1": "β1",
    "beta2": "β2", "eps": "ε", "momentum": "Momentum μ", "batch_size": "Batch size", "steps": "Steps",
    "train_samples": "Train samples", "schedule": "Schedule η_t", "warmup": "Warm-up steps",
    "decay_follows": "Decay follows η_t", "t0": "Steps", "t_mult": "Steps",
    "seed": "Seed", "eval_every": "Steps", "data": "Data",
}


def start_training(cfg: TrainConfig) -> None:
    """A new run, trained a second at a time in the server's worker processes (explorer.runs.live)."""
    old = st.session_state.get("live")
    if old is not None:
        old.pause()               # its second in flight is dropped: it frees the worker for the new run
    st.session_state["live"] = LiveRun(cfg, jobs.pool(), jobs.owner())


def render() -> None:
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
    b1, b2, b3, b4 = button_row(TAB, [1, 1, 1, 3])
    b1.button(
        "▶ Start" if live is None else "↻ Restart" if running or not changed else "▶ Start with these settings",
        type="primary",
        on_click=start_training,
        args=(cfg,),
        key="t_start",
    )
    b2.button("■ Stop", on_click=live.pause if running else None, disabled=not running, key="t_stop")
    can_resume = live is not None and not running and not live.done
    b3.button(
        "Resume", icon=":material/resume:", on_click=live.resume if can_resume else None,
        disabled=not can_resume, key="t_resume",
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
            (f"Paused at step {live.step:,}: {because}. " if because else "")
            + "The run below keeps its own settings. ▶ Start trains with the settings above"
            + ("; Resume continues the run below." if can_resume else ".")
        )
    # the fragment re-runs itself on a timer only while training, so an idle page costs nothing
    st.fragment(run_every=TICK_SECONDS if running else None)(live_panel)()


def live_panel() -> None:
    # long: the live view's parts in page order (progress, charts, tables, instruments), each a few lines
    live: LiveRun | None = st.session_state.get("live")
    if live is None:
        st.info("Press ▶ Start: both models train live, on the same data and initial weights.")
        return
    if live.running:
        live.tick()          # takes the second a worker trained, if it is there, and asks for the next
        if not live.running:
            st.rerun()  # finished: the whole page, so Start/Stop and the timer follow the new state
    snap = live.snapshot()
    cfg = live.cfg
    if live.error:
        st.error(f"Training stopped: {live.error}. The steps shown are kept; Resume tries again.")
    if not snap["rows"]:
        st.progress(0.0, text=f"step 0 / {cfg.steps:,} · {snap['waiting'] or 'starting…'}")
        return
    names = list(cfg.optimizers)
    # what the view draws, built again only when a new second of training arrived (ticks wait for it under load)
    drawn = (id(live), snap["step"], len(snap["rows"]), len(snap["layer_rows"]))
    rows, built = memo("live", drawn, lambda: _built(snap, names))
    speed = f" · {snap['steps_per_second']:,.0f} steps/s" if snap["steps_per_second"] else ""
    waiting = f" · {snap['waiting']}" if snap["waiting"] else ""
    state = (" · running" + waiting) if snap["running"] else " · done" if snap["step"] >= cfg.steps else " · paused"
    st.progress(
        snap["step"] / cfg.steps,
        text=f"step {snap['step']:,} / {cfg.steps:,}{speed}{state}",
    )
    for name, k in snap["diverged"].items():
        if k is not None:
            st.error(f"{OPTIMIZERS[name].label} diverged at step {k} (loss inf/NaN); its curves stop there.")
    meta = dataclasses.asdict(cfg) | {"device": default_device(), "step": snap["step"]}
    sub = figures.train_subtitle(cfg)
    parts = dict(built)
    decay = parts.pop("effective_decay")
    shown = parts
    if not snap["running"] and snap["step"] >= cfg.steps and len(rows):
        # a finished run: a step slider and play over its recorded curves, in the browser (no rerun)
        steps = sorted(int(s) for s in rows["step"].unique())
        shown = {k: playback.with_scrubber(p, TRAIN_STEP, steps[-1]) for k, p in parts.items()}
        player(TRAIN_STEP, steps, "Recorded run")
    slots = st.columns(3) + st.columns(3)
    for slot, (key, part) in zip(slots, parts.items()):
        data, spec = shown[key]
        slot.vega_lite_chart(data, {**spec, "autosize": GROW}, width="stretch")   # plots keep their height
        with slot:
            export_menu(
                f"train_{key}", f"train-{key}", lambda p=part: training_charts.to_altair(p, sub), lambda: rows, meta
            )
    with slots[5]:
        _last_step_table(rows, names)
    st.vega_lite_chart(*decay, width="content")
    export_menu(
        "train_decay", "train-effective-decay", lambda: training_charts.to_altair(decay, sub), lambda: decay[0], meta
    )
    st.caption(
        "Each weight's share removed by the decay term per step (at η_t = 1, from the current "
        "state). Adam+L2 applies α·λ/(√v̂+ε): weights with large gradients (large √v̂) are decayed "
        "orders of magnitude less than weights with small ones. Decoupled decay removes the same "
        "share, α·λ (PyTorch and corrected forms; η_t = 1) or λ (paper form), from every weight."
    )
    if cfg.no_decay != "none":
        decay_groups(snap["decay_groups"])
    instruments.render(cfg, snap["layer_rows"], sub, meta)


def _built(snap: dict, names: list[str]) -> tuple[pd.DataFrame, dict]:
    rows = pd.DataFrame(snap["rows"])
    return rows, figures.train_parts(rows, names, snap["effective_decay"], snap["step"])


def _last_step_table(rows: pd.DataFrame, names: list[str]) -> None:
    """The numbers at the last recorded step, and a note where the two runs hardly differ."""
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


def decay_groups(groups: pd.DataFrame) -> None:
    """The no-decay groups: what each holds, its norm and its decay (0 for the group left out)."""
    st.markdown("**Decay groups**")
    shown = groups.assign(run=groups["optimizer"].map(lambda n: OPTIMIZERS[n].label), **{
        "‖θ‖": groups["norm"],
        "median decay / step": [f"{x:.3g}" if x else "0 (not decayed)" for x in groups["median_decay"]]})
    st.markdown(markdown_table(shown[["run", "group", "tensors", "parameters", "‖θ‖", "median decay / step"]]))
    st.caption("Each group's weight norm, and the median share of a weight its decay removes per step (at "
               "η_t = 1). The histogram above shows the decayed weight matrices only.")
