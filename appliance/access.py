"""Per-user library access: which libraries a user may browse, stream and replicate.

One place decides, so the library and media APIs, metadata, images, streaming, the event
streams and the sync feed cannot disagree. A library the user may not see answers exactly like
one that does not exist (404), so ids are not probed.
"""

from __future__ import annotations

import uuid
from typing import Any

from appliance.errors import NotFound
from appliance.state import AppState
from store import library_access
from sync.errors import ErrorCode

_NONE = [uuid.UUID(int=0)]  # matches no library: an empty intersection must not mean "all"


async def visible(state: AppState, user_id: uuid.UUID) -> list[uuid.UUID] | None:
    """None: every library; otherwise only these."""
    return await library_access.visible(state.db, user_id)


def allows(visible_ids: list[uuid.UUID] | None, library_id: uuid.UUID) -> bool:
    return visible_ids is None or library_id in visible_ids


def scope(
    requested: list[uuid.UUID] | None, visible_ids: list[uuid.UUID] | None
) -> list[uuid.UUID] | None:
    """The libraries a query may search: what was asked for, narrowed to what may be seen."""
    if visible_ids is None:
        return requested or None
    narrowed = [i for i in (requested or visible_ids) if i in visible_ids]
    return narrowed or _NONE


async def require_item(state: AppState, user_id: uuid.UUID, item_id: uuid.UUID) -> str:
    """The item's kind, or 404 if it does not exist or lies in a library the user may not see."""
    place = await library_access.item_place(state.db, item_id)
    if place is None or not allows(await visible(state, user_id), place[1]):
        raise NotFound(ErrorCode.NOT_FOUND, f"no item {item_id}")
    return place[0]


async def require_library(state: AppState, user_id: uuid.UUID, library_id: uuid.UUID) -> None:
    """404 unless the user may see this library (whether it exists is the caller's check)."""
    if not allows(await visible(state, user_id), library_id):
        raise NotFound(ErrorCode.NOT_FOUND, f"no library {library_id}")


async def require_image(state: AppState, user_id: uuid.UUID, image_id: str) -> None:
    """404 unless the image belongs to an item (or a person of an item) the user may see.
    A user who sees every library skips the query."""
    ids = await visible(state, user_id)
    if ids is not None and not await library_access.image_visible(state.db, image_id, ids):
        raise NotFound(ErrorCode.NOT_FOUND, "no such image")


MANAGER_EVENTS = ("job.",)
"""Event types only for those who manage libraries: a failed job's error names files."""
ACCESS_CHANGED = "access.changed"
"""Published (with ``user_id``) when a user's library limits change: their event streams
re-read them before forwarding anything else."""


def event_allowed(
    event_type: str,
    data: dict[str, Any],
    user_id: str,
    visible_ids: list[uuid.UUID] | None,
    manager: bool,
) -> bool:
    """Whether a bus event may go to this user's SSE stream or WebSocket: another user's
    events never, a hidden library's never, job internals only to library managers."""
    owner = data.get("user_id")
    if owner is not None and owner != user_id:
        return False
    if event_type.startswith(MANAGER_EVENTS) and not manager:
        return False
    library = data.get("library_id")
    if library is not None and visible_ids is not None:
        try:
            return uuid.UUID(str(library)) in visible_ids
        except ValueError:
            return False
    return True


class EventFilter:
    """``event_allowed`` for one open stream, with the user's library limits read at the
    start and again whenever an ``access.changed`` event of theirs passes by."""

    def __init__(self, state: AppState, user_id: str, manager: bool) -> None:
        self._state = state
        self.user_id = user_id
        self.manager = manager
        self.visible_ids: list[uuid.UUID] | None = None

    async def load(self) -> None:
        self.visible_ids = await visible(self._state, uuid.UUID(self.user_id))

    async def allows(self, event_type: str, data: dict[str, Any]) -> bool:
        if event_type == ACCESS_CHANGED and data.get("user_id") == self.user_id:
            await self.load()
        return event_allowed(event_type, data, self.user_id, self.visible_ids, self.manager)
