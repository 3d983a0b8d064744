"""Widgets ↔ URL: the address bar is the share link.

Every control is a keyed widget whose value lives in session state. A link's value for a control is
read once per session, checked against the widget's own options and bounds, and put into session state
before the widget is drawn; a bad value is reported by name and the default is used. After every run
the address bar is rewritten to hold every control that differs from its default — the shown tab's
and every other tab's (widgets keep their values while their tab is hidden), plus a link's values for
tabs not opened yet. One mechanism serves every widget kind, range sliders included.

Streamlit's own `bind="query-params"` is not used: it drops the parameters of widgets that are not
drawn, and only the shown tab's widgets are drawn.
"""
from __future__ import annotations

import inspect
import math
from typing import Any, Callable
from urllib.parse import urlencode

import streamlit as st

from explorer.core.fmt import fmt

KINDS = ("slider", "select_slider", "selectbox", "radio", "number_input", "toggle")
_SIGNATURES = {k: inspect.signature(getattr(st, k)) for k in KINDS}
MAX_URL_VALUE = 100  # characters; longer values are refused without being echoed in full

# session-state keys of this module
_LINK, _PENDING, _SEEDED, _VIEW, _WARNINGS = "_url_link", "_url_pending", "_url_seeded", "_url_view", "_url_warnings"


class BadValue(ValueError):
    pass


def _number_parser(a: dict) -> tuple[Callable[[str], Any], str]:
    lo, hi = a.get("min_value"), a.get("max_value")
    as_int = isinstance(lo, int) and isinstance(hi, int) and not isinstance(a.get("step"), float)

    def parse(text: str):
        try:
            v = int(text) if as_int else float(text)
        except ValueError:
            raise BadValue from None
        if isinstance(v, float) and not math.isfinite(v):
            raise BadValue
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise BadValue
        return v

    what = "an integer" if as_int else "a number"
    return parse, f"{what} from {fmt(lo)} to {fmt(hi)}" if lo is not None else what


def url_rule(kind: str, a: dict) -> tuple[Callable[[list[str]], Any], str]:
    """(parse(URL values) → widget value or BadValue, what a valid value looks like) for one widget."""
    pair = isinstance(a.get("value"), (tuple, list))
    if kind in ("select_slider", "selectbox", "radio"):
        show = a.get("format_func") or str
        by_text = {str(show(o)): o for o in a["options"]}

        def one(text: str):
            if text.replace("_", "-") in by_text and text not in by_text:   # an older link's spelling
                text = text.replace("_", "-")
            if text in by_text:
                return by_text[text]
            try:                       # a number written another way ("1.0" for the stop shown as "1")
                same = [o for o in a["options"] if isinstance(o, (int, float)) and o == float(text)]
            except ValueError:
                same = []
            if not same:
                raise BadValue
            return same[0]

        names = list(by_text)
        expected = "one of " + ", ".join(names[:12]) + (" …" if len(names) > 12 else "")
        if pair:
            expected = "two of " + expected[len("one of "):]
    elif kind == "toggle":
        def one(text: str):
            if text.lower() not in ("true", "false"):
                raise BadValue
            return text.lower() == "true"

        expected = "true or false"
    else:
        one, expected = _number_parser(a)
        if pair:
            expected = "two numbers, each " + expected

    def parse(values: list[str]):
        if len(values) != (2 if pair else 1):
            raise BadValue
        parsed = [one(v) for v in values]
        if pair:
            order = (lambda v: a["options"].index(v)) if kind == "select_slider" else (lambda v: v)
            if order(parsed[0]) > order(parsed[1]):         # a reversed range: refused, like any bad value
                raise BadValue
            return tuple(parsed)
        return parsed[0]

    return parse, expected


def as_text(kind: str, a: dict, value) -> str:
    """A widget value as it appears in the URL (the inverse of url_rule's parse)."""
    if isinstance(value, (tuple, list)):
        return ",".join(as_text(kind, a, v) for v in value)
    if kind in ("select_slider", "selectbox", "radio"):
        return str((a.get("format_func") or str)(value))
    if kind == "toggle":
        return str(bool(value)).lower()
    return fmt(value)


def _default(kind: str, a: dict):
    if "value" in a:
        return a["value"]
    if kind in ("selectbox", "radio"):
        return a["options"][a.get("index", 0) or 0] if a["options"] else None
    if kind == "select_slider":
        return a["options"][0]
    if kind == "toggle":
        return False
    return a.get("min_value")


def shown_text(text: str, limit: int = 40) -> str:
    """User text in a warning: a code span (no markdown, no links), shortened."""
    text = text.replace("`", "'").replace("\n", " ")
    return f"`{text[:limit]}{'…' if len(text) > limit else ''}`"


def warn(text: str) -> None:
    st.session_state.setdefault(_WARNINGS, []).append(text)


