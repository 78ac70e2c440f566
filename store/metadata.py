"""Item metadata, people, images and their variants (issue 4)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import msgspec

from store.db import Connection, Database, Record
from store.sql import sql


class ItemForMetadata(msgspec.Struct, kw_only=True, frozen=True):
    """What the providers need of an item: its ids, where its files are (a film's or episode's
    first file, a season's first episode's, a series' first episode's), its parent's and
    grandparent's ids (a season or episode is looked up under its series)."""

    id: uuid.UUID
    kind: str
    library_id: uuid.UUID
    parent_id: uuid.UUID | None
    title: str
    year: int | None
    season_number: int | None
    episode_numbers: list[int] | None
    external_ids: str | None
    """JSON text."""
    locked_fields: list[str] | None
    identified: str | None
    """JSON text: the TMDB choice an admin made (identify)."""
    library_kind: str
    roots: list[str]
    file_path: str | None
    child_file_path: str | None
    grandchild_file_path: str | None
    duration_s: float | None
    parent_ids: str | None
    grandparent_id: uuid.UUID | None
    grandparent_ids: str | None


class MetadataItemRow(msgspec.Struct, kw_only=True, frozen=True):
    """An item with every metadata field; the JSON columns (``ratings``, ``external_ids``,
    ``placeholder``, ``images``: kind -> image id) as text."""

    id: uuid.UUID
    library_id: uuid.UUID
    kind: str
    parent_id: uuid.UUID | None
    title: str
    sort_title: str
    original_title: str | None
    year: int | None
    season_number: int | None
    episode_numbers: list[int] | None
    overview: str | None
    tagline: str | None
    genres: list[str]
    studios: list[str]
    rating: float | None
    ratings: str | None
    mpaa: str | None
    runtime_minutes: int | None
    release_date: date | None
    air_date: date | None
    collection: str | None
    external_ids: str | None
    locked_fields: list[str]
    metadata_source: str | None
    metadata_error: str | None
    metadata_at: datetime | None
    placeholder: str | None
    images: str


class StoredImage(msgspec.Struct, kw_only=True, frozen=True):
    """An original image: ``source_path`` for local art (read in place), None for a download
    (kept in the image cache under its id)."""

    id: str
    source_path: str | None
    width: int
    height: int
    format: str


class PersonCredit(msgspec.Struct, kw_only=True, frozen=True):
    name: str
    kind: str
    role: str | None
    thumb_url: str | None
    image_id: str | None


class ImageErrorRow(msgspec.Struct, kw_only=True, frozen=True):
    source: str
    error: str


class VariantKey(msgspec.Struct, kw_only=True, frozen=True):
    """One cached variant of an image (what eviction deleted)."""

    image_id: str
    width: int
    format: str


