"""The media index: folders seen by scans, files found in them, and the items they make up.

Writes are set-based (``unnest`` of arrays) so that a batch of a few hundred files costs a
handful of statements, not hundreds: on a Raspberry Pi the round trips are the scan's cost.
Nothing is ever deleted when a file disappears: files and items are marked not present, so
watch state and edits survive a disk that was briefly unmounted.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import msgspec

from store.db import Connection, Database, Record
from store.sql import sql

FOLDER_FINGERPRINTS = sql(
    "SELECT path, fingerprint FROM folders WHERE library_id = $1 AND path = ANY($2::text[])"
)
SAVE_FOLDERS = sql(
    """
    INSERT INTO folders (library_id, path, fingerprint, error, scanned_at)
    SELECT $1, * , now() FROM unnest($2::text[], $3::text[], $4::text[])
    ON CONFLICT (library_id, path) DO UPDATE
    SET fingerprint = EXCLUDED.fingerprint, error = EXCLUDED.error, scanned_at = now()
    """
)
FILES_IN_FOLDERS = sql(
    """
    SELECT id, path, folder, item_id, size_bytes, mtime_ns, present FROM media_files
    WHERE library_id = $1 AND folder = ANY($2::text[])
    """
)
# One JSON object instead of a record per folder: an unchanged rescan of 13,600 folders decodes
# it in a millisecond (msgspec) instead of building 13,600 records on trio's thread.
LIBRARY_FINGERPRINTS = sql(
    """
    SELECT coalesce(json_object_agg(path, fingerprint), '{}')::text FROM folders
    WHERE library_id = $1
    """
)
SUBTREE_FINGERPRINTS = sql(
    """
    SELECT coalesce(json_object_agg(path, fingerprint), '{}')::text FROM folders
    WHERE library_id = $1 AND (path = $2 OR starts_with(path, rtrim($2, '/') || '/'))
    """
)
# Files are written once, parsed and linked: FolderScan parses names and creates the items in
# the same transaction, so a new file costs one row version, not three (insert, parsed, link).
_UPSERT_FILES = """
    INSERT INTO media_files (library_id, path, folder, size_bytes, mtime_ns, parsed, version,
                             part, extra_kind, item_id)
    SELECT $1, u.path, u.folder, u.size_bytes, u.mtime_ns, u.parsed, u.version, u.part,
           u.extra_kind, u.item_id
    FROM jsonb_to_recordset($2::text::jsonb)
        AS u(path text, folder text, size_bytes bigint, mtime_ns bigint, parsed jsonb,
             version text, part integer, extra_kind text, item_id uuid)
    ON CONFLICT (library_id, path) DO UPDATE SET
        folder = EXCLUDED.folder,
        present = true, missing_since = NULL,
        size_bytes = EXCLUDED.size_bytes, mtime_ns = EXCLUDED.mtime_ns,
        media_info = CASE WHEN media_files.size_bytes = EXCLUDED.size_bytes
                           AND media_files.mtime_ns = EXCLUDED.mtime_ns
                          THEN media_files.media_info END,
        analysis_error = CASE WHEN media_files.size_bytes = EXCLUDED.size_bytes
                               AND media_files.mtime_ns = EXCLUDED.mtime_ns
                              THEN media_files.analysis_error END,
        parsed = EXCLUDED.parsed, version = EXCLUDED.version, part = EXCLUDED.part,
        extra_kind = EXCLUDED.extra_kind,
        item_id = COALESCE(EXCLUDED.item_id, media_files.item_id),
        updated_at = now()
