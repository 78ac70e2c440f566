"""WeightedFairScheduler: which (priority band, library) gets the next job.

Two levels of smooth weighted round robin (the nginx algorithm: deterministic, no bursts):
bands P0..P3 weighted 8/4/2/1 so urgent work dominates without starving background work, and
inside a band the libraries take turns, so a 20k-file library never starves a 50-file one.
A library at its in-flight cap sits out until one of its jobs finishes.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Iterable, Mapping
from typing import Generic, TypeVar

LibraryKey = uuid.UUID | None
Choice = tuple[int, LibraryKey]

BAND_WEIGHTS: dict[int, int] = {0: 8, 1: 4, 2: 2, 3: 1}
K = TypeVar("K", bound=Hashable)


class SmoothWeightedRoundRobin(Generic[K]):
    """Each pick: every present candidate gains its weight; the richest is picked and pays the
    total. Candidates that are absent lose their credit, so returning ones cannot burst."""

    def __init__(self) -> None:
        self._current: dict[K, int] = {}

    def pick(self, candidates: Iterable[tuple[K, int]]) -> K | None:
        present = [(key, weight) for key, weight in candidates if weight > 0]
        if not present:
            return None
        keys = {key for key, _ in present}
        for key in list(self._current):
            if key not in keys:
                del self._current[key]
        total = 0
        best: K | None = None
        for key, weight in sorted(present, key=lambda kw: str(kw[0])):
            self._current[key] = self._current.get(key, 0) + weight
            total += weight
            if best is None or self._current[key] > self._current[best]:
                best = key
        assert best is not None
        self._current[best] -= total
        return best


class WeightedFairScheduler:
    def __init__(
        self, per_library_cap: int = 4, band_weights: Mapping[int, int] | None = None
    ) -> None:
        self.per_library_cap = per_library_cap
        self.band_weights = dict(band_weights or BAND_WEIGHTS)
        self._bands: SmoothWeightedRoundRobin[int] = SmoothWeightedRoundRobin()
        self._libraries: dict[int, SmoothWeightedRoundRobin[LibraryKey]] = {}

    def next(
        self, eligible: Mapping[Choice, int], in_flight: Mapping[LibraryKey, int]
    ) -> Choice | None:
        """The (band, library) to claim from next, or None if nothing may run now."""
        open_work: dict[int, list[LibraryKey]] = {}
        for (band, library), ready in eligible.items():
            if ready > 0 and in_flight.get(library, 0) < self.per_library_cap:
                open_work.setdefault(band, []).append(library)
        chosen = self._bands.pick((b, self.band_weights.get(b, 1)) for b in open_work)
        if chosen is None:
            return None
        rotation = self._libraries.setdefault(chosen, SmoothWeightedRoundRobin())
        # never empty here, so None means the key None: jobs that belong to no library
        library = rotation.pick((lib, 1) for lib in open_work[chosen])
        return chosen, library
