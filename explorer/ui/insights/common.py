"""Controls shared by the Adam-on-a-surface panels."""
from __future__ import annotations

import streamlit as st

from explorer.params import TRAJECTORY, fmt
from explorer.surfaces import SURFACES
from explorer.ui.urlstate import url_widget


def adam_surface_controls(prefix: str, wd_label: str):
    """Surface, AdamW form, α, λ and gradient noise for an Adam-on-a-surface insight panel."""
    c = st.columns(5)
    return (
        url_widget(c[0], "selectbox", "Surface", list(SURFACES), key=f"{prefix}_surface"),
        url_widget(c[1], "radio", "AdamW form", ["torch", "paper"], horizontal=True, key=f"{prefix}_form"),
        url_widget(
            c[2], "select_slider", "α", list(TRAJECTORY["lr"].options), 0.05, format_func=fmt, key=f"{prefix}_lr"
        ),
        url_widget(
            c[3], "select_slider", wd_label, list(TRAJECTORY["wd"].options), 1.0, format_func=fmt, key=f"{prefix}_wd"
        ),
        url_widget(c[4], "select_slider", "noise σ", [0.0, 0.1, 0.3, 1.0, 3.0], 0.0, key=f"{prefix}_noise"),
    )
