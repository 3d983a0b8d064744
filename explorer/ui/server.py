"""What the sessions of one server share."""
from __future__ import annotations

import threading
import uuid

import streamlit as st

from explorer.runs.cost import ActiveSessions

ACTIVE_SECONDS = 60          # a session that ran its script this recently counts as active


@st.cache_resource
def server_state() -> dict:
    """Shared by every session: one sweep computes at a time (a second one waits its turn, so two
    sessions do not split the cores and the memory), the finished-sweep store's lock, and which
    sessions are active (a sweep takes one thread while others are)."""
    return {"sweep": threading.Lock(), "lock": threading.Lock(), "sessions": ActiveSessions(ACTIVE_SECONDS)}


def session_id() -> str:
    return st.session_state.setdefault("_session", uuid.uuid4().hex)
