"""Shared by the grid tests and the grid bench: generated cards and an in-process poster source."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import numpy as np

from sync.feed_types import Card
from ui.images.types import PosterRequest, ReadyPoster

LIBRARY = uuid.UUID(int=1)
PALETTE = 64


def poster_colour(i: int) -> tuple[int, int, int]:
    return (40 + (i * 37) % 180, 60 + (i * 91) % 160, 80 + (i * 53) % 150)


def placeholder(i: int) -> str:
    r, g, b = poster_colour(i)
    return f"#{r // 2:02x}{g // 2:02x}{b // 2:02x}"


def make_cards(n: int) -> list[Card]:
    return [
        Card(
            uuid.UUID(int=1000 + i),
            LIBRARY,
            "movie",
            f"Generated film {i}",
            1950 + i % 70,
            placeholder(i),
            f"{i:064x}",
        )
        for i in range(n)
    ]


def poster_pixels(image_id: str, width: int, height: int) -> np.ndarray:
    """A poster in the card's colour with a lighter band, so a sampled pixel tells which it is."""
    i = int(image_id, 16)
    rgba = np.empty((height, width, 4), np.uint8)
    rgba[..., :3] = poster_colour(i)
    rgba[..., 3] = 255
    rgba[height // 8 : height // 8 + max(2, height // 40), :, :3] = 250
    return rgba


class GeneratedPosters:
    """PosterProvider that "decodes" instantly (or only when released, for before/after tests)."""

    def __init__(self, hold: bool = False) -> None:
        self.hold = hold
        self.wanted: list[PosterRequest] = []
        self.demands: list[list[PosterRequest]] = []
        self.delivered = 0
        self._cache: dict[tuple[int, int, int], np.ndarray] = {}

    def set_demand(self, wanted: Sequence[PosterRequest]) -> None:
        self.wanted = list(wanted)
        self.demands.append(list(wanted))

    def pixels(self, request: PosterRequest) -> np.ndarray:
        """Posters repeat every PALETTE cards, made once: "decoding" happens elsewhere in the app
        (a worker thread), so the frame should not pay for it here either."""
        key = (int(request.image_id, 16) % PALETTE, request.width, request.height)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = poster_pixels(f"{key[0]:064x}", key[1], key[2])
        return cached

    def take_ready(self, limit: int) -> list[ReadyPoster]:
        if self.hold:
            return []
        out = [ReadyPoster(r.image_id, self.pixels(r)) for r in self.wanted[:limit]]
        self.wanted = self.wanted[limit:]
        self.delivered += len(out)
        return out