ITEMS_FOR_METADATA = sql(
    """
    SELECT i.id, i.kind, i.library_id, i.parent_id, i.title, i.year, i.season_number,
           i.episode_numbers, i.external_ids::text AS external_ids, i.locked_fields,
           i.identified::text AS identified, l.kind AS library_kind, l.roots,
           (SELECT f.path FROM media_files f WHERE f.item_id = i.id AND f.present
              AND f.extra_kind IS NULL ORDER BY f.path LIMIT 1) AS file_path,
           (SELECT f.path FROM media_items e JOIN media_files f ON f.item_id = e.id
              WHERE e.parent_id = i.id AND f.present AND f.extra_kind IS NULL
              ORDER BY f.path LIMIT 1) AS child_file_path,
           (SELECT f.path FROM media_items s JOIN media_items e ON e.parent_id = s.id
              JOIN media_files f ON f.item_id = e.id
              WHERE s.parent_id = i.id AND f.present AND f.extra_kind IS NULL
              ORDER BY f.path LIMIT 1) AS grandchild_file_path,
           (SELECT (f.media_info->>'duration_s')::float FROM media_files f
              WHERE f.item_id = i.id AND f.present AND f.extra_kind IS NULL
              AND f.media_info IS NOT NULL ORDER BY f.path LIMIT 1) AS duration_s,
           p.external_ids::text AS parent_ids, p.parent_id AS grandparent_id,
           g.external_ids::text AS grandparent_ids
    FROM media_items i JOIN libraries l ON l.id = i.library_id
    LEFT JOIN media_items p ON p.id = i.parent_id
    LEFT JOIN media_items g ON g.id = p.parent_id
    WHERE i.id = ANY($1::uuid[])
    ORDER BY CASE i.kind WHEN 'series' THEN 0 WHEN 'season' THEN 1 ELSE 2 END
    """
)
NEEDING_METADATA = sql(
    """
    SELECT id FROM media_items
    WHERE id = ANY($1::uuid[]) AND (metadata_at IS NULL OR metadata_source IS NULL)
    """
)
# What APPLY writes when no provider found anything (no TMDB key, no sidecar), for a batch;
# items inserted as tried already (media_index.upsert_items) are left alone: no second write.
DESCRIBED_BY_NOTHING = sql(
    """
    UPDATE media_items SET metadata_error = NULL, metadata_at = now(), updated_at = now()
    WHERE id = ANY($1::uuid[]) AND metadata_source IS NULL AND metadata_at IS NULL
    """
)
UNDESCRIBED = sql(
    """
    SELECT id FROM media_items
    WHERE library_id = $1 AND present AND metadata_source IS NULL
      AND metadata_at < now() - make_interval(secs => $2)
    ORDER BY metadata_at LIMIT 1000
    """
)
# A provider's value replaces the stored one unless the field is locked or the provider has none.
APPLY = sql(
    """
    UPDATE media_items SET
        title = CASE WHEN 'title' = ANY(locked_fields) OR $2::text IS NULL THEN title ELSE $2 END,
        sort_title = CASE WHEN 'sort_title' = ANY(locked_fields) OR $3::text IS NULL
                          THEN sort_title ELSE $3 END,
        original_title = CASE WHEN 'original_title' = ANY(locked_fields) OR $4::text IS NULL
                              THEN original_title ELSE $4 END,
        year = CASE WHEN 'year' = ANY(locked_fields) OR $5::integer IS NULL THEN year ELSE $5 END,
        overview = CASE WHEN 'overview' = ANY(locked_fields) OR $6::text IS NULL
                        THEN overview ELSE $6 END,
        tagline = CASE WHEN 'tagline' = ANY(locked_fields) OR $7::text IS NULL
                       THEN tagline ELSE $7 END,
        genres = CASE WHEN 'genres' = ANY(locked_fields) OR cardinality($8::text[]) = 0
                      THEN genres ELSE $8 END,
        studios = CASE WHEN 'studios' = ANY(locked_fields) OR cardinality($9::text[]) = 0
                       THEN studios ELSE $9 END,
        rating = CASE WHEN 'rating' = ANY(locked_fields) OR $10::real IS NULL
                      THEN rating ELSE $10 END,
        ratings = ratings || $11::jsonb,
        mpaa = CASE WHEN 'mpaa' = ANY(locked_fields) OR $12::text IS NULL THEN mpaa ELSE $12 END,
        runtime_minutes = CASE WHEN 'runtime_minutes' = ANY(locked_fields) OR $13::integer IS NULL
                               THEN runtime_minutes ELSE $13 END,
        release_date = CASE WHEN 'release_date' = ANY(locked_fields) OR $14::date IS NULL
                            THEN release_date ELSE $14 END,
        collection = CASE WHEN 'collection' = ANY(locked_fields) OR $15::text IS NULL
                          THEN collection ELSE $15 END,
        external_ids = external_ids || $16::jsonb,
        metadata_source = $17, metadata_error = $18, metadata_at = now(), updated_at = now()
    WHERE id = $1
    """
)
# APPLY for a whole enrich batch in one statement: the statement-level triggers of media_items
# (sync feed, counts) run once per batch instead of once per item.
APPLY_MANY = sql(
    """
    UPDATE media_items m SET
        title = CASE WHEN 'title' = ANY(m.locked_fields) OR u.title IS NULL
                     THEN m.title ELSE u.title END,
        sort_title = CASE WHEN 'sort_title' = ANY(m.locked_fields) OR u.sort_title IS NULL
                          THEN m.sort_title ELSE u.sort_title END,
        original_title = CASE WHEN 'original_title' = ANY(m.locked_fields)
                                   OR u.original_title IS NULL
                              THEN m.original_title ELSE u.original_title END,
        year = CASE WHEN 'year' = ANY(m.locked_fields) OR u.year IS NULL
                    THEN m.year ELSE u.year END,
        overview = CASE WHEN 'overview' = ANY(m.locked_fields) OR u.overview IS NULL
                        THEN m.overview ELSE u.overview END,
        tagline = CASE WHEN 'tagline' = ANY(m.locked_fields) OR u.tagline IS NULL
                       THEN m.tagline ELSE u.tagline END,
        genres = CASE WHEN 'genres' = ANY(m.locked_fields) OR coalesce(cardinality(u.genres), 0) = 0
                      THEN m.genres ELSE u.genres END,
        studios = CASE WHEN 'studios' = ANY(m.locked_fields)
                            OR coalesce(cardinality(u.studios), 0) = 0
                       THEN m.studios ELSE u.studios END,
        rating = CASE WHEN 'rating' = ANY(m.locked_fields) OR u.rating IS NULL
                      THEN m.rating ELSE u.rating END,
        ratings = m.ratings || coalesce(u.ratings, '{}'),
        mpaa = CASE WHEN 'mpaa' = ANY(m.locked_fields) OR u.mpaa IS NULL
                    THEN m.mpaa ELSE u.mpaa END,
        runtime_minutes = CASE WHEN 'runtime_minutes' = ANY(m.locked_fields)
                                    OR u.runtime_minutes IS NULL
                               THEN m.runtime_minutes ELSE u.runtime_minutes END,
        release_date = CASE WHEN 'release_date' = ANY(m.locked_fields) OR u.release_date IS NULL
                            THEN m.release_date ELSE u.release_date END,
        collection = CASE WHEN 'collection' = ANY(m.locked_fields) OR u.collection IS NULL
                          THEN m.collection ELSE u.collection END,
        external_ids = m.external_ids || coalesce(u.external_ids, '{}'),
        metadata_source = u.source, metadata_error = u.error, metadata_at = now(),
        updated_at = now()
    FROM jsonb_to_recordset($1::text::jsonb)
        AS u(id uuid, title text, sort_title text, original_title text, year integer,
             overview text, tagline text, genres text[], studios text[], rating real,
             ratings jsonb, mpaa text, runtime_minutes integer, release_date date,
             collection text, external_ids jsonb, source text, error text)
    WHERE m.id = u.id
    """
)
EDIT = sql(
    """
    UPDATE media_items SET
        title = COALESCE($2, title), sort_title = COALESCE($3, sort_title),
        original_title = COALESCE($4, original_title), year = COALESCE($5, year),
        overview = COALESCE($6, overview), tagline = COALESCE($7, tagline),
        genres = COALESCE($8, genres), studios = COALESCE($9, studios),
        rating = COALESCE($10, rating), mpaa = COALESCE($11, mpaa),
        runtime_minutes = COALESCE($12, runtime_minutes),
        release_date = COALESCE($13, release_date), collection = COALESCE($14, collection),
        locked_fields = ARRAY(SELECT DISTINCT f FROM unnest(locked_fields || $15::text[]) AS f
                              WHERE NOT f = ANY($16::text[]) ORDER BY f),
        updated_at = now()
    WHERE id = $1
    RETURNING id
    """
)
ITEM = sql(
    """
    SELECT i.id, i.library_id, i.kind, i.parent_id, i.title, i.sort_title, i.original_title,
           i.year, i.season_number, i.episode_numbers, i.overview, i.tagline, i.genres,
           i.studios, i.rating, i.ratings::text AS ratings, i.mpaa, i.runtime_minutes,
           i.release_date, i.air_date, i.collection, i.external_ids::text AS external_ids,
           i.locked_fields, i.metadata_source, i.metadata_error, i.metadata_at,
           i.placeholder::text AS placeholder,
           COALESCE((SELECT jsonb_object_agg(ii.kind, ii.image_id) FROM item_images ii
                     WHERE ii.item_id = i.id), '{}'::jsonb)::text AS images
    FROM media_items i WHERE i.id = $1
    """
)
ITEM_PEOPLE = sql(
    """
    SELECT p.name, ip.kind, ip.role, p.thumb_url, p.image_id
    FROM item_people ip JOIN people p ON p.id = ip.person_id
    WHERE ip.item_id = $1 ORDER BY ip.kind, ip.ord
    """
)
CLEAR_PEOPLE = sql("DELETE FROM item_people WHERE item_id = $1")
UPSERT_PEOPLE = sql(
    """
    INSERT INTO people (identity_key, name, thumb_url, external_ids)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]::jsonb[])
    ON CONFLICT (identity_key) DO UPDATE SET
        thumb_url = COALESCE(EXCLUDED.thumb_url, people.thumb_url),
        external_ids = people.external_ids || EXCLUDED.external_ids
    RETURNING id, identity_key
    """
)
LINK_PEOPLE = sql(
    """
    INSERT INTO item_people (item_id, person_id, kind, role, ord)
    SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::integer[])
    ON CONFLICT DO NOTHING
    """
)
UPSERT_IMAGE = sql(
    """
    INSERT INTO images (id, source_path, source_url, width, height, format, color, blurhash)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (id) DO UPDATE SET source_path = COALESCE(EXCLUDED.source_path, images.source_path)
    """
)
SET_ITEM_IMAGE = sql(
    """
    INSERT INTO item_images (item_id, kind, image_id, source) VALUES ($1, $2, $3, $4)
    ON CONFLICT (item_id, kind) DO UPDATE SET image_id = EXCLUDED.image_id,
        source = EXCLUDED.source
    """
)
SET_PLACEHOLDER = sql("UPDATE media_items SET placeholder = $2::jsonb WHERE id = $1")
SET_PLACEHOLDERS = sql(
    """
    UPDATE media_items m SET placeholder = u.placeholder::jsonb
    FROM unnest($1::uuid[], $2::text[]) AS u(id, placeholder) WHERE m.id = u.id
    """
)
# The image stage's writes for a whole batch, one statement each (see save_images).
UPSERT_IMAGES = sql(
    """
    INSERT INTO images (id, source_path, source_url, width, height, format, color, blurhash)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::integer[],
                         $6::text[], $7::text[], $8::text[])
    ON CONFLICT (id) DO UPDATE SET source_path = COALESCE(EXCLUDED.source_path, images.source_path)
    """
)
SET_ITEM_IMAGES = sql(
    """
    INSERT INTO item_images (item_id, kind, image_id, source)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])
    ON CONFLICT (item_id, kind) DO UPDATE SET image_id = EXCLUDED.image_id,
        source = EXCLUDED.source
    """
)
ADD_VARIANTS = sql(
    """
    INSERT INTO image_variants (image_id, width, format, bytes)
    SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::integer[])
    ON CONFLICT (image_id, width, format) DO UPDATE SET bytes = EXCLUDED.bytes,
        last_used_at = now()
    """
)
RECORD_IMAGE_ERRORS = sql(
    """
    INSERT INTO image_errors (source, error)
    SELECT * FROM unnest($1::text[], $2::text[])
    ON CONFLICT (source) DO UPDATE SET error = EXCLUDED.error, at = now()
    """
)
ITEM_IMAGE_SOURCES = sql(
    """
    SELECT ii.item_id, ii.kind, ii.source, i.source_path FROM item_images ii
    JOIN images i ON i.id = ii.image_id WHERE ii.item_id = ANY($1::uuid[])
    """
)
IMAGE = sql("SELECT id, source_path, width, height, format FROM images WHERE id = $1")
RECORD_IMAGE_ERROR = sql(
    """
    INSERT INTO image_errors (source, error) VALUES ($1, $2)
    ON CONFLICT (source) DO UPDATE SET error = EXCLUDED.error, at = now()
    """
)
IMAGE_ERRORS = sql("SELECT source, error FROM image_errors ORDER BY source")
ADD_VARIANT = sql(
    """
    INSERT INTO image_variants (image_id, width, format, bytes) VALUES ($1, $2, $3, $4)
    ON CONFLICT (image_id, width, format) DO UPDATE SET bytes = EXCLUDED.bytes,
        last_used_at = now()
    """
)
TOUCH_VARIANT = sql(
    """
    UPDATE image_variants SET last_used_at = now()
    WHERE image_id = $1 AND width = $2 AND format = $3
      AND last_used_at < now() - interval '10 minutes'
    """
)
VARIANT_BYTES = sql("SELECT COALESCE(sum(bytes), 0)::bigint FROM image_variants")
# The least recently used variants until ``$1`` bytes are freed.
EVICT = sql(
    """
    WITH ordered AS (
        SELECT image_id, width, format, bytes,
               sum(bytes) OVER (ORDER BY last_used_at, image_id, width) AS running
        FROM image_variants
    ), victims AS (
        SELECT image_id, width, format FROM ordered WHERE running - bytes < $1
    )
    DELETE FROM image_variants v USING victims
    WHERE v.image_id = victims.image_id AND v.width = victims.width AND v.format = victims.format
    RETURNING v.image_id, v.width, v.format
    """
)
CACHE_GET = sql("SELECT body::text FROM provider_cache WHERE key = $1 AND fetched_at > $2")
CACHE_PUT = sql(
    """
    INSERT INTO provider_cache (key, body) VALUES ($1, $2::jsonb)
    ON CONFLICT (key) DO UPDATE SET body = EXCLUDED.body, fetched_at = now()
    """
)
SET_IDENTIFIED = sql(
    """
    UPDATE media_items SET identified = $2::jsonb,
        external_ids = external_ids || $3::jsonb, updated_at = now()
    WHERE id = $1 RETURNING id
    """
)


