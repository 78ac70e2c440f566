"""SQL of per-user library access (``users.library_ids``: NULL means every library)."""

from __future__ import annotations

import uuid

from store.db import Connection, Database
from store.sql import sql

GET = sql("SELECT library_ids FROM users WHERE id = $1")
SET = sql("UPDATE users SET library_ids = $2::uuid[] WHERE id = $1 RETURNING id")
UNKNOWN = sql("SELECT x FROM unnest($1::uuid[]) x WHERE x NOT IN (SELECT id FROM libraries)")


async def visible(db: Database | Connection, user_id: uuid.UUID) -> list[uuid.UUID] | None:
    ids = await db.fetchval(GET, user_id)
    return None if ids is None else list(ids)


async def set_visible(
    db: Database, user_id: uuid.UUID, library_ids: list[uuid.UUID] | None
) -> bool:
    return await db.fetchval(SET, user_id, library_ids) is not None


async def unknown(db: Database, library_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    return [r["x"] for r in await db.fetch(UNKNOWN, library_ids)]


ITEM_PLACE = sql("SELECT kind, library_id FROM media_items WHERE id = $1")


async def item_place(db: Database, item_id: uuid.UUID) -> tuple[str, uuid.UUID] | None:
    row = await db.fetchrow(ITEM_PLACE, item_id)
    return None if row is None else (row["kind"], row["library_id"])


IMAGE_VISIBLE = sql(
    """
    SELECT EXISTS (SELECT 1 FROM item_images ii JOIN media_items i ON i.id = ii.item_id
                   WHERE ii.image_id = $1 AND i.library_id = ANY($2::uuid[]))
        OR EXISTS (SELECT 1 FROM people p JOIN item_people ip ON ip.person_id = p.id
                   JOIN media_items i ON i.id = ip.item_id
                   WHERE p.image_id = $1 AND i.library_id = ANY($2::uuid[]))
    """
)


async def image_visible(db: Database, image_id: str, library_ids: list[uuid.UUID]) -> bool:
    """Whether an item (or a person of an item) in these libraries shows this image."""
    return bool(await db.fetchval(IMAGE_VISIBLE, image_id, library_ids))
