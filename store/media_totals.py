"""Totals of media queries, remembered until the library changes.

Counting every match is the one part of a media query that cannot stop after a page (about 29k
index or heap entries for "all movies" on a 30k library), and players ask for the same total over
and over: every page of a grid, every return to a screen. A total is exact for a given state of
the index, and that state has a version for free: the sync feed's change log (migration 0007)
gets a row, written by triggers in the writer's own transaction, for every change to an item's
listed fields or presence, to a file's presence, media info or item (which the resolution/HDR
summary of 0008 derives from), and to watch state; commit order equals sequence order. So a total
counted in a snapshot whose high-water mark is H is still the total in any later snapshot whose
high-water mark is H. Library access needs no version: it narrows ``library_ids``, which is part
of the key.

A moved mark does not always mean a new count: the changes logged since H say what they touched
(an item or library with its library, a user's watch state), and a total is only recounted when
one of them is within its libraries or, for a watch-status filter, its user's watch state
(``store.media_browse.CHANGED_SINCE``). A player's progress heartbeat every 10 s thus leaves every
other total cached; a scan of one library leaves the totals of the others.

One cache per :class:`~store.db.Database` (two databases never share totals), bounded and LRU.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Hashable

from store.db import Database

MAX_ENTRIES = 512


class Totals:
    """Total per filter key, each with the high-water mark it was counted at."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[Hashable, tuple[int, int]] = OrderedDict()
        self._max = max_entries

    def get(self, key: Hashable) -> tuple[int, int] | None:
        """(high-water mark, total) last counted for the key: the caller decides whether it
        still holds (same mark, or only irrelevant changes logged since)."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: Hashable, high_water: int | None, total: int) -> None:
        if high_water is None:
            return
        self._entries[key] = (high_water, total)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


_BY_DATABASE: weakref.WeakKeyDictionary[Database, Totals] = weakref.WeakKeyDictionary()


def totals_for(db: Database) -> Totals:
    totals = _BY_DATABASE.get(db)
    if totals is None:
        totals = _BY_DATABASE[db] = Totals()
    return totals
