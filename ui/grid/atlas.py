"""Slots of a texture atlas, handed out least-recently-used first (pure bookkeeping, no GL).

Posters live in one big texture cut into equal slots, so the whole grid samples one texture and is
drawn with one call. A slot in use by a card on screen is never taken for another poster.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class SlotGrid:
    texture_w: int
    texture_h: int
    slot_w: int
    slot_h: int

    @property
    def columns(self) -> int:
        return self.texture_w // self.slot_w

    @property
    def rows(self) -> int:
        return self.texture_h // self.slot_h

    @property
    def capacity(self) -> int:
        return self.columns * self.rows

    def origin(self, slot: int) -> tuple[int, int]:
        row, col = divmod(slot, self.columns)
        return col * self.slot_w, row * self.slot_h

    def uv(self, slot: int) -> tuple[float, float, float, float]:
        """(u0, v0, u1, v1) of a slot, half a texel inside so linear filtering never bleeds."""
        x, y = self.origin(slot)
        return (
            (x + 0.5) / self.texture_w,
            (y + 0.5) / self.texture_h,
            (x + self.slot_w - 0.5) / self.texture_w,
            (y + self.slot_h - 0.5) / self.texture_h,
        )


TIGHT = True
"""Size atlases to the slots asked for (see :func:`fit_slots`); False restores the old square
power-of-two sizes, which the ``player-memory`` bench measures as its "before"."""


def fit_slots(slot_w: int, slot_h: int, needed: int, max_texture: int) -> SlotGrid:
    """The smallest atlas (≤ ``max_texture`` on each side) holding ``needed`` slots; when even the
    largest cannot, the slots shrink (posters are sampled at a lower resolution) until it can.

    Why not a square power of two: at 4K with 170 px posters the grid needs ~260 poster slots,
    and the next square up (4096²) held 384, a third of its 64 MB never used; under a software
    GL driver the texture lives in the process's own memory. The width is a power of two from
    1024 and the height just the rows needed (GL ≥ 2.0 takes any size), whichever is smallest."""
    scale = 1.0
    while True:
        w, h = max(8, int(slot_w * scale)), max(8, int(slot_h * scale))
        best: SlotGrid | None = None
        size = 1024
        while size <= max_texture:
            if not TIGHT:
                grid = SlotGrid(size, size, w, h)
                if grid.capacity >= needed:
                    return grid
            elif size >= w:
                rows = -(-max(1, needed) // (size // w))
                if rows * h <= max_texture:
                    grid = SlotGrid(size, rows * h, w, h)
                    if best is None or grid.texture_w * grid.texture_h < (
                        best.texture_w * best.texture_h
                    ):
                        best = grid
            size *= 2
        if best is not None:
            return best
        scale *= 0.85


class SlotAllocator(Generic[K]):
    """Keys are poster image ids for the poster atlas and card indices for the title atlas."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._slots: OrderedDict[K, int] = OrderedDict()  # key → slot, oldest use first
        self._free = list(range(capacity - 1, -1, -1))

    def __contains__(self, key: object) -> bool:
        return key in self._slots

    def __len__(self) -> int:
        return len(self._slots)

    def lookup(self, key: K) -> int | None:
        slot = self._slots.get(key)
        if slot is not None:
            self._slots.move_to_end(key)
        return slot

    def mapping(self) -> Mapping[K, int]:
        """Key → slot, read-only, for look-ups in bulk without marking use (the per-frame draw)."""
        return self._slots

    def peek(self, key: K) -> int | None:
        """The slot without marking it used (the per-frame draw; the demand plan marks use)."""
        return self._slots.get(key)

    def allocate(self, key: K, pinned: Collection[K] = ()) -> tuple[int, K | None] | None:
        """A slot for ``key`` and the key it was taken from (or None); None when every slot is
        pinned (on screen)."""
        if key in self._slots:
            return self.lookup(key), None  # type: ignore[return-value]
        if self._free:
            slot = self._free.pop()
            self._slots[key] = slot
            return slot, None
        for old in self._slots:
            if old not in pinned:
                slot = self._slots.pop(old)
                self._slots[key] = slot
                return slot, old
        return None

    def release(self, key: K) -> None:
        slot = self._slots.pop(key, None)
        if slot is not None:
            self._free.append(slot)