"""
UPSERT_FILES = sql(_UPSERT_FILES + "RETURNING id, path")
UPSERT_FILES_QUIET = sql(_UPSERT_FILES)
"""Without analysis nobody needs the new files' ids: 4,000 rows not sent back per batch."""
MARK_MISSING = sql(
    """
    UPDATE media_files SET present = false, missing_since = now(), updated_at = now()
    WHERE library_id = $1 AND path = ANY($2::text[]) AND present
    RETURNING item_id
    """
)
CHILD_FOLDERS = sql(
    """
    SELECT path FROM folders
    WHERE library_id = $1 AND regexp_replace(path, '/[^/]*$', '') = ANY($2::text[])
    """
)
MARK_GONE_DIRS = sql(
    """
    UPDATE media_files SET present = false, missing_since = now(), updated_at = now()
    WHERE library_id = $1 AND present AND EXISTS (
        SELECT 1 FROM unnest($2::text[]) AS g(dir)
        WHERE folder = g.dir OR starts_with(folder, g.dir || '/'))
    RETURNING item_id
    """
)
FORGET_DIRS = sql(
    """
    DELETE FROM folders WHERE library_id = $1 AND EXISTS (
        SELECT 1 FROM unnest($2::text[]) AS g(dir)
        WHERE path = g.dir OR starts_with(path, g.dir || '/'))
    """
)
HAS_FILES_UNDER = sql(
    """
    SELECT EXISTS (SELECT 1 FROM media_files WHERE library_id = $1 AND present
                   AND (folder = $2 OR starts_with(folder, $2 || '/')))
    """
)
# Batches travel as one JSON document (msgspec encodes it at C speed; Postgres reads it with
# jsonb_to_recordset) rather than as a dozen typed arrays: this runs inside the write
# transaction, which holds the sync feed's ordering lock, so Python time here is everyone's wait.
UPSERT_ITEMS = sql(
    """
    INSERT INTO media_items (library_id, kind, parent_id, identity_key, title, sort_title, year,
                             season_number, episode_numbers, air_date, edition, external_ids,
                             metadata_at)
    SELECT $1, u.kind, u.parent_id, u.identity_key, u.title, u.sort_title, u.year, u.season,
           nullif(u.episodes, '{}'), u.air_date, u.edition, coalesce(u.ids, '{}'),
           CASE WHEN $3::boolean THEN now() END
    FROM jsonb_to_recordset($2::text::jsonb)
        AS u(kind text, parent_id uuid, identity_key text, title text, sort_title text,
             year integer, season integer, episodes integer[], air_date date, edition text,
             ids jsonb)
    ON CONFLICT (library_id, identity_key) DO UPDATE SET
        present = true, updated_at = now(),
        external_ids = media_items.external_ids || EXCLUDED.external_ids
    RETURNING id, identity_key, (xmax = 0) AS inserted
    """
)
LINK_FILES = sql(
    """
    UPDATE media_files f SET item_id = u.item_id, updated_at = now()
    FROM unnest($1::uuid[], $2::uuid[]) AS u(id, item_id)
    WHERE f.id = u.id
    """
)
UNLINKED_EXTRAS = sql(
    """
    SELECT id, parsed::text AS parsed FROM media_files
    WHERE library_id = $1 AND present AND item_id IS NULL AND parsed IS NOT NULL
      AND extra_kind IS NOT NULL AND extra_kind <> 'sample'
    LIMIT 5000
    """
)
ITEM_IDS = sql(
    "SELECT id, identity_key FROM media_items WHERE library_id = $1 AND identity_key = ANY($2)"
)
# One level per execution: an UPDATE does not see its own changes, so a season becomes
# not-present one pass after its last episode. Run it as many times as the hierarchy is deep.
REFRESH_PRESENCE = sql(
    """
    WITH RECURSIVE chain AS (
        SELECT id, parent_id FROM media_items WHERE id = ANY($1::uuid[])
        UNION
        SELECT m.id, m.parent_id FROM media_items m JOIN chain c ON m.id = c.parent_id
    )
    UPDATE media_items i SET
        present = EXISTS (SELECT 1 FROM media_files f
                          WHERE f.item_id = i.id AND f.present AND f.extra_kind IS NULL)
               OR EXISTS (SELECT 1 FROM media_items c WHERE c.parent_id = i.id AND c.present),
        updated_at = now()
    WHERE i.id IN (SELECT id FROM chain)
    """
)
# An item's edition is what its main files' names say, when they agree: one Director's Cut file
# → "Director's Cut"; a theatrical and a director's cut → none of its own (each file shows its
# own). Written only where it changes, so a rescan costs no row versions (nor sync records).
REFRESH_EDITIONS = sql(
    """
    UPDATE media_items i SET edition = e.edition, updated_at = now()
    FROM (SELECT f.item_id,
                 CASE WHEN count(DISTINCT coalesce(f.parsed->>'edition', '')) = 1
                      THEN max(f.parsed->>'edition') END AS edition
          FROM media_files f
          WHERE f.item_id = ANY($1::uuid[]) AND f.present AND f.extra_kind IS NULL
          GROUP BY f.item_id) e
    WHERE i.id = e.item_id AND i.edition IS DISTINCT FROM e.edition
        AND NOT ('edition' = ANY(i.locked_fields))
    """
)
FILE_FOR_ANALYSIS = sql("SELECT path FROM media_files WHERE id = $1 AND present")
SAVE_ANALYSIS = sql(
    """
    UPDATE media_files SET media_info = $2::jsonb, analysis_error = $3, analyzed_at = now(),
        updated_at = now()
    WHERE id = $1
    """
)
ITEMS = sql(
    """
    SELECT i.id, i.kind, i.title, i.year, i.season_number, i.episode_numbers, i.present,
           i.parent_id, i.identity_key,
           (SELECT count(*) FROM media_files f WHERE f.item_id = i.id AND f.present
              AND f.extra_kind IS NULL) AS files,
           (SELECT count(*) FROM media_files f WHERE f.item_id = i.id AND f.present
              AND f.extra_kind IS NOT NULL) AS extras
    FROM media_items i WHERE i.library_id = $1
    ORDER BY i.kind, i.season_number NULLS FIRST, i.sort_title, i.episode_numbers
    """
)
FILES = sql(
    """
    SELECT id, path, present, item_id, extra_kind, version, part, analysis_error,
           media_info IS NOT NULL AS analyzed
    FROM media_files WHERE library_id = $1 ORDER BY path
    """
)


