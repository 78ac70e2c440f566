"""SQL of the sync feed: the change log (filled by migration 0007's triggers) and the browse set.

Records are built as JSON by Postgres in the exact shape of ``sync.feed_types.ItemRecord``, so
the appliance decodes each with one msgspec call instead of assembling it from five queries.
The appliance keeps them msgpack-encoded in ``sync_item_records`` (migration 0011); a snapshot
takes a stored record where it is still current and builds the JSON only for the others.
"""

from __future__ import annotations

import uuid
import zlib
from datetime import timedelta
from typing import Literal

import msgspec

from store.db import Connection, Database
from store.sql import sql
from store.watch_state import WatchStateRow
from sync.feed_types import ItemRecord


def series_sql(i: str) -> tuple[str, str]:
    """SQL of (series id, series title) of item alias ``i``: a season's series is its parent,
    an episode's its grandparent (series -> season -> episode); NULL for films and series."""
    series_id = (
        f"CASE {i}.kind WHEN 'season' THEN {i}.parent_id WHEN 'episode' THEN "
        f"(SELECT p.parent_id FROM media_items p WHERE p.id = {i}.parent_id) END"
    )
    return series_id, f"(SELECT s.title FROM media_items s WHERE s.id = {series_id})"


_RECORD_JSON = """
    json_build_object(
        'id', i.id, 'library_id', i.library_id, 'kind', i.kind, 'parent_id', i.parent_id,
        'title', i.title, 'original_title', i.original_title, 'sort_title', i.sort_title,
        'year', i.year, 'release_date', i.release_date, 'air_date', i.air_date,
        'season_number', i.season_number, 'episode_numbers', i.episode_numbers,
        'series_id', SERIES_ID, 'series_title', SERIES_TITLE,
        'rating', i.rating, 'runtime_minutes', i.runtime_minutes, 'genres', i.genres,
        'added_at', i.added_at, 'overview', i.overview, 'tagline', i.tagline,
        'studios', i.studios, 'mpaa', i.mpaa,
        'placeholder_color', i.placeholder ->> 'color', 'blurhash', i.placeholder ->> 'blurhash',
        'images', coalesce((
            SELECT json_agg(json_build_object('kind', ii.kind, 'image_id', ii.image_id)
                            ORDER BY ii.kind)
            FROM item_images ii WHERE ii.item_id = i.id), '[]'::json),
        'poster_image_id', (SELECT ii.image_id FROM item_images ii
                            WHERE ii.item_id = i.id AND ii.kind = 'poster'),
        'backdrop_image_id', (SELECT ii.image_id FROM item_images ii
                              WHERE ii.item_id = i.id AND ii.kind = 'backdrop'),
        'people', coalesce((
            SELECT json_agg(json_build_object('id', c.id, 'name', c.name, 'kind', c.kind,
                                              'role', c.role, 'image_id', c.image_id))
            FROM (SELECT p.id, p.name, ip.kind, ip.role, p.image_id
                  FROM item_people ip JOIN people p ON p.id = ip.person_id
                  WHERE ip.item_id = i.id
                  ORDER BY ip.kind, ip.ord, p.name LIMIT 40) c), '[]'::json),
        'files', coalesce((
            SELECT json_agg(json_build_object(
                'id', f.id, 'file_name', regexp_replace(f.path, '^.*/', ''),
                'size_bytes', f.size_bytes,
                'duration_s', (f.media_info ->> 'duration_s')::float8,
                'container', f.media_info ->> 'container',
                'video_codec', f.media_info -> 'video' ->> 'codec',
                'width', (f.media_info -> 'video' ->> 'width')::integer,
                'height', (f.media_info -> 'video' ->> 'height')::integer,
                'hdr', f.media_info -> 'video' ->> 'hdr',
                'audio', coalesce((
                    SELECT json_agg(concat_ws(' ', a ->> 'language', a ->> 'codec',
                                              a ->> 'channel_layout'))
                    FROM jsonb_array_elements(f.media_info -> 'audio') a), '[]'::json),
                'subtitles', coalesce((
                    SELECT json_agg(concat_ws(' ', s ->> 'language', s ->> 'codec',
                                              CASE WHEN (s ->> 'external')::boolean
                                                   THEN '(external)' END))
                    FROM jsonb_array_elements(f.media_info -> 'subtitles') s), '[]'::json),
                'version', f.version, 'part', f.part)
                ORDER BY f.version NULLS FIRST, f.part NULLS FIRST, f.path)
            FROM media_files f
            WHERE f.item_id = i.id AND f.present AND f.extra_kind IS NULL), '[]'::json)
    )::text
""".replace("SERIES_ID", series_sql("i")[0]).replace("SERIES_TITLE", series_sql("i")[1])
_RECORD = f"{_RECORD_JSON} AS record"