@dataclass
class Person:
    name: str
    kind: str = "actor"
    role: str | None = None
    thumb_url: str | None = None
    external_ids: dict[str, str] = field(default_factory=dict)


@dataclass
class Fields:
    """What a provider found; None/empty = nothing to say about that field."""

    title: str | None = None
    sort_title: str | None = None
    original_title: str | None = None
    year: int | None = None
    overview: str | None = None
    tagline: str | None = None
    genres: list[str] = field(default_factory=list)
    studios: list[str] = field(default_factory=list)
    rating: float | None = None
    ratings: dict[str, Any] = field(default_factory=dict)
    mpaa: str | None = None
    runtime_minutes: int | None = None
    release_date: Any = None
    collection: str | None = None
    external_ids: dict[str, Any] = field(default_factory=dict)
    people: list[Person] = field(default_factory=list)


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


async def items_for_metadata(
    db: Database | Connection, ids: list[uuid.UUID]
) -> list[ItemForMetadata]:
    return [ItemForMetadata(**r) for r in await db.fetch(ITEMS_FOR_METADATA, ids)]


async def needing_metadata(conn: Connection, ids: list[uuid.UUID]) -> list[uuid.UUID]:
    return [r["id"] for r in await conn.fetch(NEEDING_METADATA, ids)] if ids else []


