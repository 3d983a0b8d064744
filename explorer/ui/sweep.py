"""The lr × λ sweep tab: the paper's heat maps, measured."""
from __future__ import annotations

import dataclasses
import math

import pandas as pd
import streamlit as st

from explorer.analysis import transfer as transfer_analysis
from explorer.analysis.interpret import COUPLING_VISIBLE, interpret
from explorer.core.forms import OPTIMIZERS
from explorer.interface.params import SWEEP, SWEEP_GRID, TRAIN
from explorer.runs import transfer
from explorer.runs.axes import AXES
from explorer.runs.job import Finished
from explorer.runs.precomputed import ROBUST, shipped
from explorer.runs.sweep import PRESETS, SweepConfig, estimate_seconds, pow2, with_extra_forms
from explorer.runs.train import default_device
from explorer.runs.variants import VARIANTS, estimate_robust_seconds, first_rows
from explorer.ui import jobs, regime, urlstate, yourdata
from explorer.ui import robust as robust_ui
from explorer.ui.controls import button_row, control_block, show_chart, spec_widget
from explorer.ui.urlstate import url_name
from explorer.viz import figures
from explorer.viz.export import safe_frame
from explorer.viz.transfer_chart import transfer_chart

TAB = "sweep"       # its controls' URL names: url_name(TAB, spec), s_… (the regime map's too)


def owns(key: str) -> bool:
    """This tab's URL parameters: s_…"""
    return key.startswith(urlstate.PREFIX[TAB])


def _log2_range(cfg_values) -> tuple[int, int]:

    return int(round(math.log2(min(cfg_values)))), int(round(math.log2(max(cfg_values))))


def preset_values(name: str) -> dict:
    """The grid widgets' values for a preset, by their Specs' names."""
    p = PRESETS[name]
    values = {
        "lr_range": _log2_range(p.lrs),
        "n_lr": len(p.lrs),
        "n_wd": len(p.wds[0][1]),
        "seeds": p.seeds,
        "steps": p.train.steps,
        "samples": p.train.train_samples,
        "model": p.train.model,
        "init_scale": p.train.init_scale,
        "normalized": p.normalized,
        "lr": round(math.log2(transfer.middle_lr(p.lrs))),
    }
    values.update({f"wd_{n}": _log2_range(g) for n, g in with_extra_forms(p).wds})
    return values


def apply_preset() -> None:
    """Set every grid widget to the chosen preset's values."""
    for name, value in preset_values(st.session_state[url_name(TAB, SWEEP["preset"])]).items():
        st.session_state[url_name(TAB, name)] = value


