"""Your own data: a CSV of numeric feature columns and one target column, checked cell by cell.

Every problem is a `DataError` (a ValueError) of one line that names the file and, where there is one, the row
(the file's line number, the header being row 1) and the column: an empty file, text that is not UTF-8, a
missing target column, a row with more or fewer cells than the header, a feature cell that is not a finite
number, a target with a single class. The CLI prints it and exits with code 2; the app's upload shows it.

Targets: for cross-entropy, labels (whole numbers or text) become class indices 0 … k−1 in sorted order
(numerically when every label is a whole number); for mse, the target must be a number.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

LOSSES = ("cross-entropy", "mse")
SPLIT_SEED = 0            # the shuffle of a split: fixed, so test numbers are comparable across seeds


class DataError(ValueError):
    """A CSV that cannot be used, in one line naming the file, row and column."""


@dataclass(frozen=True)
class Table:
    x: torch.Tensor                      # (n, features) float32
    y: torch.Tensor                      # (n,) int64 class indices (cross-entropy) or float32 (mse)
    features: tuple[str, ...]
    target: str
    classes: tuple[str, ...] | None      # the label of each class index; None for mse
    name: str = ""                       # the file it came from, for messages

    def __len__(self) -> int:
        return len(self.y)

    def rows(self, idx) -> Table:
        return replace(self, x=self.x[idx], y=self.y[idx])


def _text(source: str | Path | bytes, name: str) -> str:
    try:
        raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError as e:
        raise DataError(f"{name}: cannot read it ({e.strerror or e})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{name}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start})") from None
    if not text.strip():
        raise DataError(f"{name}: empty file")
    return text


def _rows(text: str, name: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the data rows with their line numbers; blank lines skipped, ragged rows refused."""
    try:
        lines = [(reader.line_num, r) for reader in [csv.reader(io.StringIO(text))] for r in reader]
    except csv.Error as e:
        raise DataError(f"{name}: not a CSV file ({e})") from None
    lines = [(k, r) for k, r in lines if any(c.strip() for c in r)]
    (_, header), data = lines[0], lines[1:]
    header = [h.strip() for h in header]
    for k, r in data:
        if len(r) != len(header):
            raise DataError(f"{name}, row {k}: {len(r)} cells, but the header has {len(header)} columns")
    if not data:
        raise DataError(f"{name}: a header and no data rows")
    return header, data


def _number(cell: str, name: str, row: int, column: str) -> float:
    try:
        v = float(cell)
    except ValueError:
        v = math.nan if cell.strip() else None
        if v is None:
            raise DataError(f"{name}, row {row}, column {column!r}: empty cell") from None
        raise DataError(f"{name}, row {row}, column {column!r}: {cell.strip()[:40]!r} is not a number") from None
    if not math.isfinite(v):
        raise DataError(f"{name}, row {row}, column {column!r}: {cell.strip()!r} is not a finite number")
    return v


def _label_order(labels: list[str]) -> tuple[str, ...]:
    """The classes in sorted order: numerically when every label is a whole number, else as text."""
    distinct = set(labels)
    try:
        values = {lab: float(lab) for lab in distinct}
        if all(v.is_integer() for v in values.values()):
            return tuple(sorted(distinct, key=lambda lab: values[lab]))
    except ValueError:
        pass
    return tuple(sorted(distinct))