async def described_by_nothing(conn: Connection, ids: list[uuid.UUID]) -> None:
    """The items were tried and nothing describes them (yet): a later scan retries them."""
    if ids:
        await conn.execute(DESCRIBED_BY_NOTHING, ids)


async def undescribed(
    conn: Connection, library_id: uuid.UUID, older_than_seconds: float
) -> list[uuid.UUID]:
    return [r["id"] for r in await conn.fetch(UNDESCRIBED, library_id, older_than_seconds)]


async def apply(
    conn: Connection,
    item_id: uuid.UUID,
    f: Fields,
    source: str | None,
    error: str | None,
    locked: list[str],
) -> None:
    await conn.execute(
        APPLY,
        item_id,
        f.title,
        f.sort_title,
        f.original_title,
        f.year,
        f.overview,
        f.tagline,
        f.genres,
        f.studios,
        f.rating,
        _json(f.ratings),
        f.mpaa,
        f.runtime_minutes,
        f.release_date,
        f.collection,
        _json(f.external_ids),
        source,
        error,
    )
    if f.people and "people" not in locked:
        await set_people(conn, item_id, f.people)


async def apply_many(
    conn: Connection, results: list[tuple[uuid.UUID, Fields, str | None, str | None, list[str]]]
) -> None:
    """:func:`apply` for a batch (item, fields, source, error, locked) in one UPDATE, then
    the people of those that have any. An item given twice keeps its last fields."""
    last = {
        item_id: (item_id, f, source, error, locked)
        for item_id, f, source, error, locked in results
    }
    if not last:
        return
    await conn.execute(
        APPLY_MANY,
        _json(
            [
                {
                    "id": str(item_id),
                    "title": f.title,
                    "sort_title": f.sort_title,
                    "original_title": f.original_title,
                    "year": f.year,
                    "overview": f.overview,
                    "tagline": f.tagline,
                    "genres": f.genres,
                    "studios": f.studios,
                    "rating": f.rating,
                    "ratings": f.ratings,
                    "mpaa": f.mpaa,
                    "runtime_minutes": f.runtime_minutes,
                    "release_date": f.release_date,
                    "collection": f.collection,
                    "external_ids": f.external_ids,
                    "source": source,
                    "error": error,
                }
                for item_id, f, source, error, _ in last.values()
            ]
        ),
    )
    for item_id, f, _, _, locked in last.values():
        if f.people and "people" not in locked:
            await set_people(conn, item_id, f.people)