def sweep_controls() -> tuple[SweepConfig | transfer.AxisSweep, SweepConfig, str, int, bool]:
    """(the sweep, its lr × λ grid for the regime map, the metric, top k, whether to run it under the variants)."""
    st.subheader("The coupling, measured: lr × λ heat maps")
    st.caption(
        "Every cell is a full training run on the same training digits (or your data), the same "
        "initial weights and the same mini-batches; all cells of all optimizers train together as one "
        "batched computation. The paper's Figures 1–2, computed live."
    )
    data = yourdata.picker(block := control_block(TAB))     # a control too: on a phone it follows the charts
    c = block.columns(4)
    preset_name = spec_widget(c[0], "Preset", SWEEP["preset"], TAB, on_change=apply_preset,
                              help="measured starting points; docs/science.md says what each measures")
    p, d = PRESETS[preset_name], preset_values(preset_name)
    g = SWEEP_GRID
    metric = spec_widget(c[0], "Colour = ", g["metric"], TAB, horizontal=True, help=None)
    top_k = spec_widget(c[0], "Circle the best k cells", g["topk"], TAB, help=None)
    axis = spec_widget(c[1], "rows vary along", g["axis"], TAB)
    on_lr = axis == "lr"
    lr_lo, lr_hi = spec_widget(c[1], "learning rates: log₂ range", g["lr_range"], TAB, default=d["lr_range"],
                               help=None, disabled=not on_lr)
    n_lr = spec_widget(c[1], "rows (learning rates)", g["n_lr"], TAB, default=d["n_lr"], help=None, disabled=not on_lr)
    if not on_lr:
        lr_exp = spec_widget(c[1], "the one learning rate: log₂", g["lr"], TAB, default=d["lr"])
        spec = g[f"rows_{AXES[axis].field}"]
        lo, hi = sorted(spec_widget(c[1], f"{AXES[axis].title}: from … to", spec, TAB))  # a link may reverse them
        values = tuple(v for v in spec.options if lo <= v <= hi)
    urlstate.forget(*(url_name(TAB, k) for k in g if k.startswith("rows_") and not k.endswith(AXES[axis].field)),
                    *((url_name(TAB, "lr"),) if on_lr else ()))
    n_wd = spec_widget(c[1], "columns (λ values)", g["n_wd"], TAB, default=d["n_wd"], help=None)
    corrected = spec_widget(c[2], "+ AdamW, corrected form", g["corrected"], TAB,
                            disabled=p.pair != "adam") and p.pair == "adam"
    wds = []
    for name, _ in (with_extra_forms(p) if corrected else p).wds:
        label = f"λ of {OPTIMIZERS[name].label}: log₂ range"
        lo, hi = spec_widget(c[2], label, g[f"wd_{name}"], TAB, default=d[f"wd_{name}"], help=None)
        wds.append((name, pow2(lo, hi, n_wd) if hi > lo else pow2(lo, lo + 1, n_wd)))
    seeds = spec_widget(c[3], "seeds (averaged)", g["seeds"], TAB, default=d["seeds"], help=None)
    steps = spec_widget(c[3], "steps per run", g["steps"], TAB, default=d["steps"], help=None, disabled=axis == "steps")
    samples = spec_widget(c[3], "train samples", g["samples"], TAB, default=d["samples"], help=None,
                          disabled=axis == "train-samples")
    model = spec_widget(c[3], "model", TRAIN["model"], TAB, default=d["model"], help=None)
    init_scale = spec_widget(c[3], "initial weights × k", TRAIN["init_scale"], TAB, default=d["init_scale"],
                             help="1: PyTorch's default init. Large k: the decay's job is to remove a large random "
                                  "start, which runs the sweep far from equilibrium")
    normalized = spec_widget(c[3], "normalized λ (App. B.1)", g["normalized"], TAB, default=d["normalized"])
    robust = spec_widget(c[2], "Spread over variants", g["robust"], TAB)
    follows = spec_widget(c[3], "decay follows the schedule", TRAIN["decay_follows"], TAB,
                          default=p.train.decay_follows)
    train = dataclasses.replace(
        p.train, steps=int(steps), train_samples=int(samples), model=model, init_scale=float(init_scale),
        decay_follows=bool(follows), data=data,
    )
    cfg = SweepConfig(pair=p.pair, lrs=pow2(lr_lo, lr_hi if lr_hi > lr_lo else lr_lo + 1, n_lr), wds=tuple(wds),
                      seeds=int(seeds), normalized=bool(normalized), train=train)
    swept = cfg if on_lr else transfer.axis_sweep(cfg, axis, values, lr=2.0 ** lr_exp)
    return swept, cfg, metric, top_k, bool(robust)


SWEEP_CONFIRM_SECONDS = 60   # a sweep expected to take longer asks before it starts


def render() -> None:
    with st.container():      # on a phone the sweep's controls move below its results, above the regime map
        grid, metric, threads = sweep_section()
    # the regime map: the lr × λ sweep along one training setting (under the variants too when the sweep is)
    regime.render(grid, metric, threads, bool(st.session_state.get(url_name(TAB, "robust"))))


