"""Libraries: named sets of root folders of one kind (movies or series)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from store.db import Database, Record
from store.sql import sql

_COLUMNS = "id, name, kind, roots, scan_interval_minutes, watch, paused, created_at, updated_at"

INSERT = sql(
    f"""
    INSERT INTO libraries (name, kind, roots, scan_interval_minutes, watch)
    VALUES ($1, $2, $3, $4, $5)
    RETURNING {_COLUMNS}
    """
)
GET = sql(f"SELECT {_COLUMNS} FROM libraries WHERE id = $1")
LIST = sql(f"SELECT {_COLUMNS} FROM libraries ORDER BY name, id")
UPDATE = sql(
    f"""
    UPDATE libraries SET name = coalesce($2, name), roots = coalesce($3, roots),
        scan_interval_minutes = coalesce($4, scan_interval_minutes),
        watch = coalesce($5, watch), updated_at = now()
    WHERE id = $1
    RETURNING {_COLUMNS}
    """
)
DELETE = sql("DELETE FROM libraries WHERE id = $1 RETURNING id")
SET_PAUSED = sql(
    f"UPDATE libraries SET paused = $2, updated_at = now() WHERE id = $1 RETURNING {_COLUMNS}"
)


class NameTaken(Exception):
    """Another library has this name (names are unique regardless of case, migration 0012)."""


@dataclass(frozen=True)
class Library:
    id: uuid.UUID
    name: str
    kind: str
    roots: list[str]
    scan_interval_minutes: int
    watch: bool
    paused: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, row: Record) -> Library:
        return cls(**{key: row[key] for key in cls.__dataclass_fields__})


async def create(
    db: Database,
    name: str,
    kind: str,
    roots: list[str],
    *,
    scan_interval_minutes: int = 360,
    watch: bool = True,
) -> Library:
    try:
        row = await db.fetchrow(INSERT, name, kind, roots, scan_interval_minutes, watch)
    except asyncpg.exceptions.UniqueViolationError:
        raise NameTaken(name) from None
    assert row is not None
    return Library.from_record(row)


async def get(db: Database, library_id: uuid.UUID) -> Library | None:
    row = await db.fetchrow(GET, library_id)
    return None if row is None else Library.from_record(row)


async def list_all(db: Database) -> list[Library]:
    return [Library.from_record(r) for r in await db.fetch(LIST)]


async def update(
    db: Database,
    library_id: uuid.UUID,
    *,
    name: str | None = None,
    roots: list[str] | None = None,
    scan_interval_minutes: int | None = None,
    watch: bool | None = None,
) -> Library | None:
    try:
        row = await db.fetchrow(UPDATE, library_id, name, roots, scan_interval_minutes, watch)
    except asyncpg.exceptions.UniqueViolationError:
        raise NameTaken(name or "") from None
    return None if row is None else Library.from_record(row)


async def delete(db: Database, library_id: uuid.UUID) -> bool:
    """Its jobs go with it (ON DELETE CASCADE)."""
    return await db.fetchval(DELETE, library_id) is not None


async def set_paused(db: Database, library_id: uuid.UUID, paused: bool) -> Library | None:
    row = await db.fetchrow(SET_PAUSED, library_id, paused)
    return None if row is None else Library.from_record(row)
