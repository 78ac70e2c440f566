"""Browse data for the screens: from the replica when there is one, else from the server.

The replica (LMDB, memory-mapped) answers in microseconds and offline, so it is always asked
first; the server is the fallback for a first start before the replica has its snapshot, and for
what the replica does not hold. Replica reads are synchronous and cheap; API reads are awaited.
"""

from __future__ import annotations

import uuid
from typing import Any

from sync.client_errors import ServerUnreachable
from sync.query import MediaKind, MediaQuery, SortBy, SortOrder
from ui.domains.services import Services
from ui.domains.views import (
    CardView,
    DetailView,
    LibraryView,
    card_from_api,
    card_from_replica,
    detail_from_api,
    detail_from_replica,
)

HomeRow = tuple[str, list[CardView]]


def replica_ready(services: Services) -> bool:
    replica = services.replica
    return replica is not None and not getattr(replica, "needs_snapshot", True)


def _watch(replica: Any, item_id: uuid.UUID) -> Any:
    try:
        return replica.watch(item_id)
    except (KeyError, AttributeError):
        return None


def _cards(replica: Any, cards: list[Any]) -> list[CardView]:
    return [card_from_replica(c, _watch(replica, c.id)) for c in cards]


async def libraries(services: Services) -> list[LibraryView]:
    if replica_ready(services):
        return [
            LibraryView(id=lib.id, name=lib.name, kind=lib.kind)
            for lib in services.replica.libraries()
        ]
    if services.api is None:
        raise ServerUnreachable("", "no server chosen")
    found = await services.api.libraries()
    return [LibraryView(id=lib.id, name=lib.name, kind=lib.kind) for lib in found.libraries]


async def home_rows(services: Services, libs: list[LibraryView]) -> list[HomeRow]:
    """Continue Watching, Next Up, then Recently Added per library (empty rows left out)."""
    rows: list[HomeRow] = []
    if replica_ready(services):
        replica = services.replica
        rows.append(("Continue Watching", _cards(replica, replica.continue_watching())))
        rows.append(("Next Up", _cards(replica, replica.next_up())))
        for lib in libs:
            rows.append(
                (f"Recently Added in {lib.name}", _cards(replica, replica.recently_added(lib.id)))
            )
    else:
        api = services.api
        if api is None:
            raise ServerUnreachable("", "no server chosen")
        rows.append(
            ("Continue Watching", [card_from_api(i) for i in (await api.continue_watching()).items])
        )
        rows.append(("Next Up", [card_from_api(i) for i in (await api.next_up()).items]))
        for lib in libs:
            recent = await api.recently_added(lib.id)
            rows.append(
                (
                    f"Recently Added in {lib.name}",
                    [card_from_api(i) for i in recent.items if i.kind != "episode"],
                )
            )
    return [(title, cards) for title, cards in rows if cards]


async def library_cards(
    services: Services, library: LibraryView, offset: int = 0, limit: int = 500
) -> tuple[list[CardView], int]:
    """One page of a library's top-level items (movies, or series), by title."""
    top: MediaKind = "movie" if library.kind == "movies" else "series"
    if replica_ready(services):
        replica = services.replica
        cards = replica.cards(library.id, SortBy.TITLE, SortOrder.ASC, offset, limit)
        return _cards(replica, cards), int(replica.count(library.id))
    if services.api is None:
        raise ServerUnreachable("", "no server chosen")
    result = await services.api.query(
        MediaQuery(library_ids=[library.id], kinds=[top], limit=limit, offset=offset)
    )
    return [card_from_api(i) for i in result.items], result.total or len(result.items)


async def detail(services: Services, item_id: uuid.UUID) -> DetailView:
    replica = services.replica
    if replica_ready(services):
        try:
            record = replica.item(item_id)
        except KeyError:
            record = None
        if record is not None:
            children = _cards(replica, replica.children(item_id))
            return detail_from_replica(record, children, _watch(replica, item_id))
    if services.api is None:
        raise ServerUnreachable("", "no server chosen")
    return detail_from_api(await services.api.item(item_id))
