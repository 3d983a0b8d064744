"""Numbers as short, exact, URL-friendly text: the one formatter of values (its inverse is Spec.parse)."""
from __future__ import annotations

from typing import Any


def fmt(v: Any) -> str:
    """Short, exact, URL-friendly text for a value (the inverse of Spec.parse)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}" if float(f"{v:g}") == v else repr(v)
    if isinstance(v, tuple):
        return ",".join(fmt(x) for x in v)
    return str(v)
