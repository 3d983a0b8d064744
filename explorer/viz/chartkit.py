"""Chart plumbing shared by the explorer's charts: thinning, rounding, wrapped titles, legends
that break into columns, powers-of-ten log axes, and a surface drawn as one image."""
from __future__ import annotations

import base64
import io
import json
import math
import textwrap
import threading
from functools import lru_cache

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa
import torch
from PIL import Image

from explorer.core.forms import OPTIMIZERS
from explorer.core.surfaces import SURFACES

MAX_POINTS = 600    # line points drawn per run (the data keeps every step: CSV/JSON export)
MAX_FRAMES = 200    # steps a playback stops at per run: every step up to 200, evenly spaced beyond
RACE = "race_step"  # the trajectory view's playback parameter (the step shown), one per chart
START_STEP = 0.05   # the start sliders' resolution; a click on the surface picks one of their stops
START_CELLS = 40    # clickable cells per axis at most (each an SVG element in the browser)
# Vega's "greys" scheme reversed (#1e1e1e → #e2e2e2), as Vega renders it at t = 0, 1/8, …, 1: the
# surface image keeps the look of the former rect heat map (minimum of f dark).
GREYS = np.array([30, 56.5, 88, 112, 136, 161, 185, 206.5, 226])
# Rough glyph widths (px) in Streamlit's chart theme: 16 px bold titles, 14 px legend labels.
# Lines stay short even on wide charts: the app stretches charts to their column, often narrower.
TITLE_PX, SUBTITLE_PX, LEGEND_PX = 9.0, 6.0, 7.5
TITLE_CHARS, SUBTITLE_CHARS = 40, 64


def _share_altair_class_table() -> None:
    """Altair turns each shorthand channel ("x2:Q", a tooltip string, alt.condition) into its class through a
    table of all ~570 schema classes keyed by a JSON hash of each schema, rebuilt on every call: about 40 % of
    building a chart. The table depends only on the classes, so it is built once per set of classes here
    (the same classes come out: the specs are unchanged)."""
    from altair.utils import schemapi
    converter = getattr(schemapi, "_FromDict", None)
    if converter is None or getattr(converter, "_shared_tables", None) is not None:
        return
    build = converter.__init__
    converter._shared_tables = {}

    def init(self, wrapper_classes, /):
        classes = tuple(wrapper_classes)
        table = converter._shared_tables.get(classes)
        if table is None:
            build(self, classes)
            converter._shared_tables[classes] = self.class_dict
        else:
            self.class_dict = table

    converter.__init__ = init


_share_altair_class_table()