# What the stored bytes mean: the record's SQL and the ItemRecord wire shape. A version of the
# appliance that builds or encodes records differently never sends (and rewrites) records stored
# by another.
RECORD_FORMAT = (
    zlib.crc32(_RECORD_JSON.encode() + msgspec.json.encode(msgspec.json.schema(ItemRecord)))
    & 0x7FFFFFFF
)

# The stored record of item i, joined only while it is current: in this format, written as of
# change-log sequence r.seq, with every change after r.seq still in the log and none of them
# for i.
_CURRENT_RECORD = f"""
    LEFT JOIN sync_item_records r
        ON r.item_id = i.id
        AND r.format = {RECORD_FORMAT}
        AND r.seq >= (SELECT pruned_through FROM sync_retention)
        AND NOT EXISTS (SELECT 1 FROM sync_changes c
                        WHERE c.entity = 'item' AND c.entity_id = i.id AND c.seq > r.seq)
"""

_WATCH = """
    ws.item_id, ws.position_s, ws.duration_s, ws.completed, ws.play_count, ws.last_played_at,
    ws.client_ts, ws.device_id
"""

HIGH_WATER = sql(
    "SELECT greatest((SELECT max(seq) FROM sync_changes), "
    "(SELECT pruned_through FROM sync_retention))"
)
PRUNED_THROUGH = sql("SELECT pruned_through FROM sync_retention")
CHANGES_PAGE = sql(
    """
    SELECT seq, entity, entity_id, library_id, user_id
    FROM sync_changes
    WHERE seq > $1 AND (user_id IS NULL OR user_id = $2)
    ORDER BY seq
    LIMIT $3
    """
)
LIBRARIES = sql(
    "SELECT id, name, kind FROM libraries "
    "WHERE $1::uuid[] IS NULL OR id = ANY($1::uuid[]) ORDER BY name, id"
)
LIBRARIES_BY_ID = sql("SELECT id, name, kind FROM libraries WHERE id = ANY($1::uuid[])")
# packed: the stored msgpack record when current; else record: the JSON, built only then
SNAPSHOT_ITEMS = sql(
    f"""
    SELECT i.id, r.record AS packed,
           CASE WHEN r.record IS NULL THEN {_RECORD_JSON} END AS record
    FROM media_items i
    {_CURRENT_RECORD}
    WHERE i.present AND i.id > $1 AND ($3::uuid[] IS NULL OR i.library_id = ANY($3::uuid[]))
    ORDER BY i.id
    LIMIT $2
    """
)
ITEMS_BY_ID = sql(
    f"""
    SELECT i.id, {_RECORD}
    FROM media_items i
    WHERE i.present AND i.id = ANY($1::uuid[])
    """
)
# Present items (id > $1, in id order, at most $2) whose stored record is missing or outdated,
# with their record as JSON: the appliance encodes and stores them (STORE_RECORDS).
STALE_RECORDS = sql(
    f"""
    SELECT i.id, {_RECORD}
    FROM media_items i
    {_CURRENT_RECORD}
    WHERE i.present AND i.id > $1 AND r.item_id IS NULL
    ORDER BY i.id
    LIMIT $2
    """
)
# $1 ids, $2 msgpack records, $3 the sequence they are current at. An item deleted meanwhile is
# skipped; a row already written as of a later sequence is kept.
STORE_RECORDS = sql(
    f"""
    INSERT INTO sync_item_records (item_id, seq, format, record)
    SELECT n.id, $3::bigint, {RECORD_FORMAT}, n.record
    FROM unnest($1::uuid[], $2::bytea[]) AS n(id, record)
    WHERE EXISTS (SELECT 1 FROM media_items i WHERE i.id = n.id)
    ON CONFLICT (item_id) DO UPDATE
        SET seq = excluded.seq, format = excluded.format, record = excluded.record
    WHERE sync_item_records.seq < excluded.seq OR sync_item_records.format <> excluded.format
    """
)
ITEMS_CHANGED_AFTER = sql(
    "SELECT EXISTS (SELECT 1 FROM sync_changes WHERE seq > $1 AND entity = 'item')"
)
WATCH_OF_USER = sql(
    f"""
    SELECT {_WATCH}
    FROM watch_state ws JOIN media_items i ON i.id = ws.item_id AND i.present
    WHERE ws.user_id = $1 AND ($2::uuid[] IS NULL OR i.library_id = ANY($2::uuid[]))
    """
)
WATCH_BY_ID = sql(
    f"""
    SELECT {_WATCH}
    FROM watch_state ws JOIN media_items i ON i.id = ws.item_id AND i.present
    WHERE ws.user_id = $1 AND ws.item_id = ANY($2::uuid[])
    """
)
PRUNE = sql(
    """
    WITH gone AS (
        DELETE FROM sync_changes
        WHERE at < now() - $1::interval
        RETURNING seq
    )
    UPDATE sync_retention
    SET pruned_through = greatest(pruned_through, coalesce((SELECT max(seq) FROM gone), 0))
    RETURNING pruned_through
    """
)


