"""Per-user library access: which libraries a user may browse, stream and replicate.

One place decides, so the media API, streaming and the sync feed cannot disagree. A library the
user may not see answers exactly like one that does not exist (404), so ids are not probed.
"""

from __future__ import annotations

import uuid

from appliance.api.errors import ApiError
from appliance.state import AppState
from store import library_access

_NONE = [uuid.UUID(int=0)]  # matches no library: an empty intersection must not mean "all"


async def visible(state: AppState, user_id: uuid.UUID) -> list[uuid.UUID] | None:
    """None: every library; otherwise only these."""
    return await library_access.visible(state.db, user_id)


def allows(visible_ids: list[uuid.UUID] | None, library_id: uuid.UUID) -> bool:
    return visible_ids is None or library_id in visible_ids


def scope(requested: list[uuid.UUID] | None,
          visible_ids: list[uuid.UUID] | None) -> list[uuid.UUID] | None:
    """The libraries a query may search: what was asked for, narrowed to what may be seen."""
    if visible_ids is None:
        return requested or None
    narrowed = [i for i in (requested or visible_ids) if i in visible_ids]
    return narrowed or _NONE


async def require_item(state: AppState, user_id: uuid.UUID, item_id: uuid.UUID) -> str:
    """The item's kind, or 404 if it does not exist or lies in a library the user may not see."""
    place = await library_access.item_place(state.db, item_id)
    if place is None or not allows(await visible(state, user_id), place[1]):
        raise ApiError(404, "not_found", f"no item {item_id}")
    return place[0]
