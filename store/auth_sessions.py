"""Sessions and refresh-token families, keyed by token HMACs (never the tokens themselves).

A family is one login on one device. Each refresh token belongs to a family and a generation;
rotating marks the presented token ``rotated_at`` and issues generation + 1, so presenting a
rotated token again is detectable (reuse) and revokes the family. Revoking returns the session
token hashes it killed so that the caller can drop them from the Redis cache.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from store.auth_users import OVERRIDE_ARRAYS
from store.db import Connection, Database
from store.sql import sql

Executor = Database | Connection

INSERT_FAMILY = sql(
    """
    INSERT INTO refresh_families (id, user_id, device_id, scope, generation, created_at)
    VALUES ($1, $2, $3, $4, 0, $5)
    """
)
INSERT_REFRESH = sql(
    """
    INSERT INTO refresh_tokens (token_hash, family_id, generation, created_at, expires_at)
    VALUES ($1, $2, $3, $4, $5)
    """
)
INSERT_SESSION = sql(
    """
    INSERT INTO sessions (id, token_hash, user_id, device_id, family_id, scope, created_at,
                          expires_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    """
)
REFRESH_LOOKUP = sql(
    """
    SELECT t.family_id, t.generation, t.expires_at, t.rotated_at, f.user_id, f.device_id,
           f.scope, f.revoked_at AS family_revoked_at, d.state AS device_state
    FROM refresh_tokens t
    JOIN refresh_families f ON f.id = t.family_id
    JOIN devices d ON d.id = f.device_id
    WHERE t.token_hash = $1
    """
)
# Only one of two concurrent refreshes with the same token can claim it; the other is reuse.
CLAIM_REFRESH = sql(
    """
    UPDATE refresh_tokens SET rotated_at = $2
    WHERE token_hash = $1 AND rotated_at IS NULL
    RETURNING generation
    """
)
BUMP_FAMILY = sql(
    "UPDATE refresh_families SET generation = $2 WHERE id = $1 AND revoked_at IS NULL"
)
REVOKE_FAMILY = sql(
    """
    UPDATE refresh_families SET revoked_at = $2, revoked_reason = $3
    WHERE id = $1 AND revoked_at IS NULL
    """
)
REVOKE_FAMILY_SESSIONS = sql(
    """
    UPDATE sessions SET revoked_at = $2
    WHERE family_id = $1 AND revoked_at IS NULL
    RETURNING token_hash
    """
)
REVOKE_DEVICE_FAMILIES = sql(
    """
    UPDATE refresh_families SET revoked_at = $2, revoked_reason = $3
    WHERE device_id = $1 AND revoked_at IS NULL
    """
)
REVOKE_DEVICE_SESSIONS = sql(
    """
    UPDATE sessions SET revoked_at = $2
    WHERE device_id = $1 AND revoked_at IS NULL
    RETURNING token_hash
    """
)
REVOKE_USER_FAMILIES = sql(
    """
    UPDATE refresh_families SET revoked_at = $2, revoked_reason = $3
    WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $4::uuid
    """
)
REVOKE_USER_SESSIONS = sql(
    """
    UPDATE sessions SET revoked_at = $2
    WHERE user_id = $1 AND revoked_at IS NULL AND family_id IS DISTINCT FROM $3::uuid
    RETURNING token_hash
    """
)
SESSION_BY_ID = sql("SELECT id, user_id, family_id FROM sessions WHERE id = $1")
LIVE_HASHES_FOR_USER = sql(
    "SELECT token_hash FROM sessions WHERE user_id = $1 AND revoked_at IS NULL"
)
LIST_FOR_USER = sql(
    """
    SELECT s.id, s.device_id, d.name AS device_name, s.scope, s.created_at, s.expires_at
    FROM sessions s JOIN devices d ON d.id = s.device_id
    WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
    ORDER BY s.created_at DESC, s.id
    """
)
# Housekeeping: rows past their expiry can never authenticate again. Rotated refresh tokens are
# kept until they expire, because reuse detection needs them.
PURGE_SESSIONS = sql("DELETE FROM sessions WHERE expires_at < $1")
PURGE_REFRESH_TOKENS = sql("DELETE FROM refresh_tokens WHERE expires_at < $1")
PURGE_FAMILIES = sql(
    """
    DELETE FROM refresh_families f
    WHERE NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = f.id)
      AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.family_id = f.id)
    """
)
# The authenticator's one query on a cache miss: a live session on a device that is not revoked,
# with the user's role and overrides.
PRINCIPAL = sql(
    f"""
    SELECT s.id AS session_id, s.user_id, s.device_id, s.family_id, s.scope, s.expires_at,
           u.username, u.role, ov.grants, ov.denies
    FROM sessions s
    JOIN users u ON u.id = s.user_id
    JOIN devices d ON d.id = s.device_id
    {OVERRIDE_ARRAYS}
    WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
      AND d.state <> 'revoked'
    """
)


class RefreshRow(msgspec.Struct, kw_only=True):
    family_id: uuid.UUID
    generation: int
    expires_at: datetime
    rotated_at: datetime | None
    user_id: uuid.UUID
    device_id: uuid.UUID
    scope: str
    family_revoked_at: datetime | None
    device_state: str


class PrincipalRow(msgspec.Struct, kw_only=True):
    session_id: uuid.UUID
    user_id: uuid.UUID
    device_id: uuid.UUID
    family_id: uuid.UUID
    scope: str
    expires_at: datetime
    username: str
    role: str
    grants: list[str]
    denies: list[str]


class SessionInfo(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    device_id: uuid.UUID
    device_name: str
    scope: str
    created_at: datetime
    expires_at: datetime


async def create_family(
    conn: Connection,
    *,
    family_id: uuid.UUID,
    user_id: uuid.UUID,
    device_id: uuid.UUID,
    scope: str,
    now: datetime,
) -> None:
    await conn.execute(INSERT_FAMILY, family_id, user_id, device_id, scope, now)


async def add_refresh_token(
    conn: Connection,
    *,
    token_hash: bytes,
    family_id: uuid.UUID,
    generation: int,
    now: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(INSERT_REFRESH, token_hash, family_id, generation, now, expires_at)


async def add_session(
    conn: Connection,
    *,
    session_id: uuid.UUID,
    token_hash: bytes,
    user_id: uuid.UUID,
    device_id: uuid.UUID,
    family_id: uuid.UUID,
    scope: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        INSERT_SESSION,
        session_id,
        token_hash,
        user_id,
        device_id,
        family_id,
        scope,
        now,
        expires_at,
    )


async def refresh_lookup(db: Executor, token_hash: bytes) -> RefreshRow | None:
    record = await db.fetchrow(REFRESH_LOOKUP, token_hash)
    return None if record is None else RefreshRow(**dict(record))


async def claim_refresh(conn: Connection, token_hash: bytes, now: datetime) -> int | None:
    """Mark the token rotated; its generation, or None if it was already rotated."""
    value = await conn.fetchval(CLAIM_REFRESH, token_hash, now)
    return None if value is None else int(value)


async def bump_family(conn: Connection, family_id: uuid.UUID, generation: int) -> bool:
    """False if the family was revoked meanwhile."""
    return await conn.execute(BUMP_FAMILY, family_id, generation) == "UPDATE 1"


async def revoke_family(
    db: Executor, family_id: uuid.UUID, now: datetime, reason: str
) -> list[bytes]:
    await db.execute(REVOKE_FAMILY, family_id, now, reason)
    return [bytes(r["token_hash"]) for r in await db.fetch(REVOKE_FAMILY_SESSIONS, family_id, now)]


async def revoke_family_sessions(db: Executor, family_id: uuid.UUID, now: datetime) -> list[bytes]:
    """Sessions only (a rotation replaces the family's session; the family lives on)."""
    return [bytes(r["token_hash"]) for r in await db.fetch(REVOKE_FAMILY_SESSIONS, family_id, now)]


async def revoke_device(
    db: Executor, device_id: uuid.UUID, now: datetime, reason: str
) -> list[bytes]:
    await db.execute(REVOKE_DEVICE_FAMILIES, device_id, now, reason)
    return [bytes(r["token_hash"]) for r in await db.fetch(REVOKE_DEVICE_SESSIONS, device_id, now)]


async def revoke_user(
    db: Executor,
    user_id: uuid.UUID,
    now: datetime,
    reason: str,
    keep_family: uuid.UUID | None = None,
) -> list[bytes]:
    """Every session and family of the user except ``keep_family`` (the caller's own)."""
    await db.execute(REVOKE_USER_FAMILIES, user_id, now, reason, keep_family)
    return [
        bytes(r["token_hash"])
        for r in await db.fetch(REVOKE_USER_SESSIONS, user_id, now, keep_family)
    ]


async def session_by_id(db: Executor, session_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(user_id, family_id) of a session."""
    record = await db.fetchrow(SESSION_BY_ID, session_id)
    return None if record is None else (record["user_id"], record["family_id"])


async def live_hashes_for_user(db: Executor, user_id: uuid.UUID) -> list[bytes]:
    return [bytes(r["token_hash"]) for r in await db.fetch(LIVE_HASHES_FOR_USER, user_id)]


async def list_for_user(db: Executor, user_id: uuid.UUID, now: datetime) -> list[SessionInfo]:
    return [SessionInfo(**dict(r)) for r in await db.fetch(LIST_FOR_USER, user_id, now)]


async def principal(db: Executor, token_hash: bytes, now: datetime) -> PrincipalRow | None:
    record = await db.fetchrow(PRINCIPAL, token_hash, now)
    return None if record is None else PrincipalRow(**dict(record))


async def purge_expired(db: Database, before: datetime) -> int:
    """Delete sessions, refresh tokens and empty families that expired before ``before``."""
    removed = 0
    async with db.transaction() as conn:
        for statement in (PURGE_SESSIONS, PURGE_REFRESH_TOKENS):
            removed += int((await conn.execute(statement, before)).split()[-1])
        removed += int((await conn.execute(PURGE_FAMILIES)).split()[-1])
    return removed
