"""Widgets ↔ URL: the address bar is the share link.

Every control is a keyed widget drawn from a Spec (explorer/interface/params.py), whose value lives in session
state. A link's value for a control is read once per session by the control's own Spec (`Spec.parse`: the same
reading as the CLI's; a slider or a choice box also takes only one of its stops) and put into session state
before the widget is drawn; a bad value is reported by name, with the Spec's reason, and the default is used.
Values are written back with `fmt`, Spec.parse's inverse. After every run the address bar is rewritten to hold
every control that differs from its default — the shown tab's and every other tab's (widgets keep their values
while their tab is hidden), plus a link's values for tabs not opened yet. One mechanism serves every widget kind,
range sliders included.

Names: one rule, `url_name` — a control's URL parameter, which is also its widget's session-state key, is its
section's PREFIX followed by its Spec's name. The sections are the tabs and, on the Insights tab, each panel. The
first tab's names are bare: they are its CLI options' names. Names links used before the rule (OLD_NAMES) are
still read, and written anew.

Streamlit's own `bind="query-params"` is not used: it drops the parameters of widgets that are not
drawn, and only the shown tab's widgets are drawn.
"""
from __future__ import annotations

import inspect
import json
from dataclasses import replace
from typing import Any, Callable
from urllib.parse import urlencode

import streamlit as st

from explorer.core.fmt import fmt
from explorer.interface.params import INSIGHT, Spec

KINDS = ("slider", "select_slider", "selectbox", "radio", "number_input", "toggle")
_SIGNATURES = {k: inspect.signature(getattr(st, k)) for k in KINDS}
MAX_URL_VALUE = 100  # characters; longer values are refused without being echoed in full

# section → the prefix of its controls' URL names
PREFIX = {"trajectories": "", "training": "t_", "sweep": "s_", **{f"insight{k}": f"i{k}_" for k in INSIGHT}}
# names from before the one rule (a tab abbreviated a Spec's name where it drew it) → today's
OLD_NAMES = {"t_init": "t_init_scale", "t_batch": "t_batch_size", "t_samples": "t_train_samples",
             "s_init": "s_init_scale"}

# session-state keys of this module
_LINK, _PENDING, _SEEDED, _VIEW, _WARNINGS = "_url_link", "_url_pending", "_url_seeded", "_url_view", "_url_warnings"
_ASKED, _SPECS = "_url_asked", "_url_specs"     # today's name → the (old) name the link used; key → Spec drawn


def url_name(section: str, spec: Spec | str) -> str:
    """The one naming rule: the section's prefix, then the Spec's name."""
    return PREFIX[section] + (spec if isinstance(spec, str) else spec.name)


def _options_text(a: dict, pair: bool) -> str:
    show = a.get("format_func") or fmt
    names = [str(show(o)) for o in a["options"]]
    return ("two of " if pair else "one of ") + ", ".join(names[:12]) + (" …" if len(names) > 12 else "")


def _reason(e: ValueError, spec: Spec, texts: list[str]) -> str:
    """The Spec's message without its name, the value it echoes shown safely (a code span, shortened)."""
    reason = str(e).removeprefix(f"{spec.name}: ")
    for t in texts:
        for echo in {repr(t), repr(t.strip())}:
            reason = reason.replace(echo, shown_text(t.strip()))
    return reason


def read_link(spec: Spec, kind: str, a: dict, raw: list[str]):
    """A link's text for one widget → the widget's value, read by its Spec; ValueError with what a valid value
    looks like. A range slider takes two values (one text "a,b" or the parameter twice), each read by the Spec
    and the first not after the second; a widget with options takes one of them ("1.0" names the stop 1)."""
    pair = isinstance(a.get("value"), (tuple, list))
    options = a.get("options")
    if any(len(r) > MAX_URL_VALUE for r in raw):
        raise ValueError(f"at most {MAX_URL_VALUE} characters")
    texts = [x for r in raw for x in r.split(",")] if pair else raw
    one = replace(spec, kind="float") if spec.kind == "floats" else spec     # a range's ends: one stop each
    values = []
    for text in texts:
        try:
            v = one.parse(text)
        except ValueError as e:      # the Spec's reason, and the stops where the Spec does not list them
            hint = (_options_text(a, pair) if options and spec.kind != "choice" else
                    "two values: from,to" if pair else "")
            raise ValueError("; ".join(filter(None, (_reason(e, spec, texts), hint)))) from None
        if options is not None:
            same = [o for o in options if o == v]          # a number however written: 1.0 is the stop 1
            if not same:
                raise ValueError(_options_text(a, pair))
            v = same[0]
        values.append(v)
    if len(values) != (2 if pair else 1):
        raise ValueError(_options_text(a, pair) if options else "two values: from,to" if pair else "one value")
    if not pair:
        return values[0]
    order = options.index if kind == "select_slider" else (lambda v: v)
    if order(values[0]) > order(values[1]):
        raise ValueError("a range from its first value to its second: the first must not be larger")
    return tuple(values)


