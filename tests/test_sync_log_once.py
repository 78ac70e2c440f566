"""The sync change log names an item once per transaction (migration 0009), and never less.

A scan's IndexUpsert inserts an item and links its files in one transaction; the player needs
one change row for that, not two. A later transaction that changes the item's files must still
log it, and a savepoint rolled back must not make a change go unlogged.
"""

from __future__ import annotations

import uuid
from typing import Any

from store.db import Database

INSERT_LIBRARY = (
    "INSERT INTO libraries (name, kind, roots) VALUES ('Films', 'movies', "
    "ARRAY['/media/films']) RETURNING id"
)
INSERT_ITEM = (
    "INSERT INTO media_items (library_id, kind, identity_key, title, sort_title) "
    "VALUES ($1, 'movie', $2, $2, $2) RETURNING id"
)
INSERT_FILE = (
    "INSERT INTO media_files (library_id, path, folder, size_bytes, mtime_ns) "
    "VALUES ($1, $2, '/media/films', 1, 1) RETURNING id"
)
LINK = "UPDATE media_files SET item_id = $2 WHERE id = $1"
LOGGED = "SELECT entity_id FROM sync_changes WHERE entity = 'item' ORDER BY seq"


async def in_transaction(db: Database, work: Any) -> Any:
    async def run(conn: Any) -> Any:
        async with conn.transaction():
            return await work(conn)

    return await db.run_asyncio(run)


async def logged(db: Database) -> list[uuid.UUID]:
    return [r["entity_id"] for r in await db.run_asyncio(lambda conn: conn.fetch(LOGGED))]


async def test_an_item_created_and_linked_in_one_transaction_is_logged_once(db: Database) -> None:
    library = await db.run_asyncio(lambda conn: conn.fetchval(INSERT_LIBRARY))

    async def index(conn: Any) -> tuple[uuid.UUID, uuid.UUID]:
        first = await conn.fetchval(INSERT_FILE, library, "/media/films/a.mkv")
        second = await conn.fetchval(INSERT_FILE, library, "/media/films/a - 4k.mkv")
        item = await conn.fetchval(INSERT_ITEM, library, "A")
        await conn.execute(LINK, first, item)
        await conn.execute(LINK, second, item)
        await conn.execute("UPDATE media_files SET version = '4k' WHERE id = $1", second)
        return item, second

    item, second = await in_transaction(db, index)
    assert await logged(db) == [item]

    # a later transaction that changes the item's files logs it again
    await in_transaction(
        db,
        lambda conn: conn.execute("UPDATE media_files SET present = false WHERE id = $1", second),
    )
    assert await logged(db) == [item, item]


async def test_a_rolled_back_savepoint_does_not_hide_a_change(db: Database) -> None:
    library = await db.run_asyncio(lambda conn: conn.fetchval(INSERT_LIBRARY))
    file_id = await db.run_asyncio(
        lambda conn: conn.fetchval(INSERT_FILE, library, "/media/films/b.mkv")
    )
    existing = await db.run_asyncio(lambda conn: conn.fetchval(INSERT_ITEM, library, "Old"))
    assert await logged(db) == [existing]

    async def work(conn: Any) -> uuid.UUID:
        try:
            async with conn.transaction():  # a savepoint
                await conn.fetchval(INSERT_ITEM, library, "Gone")
                await conn.execute(LINK, file_id, existing)  # logged here, then rolled back
                raise LookupError
        except LookupError:
            pass
        item: uuid.UUID = await conn.fetchval(INSERT_ITEM, library, "New")
        await conn.execute(LINK, file_id, existing)  # must be logged again, outside
        await conn.execute(LINK, file_id, item)  # logged once with its insert
        return item

    item = await in_transaction(db, work)
    assert sorted(map(str, await logged(db))) == sorted(map(str, [existing, existing, item]))
