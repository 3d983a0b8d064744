"""A cache with a byte budget: finished work shared by every session of a server, the least recently used
dropped first once the entries' sizes add up to more than the budget (an entry count alone let a server
hold a gigabyte of trajectory frames)."""
from __future__ import annotations

import collections
import dataclasses
import sys
import threading
from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd
import torch


def sizeof(value: Any) -> int:
    """Bytes held by a result: frames, arrays, tensors and bytes by their buffers, containers by their items."""
    if isinstance(value, pd.DataFrame | pd.Series):
        return int(value.memory_usage(deep=True).sum()) if isinstance(value, pd.DataFrame) else int(
            value.memory_usage(deep=True))
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, torch.Tensor):
        return value.element_size() * value.nelement()
    if isinstance(value, bytes | bytearray | str):
        return len(value)
    if isinstance(value, dict):
        return sum(sizeof(k) + sizeof(v) for k, v in value.items()) + sys.getsizeof(value)
    if isinstance(value, list | tuple | set | frozenset):
        return sum(sizeof(v) for v in value) + sys.getsizeof(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(sizeof(getattr(value, f.name)) for f in dataclasses.fields(value))
    return sys.getsizeof(value)


class ByteBudget:
    """Least-recently-used entries, at most `budget` bytes in all (one entry larger than the budget is not
    kept). Thread-safe. Values are shared: readers must not change them."""

    def __init__(self, budget: int):
        self.budget = int(budget)
        self._items: collections.OrderedDict[Hashable, tuple[Any, int]] = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key][0]

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def put(self, key: Hashable, value: Any) -> bool:
        """Keep value under key; False when it alone exceeds the budget (then nothing is kept)."""
        size = sizeof(value)
        with self._lock:
            if key in self._items:
                self._bytes -= self._items.pop(key)[1]
            if size > self.budget:
                return False
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.budget:
                self._bytes -= self._items.popitem(last=False)[1][1]
            return True

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)