@dataclass(frozen=True, slots=True)
class FileRow:
    path: str
    folder: str
    size_bytes: int
    mtime_ns: int
    parsed: msgspec.Raw | None = None
    """The naming parser's result, already JSON (embedded as is)."""
    version: str | None = None
    part: int | None = None
    extra_kind: str | None = None
    item_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ItemRow:
    kind: str
    parent_id: uuid.UUID | None
    identity_key: str
    title: str
    sort_title: str
    year: int | None = None
    season: int | None = None
    episodes: tuple[int, ...] = ()
    air_date: Any = None
    edition: str | None = None
    ids: dict[str, Any] | None = None


async def folder_fingerprints(
    db: Database | Connection, library_id: uuid.UUID, paths: list[str]
) -> dict[str, str]:
    return {
        r["path"]: r["fingerprint"] for r in await db.fetch(FOLDER_FINGERPRINTS, library_id, paths)
    }


async def library_fingerprints_json(
    db: Database | Connection, library_id: uuid.UUID, under: str | None = None
) -> str:
    """Every folder fingerprint of a library (or of one subtree) in one query, so a walk can
    tell unchanged folders without a round trip per folder or per batch: one JSON object
    (folder → fingerprint), undecoded, because walks in worker processes decode it there
    (no dict of 13,000 entries pickled through a pipe)."""
    if under is None:
        text: str = await db.fetchval(LIBRARY_FINGERPRINTS, library_id)
    else:
        text = await db.fetchval(SUBTREE_FINGERPRINTS, library_id, under)
    return text


async def save_folders(
    conn: Connection, library_id: uuid.UUID, rows: list[tuple[str, str, str | None]]
) -> None:
    if rows:
        await conn.execute(
            SAVE_FOLDERS,
            library_id,
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
        )


async def files_in_folders(
    db: Database | Connection, library_id: uuid.UUID, folders: list[str]
) -> list[Record]:
    return await db.fetch(FILES_IN_FOLDERS, library_id, folders)


async def upsert_files(
    conn: Connection,
    library_id: uuid.UUID,
    rows: list[FileRow],
    *,
    ids: bool = True,
    settled: Collection[uuid.UUID] = (),
) -> dict[str, uuid.UUID]:
    """Insert or revive files (written parsed and linked); returns path → file id (empty when
    ``ids`` is false). ``settled``: items whose edition these files cannot change (created in
    this transaction from these very files, none of which names an edition), left out of the
    edition refresh: a first scan's batch then needs none."""
    if not rows:
        return {}
    rows = sorted(rows, key=lambda r: r.path)  # one lock order for overlapping writers
    batch = msgspec.json.encode(rows).decode()
    if not ids:
        await conn.execute(UPSERT_FILES_QUIET, library_id, batch)
        written = {}
    else:
        written = {r["path"]: r["id"] for r in await conn.fetch(UPSERT_FILES, library_id, batch)}
    await refresh_editions(
        conn, [r.item_id for r in rows if r.item_id is not None and r.item_id not in settled]
    )
    return written


