"""The Insights tab: the paper's claims one at a time, one module per panel."""
from __future__ import annotations

import streamlit as st

from explorer.ui import urlstate
from explorer.ui.insights import converter, decay_forms, effective_decay, landscape, prop1, prop2

PANELS = (prop1, prop2, effective_decay, decay_forms, landscape, converter)


def owns(key: str) -> bool:
    """This tab's URL parameters: i1_… to i6_…, one prefix per panel (urlstate.PREFIX, sections insight1 …)."""
    return key.startswith(tuple(urlstate.PREFIX[f"insight{k}"] for k in range(1, len(PANELS) + 1)))


def render() -> None:
    st.subheader("The paper's claims, one at a time")
    for panel in PANELS:
        with st.container(border=True):
            # each panel reruns alone when one of its controls moves
            urlstate.fragment(panel.render)()
