"""A memory cache bounded by bytes, not entries: one 4K poster weighs as much as 40 thumbnails."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ByteLRU(Generic[K, V]):
    def __init__(self, max_bytes: int, size_of: Callable[[V], int]) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self._size_of = size_of
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: K) -> bool:
        return key in self._items

    def get(self, key: K) -> V | None:
        item = self._items.get(key)
        if item is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return item[0]

    def clear(self) -> int:
        """Drop everything; returns the bytes dropped."""
        dropped, self.bytes = self.bytes, 0
        self._items.clear()
        return dropped

    def put(self, key: K, value: V) -> list[K]:
        """Insert (or replace) and evict least recently used entries; returns the evicted keys.
        A value larger than the whole cache is not kept."""
        size = self._size_of(value)
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        if size > self.max_bytes:
            return []
        self._items[key] = (value, size)
        self.bytes += size
        evicted: list[K] = []
        while self.bytes > self.max_bytes:
            gone, (_, gone_size) = self._items.popitem(last=False)
            self.bytes -= gone_size
            evicted.append(gone)
        return evicted