async def refresh_editions(conn: Connection, item_ids: list[uuid.UUID]) -> None:
    """The items' editions from their present main files (see REFRESH_EDITIONS)."""
    if item_ids:
        await conn.execute(REFRESH_EDITIONS, sorted(set(item_ids)))


async def mark_missing(
    conn: Connection, library_id: uuid.UUID, paths: list[str]
) -> list[uuid.UUID]:
    """Files gone from disk; returns the items whose presence must be recomputed."""
    if not paths:
        return []
    rows = await conn.fetch(MARK_MISSING, library_id, paths)
    return [r["item_id"] for r in rows if r["item_id"] is not None]


async def child_folders(
    db: Database | Connection, library_id: uuid.UUID, parents: list[str]
) -> list[str]:
    """Folders seen by earlier scans directly inside ``parents``."""
    return [r["path"] for r in await db.fetch(CHILD_FOLDERS, library_id, parents)]


async def mark_gone_dirs(
    conn: Connection, library_id: uuid.UUID, dirs: list[str]
) -> list[uuid.UUID]:
    """Folders that vanished: every file under them is gone, and the folders are forgotten.
    Returns the items whose presence must be recomputed."""
    if not dirs:
        return []
    rows = await conn.fetch(MARK_GONE_DIRS, library_id, dirs)
    await conn.execute(FORGET_DIRS, library_id, dirs)
    return [r["item_id"] for r in rows if r["item_id"] is not None]


async def has_files_under(db: Database | Connection, library_id: uuid.UUID, folder: str) -> bool:
    return bool(await db.fetchval(HAS_FILES_UNDER, library_id, folder))


async def upsert_items(
    conn: Connection, library_id: uuid.UUID, rows: list[ItemRow], tried: bool = False
) -> dict[str, tuple[uuid.UUID, bool]]:
    """Insert or revive items by identity; returns identity → (id, newly inserted).

    ``tried``: new items are inserted as tried by the metadata providers (``metadata_at``),
    where only local ones exist and the caller sends the few next to sidecars to them: one
    write per item instead of an insert and then an update of every row."""
    if not rows:
        return {}
    result = await conn.fetch(UPSERT_ITEMS, library_id, msgspec.json.encode(rows).decode(), tried)
    return {r["identity_key"]: (r["id"], r["inserted"]) for r in result}


async def link_files(conn: Connection, links: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
    if links:
        await conn.execute(LINK_FILES, [f for f, _ in links], [i for _, i in links])


async def unlinked_extras(db: Database | Connection, library_id: uuid.UUID) -> list[Record]:
    return await db.fetch(UNLINKED_EXTRAS, library_id)


async def item_ids(
    db: Database | Connection, library_id: uuid.UUID, keys: list[str]
) -> dict[str, uuid.UUID]:
    return {r["identity_key"]: r["id"] for r in await db.fetch(ITEM_IDS, library_id, keys)}


async def refresh_presence(conn: Connection, item_ids: list[uuid.UUID], depth: int = 3) -> None:
    if item_ids:
        for _ in range(depth):
            await conn.execute(REFRESH_PRESENCE, list(set(item_ids)))
        await refresh_editions(conn, item_ids)  # a version gone: the rest may agree now


async def file_for_analysis(db: Database, file_id: uuid.UUID) -> str | None:
    path: str | None = await db.fetchval(FILE_FOR_ANALYSIS, file_id)
    return path


async def save_analysis(
    conn: Connection, file_id: uuid.UUID, media_info_json: str | None, error: str | None
) -> None:
    await conn.execute(SAVE_ANALYSIS, file_id, media_info_json, error)


async def items(db: Database, library_id: uuid.UUID) -> list[Record]:
    return await db.fetch(ITEMS, library_id)


async def files(db: Database, library_id: uuid.UUID) -> list[Record]:
    return await db.fetch(FILES, library_id)