def pop_warnings() -> list[str]:
    return st.session_state.pop(_WARNINGS, [])


def start_run(known: Callable[[str], bool]) -> None:
    """Call first in every full run. On a session's first run, the URL's parameters become pending
    link values; those no view claims are reported and dropped."""
    if _PENDING in st.session_state:
        return
    pending = {}
    for key in st.query_params.keys():
        values = st.query_params.get_all(key)
        if key == "view":
            continue
        if not known(key):
            warn(f"Unknown URL parameter {shown_text(key)} ignored.")
            continue
        pending[key] = values
    st.session_state[_PENDING] = pending
    st.session_state[_SEEDED] = {}
    st.session_state[_LINK] = {}


def drop_unclaimed(shown: Callable[[str], bool]) -> None:
    """After the shown tab has drawn its controls: a link's parameters of that tab that no control
    claimed (a misspelt name, a CLI-only option) are reported and leave the link."""
    pending = st.session_state.get(_PENDING, {})
    for key in [k for k in pending if shown(k)]:
        del pending[key]
        warn(f"Unknown URL parameter {shown_text(key)} ignored.")


def url_widget(where, kind: str, label: str, *args, key: str, default: Any = None, **kwargs):
    """A keyed widget whose value a link can set and whose changed value stays in the address bar.

    default: for widgets whose value comes from session state (set by code, e.g. a preset): the value
    the link leaves out; the widget starts from it unless a link or code set another."""
    a = _SIGNATURES[kind].bind_partial(label, *args, **kwargs).arguments
    if default is not None:
        a = {**a, "value": default}
    pending = st.session_state.setdefault(_PENDING, {})
    if key in pending:
        raw = pending.pop(key)
        values = [x for r in raw for x in (r.split(",") if len(raw) == 1 else [r])]
        parse, expected = url_rule(kind, a)
        try:
            if any(len(r) > MAX_URL_VALUE for r in raw):
                raise BadValue
            st.session_state[key] = st.session_state.setdefault(_SEEDED, {})[key] = parse(values)
        except BadValue:
            warn(f"URL parameter **{key}** = {shown_text(','.join(raw))} is not valid ({expected}); "
                 "using the default.")
    if default is not None and key not in st.session_state:
        st.session_state[key] = default
    if default is not None:
        kwargs.pop("value", None)
    # persist_state: a widget on a tab that is not shown keeps its value (only the shown tab renders)
    value = getattr(where, kind)(label, *args, key=key, persist_state="page", **kwargs)
    link = st.session_state.setdefault(_LINK, {})
    text = as_text(kind, a, value)
    if text != as_text(kind, a, _default(kind, a)):
        link[key] = text
    else:
        link.pop(key, None)
    return value


def forget(*keys: str) -> None:
    """Controls not in use in this run (another axis's range) leave the link: it holds only what is shown."""
    link = st.session_state.get(_LINK, {})
    for key in keys:
        link.pop(key, None)


def from_link(key: str) -> bool:
    """Whether the widget still holds the value a link gave it (no click of this session changed it)."""
    seeded = st.session_state.get(_SEEDED, {})
    return key in seeded and st.session_state.get(key) == seeded[key]


def confirm(key: str) -> None:
    """The user acted on a link's value: from now on it is theirs."""
    st.session_state.get(_SEEDED, {}).pop(key, None)


def set_view(view: str | None) -> None:
    """The shown tab (None: the first), part of the link."""
    st.session_state[_VIEW] = view


def link_params() -> dict[str, str | list[str]]:
    """Every control that differs from its default (all tabs), a link's values for tabs not opened yet,
    and the shown tab when it is not the first."""
    view = st.session_state.get(_VIEW)
    params: dict[str, Any] = {"view": view} if view else {}
    params.update({k: v if len(v) > 1 else v[0] for k, v in st.session_state.get(_PENDING, {}).items()})
    params.update(st.session_state.get(_LINK, {}))
    return params


def share_link() -> str:
    base = (st.context.url or "").split("?")[0]
    query = urlencode(link_params(), doseq=True)
    return base + ("?" + query if query else "")


def sync_address_bar() -> None:
    """Rewrite the address bar to the share link (only when it differs: each write is a message)."""
    want = link_params()
    have = {k: (vs if len(vs := st.query_params.get_all(k)) > 1 else vs[0]) for k in st.query_params.keys()}
    if have != want:
        st.query_params.from_dict(want)


def fragment(render: Callable[[], None]) -> Callable[[], None]:
    """`render` as a fragment (it reruns alone when its own controls move) that keeps the address bar
    in step, as a full run does."""

    def run() -> None:
        render()
        sync_address_bar()

    run.__name__ = run.__qualname__ = f"fragment_{render.__module__}_{render.__name__}".replace(".", "_")
    return st.fragment(run)