def person_key(p: Person) -> str:
    if "tmdb" in p.external_ids:
        return f"tmdb:{p.external_ids['tmdb']}"
    return "name:" + " ".join(p.name.lower().split())


async def set_people(conn: Connection, item_id: uuid.UUID, people: list[Person]) -> None:
    await conn.execute(CLEAR_PEOPLE, item_id)
    unique: dict[str, Person] = {}
    for p in people:
        unique.setdefault(person_key(p), p)
    rows = await conn.fetch(
        UPSERT_PEOPLE,
        list(unique),
        [p.name for p in unique.values()],
        [p.thumb_url for p in unique.values()],
        [_json(p.external_ids) for p in unique.values()],
    )
    ids = {r["identity_key"]: r["id"] for r in rows}
    await conn.execute(
        LINK_PEOPLE,
        item_id,
        [ids[person_key(p)] for p in people],
        [p.kind for p in people],
        [p.role for p in people],
        list(range(len(people))),
    )


async def edit(
    conn: Connection, item_id: uuid.UUID, values: dict[str, Any], lock: list[str], unlock: list[str]
) -> bool:
    v = values.get
    row = await conn.fetchrow(
        EDIT,
        item_id,
        v("title"),
        v("sort_title"),
        v("original_title"),
        v("year"),
        v("overview"),
        v("tagline"),
        v("genres"),
        v("studios"),
        v("rating"),
        v("mpaa"),
        v("runtime_minutes"),
        v("release_date"),
        v("collection"),
        lock,
        unlock,
    )
    return row is not None


