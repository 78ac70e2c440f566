"""Failure counters behind the password lockout, for real accounts and for unknown names alike.

A real account keeps its counters on its ``users`` row; a name that matches no account keeps the
same counters in ``unknown_login_failures`` (keyed by the lower-cased name), so that probing a
name cannot tell the two apart: both answer 401 and, after the same number of failures, 423.
Rows are read ``FOR UPDATE``: the caller decides and writes back inside one transaction, which
makes "check the lock, reserve an attempt" one atomic step (see appliance.auth.lockout).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from store.db import Connection, Database
from store.sql import sql

# Stands for "until a password login unlocks it" (a device's PIN lock has no end time).
FOREVER = datetime.max.replace(tzinfo=UTC)

USER_COUNTERS = sql(
    """
    SELECT failed_password_attempts AS failures, locked_until,
           password_checks_in_flight AS in_flight, password_checks_at AS checks_at
    FROM users WHERE id = $1 FOR UPDATE
    """
)
SET_USER_COUNTERS = sql(
    """
    UPDATE users SET failed_password_attempts = $2, locked_until = $3,
                     password_checks_in_flight = $4, password_checks_at = $5
    WHERE id = $1
    """
)
ENSURE_UNKNOWN = sql(
    """
    INSERT INTO unknown_login_failures (name, updated_at) VALUES ($1, $2)
    ON CONFLICT (name) DO NOTHING
    """
)
UNKNOWN_COUNTERS = sql(
    """
    SELECT failed_password_attempts AS failures, locked_until,
           password_checks_in_flight AS in_flight, password_checks_at AS checks_at
    FROM unknown_login_failures WHERE name = $1 FOR UPDATE
    """
)
SET_UNKNOWN_COUNTERS = sql(
    """
    UPDATE unknown_login_failures
    SET failed_password_attempts = $2, locked_until = $3, password_checks_in_flight = $4,
        password_checks_at = $5, updated_at = $6
    WHERE name = $1
    """
)
PURGE_UNKNOWN = sql(
    """
    DELETE FROM unknown_login_failures
    WHERE updated_at < $1 AND (locked_until IS NULL OR locked_until < $1)
    """
)


@dataclass(frozen=True)
class Counters:
    failures: int = 0
    """Failed checks since the last success or the end of the last lock."""
    locked_until: datetime | None = None
    in_flight: int = 0
    """Attempts reserved and not yet settled (being verified right now)."""
    checks_at: datetime | None = None
    """When the latest attempt was reserved (old reservations are taken for dead)."""


def unknown_key(username: str) -> str:
    """Usernames are unique regardless of case, so the unknown name's key is lower-cased too."""
    return username.lower()


class UserCounters:
    """The counters of one real account."""

    def __init__(self, user_id: uuid.UUID) -> None:
        self.user_id = user_id

    async def read(self, conn: Connection, now: datetime) -> Counters:
        record = await conn.fetchrow(USER_COUNTERS, self.user_id)
        if record is None:  # deleted meanwhile: behaves like a fresh account, writes go nowhere
            return Counters()
        return Counters(
            int(record["failures"]),
            record["locked_until"],
            int(record["in_flight"]),
            record["checks_at"],
        )

    async def write(self, conn: Connection, counters: Counters, now: datetime) -> None:
        await conn.execute(
            SET_USER_COUNTERS,
            self.user_id,
            counters.failures,
            counters.locked_until,
            counters.in_flight,
            counters.checks_at,
        )


class UnknownNameCounters:
    """The counters of a username that matches no account."""

    def __init__(self, username: str) -> None:
        self.name = unknown_key(username)

    async def read(self, conn: Connection, now: datetime) -> Counters:
        await conn.execute(ENSURE_UNKNOWN, self.name, now)
        record = await conn.fetchrow(UNKNOWN_COUNTERS, self.name)
        assert record is not None
        return Counters(
            int(record["failures"]),
            record["locked_until"],
            int(record["in_flight"]),
            record["checks_at"],
        )

    async def write(self, conn: Connection, counters: Counters, now: datetime) -> None:
        await conn.execute(
            SET_UNKNOWN_COUNTERS,
            self.name,
            counters.failures,
            counters.locked_until,
            counters.in_flight,
            counters.checks_at,
            now,
        )


async def purge_unknown(db: Database | Connection, before: datetime) -> int:
    """Forget unknown names not tried since ``before`` and not locked any more."""
    status = await db.execute(PURGE_UNKNOWN, before)
    return int(status.split()[-1])
