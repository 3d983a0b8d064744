"""Real data: scikit-learn's bundled 8×8 digits (no download), split and standardized reproducibly."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

TEST_SIZE = 597          # a third of the 1,797 digits, fixed for every run
SPLIT_SEED = 0           # the split never changes, so test numbers are comparable across seeds
MAX_TRAIN = 1797 - TEST_SIZE


@dataclass(frozen=True)
class Dataset:
    x_train: torch.Tensor   # (n, 64) float32, standardized with the training subset's statistics
    y_train: torch.Tensor   # (n,) int64
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: int = 10

    def to(self, device) -> Dataset:
        return Dataset(*(t.to(device) for t in (self.x_train, self.y_train, self.x_test, self.y_test)),
                       classes=self.classes)


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits.csv.gz, read the way load_digits reads it, without importing sklearn
    (1.6 s of imports, scipy included, for a 10 ms file)."""
    import gzip
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if path is None or not path.is_file():
        from sklearn.datasets import load_digits
        d = load_digits()
        return d.data.astype(np.float32), d.target.astype(np.int64)
    with gzip.open(path) as f:
        data = np.loadtxt(f, delimiter=",")
    return data[:, :-1].astype(np.float32), data[:, -1].astype(np.int64)


@lru_cache(maxsize=32)
def digits(train_samples: int = MAX_TRAIN) -> Dataset:
    """The first `train_samples` of a fixed shuffled training pool, and the fixed test third.

    Smaller training sets are nested in larger ones. Features are standardized with the training
    subset's mean and standard deviation (pixels that never vary there stay 0).
    """
    if not 10 <= train_samples <= MAX_TRAIN:
        raise ValueError(f"train_samples must be between 10 and {MAX_TRAIN}, got {train_samples}")
    x, y = _digits()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    test, pool = order[:TEST_SIZE], order[TEST_SIZE:]
    train = pool[:train_samples]
    mean = x[train].mean(0)
    std = x[train].std(0)
    std[std < 1e-6] = 1.0

    def norm(a):
        return torch.from_numpy((a - mean) / std)

    return Dataset(norm(x[train]), torch.from_numpy(y[train]), norm(x[test]), torch.from_numpy(y[test]))


class ShuffledEpochs:
    """Mini-batch indices into n samples: shuffled epochs (torch.randperm with a generator seeded `seed`) read
    `batch_size` at a time, a batch running on into the next epoch. Every run of a sweep's seed reads the same."""

    def __init__(self, n: int, batch_size: int, seed: int):
        self.n, self.batch_size = n, min(batch_size, n)
        self.generator = torch.Generator().manual_seed(seed)
        self.order = torch.empty(0, dtype=torch.long)

    def next(self) -> torch.Tensor:
        b = self.batch_size
        if len(self.order) < b:
            self.order = torch.cat([self.order, torch.randperm(self.n, generator=self.generator)])
        idx, self.order = self.order[:b], self.order[b:]
        return idx


class WithReplacement:
    """Mini-batch indices drawn with replacement: every step `batch_size` independent draws (torch.randint with a
    generator seeded `seed`), the plain loop's `torch.randint(n, (b,))`. Same interface as ShuffledEpochs (its
    `order` stays empty, so a Trainer's saved state has the same shape)."""

    def __init__(self, n: int, batch_size: int, seed: int):
        self.n, self.batch_size = n, min(batch_size, n)
        self.generator = torch.Generator().manual_seed(seed)
        self.order = torch.empty(0, dtype=torch.long)

    def next(self) -> torch.Tensor:
        return torch.randint(self.n, (self.batch_size,), generator=self.generator)


# The order in which a run reads its training set: a choice a reader would call irrelevant (explorer.runs.variants
# varies it to show how much a slope depends on it).
BATCH_ORDERS = {"epochs": ShuffledEpochs, "replacement": WithReplacement}


def batch_order(name: str, n: int, batch_size: int, seed: int) -> ShuffledEpochs | WithReplacement:
    """The mini-batch source of one of BATCH_ORDERS."""
    if name not in BATCH_ORDERS:
        raise ValueError(f"unknown batch order {name!r}; choose from {', '.join(BATCH_ORDERS)}")
    return BATCH_ORDERS[name](n, batch_size, seed)
