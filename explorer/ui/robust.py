"""The sweep tab's "how sure" block: every slope with its median and range over the variants of the irrelevant
choices (explorer.runs.variants), the verdicts that need the whole interval, the intervals' exports."""
from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from explorer.analysis.robust import robust_summary, signed
from explorer.core.forms import OPTIMIZERS
from explorer.runs import transfer
from explorer.runs.variants import VARIANTS
from explorer.ui.controls import show_chart
from explorer.viz.export import safe_frame
from explorer.viz.robust_chart import robust_chart, spread_table

WHAT = ("seed pairs +0, +10, +20 × mini-batches in shuffled epochs or drawn with replacement × the engine's or "
        "torch.nn.Linear's initialization stream")
ONE_RUN = ("These slopes and verdicts come from one choice of seeds, batch order and init stream. Turn on **Spread "
           f"over variants** to run the grid under {len(VARIANTS)} variants ({WHAT}) and see which claims survive "
           f"({len(VARIANTS)}× the cost).")


def show(cfg, frame: pd.DataFrame, metric: str, subtitle: str = "") -> None:
    """The intervals (a whisker per form), in words, the verdicts, and the downloads."""
    r = robust_summary(cfg, frame, metric)
    k = len(pd.unique(frame["variant"]))
    st.markdown(f"**How sure.** Each slope over {k} variants ({WHAT}): median [smallest, largest] — "
                + ", ".join(f"{OPTIMIZERS[n].label} **{signed(s.median)}** [{signed(s.lo)}, {signed(s.hi)}]"
                            if s.k else f"{OPTIMIZERS[n].label} n/a" for n, s in r.spreads.items()) + ".")
    along = isinstance(cfg, transfer.AxisSweep)
    stem = f"robust-transfer-{cfg.axis}" if along else "robust-sweep"
    meta = dataclasses.asdict(cfg) | {"metric": metric, "variants": list(pd.unique(frame["variant"]))}
    show_chart(st, robust_chart(r.spreads, {"slope 0": 0.0}, subtitle=subtitle), key="s_robust", stem=stem,
               frame=spread_table(r.spreads, r.row), meta=meta, height=60 + 40 * len(r.spreads))
    for verdict in r.verdicts:
        st.markdown(verdict)
    st.download_button(f"Download every variant's runs (CSV, {len(frame):,} rows)",
                       safe_frame(frame).to_csv(index=False), f"{stem}-runs.csv", "text/csv", key="s_robust_csv")
