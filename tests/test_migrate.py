"""Migrations: in order, once, atomically, and never onto a database newer than the code."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
import trio

from store.db import Database
from store.migrate import Migration, MigrationError, discover, migrate
from store.sql import sql

VERSIONS = sql("SELECT version FROM schema_migrations ORDER BY version")
TABLE_EXISTS = sql("SELECT to_regclass($1) IS NOT NULL")


def test_discover_orders_and_validates(tmp_path: Path) -> None:
    (tmp_path / "0002_b.sql").write_text("SELECT 2;")
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    assert [m.version for m in discover(tmp_path)] == [1, 2]
    (tmp_path / "2_bad-name.sql").write_text("")
    with pytest.raises(MigrationError, match=r"NNNN_name\.sql"):
        discover(tmp_path)


def test_shipped_migrations_are_numbered_from_one() -> None:
    versions = [m.version for m in discover()]
    assert versions == list(range(1, len(versions) + 1))


async def test_template_is_fully_migrated_and_rerun_is_a_no_op(db: Database) -> None:
    shipped = [m.version for m in discover()]
    assert [r["version"] for r in await db.fetch(VERSIONS)] == shipped
    assert await migrate(db) == []


async def test_failed_migration_leaves_database_as_it_was(db: Database) -> None:
    migrations = [
        *discover(),
        Migration(900, "good", "CREATE TABLE t900 (id int)"),
        Migration(901, "half", "CREATE TABLE t901 (id int); SELECT * FROM nope"),
    ]
    with pytest.raises(asyncpg.exceptions.UndefinedTableError):
        await migrate(db, migrations)
    versions = [r["version"] for r in await db.fetch(VERSIONS)]
    assert versions[-1] == 900  # the good one stays, the broken one left no trace
    assert await db.fetchval(TABLE_EXISTS, "t900") is True
    assert await db.fetchval(TABLE_EXISTS, "t901") is False


async def test_refuses_database_newer_than_code(db: Database) -> None:
    await migrate(db, [*discover(), Migration(950, "future", "SELECT 1")])
    with pytest.raises(MigrationError, match="newer than this Ferrex"):
        await migrate(db)


async def test_changed_applied_migration_is_refused(db: Database) -> None:
    first, *rest = discover()
    edited = Migration(first.version, first.name, first.sql + "\n-- edited")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(db, [edited, *rest])


async def test_concurrent_migrators_apply_once(db: Database) -> None:
    extra = Migration(960, "slow", "SELECT pg_sleep(0.3); CREATE TABLE t960 (id int)")
    results: list[list[Migration]] = []

    async def run() -> None:
        results.append(await migrate(db, [*discover(), extra]))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)
        nursery.start_soon(run)
    assert sorted(len(r) for r in results) == [0, 1]


ADD_JOB = sql("INSERT INTO jobs (kind, library_id, payload, priority) VALUES ($1, $2, $3, 1)")
JOB_KINDS = sql("SELECT kind, payload::text AS payload FROM jobs ORDER BY id")
ADD_FILE = sql(
    """
    INSERT INTO media_files (library_id, path, folder, size_bytes, mtime_ns)
    VALUES ($1, $2, '/srv/films', 10, 123) RETURNING id
    """
)
ADD_FOLDER = sql("INSERT INTO folders (library_id, path, fingerprint) VALUES ($1, $2, 'fp')")
FILE_MTIMES = sql("SELECT path, mtime_ns FROM media_files ORDER BY path")
FINGERPRINTS = sql("SELECT path, fingerprint FROM folders ORDER BY path")


async def test_removed_job_kinds_are_dropped_and_their_files_rescanned(db: Database) -> None:
    """0012: jobs of the removed kinds (index_upsert, metadata_enrich's file_ids stage) left
    by an old queue are deleted, and the files they would have indexed look changed to the next
    scan; other jobs and folders are untouched."""
    import json

    from store import libraries

    library = (await libraries.create(db, "films", "movies", ["/srv/films"])).id
    pending = await db.fetchval(ADD_FILE, library, "/srv/films/a.mkv")
    parsing = await db.fetchval(ADD_FILE, library, "/srv/films/b.mkv")
    await db.fetchval(ADD_FILE, library, "/srv/films/c.mkv")
    await db.execute(ADD_FOLDER, library, "/srv/films")
    await db.execute(ADD_FOLDER, library, "/srv/other")
    await db.execute(ADD_JOB, "index_upsert", library, json.dumps({"file_ids": [str(pending)]}))
    await db.execute(ADD_JOB, "metadata_enrich", library, json.dumps({"file_ids": [str(parsing)]}))
    await db.execute(ADD_JOB, "metadata_enrich", library, json.dumps({"item_ids": []}))
    await db.execute(ADD_JOB, "folder_scan", library, json.dumps({"path": "/srv/films"}))

    (step,) = [m for m in discover() if m.name == "drop_index_upsert_jobs"]
    await db.run_asyncio(lambda conn: conn.execute(step.sql))

    assert [(r["kind"], json.loads(r["payload"])) for r in await db.fetch(JOB_KINDS)] == [
        ("metadata_enrich", {"item_ids": []}),
        ("folder_scan", {"path": "/srv/films"}),
    ]
    assert [(r["path"], r["mtime_ns"]) for r in await db.fetch(FILE_MTIMES)] == [
        ("/srv/films/a.mkv", -1),
        ("/srv/films/b.mkv", -1),
        ("/srv/films/c.mkv", 123),
    ]
    assert [(r["path"], r["fingerprint"]) for r in await db.fetch(FINGERPRINTS)] == [
        ("/srv/films", ""),
        ("/srv/other", "fp"),
    ]
