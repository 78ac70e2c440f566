"""Which episodes still want a frame grab as their thumbnail (see appliance.scan.frame_chain)."""

from __future__ import annotations

import uuid

from store.db import Connection, Database
from store.sql import sql

# An episode's main file whose analysis has just recorded a duration, whose item the metadata
# stage has already seen (so the ImageFetch it queued ran, or runs, without that duration) and
# that has no thumbnail from anywhere yet.
WANTS_FRAME = sql(
    """
    SELECT i.id FROM media_files f JOIN media_items i ON i.id = f.item_id
    WHERE f.id = $1 AND f.present AND f.extra_kind IS NULL AND i.kind = 'episode'
        AND i.metadata_at IS NOT NULL AND (f.media_info->>'duration_s')::float > 0
        AND NOT EXISTS (SELECT 1 FROM item_images t WHERE t.item_id = i.id AND t.kind = 'thumb')
    """
)
WITH_THUMB = sql(
    "SELECT item_id FROM item_images WHERE item_id = ANY($1::uuid[]) AND kind = 'thumb'"
)


async def wants_frame(conn: Connection, file_id: uuid.UUID) -> uuid.UUID | None:
    item_id: uuid.UUID | None = await conn.fetchval(WANTS_FRAME, file_id)
    return item_id


async def with_thumb(db: Database | Connection, item_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """The items among these that have a thumbnail already (no frame is grabbed for them)."""
    return {r["item_id"] for r in await db.fetch(WITH_THUMB, item_ids)} if item_ids else set()
