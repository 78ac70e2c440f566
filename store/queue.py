"""The durable job queue: Postgres rows claimed with leases.

Why Postgres and not a broker: one fewer process on a Raspberry Pi, and the queue commits in the
same transaction as the work's results. Safety rests on three rules enforced here in SQL:

* a claim is ``FOR UPDATE SKIP LOCKED`` on one row, so any number of workers (or appliance
  processes sharing one database) never claim the same job;
* every state change of a leased job names its ``lease_id`` and requires an unexpired lease, so a
  worker whose lease was reaped cannot complete, fail or renew the job any more;
* :func:`complete` runs inside the worker's result transaction: if the lease is gone the whole
  transaction rolls back and the result is never committed.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

import msgspec

from store.db import Connection, Database, Record
from store.sql import sql

LEASE_TTL_SECONDS = 30.0
DEFAULT_MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 600.0


class Priority(IntEnum):
    """P0 hot filesystem changes, P1 user-requested scans, P2 maintenance, P3 background."""

    P0 = 0
    P1 = 1
    P2 = 2
    P3 = 3


class JobState(StrEnum):
    READY = "ready"
    DEFERRED = "deferred"
    LEASED = "leased"
    COMPLETED = "completed"
    FAILED = "failed"
    DEAD_LETTER = "dead_letter"


ACTIVE_STATES = (JobState.READY, JobState.DEFERRED, JobState.LEASED)
ALL_KINDS = ["folder_scan", "media_analyze", "metadata_enrich", "image_fetch"]


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    library_id: uuid.UUID | None
    payload: dict[str, Any]
    priority: int
    state: str
    attempts: int
    max_attempts: int
    lease_id: uuid.UUID | None
    lease_expires_at: datetime | None
    dedupe_key: str | None
    last_error: str | None
    scan_id: uuid.UUID | None

    @classmethod
    def from_record(cls, row: Record) -> Job:
        return cls(
            id=row["id"],
            kind=row["kind"],
            library_id=row["library_id"],
            payload=msgspec.json.decode(row["payload"]),
            priority=row["priority"],
            state=row["state"],
            attempts=row["attempts"],
            max_attempts=row["max_attempts"],
            lease_id=row["lease_id"],
            lease_expires_at=row["lease_expires_at"],
            dedupe_key=row["dedupe_key"],
            last_error=row["last_error"],
            scan_id=row["scan_id"],
        )


@dataclass(frozen=True)
class NewJob:
    kind: str
    library_id: uuid.UUID | None
    payload: dict[str, Any]
    priority: Priority = Priority.P1
    dedupe_key: str | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    scan_id: uuid.UUID | None = None


_COLUMNS = """id, kind, library_id, payload::text AS payload, priority, state::text AS state,
    attempts, max_attempts, lease_id, lease_expires_at, dedupe_key, last_error, scan_id"""

ENQUEUE = sql(
    f"""
    INSERT INTO jobs (kind, library_id, payload, priority, dedupe_key, max_attempts, scan_id)
    SELECT * FROM unnest($1::text[], $2::uuid[], $3::jsonb[], $4::smallint[], $5::text[],
                         $6::integer[], $7::uuid[])
    ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL
        AND state IN ('ready', 'deferred', 'leased')
    DO UPDATE SET priority = LEAST(jobs.priority, EXCLUDED.priority), updated_at = now()
    RETURNING {_COLUMNS}, (xmax = 0) AS inserted
    """
)
CLAIM = sql(
    f"""
    UPDATE jobs SET state = 'leased', lease_owner = $3, lease_id = gen_random_uuid(),
        lease_expires_at = now() + make_interval(secs => $4), attempts = attempts + 1,
        updated_at = now()
    WHERE id = (
        SELECT id FROM jobs
        WHERE state = 'ready' AND available_at <= now() AND priority = $1
          AND library_id IS NOT DISTINCT FROM $2 AND kind = ANY($5::text[])
        ORDER BY available_at, id
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    )
    RETURNING {_COLUMNS}
    """
)
ELIGIBLE = sql(
    """
    SELECT priority, library_id, kind, count(*) AS ready
    FROM jobs j
    WHERE state = 'ready' AND available_at <= now()
      AND NOT EXISTS (SELECT 1 FROM libraries l WHERE l.id = j.library_id AND l.paused)
    GROUP BY priority, library_id, kind
    """
)
RENEW = sql(
    """
    UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3), updated_at = now()
    WHERE id = $1 AND lease_id = $2 AND state = 'leased' AND lease_expires_at > now()
    RETURNING lease_expires_at
    """
)
COMPLETE = sql(
    """
    UPDATE jobs SET state = 'completed', lease_id = NULL, lease_owner = NULL,
        lease_expires_at = NULL, finished_at = now(), updated_at = now()
    WHERE id = $1 AND lease_id = $2 AND state = 'leased' AND lease_expires_at > now()
    RETURNING id
    """
)
FAIL = sql(
    """
    UPDATE jobs SET
        state = CASE WHEN attempts >= max_attempts OR $4 THEN 'dead_letter'::job_state
                     ELSE 'deferred'::job_state END,
        available_at = now() + make_interval(secs => $3),
        last_error = $5, lease_id = NULL, lease_owner = NULL, lease_expires_at = NULL,
        finished_at = CASE WHEN attempts >= max_attempts OR $4 THEN now() END,
        updated_at = now()
    WHERE id = $1 AND lease_id = $2 AND state = 'leased' AND lease_expires_at > now()
    RETURNING state::text
    """
)
REAP_EXPIRED = sql(
    """
    UPDATE jobs SET
        state = CASE WHEN attempts >= max_attempts THEN 'dead_letter'::job_state
                     ELSE 'ready'::job_state END,
        last_error = 'lease expired (worker died or stalled)',
        finished_at = CASE WHEN attempts >= max_attempts THEN now() END,
        lease_id = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
    WHERE state = 'leased' AND lease_expires_at <= now()
    RETURNING id
    """
)
PROMOTE_DEFERRED = sql(
    """
    UPDATE jobs SET state = 'ready', updated_at = now()
    WHERE state = 'deferred' AND available_at <= now()
    RETURNING id
    """
)
RELEASE = sql(
    """
    UPDATE jobs SET state = 'ready', attempts = greatest(attempts - 1, 0), lease_id = NULL,
        lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
    WHERE id = $1 AND lease_id = $2 AND state = 'leased'
    RETURNING id
    """
)
CANCEL_LIBRARY = sql(
    """
    UPDATE jobs SET state = 'failed', last_error = 'cancelled', lease_id = NULL,
        lease_owner = NULL, lease_expires_at = NULL, finished_at = now(), updated_at = now()
    WHERE library_id = $1 AND state IN ('ready', 'deferred', 'leased')
    RETURNING id
    """
)
COUNTS = sql(
    """
    SELECT state::text AS state, count(*) AS n FROM jobs
    WHERE library_id IS NOT DISTINCT FROM $1 GROUP BY state
    """
)
GET = sql(f"SELECT {_COLUMNS} FROM jobs WHERE id = $1")


def backoff_seconds(attempts: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter ±50%: 2 s, 4 s, 8 s … capped at 10 minutes."""
    base = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2.0 ** max(0, attempts - 1))
    draw = rng.random() if rng is not None else random.random()
    return base * (0.5 + draw)


