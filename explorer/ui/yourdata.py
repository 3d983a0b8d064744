"""Your data: a CSV uploaded in the Live training or the sweep tab, which then trains on it instead of digits.

The file lives in your session's memory only (Streamlit keeps uploads in memory): it is never written to disk and
never part of a link. Its record travels inside the run's TrainConfig to the server's own worker processes, and
results are kept under a key holding its SHA-256 (explorer.core.yourdata.TableData), so another session sees
them only with the very same data. Presets' shipped sweeps are never shown for it (explorer.runs.precomputed).
A file that cannot be used gets one message, and the tab goes on with digits.
"""
from __future__ import annotations

import contextlib
import hashlib
import re

import pandas as pd
import streamlit as st

from explorer.core.tables import DataError
from explorer.core.yourdata import MAX_BYTES, TableData, header, limits_text, table_data
from explorer.viz.export import data_bytes

DIGITS, YOURS = "digits", "your data"
SOURCE, UPLOAD, TARGET = "data_source", "data_upload", "data_target"     # the widgets' keys (never in a link)
_FILE, _READ = "_yourdata_file", "_yourdata_read"      # (name, bytes) uploaded; (key, TableData or message)
TARGET_NAMES = ("target", "label", "labels", "class", "y")    # a column so named is the first guess for the target


def accept(name: str, raw: bytes) -> None:
    """Keep an uploaded file in this session (the uploader's handler; a test calls it with a file's bytes): the
    target's first guess is a column named like one (TARGET_NAMES), else the last column."""
    st.session_state[_FILE] = (name, bytes(raw))
    st.session_state.pop(_READ, None)
    try:
        columns = header(raw, name)
    except DataError:
        return                       # said when the tab reads it
    st.session_state[TARGET] = next((c for c in columns if c.lower() in TARGET_NAMES), columns[-1])


def forget() -> None:
    """This session's file, gone."""
    for key in (_FILE, _READ, TARGET):
        st.session_state.pop(key, None)


def _uploaded() -> None:
    file = st.session_state.get(UPLOAD)
    if file is None:                 # the file removed from the uploader
        forget()
    else:
        accept(file.name, file.getvalue())


def safe_markdown(text: str) -> str:
    """Text from a file in a message: every markdown sign escaped, so a name is shown, never followed or styled."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=])", r"\\\1", text.replace("\n", " "))


def _read(name: str, raw: bytes, target: str | None) -> TableData | str:
    """The file as TableData, or its one-line message; read once per file and target in this session."""
    key = (hashlib.sha256(raw).hexdigest(), name, target)
    held = st.session_state.get(_READ)
    if held is None or held[0] != key:
        try:
            held = (key, table_data(raw, name, target or ""))
        except DataError as e:
            held = (key, str(e))
        st.session_state[_READ] = held
    return held[1]


def picker(where=None) -> TableData | None:
    """The tab's data: None for digits, or this session's file when chosen and usable, its widgets drawn in `where`
    (a container; default: here). The same widgets (keys) in both tabs: the choice and the file follow the visitor
    from one tab to the other."""
    with where if where is not None else contextlib.nullcontext():
        return _picker()


def _picker() -> TableData | None:
    source = st.radio("Data", (DIGITS, YOURS), key=SOURCE, horizontal=True, persist_state="page",
                      format_func=lambda s: "scikit-learn's digits" if s == DIGITS else "Your data (CSV)",
                      help="Your data stays in your session's memory: never on disk, never in a link.")
    if source == DIGITS:
        return None
    st.caption(limits_text() + " Numeric features; the target's values are the classes. Kept in this session's "
               "memory only: a share link opens on digits.")
    st.file_uploader("Your CSV", type="csv", key=UPLOAD, on_change=_uploaded,
                     max_upload_size=max(1, round(MAX_BYTES / 2**20)))
    held = st.session_state.get(_FILE)
    if held is None:
        st.info("Upload a CSV above; until then this tab trains on digits.")
        return None
    name, raw = held
    try:
        columns = header(raw, name)
    except DataError as e:
        _refused(str(e))
        return None
    if st.session_state.get(TARGET) not in columns:
        st.session_state[TARGET] = columns[-1]
    target = st.selectbox("Target column (the classes)", columns, key=TARGET)
    data = _read(name, raw, target)
    if isinstance(data, str):
        _refused(data)
        return None
    show_split(data)
    return data


def _refused(message: str) -> None:
    st.error(safe_markdown(message) + " — this tab trains on digits until a file reads.")


def show_split(data: TableData) -> None:
    """The fixed test split: its sizes, the classes per split, and the test rows as a CSV."""
    st.caption(
        f"{safe_markdown(data.name)}: {data.train_rows + len(data.y_test):,} rows, {data.inputs} features, "
        f"{len(data.classes)} classes. A fixed test third ({len(data.y_test):,} rows, the same for every run and "
        f"seed); runs train on the first *train samples* of the other {data.train_rows:,} rows, features "
        "standardized with those rows' mean and standard deviation."
    )
    counts = pd.DataFrame(data.class_counts(), columns=["class", "training rows", "test rows"])
    with st.expander("Classes per split"):
        st.dataframe(counts, hide_index=True)
        st.download_button("Test split (CSV)", data=lambda: data_bytes(test_frame(data), "csv"),
                           file_name="your-data-test.csv", mime="text/csv", key="data_test_csv", on_click="ignore")


def test_frame(data: TableData) -> pd.DataFrame:
    """The test rows as read (not standardized), with the target's labels."""
    frame = pd.DataFrame(data.x_test.numpy(), columns=list(data.features))
    frame[data.target] = [data.classes[int(i)] for i in data.y_test]
    return frame


def in_use() -> bool:
    """Whether a tab of this session trains on your data now (the share box then says a link opens on digits)."""
    held = st.session_state.get(_READ)
    return st.session_state.get(SOURCE) == YOURS and held is not None and isinstance(held[1], TableData)


LINK_NOTE = "Your data is not part of the link (it stays in this session): the link opens on digits."
