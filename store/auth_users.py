"""Accounts: users, their password-failure counters and lock, and per-user permission overrides.

Lockout counters live here (not in Redis) so that they survive restarts and Redis outages; they
are read and written by store.login_counters (the lockout's one atomic step).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import msgspec

from store.db import Connection, Database, Record
from store.sql import sql

Executor = Database | Connection

_COLUMNS = (
    "id, username, display_name, role, password_hash, failed_password_attempts, "
    "locked_until, created_at, updated_at"
)
# A user's permission overrides as two arrays (``grants``, ``denies``) beside a row that has
# the user as ``u``: one definition for every query that builds a login's principal (a session's
# in store.auth_sessions, a playback ticket's in store.media_stream). An aggregate without GROUP
# BY, so exactly one row per user, empty arrays without overrides.
OVERRIDE_ARRAYS = """
    CROSS JOIN LATERAL (
        SELECT COALESCE(array_agg(o.permission) FILTER (WHERE o.effect = 'grant'), '{}') AS grants,
               COALESCE(array_agg(o.permission) FILTER (WHERE o.effect = 'deny'), '{}') AS denies
        FROM user_permission_overrides o WHERE o.user_id = u.id
    ) ov
"""
# Serialises first-run claims: only one request can create the first admin.
SETUP_LOCK_KEY = 0x6665727265780001

SETUP_LOCK = sql("SELECT pg_advisory_xact_lock($1::bigint)")
COUNT_ADMINS = sql("SELECT count(*) FROM users WHERE role = 'admin'")
INSERT = sql(
    f"""
    INSERT INTO users (id, username, display_name, role, password_hash, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $6)
    RETURNING {_COLUMNS}
    """
)
BY_NAME = sql(f"SELECT {_COLUMNS} FROM users WHERE lower(username) = lower($1)")
BY_ID = sql(f"SELECT {_COLUMNS} FROM users WHERE id = $1")
LIST = sql(f"SELECT {_COLUMNS} FROM users ORDER BY lower(username)")
SET_PASSWORD = sql(
    """
    UPDATE users SET password_hash = $2, updated_at = $3, failed_password_attempts = 0,
                     locked_until = NULL
    WHERE id = $1
    """
)
REHASH = sql("UPDATE users SET password_hash = $2 WHERE id = $1 AND password_hash = $3")
UPDATE = sql(
    f"""
    UPDATE users SET username = COALESCE($2, username),
                     display_name = COALESCE($3, display_name),
                     role = COALESCE($4, role),
                     updated_at = $5
    WHERE id = $1
    RETURNING {_COLUMNS}
    """
)
DELETE = sql("DELETE FROM users WHERE id = $1")
OVERRIDES = sql(
    "SELECT permission, effect FROM user_permission_overrides WHERE user_id = $1 "
    "ORDER BY permission"
)
CLEAR_OVERRIDES = sql("DELETE FROM user_permission_overrides WHERE user_id = $1")
ADD_OVERRIDE = sql(
    "INSERT INTO user_permission_overrides (user_id, permission, effect) VALUES ($1, $2, $3)"
)


class UsernameTaken(Exception):
    """Usernames are unique regardless of case."""


class UserRow(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    username: str
    display_name: str
    role: str
    password_hash: str
    failed_password_attempts: int
    locked_until: datetime | None
    created_at: datetime
    updated_at: datetime


def _row(record: Record | None) -> UserRow | None:
    return None if record is None else UserRow(**dict(record))


async def count_admins(db: Executor) -> int:
    return int(await db.fetchval(COUNT_ADMINS))


async def lock_setup(conn: Connection) -> None:
    await conn.fetchval(SETUP_LOCK, SETUP_LOCK_KEY)


async def insert(
    db: Executor, *, username: str, display_name: str, role: str, password_hash: str, now: datetime
) -> UserRow:
    try:
        record = await db.fetchrow(
            INSERT, uuid.uuid4(), username, display_name, role, password_hash, now
        )
    except asyncpg.exceptions.UniqueViolationError:
        raise UsernameTaken(username) from None
    row = _row(record)
    assert row is not None
    return row


async def by_name(db: Executor, username: str) -> UserRow | None:
    return _row(await db.fetchrow(BY_NAME, username))


async def by_id(db: Executor, user_id: uuid.UUID) -> UserRow | None:
    return _row(await db.fetchrow(BY_ID, user_id))


async def list_all(db: Executor) -> list[UserRow]:
    return [UserRow(**dict(r)) for r in await db.fetch(LIST)]


async def set_password(db: Executor, user_id: uuid.UUID, password_hash: str, now: datetime) -> None:
    await db.execute(SET_PASSWORD, user_id, password_hash, now)


async def rehash(db: Executor, user_id: uuid.UUID, new_hash: str, old_hash: str) -> None:
    """Replace the hash only if nobody changed the password in the meantime."""
    await db.execute(REHASH, user_id, new_hash, old_hash)


async def update(
    db: Executor,
    user_id: uuid.UUID,
    *,
    username: str | None,
    display_name: str | None,
    role: str | None,
    now: datetime,
) -> UserRow | None:
    try:
        record = await db.fetchrow(UPDATE, user_id, username, display_name, role, now)
    except asyncpg.exceptions.UniqueViolationError:
        raise UsernameTaken(username or "") from None
    return _row(record)


async def delete(db: Executor, user_id: uuid.UUID) -> bool:
    return await db.execute(DELETE, user_id) == "DELETE 1"


async def overrides(db: Executor, user_id: uuid.UUID) -> dict[str, str]:
    """permission -> ``grant`` or ``deny``."""
    return {r["permission"]: r["effect"] for r in await db.fetch(OVERRIDES, user_id)}


async def replace_overrides(conn: Connection, user_id: uuid.UUID, effects: dict[str, str]) -> None:
    await conn.execute(CLEAR_OVERRIDES, user_id)
    for permission, effect in sorted(effects.items()):
        await conn.execute(ADD_OVERRIDE, user_id, permission, effect)