async def item(db: Database | Connection, item_id: uuid.UUID) -> MetadataItemRow | None:
    row = await db.fetchrow(ITEM, item_id)
    return None if row is None else MetadataItemRow(**row)


async def item_people(db: Database | Connection, item_id: uuid.UUID) -> list[PersonCredit]:
    return [PersonCredit(**r) for r in await db.fetch(ITEM_PEOPLE, item_id)]


async def save_image(
    conn: Connection,
    image_id: str,
    source_path: str | None,
    source_url: str | None,
    width: int,
    height: int,
    fmt: str,
    color: str | None,
    blurhash: str | None,
) -> None:
    await conn.execute(
        UPSERT_IMAGE, image_id, source_path, source_url, width, height, fmt, color, blurhash
    )


async def set_item_image(
    conn: Connection, item_id: uuid.UUID, kind: str, image_id: str, source: str
) -> None:
    await conn.execute(SET_ITEM_IMAGE, item_id, kind, image_id, source)


async def set_placeholder(conn: Connection, item_id: uuid.UUID, value: dict[str, Any]) -> None:
    await conn.execute(SET_PLACEHOLDER, item_id, _json(value))


@dataclass(frozen=True)
class ImageRow:
    image_id: str
    source_path: str | None
    source_url: str | None
    width: int
    height: int
    format: str
    color: str | None
    blurhash: str | None


