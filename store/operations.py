"""Queries of the operator commands: ``backup``, ``restore`` and ``status``."""

from __future__ import annotations

from typing import Any

from store.db import Database
from store.sql import sql

SCHEMA_VERSION = sql("SELECT coalesce(max(version), 0) FROM schema_migrations")
# Which of the two tables exist: a database the migrations never reached (or only partly) has
# nothing to count in a missing table, and that is not an error.
TABLES_PRESENT = sql(
    "SELECT to_regclass('users') IS NOT NULL AS users, "
    "to_regclass('libraries') IS NOT NULL AS libraries"
)
COUNT_USERS = sql("SELECT count(*) FROM users")
COUNT_LIBRARIES = sql("SELECT count(*) FROM libraries")
LIBRARIES = sql(
    """
    SELECT l.id, l.name, l.kind, l.paused,
           (SELECT count(*) FROM media_items m WHERE m.library_id = l.id) AS items,
           s.state AS scan_state, s.trigger AS scan_trigger, s.started_at AS scan_started_at,
           s.finished_at AS scan_finished_at, s.files_found AS scan_files,
           s.errors AS scan_errors
    FROM libraries l
    LEFT JOIN LATERAL (
        SELECT * FROM scans WHERE scans.library_id = l.id ORDER BY started_at DESC LIMIT 1
    ) s ON true
    ORDER BY lower(l.name), l.id
    """
)
QUEUE_BY_STATE = sql(
    "SELECT state::text AS state, count(*) AS jobs FROM jobs GROUP BY state ORDER BY state"
)
USER_COUNT = sql("SELECT count(*) FROM users")


async def schema_version(db: Database) -> int:
    return int(await db.fetchval(SCHEMA_VERSION))


async def in_use(db: Database) -> tuple[int, int]:
    """Users and libraries in the database: a restore over them needs --force. A table the
    migrations have not created counts 0; any other failure to count raises (the caller must
    not read it as "nothing to lose")."""
    present = await db.fetchrow(TABLES_PRESENT)
    if present is None:
        raise RuntimeError("no answer to a catalog query")
    users = int(await db.fetchval(COUNT_USERS)) if present["users"] else 0
    libraries = int(await db.fetchval(COUNT_LIBRARIES)) if present["libraries"] else 0
    return users, libraries


async def libraries_with_last_scan(db: Database) -> list[dict[str, Any]]:
    return [dict(row) for row in await db.fetch(LIBRARIES)]


async def queue_by_state(db: Database) -> dict[str, int]:
    return {row["state"]: int(row["jobs"]) for row in await db.fetch(QUEUE_BY_STATE)}


async def user_count(db: Database) -> int:
    return int(await db.fetchval(USER_COUNT))


DROP_DATABASE = sql('DROP DATABASE IF EXISTS "ferrex"')


async def recreate_database(maintenance_dsn: str) -> None:
    """An empty ``ferrex`` database for pg_restore (the appliance must not be running)."""
    import asyncpg
    import trio_asyncio

    from store.cluster import CREATE_DATABASE

    async def run() -> None:
        conn = await asyncpg.connect(maintenance_dsn, timeout=10)
        try:
            await conn.execute(DROP_DATABASE.text)
            await conn.execute(CREATE_DATABASE.text)
        finally:
            await conn.close()

    await trio_asyncio.aio_as_trio(run)()