def _text(value) -> str:
    """A widget value as the URL writes it (Spec.parse reads it back)."""
    return fmt(tuple(value) if isinstance(value, list) else value)


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
    link values (under today's names: an old name is read as its new one); those no view claims are
    reported and dropped."""
    if _PENDING in st.session_state:
        return
    pending, asked, unknown = {}, {}, []
    for given in st.query_params.keys():
        values = st.query_params.get_all(given)
        key = OLD_NAMES.get(given, given)
        if key == "view" or (key != given and key in st.query_params):     # both names: today's wins
            continue
        if not known(key):
            unknown.append(given)
            continue
        pending[key] = values
        if key != given:
            asked[key] = given
    warn_unknown(unknown)
    st.session_state[_PENDING], st.session_state[_ASKED] = pending, asked
    st.session_state[_SEEDED] = {}
    st.session_state[_LINK] = {}


def drop_unclaimed(shown: Callable[[str], bool]) -> None:
    """After the shown tab has drawn its controls: a link's parameters of that tab that no control
    claimed (a misspelt name, a CLI-only option) are reported and leave the link."""
    pending = st.session_state.get(_PENDING, {})
    unclaimed = [k for k in pending if shown(k)]
    for key in unclaimed:
        del pending[key]
    warn_unknown(unclaimed)


SHOWN_UNKNOWN = 10    # names a warning lists; a link with a thousand junk parameters gets one short line


def warn_unknown(names: list[str]) -> None:
    """One warning for a link's unknown parameters: the first few by name, and how many in all."""
    if not names:
        return
    listed = ", ".join(shown_text(n) for n in names[:SHOWN_UNKNOWN])
    more = f" … ({len(names):,} in all)" if len(names) > SHOWN_UNKNOWN else ""
    warn(f"Unknown URL parameter{'s' if len(names) > 1 else ''} {listed}{more} ignored.")


def url_widget(where, kind: str, label: str, *args, section: str, spec: Spec, default: Any = None, **kwargs):
    """The widget of one Spec in one section: its key and URL parameter are url_name(section, spec), a link
    can set its value (read by the Spec) and its changed value stays in the address bar.

    default: for widgets whose value comes from session state (set by code, e.g. a preset): the value
    the link leaves out; the widget starts from it unless a link or code set another."""
    key = url_name(section, spec)
    a = _SIGNATURES[kind].bind_partial(label, *args, **kwargs).arguments
    if default is not None:
        a = {**a, "value": default}
    st.session_state.setdefault(_SPECS, {})[key] = spec
    pending = st.session_state.setdefault(_PENDING, {})
    if key in pending:
        raw = pending.pop(key)
        try:
            st.session_state[key] = st.session_state.setdefault(_SEEDED, {})[key] = read_link(spec, kind, a, raw)
        except ValueError as e:
            old = st.session_state.get(_ASKED, {}).get(key)
            name = f"**{old}** (now **{key}**)" if old else f"**{key}**"
            warn(f"URL parameter {name} = {shown_text(','.join(raw))} is not valid ({e}); using the default.")
    if default is not None and key not in st.session_state:
        st.session_state[key] = default
    if default is not None:
        kwargs.pop("value", None)
    # persist_state: a widget on a tab that is not shown keeps its value (only the shown tab renders)
    value = getattr(where, kind)(label, *args, key=key, persist_state="page", **kwargs)
    link = st.session_state.setdefault(_LINK, {})
    text = _text(value)
    if text != _text(_default(kind, a)):
        link[key] = text
    else:
        link.pop(key, None)
    return value


def drawn_specs() -> dict[str, Spec]:
    """Every control drawn in this session so far: its key (= URL name) → the Spec that reads its link value."""
    return dict(st.session_state.get(_SPECS, {}))


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


# The share box's text follows the address bar in the browser: a panel that reruns alone (a fragment) rewrites
# the address bar but cannot redraw the box, which the full run drew. Nothing from the link is put into HTML:
# the script reads location.href itself.
_FOLLOW_ADDRESS_BAR = """<span id="%(id)s" hidden></span><script>(function () {
  const mark = document.getElementById(%(id_json)s);
  if (!mark) return;
  function code() {
    let el = mark;
    while (el && !(el.querySelector && el.querySelector("code"))) el = el.parentElement;
    return el ? el.querySelector("code") : null;
  }
  function sync() {
    if (!document.body.contains(mark)) { clearInterval(timer); return; }
    const c = code();
    if (c && c.textContent !== window.location.href) c.textContent = window.location.href;
  }
  const timer = setInterval(sync, 300);
  sync();
})();</script>"""


def share_box(caption: str, note: str = "") -> None:
    """The share link (the server's, for a page without scripts) that the browser keeps equal to the address bar;
    note: what the link does not restore."""
    st.caption(caption)
    if note:
        st.info(note)
    st.code(share_link(), language=None, wrap_lines=True)
    box = f"share-{abs(hash(share_link())) % 10**9}"
    st.html(_FOLLOW_ADDRESS_BAR % {"id": box, "id_json": json.dumps(box)}, unsafe_allow_javascript=True)


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