def every(frame: pd.DataFrame, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """At most `max_points` evenly spaced rows, always the first and the last."""
    if len(frame) <= max_points:
        return frame
    return frame.iloc[np.unique(np.linspace(0, len(frame) - 1, max_points).round().astype(int))]


def thin_path(run: pd.DataFrame, tol: tuple[float, float]) -> pd.DataFrame:
    """One run's path with consecutive points in the same `tol`-sized cell (about half a pixel) merged —
    a converged run repeats the same pixel for thousands of steps — then at most MAX_POINTS."""
    cell = np.floor(run[["x", "y"]].to_numpy() / np.asarray(tol))
    keep = np.r_[True, np.any(cell[1:] != cell[:-1], axis=1)] if len(run) else np.zeros(0, bool)
    if len(keep):
        keep[-1] = True
    return every(run[keep])


def sig(values, digits: int = 6) -> np.ndarray:
    """Round to `digits` significant digits: shorter JSON, no visible change."""
    a = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.floor(np.log10(np.abs(a)))
    e = np.where(np.isfinite(e), e, 0).astype(int) - (digits - 1)
    up = 10.0 ** np.clip(-e, 0, 300)            # exact powers of ten: the division rounds correctly
    down = 10.0 ** np.clip(e, 0, 300)
    return np.where(e < 0, np.round(a * up) / up, np.round(a / down) * down)


def _pack(text: str, chars: int) -> list[str]:
    lines: list[str] = []
    for part in text.split(" · "):
        if lines and len(lines[-1]) + 3 + len(part) <= chars:
            lines[-1] += " · " + part
        else:
            lines.extend(textwrap.wrap(part, chars) or [""])
    return lines


def wrap(text: str, chars: int):
    """`text` as lines of ≤ `chars` characters, broken at " · " first, then at spaces, as even as the
    same number of lines allows (no one-word last line); a str when it fits on one."""
    if len(text) <= chars:
        return text
    lines = _pack(text, chars)
    while chars > 8 and len(shorter := _pack(text, chars - 1)) == len(lines):
        lines, chars = shorter, chars - 1
    return lines if len(lines) > 1 else lines[0]


def title(text: str, subtitle: str = "", width: int = 380):
    """Title (and subtitle) wrapped to the chart's width, so that neither is cut."""
    head = wrap(text, max(16, min(TITLE_CHARS, int(width / TITLE_PX))))
    if not subtitle:
        return alt.TitleParams(head, anchor="start")
    sub = wrap(subtitle, max(24, min(SUBTITLE_CHARS, int(width / SUBTITLE_PX))))
    return alt.TitleParams(head, subtitle=sub, anchor="start")


def legend(labels, width: int, title=None) -> alt.Legend:
    """A bottom legend that wraps into columns instead of running past the chart's edge."""
    longest = max((len(str(s)) for s in labels), default=8)
    entry = longest * LEGEND_PX + 34                     # symbol, padding and the label
    return alt.Legend(title=title, orient="bottom", direction="horizontal", labelLimit=width,
                      columns=max(1, min(len(labels), int(width // entry))))


# 0.001 … 1000 in full, 1e-7 or 1e+6 beyond
POWER_LABEL = "datum.value >= 1e-3 && datum.value < 1e4 ? format(datum.value, '~g') : format(datum.value, '.0e')"


def log_axis(values, **axis) -> alt.Axis:
    """A log axis labelled at powers of ten (Vega's own log ticks read "30, 2, 0.1"), and at 2× and 5×
    when the data lie within one decade."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if not len(v):
        return alt.Axis(labelExpr=POWER_LABEL, **axis)
    lo, hi = math.floor(math.log10(v.min())), math.ceil(math.log10(v.max()))
    powers = list(range(lo, max(hi, lo + 1) + 1))
    stride = math.ceil(len(powers) / 7)
    values = [10.0 ** k for k in powers[::stride]]
    if len(powers) <= 2:                   # data within one decade: 2× and 5× as well, evenly in log
        values = sorted(values + [float(f"{m}e{k}") for k in powers[:-1] for m in (2, 5)
                                  if v.min() <= m * 10.0 ** k <= v.max()])
    return alt.Axis(values=values, labelExpr=POWER_LABEL, **axis)


def step_axis(width: int, title: str = "step") -> alt.Axis:
    """A step axis with room between its labels (at 11 ticks "4,500" and "5,000" collide)."""
    return alt.Axis(title=title, tickCount=max(3, width // 75))


@lru_cache(maxsize=16)
def surface_image(surface: str, n: int = 160) -> str:
    """The surface's log-height map (dark = low) as a greyscale PNG data URL, row 0 at the top.

    level = log10(f − min f + 10⁻³·range f) at the centres of an n×n pixel grid over the window."""
    surf = SURFACES[surface]
    (x0, x1), (y0, y1) = surf.xlim, surf.ylim
    xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    ys = y1 - (np.arange(n) + 0.5) * (y1 - y0) / n          # image rows run downwards, y upwards
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    f = surf.value(torch.from_numpy(xx), torch.from_numpy(yy)).numpy()
    level = np.log10(f - f.min() + 1e-3 * (np.ptp(f) or 1.0))
    t = (level - level.min()) / (np.ptp(level) or 1.0)
    grey = np.interp(t, np.linspace(0, 1, len(GREYS)), GREYS).round().astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(grey).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@lru_cache(maxsize=16)
def surface_tips(surface: str, n: int = 20) -> pd.DataFrame:
    """A coarse n×n table of cells (lower-left corner, f at the centre) for the heat map's tooltip."""
    surf = SURFACES[surface]
    dx, dy = np.ptp(surf.xlim) / n, np.ptp(surf.ylim) / n
    yy, xx = np.meshgrid(surf.ylim[0] + dy * np.arange(n), surf.xlim[0] + dx * np.arange(n), indexing="ij")
    f = surf.value(torch.from_numpy(xx + dx / 2), torch.from_numpy(yy + dy / 2)).numpy()
    return pd.DataFrame({"x": sig(xx.ravel(), 5), "y": sig(yy.ravel(), 5), "f": sig(f.ravel(), 4)})


def frame_steps(n_steps: int, frames: int = MAX_FRAMES) -> np.ndarray:
    """The steps a playback of an `n_steps` run stops at: floor(i·n/m) for i = 0…m, m = min(n, frames − 1) —
    every step of a short run, evenly spaced ones of a long run, always 0 and n."""
    m = max(1, min(n_steps, frames - 1))
    return np.unique(np.arange(m + 1) * n_steps // m)


def start_cells(lim: tuple[float, float]) -> tuple[float, int]:
    """(cell width, cells) of the clickable start grid on one axis: every k-th start-slider stop is a cell
    centre, k the least that keeps the cells ≤ START_CELLS + 1."""
    stops = math.floor((lim[1] - lim[0]) / START_STEP + 1e-9)
    k = max(1, math.ceil(stops / START_CELLS))
    return k * START_STEP, stops // k + 1


def start_of_cell(surface: str, ix, iy) -> tuple[float, float] | None:
    """The start a click on cell (ix, iy) of the surface's start grid asks for (a start-slider stop), or None
    when the indices are not a cell's."""
    surf = SURFACES[surface]
    out = []
    for i, lim in ((ix, surf.xlim), (iy, surf.ylim)):
        width, cells = start_cells(lim)
        if isinstance(i, bool) or not isinstance(i, (int, float)) or i != int(i) or not 0 <= i < cells:
            return None
        out.append(min(lim[1], round(lim[0] + int(i) * width, 10)))
    return out[0], out[1]


def spec(chart: alt.TopLevelMixin) -> dict:
    """The chart's Vega-Lite spec for `st.vega_lite_chart(spec(chart))`, without the JSON-schema validation
    (tens of ms per chart). Its data sets are Arrow tables named by their order in the chart ("data-0", …), not
    by their content: a chart whose numbers change but whose structure does not keeps the same spec, and the
    browser then swaps the data in the chart already drawn instead of compiling and drawing a new one. No rows
    become JSON on the way (the page sends Arrow). Exports keep `chart.to_dict()`, data inline."""
    collected: dict[str, bytes] = {}
    _ARROW.datasets = collected
    try:
        out = chart.to_dict(validate=False)
    finally:
        _ARROW.datasets = None
    if collected:
        out["datasets"] = {**out.get("datasets", {}), **collected}
    return out


_ARROW = threading.local()      # the data sets of the spec() being built on this thread (None: not in spec())


def _arrow_or_default(data, **kw):
    """Altair's data transformer, enabled once for every thread: inside spec() a data frame becomes an Arrow
    table under its ordinal name (one name per distinct table); anywhere else Altair's default (exports)."""
    datasets = getattr(_ARROW, "datasets", None)
    if datasets is None or not isinstance(data, pd.DataFrame):
        return alt.vegalite.data.default_data_transformer(data, **kw)
    table = arrow_bytes(data)
    name = next((n for n, t in datasets.items() if t == table), None) or f"data-{len(datasets)}"
    datasets[name] = table
    return {"name": name}


def inline(spec: dict) -> dict:
    """A spec from spec() with its Arrow data sets turned back into rows (JSON): for vl-convert, files, tests."""
    sets = spec.get("datasets") or {}
    if not any(isinstance(v, bytes) for v in sets.values()):
        return spec
    return {**spec, "datasets": {k: _rows(v) if isinstance(v, bytes) else v for k, v in sets.items()}}


def _rows(stream: bytes) -> list[dict]:
    """An Arrow stream's rows, without the index pandas stored beside them."""
    table = pa.ipc.open_stream(stream).read_all()
    meta = json.loads((table.schema.metadata or {}).get(b"pandas", b"{}"))
    return table.drop_columns([c for c in meta.get("index_columns", []) if isinstance(c, str)]).to_pylist()


def arrow_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as an Arrow IPC stream, the form Streamlit sends a chart's data in."""
    table = pa.Table.from_pandas(frame)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


alt.data_transformers.register("explorer", _arrow_or_default)
alt.data_transformers.enable("explorer")


def color_scale(names):
    return alt.Scale(domain=[OPTIMIZERS[n].label for n in names], range=[OPTIMIZERS[n].color for n in names])