async def enqueue(db: Database | Connection, jobs: list[NewJob]) -> list[tuple[Job, bool]]:
    """Insert jobs; a job whose dedupe key is active merges into it (priority may rise).

    Returns each resulting job with True if it was newly inserted.
    """
    if not jobs:
        return []
    rows = await db.fetch(
        ENQUEUE,
        [j.kind for j in jobs],
        [j.library_id for j in jobs],
        [msgspec.json.encode(j.payload).decode() for j in jobs],
        [int(j.priority) for j in jobs],
        [j.dedupe_key for j in jobs],
        [j.max_attempts for j in jobs],
        [j.scan_id for j in jobs],
    )
    return [(Job.from_record(r), bool(r["inserted"])) for r in rows]


async def eligible(db: Database) -> dict[tuple[int, uuid.UUID | None], dict[str, int]]:
    """Ready work per (priority band, library) and job kind, leaving out paused libraries."""
    out: dict[tuple[int, uuid.UUID | None], dict[str, int]] = {}
    for r in await db.fetch(ELIGIBLE):
        out.setdefault((r["priority"], r["library_id"]), {})[r["kind"]] = r["ready"]
    return out


async def claim(
    db: Database,
    priority: int,
    library_id: uuid.UUID | None,
    owner: str,
    ttl: float = LEASE_TTL_SECONDS,
    kinds: list[str] | None = None,
) -> Job | None:
    """Lease the oldest ready job of this band and library (of one of ``kinds``, if given)."""
    row = await db.fetchrow(CLAIM, priority, library_id, owner, ttl, kinds or ALL_KINDS)
    return None if row is None else Job.from_record(row)


async def renew(db: Database, job: Job, ttl: float = LEASE_TTL_SECONDS) -> datetime | None:
    """New expiry, or None if the lease is lost (then the worker must abandon the job)."""
    expires: datetime | None = await db.fetchval(RENEW, job.id, job.lease_id, ttl)
    return expires


async def complete(conn: Connection, job: Job) -> bool:
    """Mark done inside the caller's result transaction; False means the lease was lost and
    the caller must roll back (raise) instead of committing its result."""
    return await conn.fetchval(COMPLETE, job.id, job.lease_id) is not None


async def fail(
    db: Database | Connection,
    job: Job,
    error: str,
    *,
    permanent: bool = False,
    rng: random.Random | None = None,
) -> str | None:
    """Record the error; retry later with backoff, or dead-letter when attempts are used up.

    Returns the new state, or None if the lease was already lost.
    """
    delay = backoff_seconds(job.attempts, rng)
    state: str | None = await db.fetchval(
        FAIL, job.id, job.lease_id, delay, permanent, error[:4000]
    )
    return state


async def release(db: Database, job: Job) -> bool:
    """Give a job back untouched (orderly shutdown): ready again at once, attempt not counted."""
    return await db.fetchval(RELEASE, job.id, job.lease_id) is not None


async def reap_expired(db: Database) -> int:
    """Housekeeping: leases that ran out go back to ready (or dead-letter if out of attempts)."""
    return len(await db.fetch(REAP_EXPIRED))


async def promote_deferred(db: Database) -> int:
    return len(await db.fetch(PROMOTE_DEFERRED))


async def cancel_library(db: Database | Connection, library_id: uuid.UUID) -> int:
    return len(await db.fetch(CANCEL_LIBRARY, library_id))


async def counts(db: Database, library_id: uuid.UUID | None) -> dict[str, int]:
    return {r["state"]: r["n"] for r in await db.fetch(COUNTS, library_id)}


async def get(db: Database, job_id: int) -> Job | None:
    row = await db.fetchrow(GET, job_id)
    return None if row is None else Job.from_record(row)
