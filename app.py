"""Decoupled Weight Decay Explorer — `streamlit run app.py`. A small router: page set-up, header, the
tabs (one module each under explorer/ui/), the share box and the link's warnings. No numerics here."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
import torch

from explorer.ui import insights, sweep, training, trajectories, urlstate
from explorer.ui.copy import ABOUT, COMPACT_PAGE
from explorer.ui.server import server_state, session_id

ICON = str(Path(__file__).resolve().parent / "assets" / "icon.png")

# Sessions are threads of one process. Trajectories and live training are small and run fastest on
# one thread, which also leaves the other cores to other sessions; a sweep borrows the idle ones.
torch.set_num_threads(1)
torch.set_flush_denormal(True)  # tiny Adam states otherwise make CPU training several times slower


# tab → its module: render() draws it, owns(key) names its URL parameters
VIEWS = {
    "2-D trajectories": trajectories,
    "Live training": training,
    "lr × λ sweep": sweep,
    "Insights": insights,
}


def view_of_url_key(key: str) -> str | None:
    """The tab whose controls a URL parameter belongs to (None: no tab's)."""
    return next((name for name, view in VIEWS.items() if view.owns(key)), None)


def main() -> None:
    st.set_page_config(
        page_title="Decoupled Weight Decay Explorer",
        page_icon=ICON,  # a file served by this server: a hosted demo makes no third-party request
        layout="wide",
        initial_sidebar_state="collapsed",
    )
    server_state()["sessions"].touch(session_id())
    urlstate.start_run(lambda key: view_of_url_key(key) is not None)
    views = list(VIEWS)
    if "view" not in st.session_state:  # a link opens its tab
        asked = st.query_params.get("view")
        if asked is not None and asked not in views:
            urlstate.warn(
                f"URL parameter **view** = {urlstate.shown_text(asked)} is not valid "
                f"(one of {', '.join(views)}); showing the first."
            )
        st.session_state["view"] = asked if asked in views else views[0]
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
    tabs = st.tabs(views, key="view", on_change="rerun")
    active = st.session_state.get("view") or views[0]
    urlstate.set_view(active if active != views[0] else None)
    # only the active tab renders: a first visit draws one tab's charts, and reruns stay cheap
    with tabs[views.index(active)]:
        VIEWS[active].render()
    urlstate.drop_unclaimed(lambda key: view_of_url_key(key) == active)
    with share:
        with st.popover("Share this view", icon=":material/link:"):
            urlstate.share_box("This link restores every control of every tab (the address bar holds the same):")
    warnings = urlstate.pop_warnings()
    if warnings:
        notices.warning("\n\n".join(warnings))
    urlstate.sync_address_bar()


if __name__ == "__main__":       # a visitor's script run
    main()
else:                            # `streamlit run app.py` imports this module once, before it serves anyone:
    app = st.App(__file__)       # torch and the app's modules are then loaded when the first visitor comes
