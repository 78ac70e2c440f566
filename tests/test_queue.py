"""The Postgres job queue: idempotent enqueue, exclusive leases, retries, dead letters."""

from __future__ import annotations

import random
import uuid

import pytest
import trio

from store import libraries, queue
from store.db import Database
from store.queue import NewJob, Priority
from store.sql import sql

# A worker's result write, to show it is rolled back with a lost lease.
RENAME = sql("UPDATE libraries SET name = 'changed by a stale worker' WHERE id = $1")
FORCE_AVAILABLE = sql("UPDATE jobs SET available_at = now() WHERE id = $1")


@pytest.fixture
async def library_id(db: Database) -> uuid.UUID:
    return (await libraries.create(db, "Films", "movies", ["/srv/films"])).id


def job(
    library_id: uuid.UUID,
    key: str | None = None,
    *,
    priority: Priority = Priority.P1,
    max_attempts: int = 5,
) -> NewJob:
    return NewJob(
        "folder_scan", library_id, {"path": f"/srv/films/{key}"}, priority, key, max_attempts
    )


async def test_enqueue_is_idempotent_by_dedupe_key_and_raises_priority(
    db: Database, library_id: uuid.UUID
) -> None:
    [(first, inserted)] = await queue.enqueue(db, [job(library_id, "a", priority=Priority.P2)])
    assert inserted and first.priority == 2 and first.state == "ready"
    [(again, inserted)] = await queue.enqueue(db, [job(library_id, "a", priority=Priority.P0)])
    assert not inserted
    assert again.id == first.id and again.priority == 0
    [(lower, _)] = await queue.enqueue(db, [job(library_id, "a", priority=Priority.P3)])
    assert lower.priority == 0, "a duplicate never lowers priority"
    assert (await queue.counts(db, library_id)) == {"ready": 1}


async def test_finished_job_does_not_block_a_new_one(db: Database, library_id: uuid.UUID) -> None:
    await queue.enqueue(db, [job(library_id, "a")])
    claimed = await queue.claim(db, 1, library_id, "w1")
    assert claimed is not None
    async with db.transaction() as conn:
        assert await queue.complete(conn, claimed)
    [(fresh, inserted)] = await queue.enqueue(db, [job(library_id, "a")])
    assert inserted and fresh.id != claimed.id


async def test_claim_leases_each_job_to_exactly_one_worker(
    db: Database, library_id: uuid.UUID
) -> None:
    await queue.enqueue(db, [job(library_id, str(i)) for i in range(40)])
    claimed: list[int] = []

    async def worker(name: str) -> None:
        while (got := await queue.claim(db, 1, library_id, name)) is not None:
            assert got.lease_id is not None and got.attempts == 1
            claimed.append(got.id)

    async with trio.open_nursery() as nursery:
        for n in range(4):
            nursery.start_soon(worker, f"w{n}")
    assert len(claimed) == 40 and len(set(claimed)) == 40


async def test_claim_respects_band_library_and_order(db: Database, library_id: uuid.UUID) -> None:
    other = (await libraries.create(db, "Shows", "series", ["/srv/shows"])).id
    await queue.enqueue(
        db,
        [
            job(library_id, "p2", priority=Priority.P2),
            job(other, "other", priority=Priority.P0),
            job(library_id, "p0-1", priority=Priority.P0),
            job(library_id, "p0-2", priority=Priority.P0),
        ],
    )
    assert await queue.eligible(db) == {
        (2, library_id): {"folder_scan": 1},
        (0, other): {"folder_scan": 1},
        (0, library_id): {"folder_scan": 2},
    }
    assert await queue.claim(db, 0, library_id, "w", kinds=["media_analyze"]) is None
    first = await queue.claim(db, 0, library_id, "w")
    assert first is not None and first.dedupe_key == "p0-1"
    await libraries.set_paused(db, other, True)
    assert (0, other) not in await queue.eligible(db), "paused libraries get no work"


async def test_lost_lease_cannot_commit_renew_or_fail(db: Database, library_id: uuid.UUID) -> None:
    await queue.enqueue(db, [job(library_id, "slow")])
    stale = await queue.claim(db, 1, library_id, "w1", ttl=0.2)
    assert stale is not None
    assert await queue.renew(db, stale, ttl=0.2) is not None, "renew while the lease holds"
    await trio.sleep(0.3)
    assert await queue.reap_expired(db) == 1
    fresh = await queue.claim(db, 1, library_id, "w2")
    assert fresh is not None and fresh.id == stale.id and fresh.attempts == 2

    class LeaseLost(Exception):
        pass

    with pytest.raises(LeaseLost):
        async with db.transaction() as conn:
            await conn.execute(RENAME, library_id)
            if not await queue.complete(conn, stale):
                raise LeaseLost
    unchanged = await libraries.get(db, library_id)
    assert unchanged is not None and unchanged.name == "Films", "result rolled back"
    assert await queue.renew(db, stale) is None
    assert await queue.fail(db, stale, "boom") is None
    async with db.transaction() as conn:
        assert await queue.complete(conn, fresh), "the current holder still completes"


async def test_failures_back_off_then_dead_letter(db: Database, library_id: uuid.UUID) -> None:
    await queue.enqueue(db, [job(library_id, "broken", max_attempts=2)])
    first = await queue.claim(db, 1, library_id, "w")
    assert first is not None
    assert await queue.fail(db, first, "ffprobe crashed", rng=random.Random(1)) == "deferred"
    assert await queue.claim(db, 1, library_id, "w") is None, "not before the backoff"
    assert await queue.promote_deferred(db) == 0
    await force_available(db, first.id)
    assert await queue.promote_deferred(db) == 1
    second = await queue.claim(db, 1, library_id, "w")
    assert second is not None and second.attempts == 2
    assert await queue.fail(db, second, "ffprobe crashed again") == "dead_letter"
    dead = await queue.get(db, first.id)
    assert dead is not None and dead.state == "dead_letter"
    assert dead.last_error == "ffprobe crashed again"


async def test_expired_lease_on_last_attempt_is_dead_lettered(
    db: Database, library_id: uuid.UUID
) -> None:
    await queue.enqueue(db, [job(library_id, "x", max_attempts=1)])
    claimed = await queue.claim(db, 1, library_id, "w", ttl=0.1)
    assert claimed is not None
    await trio.sleep(0.2)
    assert await queue.reap_expired(db) == 1
    dead = await queue.get(db, claimed.id)
    assert dead is not None and dead.state == "dead_letter"
    assert "lease expired" in (dead.last_error or "")


async def test_cancel_and_delete_library_drop_its_jobs(db: Database, library_id: uuid.UUID) -> None:
    await queue.enqueue(db, [job(library_id, str(i)) for i in range(3)])
    assert await queue.cancel_library(db, library_id) == 3
    assert await queue.counts(db, library_id) == {"failed": 3}
    assert await libraries.delete(db, library_id)
    assert await queue.counts(db, library_id) == {}


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    rng = random.Random(7)
    for attempts, base in ((1, 2.0), (2, 4.0), (5, 32.0), (30, 600.0)):
        samples = [queue.backoff_seconds(attempts, rng) for _ in range(50)]
        assert all(base * 0.5 <= s <= base * 1.5 for s in samples)
        assert max(samples) - min(samples) > base * 0.2, "jitter spreads retries"


async def force_available(db: Database, job_id: int) -> None:
    await db.execute(FORCE_AVAILABLE, job_id)