def read_table(source: str | Path | bytes, target: str, loss: str = "cross-entropy",
               features: tuple[str, ...] | None = None, classes: tuple[str, ...] | None = None,
               name: str | None = None) -> Table:
    """The CSV at `source` (a path, or its bytes with `name` for messages) as features and target.

    features: the feature columns to read, in this order (default: every column but the target, in the file's
    order); a test file passes the training table's. classes: the class labels (default: those found; a test
    file passes the training table's, and a label outside them is an error)."""
    if loss not in LOSSES:
        raise ValueError(f"loss: unknown value {loss!r}; choose from {', '.join(LOSSES)}")
    name = name or str(source)
    header, data = _rows(_text(source, name), name)
    if target not in header:
        raise DataError(f"{name}: no column {target!r} (columns: {', '.join(header)[:200]})")
    if len(set(header)) != len(header):
        twice = next(h for h in header if header.count(h) > 1)
        raise DataError(f"{name}: column {twice!r} appears twice")
    features = features or tuple(h for h in header if h != target)
    missing = [f for f in features if f not in header]
    if missing:
        raise DataError(f"{name}: no column {missing[0]!r}, a feature of the training data")
    if not features:
        raise DataError(f"{name}: no feature columns besides {target!r}")
    cols = [header.index(f) for f in features]
    x = np.array([[_number(r[c], name, k, header[c]) for c in cols] for k, r in data], dtype=np.float32)
    t = header.index(target)
    if loss == "mse":
        y = torch.tensor([_number(r[t], name, k, target) for k, r in data], dtype=torch.float32)
        return Table(torch.from_numpy(x), y, tuple(features), target, None, name)
    labels = [r[t].strip() for _, r in data]
    for (k, _), lab in zip(data, labels):
        if not lab:
            raise DataError(f"{name}, row {k}, column {target!r}: empty label")
    found = classes or _label_order(labels)
    if classes is None and len(found) < 2:
        raise DataError(f"{name}, column {target!r}: one class only ({found[0]!r}); cross-entropy needs two or more")
    index = {lab: i for i, lab in enumerate(found)}
    for (k, _), lab in zip(data, labels):
        if lab not in index:
            raise DataError(f"{name}, row {k}, column {target!r}: class {lab!r} is not in the training data")
    y = torch.tensor([index[lab] for lab in labels], dtype=torch.long)
    return Table(torch.from_numpy(x), y, tuple(features), target, tuple(found), name)


def split_table(table: Table, test_fraction: float, seed: int = SPLIT_SEED) -> tuple[Table, Table]:
    """(train, test): a shuffle seeded `seed` (numpy's default_rng permutation), its first round(n·fraction) rows
    the test set."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test fraction must be between 0 and 1, got {test_fraction!r}")
    n = len(table)
    k = round(n * test_fraction)
    if not 1 <= k < n:
        raise DataError(f"{table.name}: {n} rows cannot be split into a test fraction of {test_fraction:g}")
    order = torch.from_numpy(np.random.default_rng(seed).permutation(n))
    return table.rows(order[k:]), table.rows(order[:k])


def standardized(train: Table, test: Table) -> tuple[Table, Table]:
    """Both with the training set's mean and standard deviation per feature (a constant feature stays 0)."""
    mean, std = train.x.mean(0), train.x.std(0, unbiased=False)
    std = torch.where(std < 1e-6, torch.ones_like(std), std)
    return replace(train, x=(train.x - mean) / std), replace(test, x=(test.x - mean) / std)


DEFAULT_TEST_FRACTION = 0.25


def load_tables(train: str | Path | bytes, target: str, loss: str = "cross-entropy",
                test: str | Path | bytes | None = None, test_fraction: float | None = None,
                standardize: bool = False, names: tuple[str, str] | None = None) -> tuple[Table, Table]:
    """(train, test) tables: the test file read with the training file's features and classes, or without one a
    seeded split of the training file (test_fraction, default DEFAULT_TEST_FRACTION); features standardized
    with the training set's statistics only when asked. names: the files' names for messages (bytes given)."""
    if test is not None and test_fraction is not None:
        raise ValueError("give a test file or a test fraction, not both")
    train_name, test_name = names or (None, None)
    table = read_table(train, target, loss, name=train_name)
    if test is None:
        pair = split_table(table, DEFAULT_TEST_FRACTION if test_fraction is None else test_fraction)
    else:
        pair = table, read_table(test, target, loss, features=table.features, classes=table.classes, name=test_name)
    return standardized(*pair) if standardize else pair
