"""Your data in the app: an uploaded CSV (numeric features, one class column) checked against the app's limits, split
into a fixed seeded test third and kept as one small immutable record that a TrainConfig can carry.

The record is compared and hashed by a SHA-256 of what trains (features, labels, names, the split), never by its
tensors: a config holding it stays a cache key, and two sessions share a result only when they hold the same
data. Features are standardized as digits' are, with the mean and standard deviation of the training rows a run
uses (explorer.core.data.digits).
"""
from __future__ import annotations

import hashlib

import numpy as np
import torch

from explorer.core.data import Dataset
from explorer.core.tables import DataError, _rows, _text, read_table, split_table

# Limits, stated next to the uploader. Sized so the default sweep preset (147 runs × 300 steps × 2 seeds) stays
# under a minute on two cores at the largest file (docs/app.md has the measured figure).
MAX_BYTES = 1_000_000        # the file
MAX_ROWS = 1_800             # data rows (digits has 1,797): 1,200 training rows at most, as the app's slider
MIN_ROWS = 30                # a test third of 10 rows and 20 to train on
MAX_FEATURES = 100           # feature columns (digits has 64)
MAX_CLASSES = 20             # distinct labels in the target column
TEST_FRACTION = 1 / 3        # like digits: a fixed test third, the same rows for every run and seed


def limits_text() -> str:
    """The limits in one line, as the uploader states them."""
    return (f"CSV, UTF-8, a header row; at most {MAX_BYTES / 1e6:g} MB, {MAX_ROWS:,} rows, {MAX_FEATURES} numeric "
            f"feature columns and {MAX_CLASSES} classes in the target column; at least {MIN_ROWS} rows.")


def header(raw: bytes, name: str) -> list[str]:
    """The file's column names, once its size, text, shape and row and column counts are within the limits
    (DataError: one line naming the file, and the row or column where there is one)."""
    if len(raw) > MAX_BYTES:
        raise DataError(f"{name}: {len(raw) / 1e6:.2f} MB, over the limit of {MAX_BYTES / 1e6:g} MB")
    columns, data = _rows(_text(raw, name), name)
    if len(columns) - 1 > MAX_FEATURES:
        raise DataError(f"{name}: {len(columns)} columns, over the limit of {MAX_FEATURES} features and a target "
                        f"(column {MAX_FEATURES + 2} is {columns[MAX_FEATURES + 1][:40]!r})")
    if len(data) > MAX_ROWS:
        raise DataError(f"{name}: {len(data):,} data rows, over the limit of {MAX_ROWS:,} "
                        f"(row {data[MAX_ROWS][0]} is the first past it)")
    if len(data) < MIN_ROWS:
        raise DataError(f"{name}: {len(data)} data rows; at least {MIN_ROWS} are needed (a test third and the rest "
                        "to train on)")
    return columns


class TableData:
    """An uploaded table, split: raw (not standardized) training and test rows, the names, and a digest.

    Immutable; equal and hashed by its digest. Not a dataclass on purpose: dataclasses.asdict of a config (the
    exports' metadata) would copy its tensors; it puts this record whole, which the export writes as summary()."""

    __slots__ = ("x_train", "y_train", "x_test", "y_test", "features", "target", "classes", "name", "digest")

    def __init__(self, x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor,
                 features: tuple[str, ...], target: str, classes: tuple[str, ...], name: str):
        values = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, features=tuple(features),
                      target=target, classes=tuple(classes), name=name)
        h = hashlib.sha256()
        for t in (x_train, y_train, x_test, y_test):
            h.update(repr((t.dtype, tuple(t.shape))).encode())
            h.update(t.contiguous().numpy().tobytes())
        h.update(repr((values["features"], target, values["classes"])).encode())
        for k, v in {**values, "digest": h.hexdigest()}.items():
            object.__setattr__(self, k, v)

    def __setattr__(self, key, value):
        raise AttributeError("TableData is immutable")

    def __eq__(self, other) -> bool:
        return isinstance(other, TableData) and other.digest == self.digest

    def __hash__(self) -> int:
        return hash(self.digest)

    def __repr__(self) -> str:     # the cache keys' and logs' text: no data, no file name
        return f"TableData(sha256={self.digest[:16]}…)"

    def __reduce__(self):          # to the server's own worker processes (explorer.runs.pool)
        return TableData, (self.x_train, self.y_train, self.x_test, self.y_test, self.features, self.target,
                           self.classes, self.name)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    @property
    def inputs(self) -> int:
        return len(self.features)

    @property
    def train_rows(self) -> int:
        return len(self.y_train)

    def dataset(self, train_samples: int) -> Dataset:
        """The first train_samples training rows (all, when there are fewer) and every test row, standardized
        with those training rows' mean and standard deviation (a constant feature stays 0)."""
        n = min(train_samples, self.train_rows)
        x = self.x_train[:n]
        mean, std = x.mean(0), x.std(0, unbiased=False)
        std = torch.where(std < 1e-6, torch.ones_like(std), std)
        return Dataset((x - mean) / std, self.y_train[:n], (self.x_test - mean) / std, self.y_test,
                       classes=len(self.classes))

    def summary(self) -> dict:
        """What an export's metadata says of the data (names, sizes, digest; no rows)."""
        return {"name": self.name, "target": self.target, "features": len(self.features),
                "classes": list(self.classes), "train_rows": self.train_rows, "test_rows": len(self.y_test),
                "sha256": self.digest}

    def class_counts(self) -> list[tuple[str, int, int]]:
        """(label, training rows, test rows) per class."""
        train = np.bincount(self.y_train.numpy(), minlength=len(self.classes))
        test = np.bincount(self.y_test.numpy(), minlength=len(self.classes))
        return [(c, int(a), int(b)) for c, a, b in zip(self.classes, train, test)]


def table_data(raw: bytes, name: str, target: str) -> TableData:
    """The upload as a TableData: checked against the limits, read (explorer.core.tables.read_table: every cell a
    finite number, two classes or more), split into a seeded test third. DataError: one line."""
    columns = header(raw, name)
    if target not in columns:
        raise DataError(f"{name}: no column {target!r} (columns: {', '.join(columns)[:200]})")
    distinct = {r[columns.index(target)].strip() for _, r in _rows(_text(raw, name), name)[1]}
    if len(distinct) > MAX_CLASSES:
        raise DataError(f"{name}, column {target!r}: {len(distinct):,} distinct values, over the limit of "
                        f"{MAX_CLASSES} classes (the app's models classify; a number to predict is not a class)")
    table = read_table(raw, target, name=name)
    train, test = split_table(table, TEST_FRACTION)
    return TableData(train.x, train.y, test.x, test.y, table.features, target, table.classes, name)