def sweep_section() -> tuple[SweepConfig, str, int]:
    # long: one sweep's states (shipped, kept, asked, queued, running, cancelled, done) in the order the page shows them
    cfg, grid, metric, top_k, robust = sweep_controls()
    along = isinstance(cfg, transfer.AxisSweep)
    base = transfer.base_of(cfg)
    kind = ROBUST if robust else ""
    key = ("sweep" + kind, cfg)
    done, machine = jobs.find(key), ""
    if done is None and (ship := shipped(cfg, kind)) is not None:    # a preset's default grid: shipped, shown at once
        done, machine = Finished(ship.frame, ship.seconds, None, ship.threads), ship.machine
    spread_too = None if robust else shipped(cfg, ROBUST)         # a preset's intervals ship too: shown with it
    rows = len(cfg.values) if along else len(cfg.lrs)
    cells = len(base.optimizers) * rows * len(base.wds[0][1])
    threads = jobs.pool().threads_free()
    # measured on this machine, now, for this grid's sizes (a few steps of the real computation)
    estimates = None if done or not along or robust else transfer.estimates(cfg, threads=threads)
    estimate = (None if done else estimate_robust_seconds(cfg, threads=threads) if robust
                else sum(estimates) if along else estimate_seconds(cfg, threads=threads))
    b1, b3 = button_row(TAB, [1, 5])
    run = b1.button("▶ Run sweep", type="primary", key="s_run", disabled=done is not None)
    cost = b3.empty()       # redrawn once a run finishes: the estimate then gives way to "cached"

    def cost_line(result) -> None:
        cost.caption(
            (f"{cells} cells × {base.seeds} seed(s), one batched run per row and seed" if along
             else f"{cells} cells × {cfg.seeds} seed(s) × {cfg.train.steps:,} steps, one batched run per seed")
            + (f" × **{len(VARIANTS)} variants**" if robust else "")
            + f" on **{default_device()}**"
            + ((" · precomputed" if machine else " · cached") if result
               else f" · about **{jobs.duration(estimate)}** with {threads} thread(s) now")
            + f" · {jobs.server_load()}"
        )

    cost_line(done)
    if run and estimate > SWEEP_CONFIRM_SECONDS:
        st.session_state["s_asked"] = cfg
        run = False
    if done is None and st.session_state.get("s_asked") == cfg:
        st.warning(
            f"This sweep takes about **{jobs.duration(estimate)}** here (measured now: "
            f"{cells} cells × {base.seeds} seed(s)" + (f" × {len(VARIANTS)} variants" if robust else "")
            + "). Fewer seeds, steps or grid rows make it faster" + (", and so does turning off the spread over "
                                                                     "variants" if robust else "") + "."
        )
        run = st.button(f"Run it anyway (≈ {jobs.duration(estimate)})", key="s_confirm")
    if done is None:
        if run:
            st.session_state.pop("s_asked", None)
        task, kwargs = (("explorer.runs.variants:run_robust", {"prior_seconds": estimate}) if robust
                        else ("explorer.runs.transfer:run", {"estimates": estimates}) if along
                        else ("explorer.runs.sweep:run_sweep", {"prior_seconds": estimate}))
        done = jobs.compute(task, cfg, key=key, label="Sweep", estimate=estimate, start=run, kwargs=kwargs,
                            cancel_key="s_cancel")
        if done is not None:
            st.rerun()       # redraw from the results: the button, the estimate and the confirmation are stale now
    if done is None:
        st.info(
            "Press ▶ Run sweep. The estimate above is measured on this server, now, for this grid (a few steps "
            "of the real computation). Results are kept, so a sweep anyone ran before appears at once."
        )
        return grid, metric, threads
    variants = done.value if robust else spread_too.frame if spread_too else None
    show_sweep(cfg, first_rows(done.value) if robust else done.value, metric, top_k, variants)
    st.caption(
        (f"Precomputed (shipped with the app): this preset's default grid, computed once on {machine} "
         "(CPU); a changed grid computes" if machine
         else f"Computed in {jobs.duration(done.seconds)} with {done.threads} thread(s) in a worker process")
        + (f" (estimated {jobs.duration(done.estimate)})" if done.estimate else "")
        + "."
    )
    return grid, metric, threads


