"""What the grid asks the image service for and what it gets back (shared, Qt-free)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ui.grid.demand import Priority

RGBA = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class PosterRequest:
    image_id: str
    width: int  # physical pixels on screen (logical width times device pixel ratio)
    height: int
    priority: Priority


@dataclass(frozen=True)
class ReadyPoster:
    image_id: str
    rgba: RGBA  # height, width, 4 (RGBA), exactly the requested size


class PosterProvider(Protocol):
    def set_demand(self, wanted: Sequence[PosterRequest]) -> None:
        """Replace the wanted set: work for images no longer in it is cancelled."""

    def take_ready(self, limit: int) -> list[ReadyPoster]:
        """Decoded posters waiting for upload, highest priority first."""