class ChangeRow(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of the change log."""

    seq: int
    entity: str
    """``library``, ``item``, ``watch`` or ``access``."""
    entity_id: uuid.UUID
    library_id: uuid.UUID | None
    user_id: uuid.UUID | None


class LibraryRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    kind: Literal["movies", "series"]


class ItemRecordRow(msgspec.Struct, frozen=True, kw_only=True):
    """An item's record: ``packed`` (msgpack, stored and current) or ``record`` (JSON text)."""

    id: uuid.UUID
    record: str | None = None
    packed: bytes | None = None


async def high_water(db: Database | Connection) -> int:
    return int(await db.fetchval(HIGH_WATER) or 0)


async def pruned_through(conn: Connection) -> int:
    return int(await conn.fetchval(PRUNED_THROUGH))


async def changes_page(
    conn: Connection, since: int, user_id: uuid.UUID, limit: int
) -> list[ChangeRow]:
    return [ChangeRow(**r) for r in await conn.fetch(CHANGES_PAGE, since, user_id, limit)]


async def libraries(conn: Connection, visible: list[uuid.UUID] | None) -> list[LibraryRow]:
    return [LibraryRow(**r) for r in await conn.fetch(LIBRARIES, visible)]


async def libraries_by_id(conn: Connection, ids: list[uuid.UUID]) -> list[LibraryRow]:
    return [LibraryRow(**r) for r in await conn.fetch(LIBRARIES_BY_ID, ids)]


async def snapshot_items(
    conn: Connection, after: uuid.UUID, limit: int, visible: list[uuid.UUID] | None
) -> list[ItemRecordRow]:
    return [ItemRecordRow(**r) for r in await conn.fetch(SNAPSHOT_ITEMS, after, limit, visible)]


async def stale_records(conn: Connection, after: uuid.UUID, limit: int) -> list[ItemRecordRow]:
    return [ItemRecordRow(**r) for r in await conn.fetch(STALE_RECORDS, after, limit)]


async def store_records(
    conn: Connection, ids: list[uuid.UUID], records: list[bytes], seq: int
) -> None:
    await conn.execute(STORE_RECORDS, ids, records, seq)


async def items_changed_after(db: Database, seq: int) -> bool:
    return bool(await db.fetchval(ITEMS_CHANGED_AFTER, seq))


async def items_by_id(conn: Connection, ids: list[uuid.UUID]) -> list[ItemRecordRow]:
    return [ItemRecordRow(**r) for r in await conn.fetch(ITEMS_BY_ID, ids)]


async def watch_of_user(
    conn: Connection, user_id: uuid.UUID, visible: list[uuid.UUID] | None
) -> list[WatchStateRow]:
    return [WatchStateRow(**r) for r in await conn.fetch(WATCH_OF_USER, user_id, visible)]


async def watch_by_id(
    conn: Connection, user_id: uuid.UUID, item_ids: list[uuid.UUID]
) -> list[WatchStateRow]:
    return [WatchStateRow(**r) for r in await conn.fetch(WATCH_BY_ID, user_id, item_ids)]


async def prune(db: Database, older_than: timedelta) -> int:
    """Delete feed entries older than the retention; returns the new pruned-through sequence."""
    return int(await db.fetchval(PRUNE, older_than))