def show_sweep(cfg: SweepConfig | transfer.AxisSweep, frame: pd.DataFrame, metric: str, top_k: int,
               variants: pd.DataFrame | None = None) -> None:
    """The heat maps and what they say; variants: the grid under every variant (the intervals, and verdicts that
    need the whole of them), None: one run, said so."""
    heatmaps, couplings = figures.sweep_charts(cfg, frame, metric, top_k)
    meta = dataclasses.asdict(cfg) | {"metric": metric}
    along = isinstance(cfg, transfer.AxisSweep)
    stem = f"transfer-{cfg.axis}" if along else "sweep"
    names = transfer.base_of(cfg).optimizers
    for col, name in zip(st.columns(len(names)), names):
        show_chart(col, heatmaps[name], key=f"sweep_{name}", stem=f"{stem}-{name}",
                   frame=frame[frame.optimizer == name], meta=meta, height=430)
    st.caption(
        "● best cell, ○ the next best (seed-averaged); × a run diverged; ≈ a row where λ hardly "
        "matters (max − min < 2 % of the row's min), left out of the fit; dashed red: the least-squares "
        "line log₂ λ* = slope · log₂ α + c over the other rows."
    )
    if along:
        t = transfer_analysis.transfer(cfg, frame, metric)
        show_chart(st, transfer_chart(t, figures.sweep_subtitle(cfg)), key="s_transfer", stem=stem,
                   frame=t.best, meta=meta, height=470)
        st.markdown(("**This run.** " if variants is not None else "") + t.verdict)
    else:
        explain_sweep(cfg, frame, couplings, one_run=variants is None)
    if variants is not None:
        robust_ui.show(cfg, variants, metric, figures.sweep_subtitle(cfg))
    else:
        st.caption(robust_ui.ONE_RUN)
    st.download_button(
        "Download the sweep (CSV)", safe_frame(frame).to_csv(index=False), f"{stem}.csv", "text/csv", key="s_csv"
    )


def explain_sweep(cfg: SweepConfig, frame: pd.DataFrame, couplings: dict, one_run: bool = True) -> None:
    """What this measurement says (sweep.interpret), in words. one_run False: the verdicts of the variants follow
    (explorer.ui.robust), so this run's are said as this run's only."""
    it = interpret(cfg, frame, couplings)
    fmt_s = lambda v: "n/a" if math.isnan(v) else f"{v:+.2f}"  # noqa: E731
    lines = [
        "**Slopes** (0 = the best λ does not depend on α; −1 = best λ ∝ 1/α; +1 = best λ ∝ α): "
        + ", ".join(f"{OPTIMIZERS[n].label} **{fmt_s(v)}**" for n, v in it.slopes.items())
        + "."
    ]
    if not math.isnan(it.gap) and not one_run:
        lines.append(f"In this run the decoupled form closest to slope 0 is **{OPTIMIZERS[it.closest].label}**, "
                     f"{it.gap:.2f} from {OPTIMIZERS[it.l2].label}'s slope; whether that survives is below.")
    elif not math.isnan(it.gap):
        verdict = (
            "the coupling and its removal are both visible"
            if it.coupling_visible
            else f"less than {COUPLING_VISIBLE}: the L2 coupling is weak at this setting"
        )
        lines.append(
            f"The decoupled form closest to slope 0 is **{OPTIMIZERS[it.closest].label}**; its slope differs "
            f"from {OPTIMIZERS[it.l2].label}'s by **{it.gap:.2f}**: {verdict}."
        )
    if not math.isnan(it.forms_difference):
        lines.append(
            f"The two AdamW forms are the same runs on sheared grids (λ_paper = α·λ_torch, for any "
            f"schedule), so their slopes differ by about 1: measured {it.forms_difference:+.2f}. Which one "
            "looks decoupled is a question of regime, not of the optimizer."
        )
    if it.regime:
        lines.append(it.regime if one_run else "**This run** (the variants' verdict follows). " + it.regime)
    if not math.isnan(it.corrected_expected):
        grid = cfg.wd_grid("adamw-corrected")
        lines.append(
            f"**Corrected form.** Its decay η_t²·α·λ sums to 1/{it.corrected_expected:.3g} of the PyTorch form's "
            f"η_t·α·λ over this schedule, so the same total decay needs a λ {it.corrected_expected:.3g}× larger; "
            f"measured: its best λ is **{it.corrected_measured:.3g}×** the PyTorch form's (median over rows; "
            f"the λ grid steps by ×{grid[1] / grid[0]:.3g}). "
            "With a constant schedule the two forms are the same runs."
        )
    if cfg.train.init_scale > 1:
        rows = list(it.best_error_by_lr.items())
        lines.append(
            f"**Initial weights × {cfg.train.init_scale:g}.** The decay's first job here is to remove a large "
            f"random start. The price is a worse start: the best seed-averaged test error per row goes from "
            f"{rows[0][1]:.0%} at α = 2^{math.log2(rows[0][0]):.3g} to {min(v for _, v in rows):.1%} (the slowest "
            "rows under-fit; compare the default init)."
        )
    st.markdown("\n\n".join(lines))
