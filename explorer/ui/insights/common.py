"""Controls shared by the Adam-on-a-surface panels."""
from __future__ import annotations

import streamlit as st

from explorer.interface.params import INSIGHT
from explorer.ui.controls import spec_widget


def adam_surface_controls(prefix: str, wd_label: str) -> dict:
    """Surface, AdamW form, α, λ and gradient noise for an Adam-on-a-surface insight panel, as the
    parameter dict its exports carry (keys surface, form, lr, wd, noise)."""
    c = st.columns(5)
    return {
        "surface": spec_widget(c[0], "Surface", INSIGHT[f"{prefix}_surface"], help=None),
        "form": spec_widget(c[1], "AdamW form", INSIGHT[f"{prefix}_form"], horizontal=True, help=None),
        "lr": spec_widget(c[2], "α", INSIGHT[f"{prefix}_lr"], help=None),
        "wd": spec_widget(c[3], wd_label, INSIGHT[f"{prefix}_wd"], help=None),
        "noise": spec_widget(c[4], "noise σ", INSIGHT[f"{prefix}_noise"], help=None),
    }
