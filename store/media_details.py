"""An item's details: the item with the user's watch state, its children, files, people and
images. Columns and joins are the browse query's (:mod:`store.media_browse`)."""

from __future__ import annotations

import uuid

import msgspec

from store.db import Database
from store.media_browse import _FROM, _ITEM_COLUMNS, ItemRow
from store.sql import sql


class ItemDetailRow(ItemRow, kw_only=True, frozen=True):
    """An item with the fields only its details show."""

    overview: str | None
    tagline: str | None
    studios: list[str] | None
    mpaa: str | None
    edition: str | None
    external_ids: str | None
    """JSON text."""
    present: bool


class FileRow(msgspec.Struct, kw_only=True, frozen=True):
    id: uuid.UUID
    library_id: uuid.UUID
    path: str
    """As stored (``store.paths.from_db`` turns it into the file system's name)."""
    size_bytes: int
    version: str | None
    part: int | None
    extra_kind: str | None
    media_info: str | None
    """JSON text of a ``MediaInfo``; None before analysis."""
    analysis_error: str | None
    present: bool
    edition: str | None


class PersonRow(msgspec.Struct, kw_only=True, frozen=True):
    id: uuid.UUID
    name: str
    kind: str
    role: str | None
    image_id: str | None


class ImageRow(msgspec.Struct, kw_only=True, frozen=True):
    kind: str
    image_id: str


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


async def item(db: Database, user_id: uuid.UUID, item_id: uuid.UUID) -> ItemDetailRow | None:
    row = await db.fetchrow(ITEM, user_id, item_id)
    return None if row is None else ItemDetailRow(**row)


async def children(db: Database, user_id: uuid.UUID, item_id: uuid.UUID) -> list[ItemRow]:
    return [ItemRow(**r) for r in await db.fetch(CHILDREN, user_id, item_id)]


async def item_files(db: Database, item_id: uuid.UUID) -> list[FileRow]:
    return [FileRow(**r) for r in await db.fetch(ITEM_FILES, item_id)]


async def item_people(db: Database, item_id: uuid.UUID) -> list[PersonRow]:
    return [PersonRow(**r) for r in await db.fetch(ITEM_PEOPLE, item_id)]


async def item_images(db: Database, item_id: uuid.UUID) -> list[ImageRow]:
    return [ImageRow(**r) for r in await db.fetch(ITEM_IMAGES, item_id)]
