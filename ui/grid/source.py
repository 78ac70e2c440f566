"""Where the grid's cards come from: anything with a count and pages (a list in tests, the replica
in the app), read through a small page cache so a frame never reads more than the rows it draws."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

from sync.feed_types import Card

PAGE = 256


class CardSource(Protocol):
    def count(self) -> int: ...

    def page(self, offset: int, limit: int) -> Sequence[Card]: ...


class ListSource:
    def __init__(self, cards: Sequence[Card]) -> None:
        self._cards = cards

    def count(self) -> int:
        return len(self._cards)

    def page(self, offset: int, limit: int) -> Sequence[Card]:
        return self._cards[offset : offset + limit]


class ReplicaLike(Protocol):
    def cards(
        self, library_id: uuid.UUID, sort: str, order: str, offset: int, limit: int
    ) -> list[Card]: ...

    def count(self, library_id: uuid.UUID) -> int: ...


class ReplicaSource:
    """One library of the replica in one sort order, as a CardSource."""

    def __init__(
        self, replica: ReplicaLike, library_id: uuid.UUID, sort: str = "title", order: str = "asc"
    ) -> None:
        self._replica, self._library, self._sort, self._order = replica, library_id, sort, order

    def count(self) -> int:
        return self._replica.count(self._library)

    def page(self, offset: int, limit: int) -> Sequence[Card]:
        return self._replica.cards(self._library, self._sort, self._order, offset, limit)


class CardWindow:
    """Cards by index, paged in from the source and kept for the last ``pages`` pages touched.

    ``invalidate`` drops everything when the source changed (a sync applied a change).
    """

    def __init__(self, source: CardSource, pages: int = 16) -> None:
        self.source = source
        self._pages: OrderedDict[int, Sequence[Card]] = OrderedDict()
        self._max_pages = pages
        self._count = source.count()
        self.page_reads = 0

    @property
    def count(self) -> int:
        return self._count

    def invalidate(self) -> None:
        self._pages.clear()
        self._count = self.source.count()

    def slice(self, start: int, stop: int) -> list[Card | None]:
        """Cards ``start`` to ``stop`` (a frame's visible range) a page at a time."""
        out: list[Card | None] = []
        index = max(0, start)
        stop = min(stop, self._count)
        while index < stop:
            number, at = divmod(index, PAGE)
            self.get(index)  # loads and touches the page
            page = self._pages[number]
            take = min(stop - index, PAGE - at)
            chunk = list(page[at : at + take])
            out.extend(chunk)
            out.extend([None] * (take - len(chunk)))
            index += take
        return out

    def get(self, index: int) -> Card | None:
        if index < 0 or index >= self._count:
            return None
        number, at = divmod(index, PAGE)
        page = self._pages.get(number)
        if page is None:
            page = self.source.page(number * PAGE, PAGE)
            self.page_reads += 1
            self._pages[number] = page
            while len(self._pages) > self._max_pages:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(number)
        return page[at] if at < len(page) else None
