"""A small bounded memory of computed answers: the one the hub's caches share."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from datetime import timedelta
from typing import Generic, TypeVar

V = TypeVar("V")


class Remembered(Generic[V]):
    """Answers kept for ``ttl`` (None: until pushed out) and at most ``size`` of them,
    the least recently used going first. Safe to share between threads (the
    verification readers run in a pool)."""

    def __init__(self, ttl: timedelta | None, size: int) -> None:
        self.ttl = ttl.total_seconds() if ttl is not None else None
        self.size = size
        self._items: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            if self.ttl is not None and time.monotonic() - found[0] >= self.ttl:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return found[1]

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._items[key] = (time.monotonic(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
