"""The regime map, below the sweep's heat maps: the coupling slope of each form along one training setting
(explorer.runs.regime computes in a worker process; this module asks, follows the job and shows)."""
from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from explorer.analysis.regime import map_points, points_frame
from explorer.analysis.robust import signed
from explorer.core.fmt import fmt
from explorer.core.forms import OPTIMIZERS
from explorer.interface.params import REGIME_MAP
from explorer.runs.axes import AXES
from explorer.runs.regime import MapConfig, estimate_map_seconds
from explorer.runs.sweep import SweepConfig
from explorer.runs.variants import VARIANTS
from explorer.ui import jobs, urlstate
from explorer.ui.controls import button_row, control_block, markdown_table, show_chart, spec_widget
from explorer.viz.equilibrium_charts import map_chart
from explorer.viz.figures import sweep_subtitle as sweep_subtitle_text

TAB = "sweep"                 # the map is part of the sweep tab: its controls' URL names are s_map_…
CONFIRM_SECONDS = 60          # a map expected to take longer asks before it starts (as a sweep does)


def map_controls(base: SweepConfig) -> MapConfig | None:
    c = control_block("regime").columns([1, 2, 3])
    axis = spec_widget(c[0], "Regime axis", REGIME_MAP["map_axis"], TAB)
    spec = REGIME_MAP[f"map_{AXES[axis].field}"]
    lo, hi = sorted(spec_widget(c[1], f"{AXES[axis].title}: from … to", spec, TAB))   # a link may give them reversed
    values = tuple(v for v in spec.options if lo <= v <= hi)
    # the other axes' ranges are not shown
    urlstate.forget(*(urlstate.url_name(TAB, f"map_{a.field}") for a in AXES.values() if a.regime and a.name != axis))
    shown = ", ".join(fmt(v) for v in values)
    c[2].caption(f"{len(values)} points: {shown} — {AXES[axis].moves}. Every other setting, the grids and the "
                 "seeds are the sweep's above.")
    if base.pair != "adam":
        st.info("The regime map compares the three Adam forms; choose an Adam preset above.")
        return None
    if base.seeds < 2:
        st.info("The regime map needs at least 2 seeds (their spread is part of the result): set *seeds* above.")
        return None
    return MapConfig(base, axis, values)


def render(base: SweepConfig, metric: str, threads: int, robust: bool = False) -> None:
    """robust: run the map under every variant too (the sweep's *Spread over variants*), each point then with its
    range over them."""
    st.markdown("---")
    st.subheader("Which form decouples, and when: the regime map")
    st.caption(
        "The same sweep at several values of one training setting. Predictions, each for its own regime: "
        "PyTorch form **0** when the run lasts many decay timescales and the weights' scale matters (fixed "
        "point m̂/(√v̂+ε) = −λ_torch·θ; Xie & Li, ICML 2024); paper form **0** (PyTorch form **−1**) when the "
        "start is not forgotten (N ≲ 1: total shrinkage λ_paper·Ση_t); paper form **0** for scale-invariant "
        "weights at rotational equilibrium (Kosson et al., ICML 2024). Rows whose best λ lies on the grid's "
        "edge are left out, like flat rows; bars: the slope of each seed alone.")
    cfg = map_controls(base)
    if cfg is None:
        return
    key = ("map.robust" if robust else "map", cfg)
    done = jobs.find(key)
    estimates = None if done else estimate_map_seconds(cfg, threads=threads)
    times = len(VARIANTS) if robust else 1
    estimate = times * sum(estimates) if estimates else done.estimate
    cells = len(base.optimizers) * len(base.lrs) * len(base.wds[0][1])
    b1, b3 = button_row("map", [1, 5])
    run = b1.button("▶ Run map", type="primary", key="s_map_run", disabled=done is not None)
    b3.caption(f"{len(cfg.values)} points × {cells} cells × {base.seeds} seeds"
               + (f" × **{times} variants**" if robust else "")
               + (" · cached" if done else f" · about **{jobs.duration(estimate)}** with {threads} thread(s) now"))
    if run and estimate > CONFIRM_SECONDS:
        st.session_state["s_map_asked"] = cfg
        run = False
    if done is None and st.session_state.get("s_map_asked") == cfg:
        st.warning(f"This map takes about **{jobs.duration(estimate)}** here (measured now). Fewer points, seeds, "
                   "steps or grid rows make it faster.")
        run = st.button(f"Run it anyway (≈ {jobs.duration(estimate)})", key="s_map_confirm")
    if done is None:
        if run:
            st.session_state.pop("s_map_asked", None)
        task = "explorer.runs.variants:run_robust_map" if robust else "explorer.runs.regime:run_map"
        done = jobs.compute(task, cfg, key=key, label="Regime map", estimate=estimate,
                            start=run, kwargs={"estimates": estimates}, cancel_key="s_map_cancel")
        if done is not None:
            st.rerun()       # redraw from the results: the estimate and the confirmation above are stale now
    if done is None:
        st.info("Press ▶ Run map: nothing is computed before (a link alone never starts it).")
        return
    show_map(cfg, done, metric)


def show_map(cfg: MapConfig, done, metric: str) -> None:
    """done: the map's Finished run (explorer.runs.pool)."""
    table = points_frame(map_points(cfg, done.value, metric))
    axis_title = AXES[cfg.axis].title
    sub = sweep_subtitle_text(cfg.base) + f" · metric {metric}"
    meta = dataclasses.asdict(cfg.base) | {"axis": cfg.axis, "values": cfg.values, "metric": metric}
    show_chart(st, map_chart(table, axis_title, subtitle=sub), key="s_map_chart", stem=f"regime-map-{cfg.axis}",
               frame=table, meta=meta, height=470)
    robust = "robust_k" in table.columns
    shown = table.assign(run=table["optimizer"].map(lambda n: OPTIMIZERS[n].label),
                         slope=table["slope"].map(lambda v: "n/a" if pd.isna(v) else f"{v:+.2f}"))
    if robust:
        shown["robust"] = [f"{signed(m)} [{signed(lo)}, {signed(hi)}] ({k})" if k else "n/a" for m, lo, hi, k in
                           zip(table["robust_median"], table["robust_lo"], table["robust_hi"], table["robust_k"])]
    shown = shown[["axis_value", "run", "slope"] + (["robust"] if robust else [])
                  + ["seed_slopes", "counted_rows", "edge_rows", "flat_rows", "n_median"]]
    st.markdown(markdown_table(shown.rename(columns={
        "robust": "over the variants: median [range] (variants)",
        "axis_value": axis_title, "seed_slopes": "each seed", "counted_rows": "rows counted",
        "edge_rows": "edge rows", "flat_rows": "flat rows", "n_median": "N at best (median)"})).replace("nan", "—"))
    st.caption(f"Computed in {jobs.duration(done.seconds)} with {done.threads} thread(s) (estimated "
               f"{jobs.duration(done.estimate)}). Slope: seeds averaged, then the sweep's coupling measure; N = "
               "α·λ_torch·Ση_t at the counted rows' best cells (λ_torch = λ_paper/α for the paper form). A point "
               "with few counted rows says little: widen the grid where edge rows appear."
               + (" Bars with caps: the slope's range over the variants (seed pairs, batch order, init stream), the "
                  "line the first variant's; a point says which form decouples only where its whole bar does."
                  if robust else " Bars: the seeds' spread; *Spread over variants* above also varies the batch "
                  "order and the init stream."))
    st.download_button("Download the map's runs (CSV)", done.value.to_csv(index=False), f"regime-map-{cfg.axis}.csv",
                       "text/csv", key="s_map_csv")
