"""The security event trail: refresh-token reuse, lockouts, revocations, first-run claim."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from store.db import Connection, Database
from store.sql import sql

Executor = Database | Connection

INSERT = sql(
    """
    INSERT INTO security_events (at, kind, user_id, device_id, client_ip, details)
    VALUES ($1, $2, $3, $4, $5, $6::jsonb)
    """
)
RECENT = sql(
    """
    SELECT id, at, kind, user_id, device_id, client_ip, details::text AS details
    FROM security_events ORDER BY id DESC LIMIT $1
    """
)


class EventRow(msgspec.Struct, kw_only=True):
    id: int
    at: datetime
    kind: str
    user_id: uuid.UUID | None
    device_id: uuid.UUID | None
    client_ip: str
    details: dict[str, Any]


async def record(
    db: Executor,
    *,
    at: datetime,
    kind: str,
    user_id: uuid.UUID | None,
    device_id: uuid.UUID | None,
    client_ip: str,
    details: dict[str, Any],
) -> None:
    await db.execute(
        INSERT, at, kind, user_id, device_id, client_ip, msgspec.json.encode(details).decode()
    )


async def recent(db: Executor, limit: int) -> list[EventRow]:
    rows = await db.fetch(RECENT, limit)
    return [EventRow(**{**dict(r), "details": msgspec.json.decode(r["details"])}) for r in rows]
