"""Decoupled Weight Decay Explorer — `streamlit run app.py`. A small router: page set-up, header, the
tabs (one module each under explorer/ui/), the share box and the link's warnings. No numerics here."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import streamlit as st
import torch

ICON = str(Path(__file__).resolve().parent / "assets" / "icon.png")

# Sessions are threads of one process. Trajectories and live training are small and run fastest on
# one thread, which also leaves the other cores to other sessions; a sweep borrows the idle ones.
torch.set_num_threads(1)
torch.set_flush_denormal(True)  # tiny Adam states otherwise make CPU training several times slower


# The server imports this module once, before anyone visits (`app` below): torch and every layer under the
# pages load then, so the first visitor waits for none of it. The pages (explorer.ui, ~40 ms) load on the first
# visit: their caches belong to the server's runtime, which exists only then (imported earlier, each cache
# logged "No runtime found" and fell back to a private one).
for _layer in ("core", "runs", "analysis", "viz", "interface"):
    for _module in pkgutil.iter_modules(importlib.import_module(f"explorer.{_layer}").__path__):
        importlib.import_module(f"explorer.{_layer}.{_module.name}")


def views() -> dict:
    """Tab → its module: render() draws it, owns(key) names its URL parameters."""
    from explorer.ui import insights, sweep, training, trajectories
    return {"2-D trajectories": trajectories, "Live training": training, "lr × λ sweep": sweep, "Insights": insights}


def view_of_url_key(key: str) -> str | None:
    """The tab whose controls a URL parameter belongs to (None: no tab's)."""
    return next((name for name, view in views().items() if view.owns(key)), None)


def main() -> None:
    from explorer.ui import urlstate, yourdata
    from explorer.ui.copy import ABOUT, COMPACT_PAGE

    st.set_page_config(
        page_title="Decoupled Weight Decay Explorer",
        page_icon=ICON,  # a file served by this server: a hosted demo makes no third-party request
        layout="wide",
        initial_sidebar_state="collapsed",
    )
    urlstate.start_run(lambda key: view_of_url_key(key) is not None)
    if "_visited" not in st.session_state:   # a new visitor: a worker starts now, before they ask for work
        st.session_state["_visited"] = True
        from explorer.ui import jobs
        jobs.pool().prewarm()
    tab_of = views()
    names = list(tab_of)
    if "view" not in st.session_state:  # a link opens its tab
        asked = st.query_params.get("view")
        if asked is not None and asked not in names:
            urlstate.warn(
                f"URL parameter **view** = {urlstate.shown_text(asked)} is not valid "
                f"(one of {', '.join(names)}); showing the first."
            )
        st.session_state["view"] = asked if asked in names else names[0]
    st.html(COMPACT_PAGE)
    head, share = st.columns([5, 1], vertical_alignment="center")
    head.markdown(
        "### Decoupled Weight Decay Explorer\n"
        "Why **Adam + L2 regularization is not weight decay**, and what **AdamW** "
        "(Loshchilov & Hutter, ICLR 2019) changes: the same start, data and hyperparameters; "
        "only *where λ enters the update* differs."
    )
    notices = st.container()
    with st.sidebar:
        st.markdown("### About")
        st.markdown(ABOUT)
    tabs = st.tabs(names, key="view", on_change="rerun")
    active = st.session_state.get("view") or names[0]
    urlstate.set_view(active if active != names[0] else None)
    # only the active tab renders: a first visit draws one tab's charts, and reruns stay cheap
    with tabs[names.index(active)]:
        tab_of[active].render()
    urlstate.drop_unclaimed(lambda key: view_of_url_key(key) == active)
    with share:
        with st.popover("Share this view", icon=":material/link:"):
            urlstate.share_box("This link restores every control of every tab (the address bar holds the same):",
                               note=yourdata.LINK_NOTE if yourdata.in_use() else "")
    warnings = urlstate.pop_warnings()
    if warnings:
        notices.warning("\n\n".join(warnings))
    urlstate.sync_address_bar()


if __name__ == "__main__":       # a visitor's script run
    main()
else:                            # `streamlit run app.py` imports this module once, before it serves anyone:
    app = st.App(__file__)       # torch and the app's modules are then loaded when the first visitor comes
