"""The transfer chart: best λ against the sweep's row axis per form, with each rule's predicted slope dashed."""
from __future__ import annotations

import altair as alt
import pandas as pd

from explorer.analysis.predictions import RULES
from explorer.analysis.transfer import Transfer, prediction_lines
from explorer.core.forms import OPTIMIZERS
from explorer.runs.axes import AXES
from explorer.viz import chartkit as kit

MEASURED = "measured best λ"



def transfer_chart(t: Transfer, subtitle: str = "", width: int = 620, height: int = 300) -> alt.LayerChart:
    """log₂ best λ (seed-averaged argmin per row) against log₂ of the row value, one colour per form; hollow
    points: rows where λ hardly matters (left out of the slope). Dashed and dotted: each rule's slope, drawn
    through the mean of the form's counted points (a rule predicts how the best λ moves, not where it is)."""
    measured = t.best.assign(line=MEASURED)
    lines = pd.concat([measured, prediction_lines(t).rename(columns={"rule": "line"})], ignore_index=True)
    lines["label"] = lines["optimizer"].map(lambda n: OPTIMIZERS[n].label)
    names = list(dict.fromkeys(t.best["optimizer"]))
    labels = [OPTIMIZERS[n].label for n in names]
    color = alt.Color("label:N", title="form", legend=kit.legend(labels, width),
                      scale=alt.Scale(domain=labels, range=[OPTIMIZERS[n].hue for n in names]))
    dashes = {MEASURED: [1, 0], **{r.name: list(r.dash) for r in RULES.values()}}
    dash = alt.StrokeDash("line:N", title=None, scale=alt.Scale(domain=list(dashes), range=list(dashes.values())),
                          legend=kit.legend(list(dashes), width))
    title = AXES[t.axis].title
    x = alt.X("value:Q", title=f"{title} (log scale)", scale=alt.Scale(type="log", base=2, nice=False),
              axis=alt.Axis(values=sorted(float(v) for v in t.best["value"].unique()), format="~g"))
    y = alt.Y("best_wd:Q", title="best λ (log scale)", scale=alt.Scale(type="log", base=2, nice=False),
              axis=alt.Axis(format="~g"))
    tips = ["label:N", "line:N", alt.Tooltip("value:Q", title=title, format="~g"),
            alt.Tooltip("best_wd:Q", title="λ", format=".3g")]
    drawn = alt.Chart(lines).mark_line(strokeWidth=2).encode(x=x, y=y, color=color, strokeDash=dash,
                                                             detail="optimizer:N", tooltip=tips)
    points = alt.Chart(measured.assign(label=measured["optimizer"].map(lambda n: OPTIMIZERS[n].label),
                                       shown=measured["counted"].map({True: "counted", False: "flat row"}))
                       ).mark_point(size=70, strokeWidth=2).encode(
        x=x, y=y, color=color, fill=alt.condition("datum.counted", color, alt.value("white")),
        tooltip=tips + [alt.Tooltip("shown:N", title="row")])
    slopes = ", ".join(f"{OPTIMIZERS[n].label} {s:+.2f}" if s == s else f"{OPTIMIZERS[n].label} n/a"
                       for n, s in t.slopes.items())
    return alt.layer(drawn, points).properties(
        width=width, height=height, title=kit.title(f"Best λ along {title}: slopes {slopes}", subtitle, width))
