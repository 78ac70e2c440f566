"""Which episodes still want a frame grab as their thumbnail, and which films a poster made
from a frame (see appliance.scan.frame_chain and appliance.metadata.frame_poster)."""

from __future__ import annotations

import uuid

from store.db import Connection, Database
from store.sql import sql

# An episode's main file whose analysis has just recorded a duration, whose item the metadata
# stage has already seen (so the ImageFetch it queued ran, or runs, without that duration) and
# that has no thumbnail from anywhere yet; or such a film with no poster, that TMDB did not
# describe (TMDB's poster is on its way then).
WANTS_FRAME = sql(
    """
    SELECT i.id FROM media_files f JOIN media_items i ON i.id = f.item_id
    WHERE f.id = $1 AND f.present AND f.extra_kind IS NULL
        AND i.metadata_at IS NOT NULL AND (f.media_info->>'duration_s')::float > 0
        AND ((i.kind = 'episode' AND NOT EXISTS (
                SELECT 1 FROM item_images t WHERE t.item_id = i.id AND t.kind = 'thumb'))
             OR (i.kind = 'movie' AND coalesce(i.metadata_source, '') NOT LIKE '%tmdb%'
                 AND NOT EXISTS (SELECT 1 FROM item_images t
                                 WHERE t.item_id = i.id AND t.kind = 'poster')))
    """
)
WITH_POSTER = sql(
    "SELECT item_id FROM item_images WHERE item_id = ANY($1::uuid[]) AND kind = 'poster'"
)
# A generated image (source 'frame') goes where there is none, or replaces another generated
# one; a local, TMDB or chosen image is never replaced by it.
SET_GENERATED = sql(
    """
    INSERT INTO item_images (item_id, kind, image_id, source) VALUES ($1, $2, $3, 'frame')
    ON CONFLICT (item_id, kind) DO UPDATE SET image_id = EXCLUDED.image_id
        WHERE item_images.source = 'frame'
    RETURNING item_id
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


async def with_poster(db: Database | Connection, item_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """The films among these that have a poster already, of any source (none is generated)."""
    return {r["item_id"] for r in await db.fetch(WITH_POSTER, item_ids)} if item_ids else set()


async def set_generated(conn: Connection, item_id: uuid.UUID, kind: str, image_id: str) -> bool:
    """Record a generated image; False when the item has one from elsewhere (left as it is)."""
    return await conn.fetchval(SET_GENERATED, item_id, kind, image_id) is not None
