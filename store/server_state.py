"""Key/value facts about this appliance (its id, name), kept in Postgres."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from store.db import Database
from store.sql import sql

GET = sql("SELECT value FROM server_state WHERE key = $1")
INSERT_IF_ABSENT = sql(
    """
    INSERT INTO server_state (key, value) VALUES ($1, $2::jsonb)
    ON CONFLICT (key) DO NOTHING
    """
)


async def get(db: Database, key: str) -> Any:
    raw = await db.fetchval(GET, key)
    return None if raw is None else msgspec.json.decode(raw)


async def ensure_server_id(db: Database) -> str:
    """The appliance's stable identity: created once, on the first start of a database."""
    await db.execute(INSERT_IF_ABSENT, "server_id", msgspec.json.encode(str(uuid.uuid4())).decode())
    value = await get(db, "server_id")
    assert isinstance(value, str)
    return value
