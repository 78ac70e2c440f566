"""Devices of a user: pending -> trusted (PIN set) -> revoked, with the PIN-failure lock."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from store.db import Connection, Database, Record
from store.login_counters import FOREVER, Counters
from store.sql import sql

Executor = Database | Connection

_COLUMNS = (
    "id, user_id, client_id, name, platform, state, pin_hash, failed_pin_attempts, "
    "pin_locked, created_at, last_seen_at, revoked_at"
)

# A password login proves the user: it registers the device (pending), unlocks a PIN lock, and
# brings a revoked device back as pending with its PIN cleared (it must be trusted again).
UPSERT_ON_PASSWORD_LOGIN = sql(
    f"""
    INSERT INTO devices (id, user_id, client_id, name, platform, state, created_at, last_seen_at)
    VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)
    ON CONFLICT (user_id, client_id) DO UPDATE SET
        name = EXCLUDED.name,
        platform = EXCLUDED.platform,
        last_seen_at = EXCLUDED.last_seen_at,
        failed_pin_attempts = 0,
        pin_locked = false,
        state = CASE WHEN devices.state = 'revoked' THEN 'pending' ELSE devices.state END,
        pin_hash = CASE WHEN devices.state = 'revoked' THEN NULL ELSE devices.pin_hash END,
        revoked_at = NULL
    RETURNING {_COLUMNS}
    """
)
BY_CLIENT_ID = sql(f"SELECT {_COLUMNS} FROM devices WHERE user_id = $1 AND client_id = $2")
BY_ID = sql(f"SELECT {_COLUMNS} FROM devices WHERE id = $1")
LIST_FOR_USER = sql(
    f"SELECT {_COLUMNS} FROM devices WHERE user_id = $1 ORDER BY last_seen_at DESC, id"
)
SET_PIN = sql(
    f"""
    UPDATE devices SET pin_hash = $2, state = 'trusted', failed_pin_attempts = 0,
                       pin_locked = false
    WHERE id = $1 AND state <> 'revoked'
    RETURNING {_COLUMNS}
    """
)
TOUCH = sql("UPDATE devices SET last_seen_at = $2 WHERE id = $1")
# The PIN lock's counters, read FOR UPDATE so that appliance.auth.lockout can check the lock and
# reserve an attempt in one step (PIN_FAILED alone counted only after the verify, so ten requests
# at once were all verified).
PIN_COUNTERS = sql(
    """
    SELECT failed_pin_attempts, pin_locked, pin_checks_in_flight, pin_checks_at
    FROM devices WHERE id = $1 FOR UPDATE
    """
)
SET_PIN_COUNTERS = sql(
    """
    UPDATE devices SET failed_pin_attempts = $2, pin_locked = $3, pin_checks_in_flight = $4,
                       pin_checks_at = $5
    WHERE id = $1
    """
)
SET_KEY = sql("UPDATE devices SET key_hash = $2 WHERE id = $1")
KEY_HASH = sql("SELECT key_hash FROM devices WHERE id = $1")
REVOKE = sql(
    """
    UPDATE devices SET state = 'revoked', pin_hash = NULL, key_hash = NULL, revoked_at = $2
    WHERE id = $1 AND state <> 'revoked'
    """
)


class DeviceRow(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    user_id: uuid.UUID
    client_id: str
    name: str
    platform: str
    state: str
    pin_hash: str | None
    failed_pin_attempts: int
    pin_locked: bool
    created_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None


def _row(record: Record | None) -> DeviceRow | None:
    return None if record is None else DeviceRow(**dict(record))


async def register(
    db: Executor, *, user_id: uuid.UUID, client_id: str, name: str, platform: str, now: datetime
) -> DeviceRow:
    row = _row(
        await db.fetchrow(
            UPSERT_ON_PASSWORD_LOGIN, uuid.uuid4(), user_id, client_id, name, platform, now
        )
    )
    assert row is not None
    return row


async def by_client_id(db: Executor, user_id: uuid.UUID, client_id: str) -> DeviceRow | None:
    return _row(await db.fetchrow(BY_CLIENT_ID, user_id, client_id))


async def by_id(db: Executor, device_id: uuid.UUID) -> DeviceRow | None:
    return _row(await db.fetchrow(BY_ID, device_id))


async def list_for_user(db: Executor, user_id: uuid.UUID) -> list[DeviceRow]:
    return [DeviceRow(**dict(r)) for r in await db.fetch(LIST_FOR_USER, user_id)]


async def set_pin(db: Executor, device_id: uuid.UUID, pin_hash: str) -> DeviceRow | None:
    return _row(await db.fetchrow(SET_PIN, device_id, pin_hash))


async def touch(db: Executor, device_id: uuid.UUID, now: datetime) -> None:
    await db.execute(TOUCH, device_id, now)


async def revoke(db: Executor, device_id: uuid.UUID, now: datetime) -> bool:
    return await db.execute(REVOKE, device_id, now) == "UPDATE 1"


async def set_key(db: Executor, device_id: uuid.UUID, key_hash: bytes) -> None:
    """Store the HMAC of the device key just handed to the client (replacing the last one)."""
    await db.execute(SET_KEY, device_id, key_hash)


async def key_hash(db: Executor, device_id: uuid.UUID) -> bytes | None:
    value = await db.fetchval(KEY_HASH, device_id)
    return bytes(value) if value is not None else None


class PinCounters:
    """A device's PIN-failure counters as lockout :class:`Counters`; the PIN lock has no end
    time (``FOREVER``): a password login lifts it."""

    def __init__(self, device_id: uuid.UUID) -> None:
        self.device_id = device_id

    async def read(self, conn: Connection, now: datetime) -> Counters:
        record = await conn.fetchrow(PIN_COUNTERS, self.device_id)
        if record is None:
            return Counters()
        return Counters(
            int(record["failed_pin_attempts"]),
            FOREVER if record["pin_locked"] else None,
            int(record["pin_checks_in_flight"]),
            record["pin_checks_at"],
        )

    async def write(self, conn: Connection, counters: Counters, now: datetime) -> None:
        await conn.execute(
            SET_PIN_COUNTERS,
            self.device_id,
            counters.failures,
            counters.locked_until is not None,
            counters.in_flight,
            counters.checks_at,
        )