async def save_images(conn: Connection, rows: list[ImageRow]) -> None:
    """:func:`save_image` for a batch in one statement. The same image given twice (one poster
    file's bytes in many folders) is one row: its last source path that is not None wins, as
    one statement per image would leave it."""
    merged: dict[str, ImageRow] = {}
    for r in rows:
        old = merged.get(r.image_id)
        if old is not None and r.source_path is None:
            r = ImageRow(
                r.image_id,
                old.source_path,
                r.source_url,
                r.width,
                r.height,
                r.format,
                r.color,
                r.blurhash,
            )
        merged[r.image_id] = r
    if merged:
        v = list(merged.values())
        await conn.execute(
            UPSERT_IMAGES,
            [r.image_id for r in v],
            [r.source_path for r in v],
            [r.source_url for r in v],
            [r.width for r in v],
            [r.height for r in v],
            [r.format for r in v],
            [r.color for r in v],
            [r.blurhash for r in v],
        )


async def set_item_images(conn: Connection, rows: list[tuple[uuid.UUID, str, str, str]]) -> None:
    """:func:`set_item_image` for a batch of (item, kind, image, source); the last given for an
    item and kind wins."""
    last = {
        (item_id, kind): (item_id, kind, image_id, source)
        for item_id, kind, image_id, source in rows
    }
    if last:
        v = list(last.values())
        await conn.execute(
            SET_ITEM_IMAGES,
            [r[0] for r in v],
            [r[1] for r in v],
            [r[2] for r in v],
            [r[3] for r in v],
        )


async def set_placeholders(conn: Connection, values: dict[uuid.UUID, dict[str, Any]]) -> None:
    """:func:`set_placeholder` for many items in one UPDATE (one run of media_items'
    statement triggers instead of one per item)."""
    if values:
        await conn.execute(SET_PLACEHOLDERS, list(values), [_json(v) for v in values.values()])


async def record_image_errors(conn: Connection, errors: list[tuple[str, str]]) -> None:
    last = {source: error[:500] for source, error in errors}
    if last:
        await conn.execute(RECORD_IMAGE_ERRORS, list(last), list(last.values()))


async def add_variants(conn: Connection, rows: list[tuple[str, int, str, int]]) -> None:
    """:func:`add_variant` for a batch of (image, width, format, bytes)."""
    last = {(i, w, f): (i, w, f, b) for i, w, f, b in rows}
    if last:
        v = list(last.values())
        await conn.execute(
            ADD_VARIANTS, [r[0] for r in v], [r[1] for r in v], [r[2] for r in v], [r[3] for r in v]
        )


async def item_image_sources(db: Database | Connection, ids: list[uuid.UUID]) -> list[Record]:
    return await db.fetch(ITEM_IMAGE_SOURCES, ids)


async def image(db: Database | Connection, image_id: str) -> StoredImage | None:
    row = await db.fetchrow(IMAGE, image_id)
    return None if row is None else StoredImage(**row)


async def record_image_error(conn: Connection, source: str, error: str) -> None:
    await conn.execute(RECORD_IMAGE_ERROR, source, error[:500])


async def image_errors(db: Database | Connection) -> list[ImageErrorRow]:
    return [ImageErrorRow(**r) for r in await db.fetch(IMAGE_ERRORS)]


async def add_variant(
    db: Database | Connection, image_id: str, width: int, fmt: str, size: int
) -> None:
    await db.execute(ADD_VARIANT, image_id, width, fmt, size)


async def touch_variant(db: Database | Connection, image_id: str, width: int, fmt: str) -> None:
    await db.execute(TOUCH_VARIANT, image_id, width, fmt)


async def variant_bytes(db: Database | Connection) -> int:
    total: int = await db.fetchval(VARIANT_BYTES)
    return total


async def evict(db: Database | Connection, free_bytes: int) -> list[VariantKey]:
    return [VariantKey(**r) for r in await db.fetch(EVICT, free_bytes)]


async def cache_get(db: Database | Connection, key: str, not_before: Any) -> str | None:
    body: str | None = await db.fetchval(CACHE_GET, key, not_before)
    return body


async def cache_put(db: Database | Connection, key: str, body: str) -> None:
    await db.execute(CACHE_PUT, key, body)


async def set_identified(
    conn: Connection, item_id: uuid.UUID, choice: dict[str, Any], ids: dict[str, Any]
) -> bool:
    return await conn.fetchrow(SET_IDENTIFIED, item_id, _json(choice), _json(ids)) is not None
