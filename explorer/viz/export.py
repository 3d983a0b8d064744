"""Static export of every figure and its data: PNG/SVG via vl-convert (no browser), CSV/JSON."""
from __future__ import annotations

import json
import math

import altair as alt
import pandas as pd

from explorer.core.yourdata import TableData
from explorer.viz import chartkit

FORMATS = ("png", "svg", "csv", "json")
MIME = {"png": "image/png", "svg": "image/svg+xml", "csv": "text/csv", "json": "application/json"}


def chart_bytes(chart: alt.TopLevelMixin | dict, fmt: str, scale: float = 2.0) -> bytes:
    """The chart (an Altair chart or its Vega-Lite spec) rendered server-side: PNG (at `scale`×
    resolution) or SVG."""
    import vl_convert as vlc  # on first export only: its first conversion costs ~0.6 s, nothing at page load

    spec = chartkit.inline(chart) if isinstance(chart, dict) else chart.to_dict()
    if fmt == "png":
        return vlc.vegalite_to_png(spec, scale=scale)
    if fmt == "svg":
        return vlc.vegalite_to_svg(spec).encode()
    raise ValueError(f"not an image format: {fmt!r}")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")   # what a spreadsheet may read as a formula (OWASP: CSV injection)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def safe_cell(v):
    """A text cell a spreadsheet would run as a formula, quoted with a leading ' (text that is a plain number, such
    as "-1", stays as it is); anything but text unchanged."""
    if isinstance(v, str) and v.startswith(FORMULA_STARTS) and not _is_number(v):
        return "'" + v
    return v


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its column names and text cells neutralized (safe_cell); numbers untouched. Names and labels
    from an uploaded file reach the exports as text."""
    text = [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
    out = frame.copy() if text else frame
    for c in text:
        out[c] = out[c].map(safe_cell)
    return out.set_axis([safe_cell(str(c)) for c in frame.columns], axis=1)


def data_bytes(frame: pd.DataFrame, fmt: str, meta: dict | None = None) -> bytes:
    """CSV (plain table, text cells that start like a formula neutralized: safe_frame), or JSON
    {"parameters": …, "rows": […]} with NaN as null."""
    if fmt == "csv":
        return safe_frame(frame).to_csv(index=False, float_format="%.10g", lineterminator="\n").encode()
    if fmt == "json":
        rows = json.loads(frame.to_json(orient="records", double_precision=15))
        return json.dumps({"parameters": _clean(meta or {}), "rows": rows}, indent=1,
                          ensure_ascii=False).encode()
    raise ValueError(f"not a data format: {fmt!r}")


def _clean(v):
    if isinstance(v, TableData):
        return v.summary()
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def export(chart: alt.TopLevelMixin | dict, frame: pd.DataFrame, fmt: str, meta: dict | None = None) -> bytes:
    if fmt in ("png", "svg"):
        return chart_bytes(chart, fmt)
    return data_bytes(frame, fmt, meta)
