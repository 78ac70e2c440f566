"""Scans: one row per library scan, with counters the jobs bump as they go."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from store.db import Connection, Database, Record
from store.sql import sql

_COLUMNS = """id, library_id, state, trigger, force, folders_walked, files_found, errors,
    started_at, finished_at"""

CREATE_OR_JOIN = sql(
    f"""
    WITH inserted AS (
        INSERT INTO scans (library_id, trigger, force) VALUES ($1, $2, $3)
        ON CONFLICT (library_id) WHERE state IN ('running', 'paused') DO NOTHING
        RETURNING {_COLUMNS}, true AS created
    )
    SELECT * FROM inserted
    UNION ALL
    SELECT {_COLUMNS}, false AS created FROM scans
    WHERE library_id = $1 AND state IN ('running', 'paused') AND NOT EXISTS (SELECT 1 FROM inserted)
    """
)
GET = sql(f"SELECT {_COLUMNS} FROM scans WHERE id = $1")
ACTIVE = sql(
    f"SELECT {_COLUMNS} FROM scans WHERE state IN ('running', 'paused') ORDER BY started_at"
)
HISTORY = sql(
    f"SELECT {_COLUMNS} FROM scans WHERE library_id = $1 ORDER BY started_at DESC LIMIT $2"
)
LAST_FINISHED = sql(
    """
    SELECT max(finished_at) FROM scans WHERE library_id = $1 AND state = 'completed'
    """
)
SET_STATE = sql(
    f"""
    UPDATE scans SET state = $2,
        finished_at = CASE WHEN $2 IN ('completed', 'cancelled', 'failed') THEN now() END
    WHERE library_id = $1 AND state IN ('running', 'paused')
    RETURNING {_COLUMNS}
    """
)
ADD_PROGRESS = sql(
    """
    UPDATE scans SET folders_walked = folders_walked + $2, files_found = files_found + $3,
        errors = errors + $4
    WHERE id = $1
    """
)
FINISH_IF_IDLE = sql(
    f"""
    UPDATE scans SET state = 'completed', finished_at = now()
    WHERE id = $1 AND state = 'running' AND NOT EXISTS (
        SELECT 1 FROM jobs WHERE scan_id = $1 AND state IN ('ready', 'deferred', 'leased'))
    RETURNING {_COLUMNS}
    """
)
WALKED = sql(
    """
    SELECT DISTINCT dedupe_key FROM jobs
    WHERE scan_id = $1 AND dedupe_key = ANY($2::text[])
        AND state NOT IN ('ready', 'deferred', 'leased')
    """
)
JOB_COUNTS = sql(
    """
    SELECT state::text AS state, count(*) AS n FROM jobs WHERE scan_id = $1 GROUP BY state
    """
)


@dataclass(frozen=True)
class Scan:
    id: uuid.UUID
    library_id: uuid.UUID
    state: str
    trigger: str
    force: bool
    folders_walked: int
    files_found: int
    errors: int
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_record(cls, row: Record) -> Scan:
        return cls(**{key: row[key] for key in cls.__dataclass_fields__})


async def create_or_join(
    db: Database, library_id: uuid.UUID, trigger: str, force: bool = False
) -> tuple[Scan, bool]:
    """Start a scan, or return the library's unfinished one (True if newly created)."""
    row = await db.fetchrow(CREATE_OR_JOIN, library_id, trigger, force)
    assert row is not None
    return Scan.from_record(row), bool(row["created"])


async def get(db: Database, scan_id: uuid.UUID) -> Scan | None:
    row = await db.fetchrow(GET, scan_id)
    return None if row is None else Scan.from_record(row)


async def active(db: Database) -> list[Scan]:
    return [Scan.from_record(r) for r in await db.fetch(ACTIVE)]


async def history(db: Database, library_id: uuid.UUID, limit: int = 20) -> list[Scan]:
    return [Scan.from_record(r) for r in await db.fetch(HISTORY, library_id, limit)]


async def last_finished(db: Database, library_id: uuid.UUID) -> datetime | None:
    finished: datetime | None = await db.fetchval(LAST_FINISHED, library_id)
    return finished


async def set_state(db: Database | Connection, library_id: uuid.UUID, state: str) -> Scan | None:
    row = await db.fetchrow(SET_STATE, library_id, state)
    return None if row is None else Scan.from_record(row)


async def add_progress(
    conn: Connection, scan_id: uuid.UUID, folders: int, files: int, errors: int
) -> None:
    await conn.execute(ADD_PROGRESS, scan_id, folders, files, errors)


async def finish_if_idle(db: Database, scan_id: uuid.UUID) -> Scan | None:
    row = await db.fetchrow(FINISH_IF_IDLE, scan_id)
    return None if row is None else Scan.from_record(row)


async def walked(db: Database, scan_id: uuid.UUID, keys: list[str]) -> set[str]:
    """Which of these jobs (by dedupe key) this scan has already run to an end: a scan that is
    joined does not walk its roots a second time (that doubled its folder and file counts)."""
    return {r["dedupe_key"] for r in await db.fetch(WALKED, scan_id, keys)}


async def job_counts(db: Database, scan_id: uuid.UUID) -> dict[str, int]:
    return {r["state"]: r["n"] for r in await db.fetch(JOB_COUNTS, scan_id)}
