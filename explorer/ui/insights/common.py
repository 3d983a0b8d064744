"""Controls shared by the Adam-on-a-surface panels."""
from __future__ import annotations

from explorer.interface.params import INSIGHT
from explorer.ui.controls import control_block, spec_widget


def adam_surface_controls(panel: int, wd_label: str) -> dict:
    """Surface, AdamW form, α, λ and gradient noise for an Adam-on-a-surface insight panel, as the
    parameter dict its exports carry (keys surface, form, lr, wd, noise)."""
    specs, section = INSIGHT[panel], f"insight{panel}"
    c = control_block(section).columns(5)
    return {
        "surface": spec_widget(c[0], "Surface", specs["surface"], section, help=None),
        "form": spec_widget(c[1], "AdamW form", specs["form"], section, horizontal=True, help=None),
        "lr": spec_widget(c[2], "α", specs["lr"], section, help=None),
        "wd": spec_widget(c[3], wd_label, specs["wd"], section, help=None),
        "noise": spec_widget(c[4], "noise σ", specs["noise"], section, help=None),
    }
