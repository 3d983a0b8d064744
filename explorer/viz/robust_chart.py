"""Each slope with its spread over the variants: a whisker from the smallest to the largest variant's slope, the
median as a dot, every variant as a faint tick, and the predictions' slopes as reference lines."""
from __future__ import annotations

import math

import altair as alt
import pandas as pd

from explorer.analysis.robust import Spread
from explorer.core.forms import OPTIMIZERS
from explorer.viz import chartkit as kit


def spread_table(spreads: dict[str, Spread], row: str = "lr") -> pd.DataFrame:
    """The intervals as a table (the chart's data and the export's): optimizer, row axis, median, lo, hi, k and
    each variant's slope."""
    rows = []
    for name, s in spreads.items():
        rows.append({"optimizer": name, "axis": row, "median": s.median, "lo": s.lo, "hi": s.hi, "k": s.k,
                     "variants": len(s.values),
                     "variant_slopes": ",".join(f"{v}={x:+.3f}" if math.isfinite(x) else f"{v}=n/a"
                                                for v, x in s.values.items())})
    return pd.DataFrame(rows, columns=["optimizer", "axis", "median", "lo", "hi", "k", "variants", "variant_slopes"])


def robust_chart(spreads: dict[str, Spread], references: dict[str, float] | None = None, width: int = 620,
                 subtitle: str = "") -> alt.LayerChart:
    """One row per form: whisker [lo, hi], median dot, a tick per variant; references: name → slope drawn as a
    dashed vertical line (e.g. 0: the best λ does not move)."""
    names = list(spreads)
    labels = [OPTIMIZERS[n].label for n in names]
    ticks = pd.DataFrame([{"label": OPTIMIZERS[n].label, "variant": v, "slope": x}
                          for n, s in spreads.items() for v, x in s.values.items() if math.isfinite(x)],
                         columns=["label", "variant", "slope"])
    table = spread_table(spreads).assign(label=labels).dropna(subset=["median"])
    color = alt.Color("label:N", legend=None, scale=alt.Scale(domain=labels, range=[OPTIMIZERS[n].hue for n in names]))
    y = alt.Y("label:N", title=None, sort=labels)
    x = alt.X("lo:Q", title="slope of log₂ best λ (median, range over the variants)")
    tips = ["label:N", alt.Tooltip("median:Q", format="+.2f"), alt.Tooltip("lo:Q", format="+.2f"),
            alt.Tooltip("hi:Q", format="+.2f"), alt.Tooltip("k:Q", title="variants")]
    whisker = alt.Chart(table).mark_rule(strokeWidth=3).encode(x=x, x2="hi:Q", y=y, color=color, tooltip=tips)
    dot = alt.Chart(table).mark_point(filled=True, size=90).encode(x="median:Q", y=y, color=color, tooltip=tips)
    each = alt.Chart(ticks).mark_tick(opacity=0.45, thickness=1).encode(
        x="slope:Q", y=y, color=color, tooltip=["label:N", "variant:N", alt.Tooltip("slope:Q", format="+.2f")])
    layers = [whisker, each, dot]
    if references:
        ref = pd.DataFrame([{"slope": v, "what": k} for k, v in references.items()])
        layers.insert(0, alt.Chart(ref).mark_rule(strokeDash=[5, 4], color="#888").encode(
            x="slope:Q", tooltip=["what:N", alt.Tooltip("slope:Q", format="+g")]))
    title = kit.title("How sure: each form over the variants (median, range)", subtitle, width)
    return alt.layer(*layers).properties(width=width, height=40 * len(names) + 20, title=title)
