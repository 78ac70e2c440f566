"""An item's details: the item with the user's watch state, its children, files, people and
images. Columns and joins are the browse query's (:mod:`store.media_browse`)."""

from __future__ import annotations

import uuid

from store.db import Database, Record
from store.media_browse import _FROM, _ITEM_COLUMNS
from store.sql import sql

ITEM = sql(
    f"""
    SELECT {_ITEM_COLUMNS}, i.overview, i.tagline, i.studios, i.mpaa, i.edition,
           i.external_ids::text AS external_ids, i.present
    {_FROM}
    WHERE i.id = $2
    """
)
CHILDREN = sql(
    f"""
    SELECT {_ITEM_COLUMNS}
    {_FROM}
    WHERE i.parent_id = $2 AND i.present
    ORDER BY i.season_number NULLS LAST, i.episode_numbers NULLS LAST, i.sort_title, i.id
    """
)
ITEM_FILES = sql(
    """
    SELECT f.id, f.library_id, f.path, f.size_bytes, f.version, f.part, f.extra_kind,
           f.media_info::text AS media_info, f.analysis_error, f.present,
           f.parsed->>'edition' AS edition
    FROM media_files f
    WHERE f.item_id = $1
    ORDER BY f.extra_kind NULLS FIRST, f.version NULLS FIRST, f.part NULLS FIRST, f.path
    """
)
ITEM_PEOPLE = sql(
    """
    SELECT p.id, p.name, ip.kind, ip.role, p.image_id
    FROM item_people ip JOIN people p ON p.id = ip.person_id
    WHERE ip.item_id = $1
    ORDER BY ip.kind, ip.ord, p.name
    """
)
ITEM_IMAGES = sql("SELECT kind, image_id FROM item_images WHERE item_id = $1 ORDER BY kind")


async def item(db: Database, user_id: uuid.UUID, item_id: uuid.UUID) -> Record | None:
    return await db.fetchrow(ITEM, user_id, item_id)


async def children(db: Database, user_id: uuid.UUID, item_id: uuid.UUID) -> list[Record]:
    return await db.fetch(CHILDREN, user_id, item_id)


async def item_files(db: Database, item_id: uuid.UUID) -> list[Record]:
    return await db.fetch(ITEM_FILES, item_id)


async def item_people(db: Database, item_id: uuid.UUID) -> list[Record]:
    return await db.fetch(ITEM_PEOPLE, item_id)


async def item_images(db: Database, item_id: uuid.UUID) -> list[Record]:
    return await db.fetch(ITEM_IMAGES, item_id)
