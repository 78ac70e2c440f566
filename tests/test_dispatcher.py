"""The dispatcher on the real queue: exactly-once results, retries, lost leases, crashes."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import trio

from appliance.orchestration.budget import Workload, WorkloadBudget
from appliance.orchestration.dispatcher import (
    Dispatcher,
    JobContext,
    PermanentJobError,
    renew_delay,
)
from appliance.orchestration.scheduler import WeightedFairScheduler
from store import libraries, queue
from store.db import Connection, Database
from store.queue import NewJob, Priority
from store.sql import sql

RECORD_RESULT = sql("INSERT INTO server_state (key, value) VALUES ($1, '1'::jsonb)")
RESULTS = sql("SELECT key FROM server_state WHERE key LIKE 'result:%' ORDER BY updated_at")
EXPIRE_LEASES = sql("UPDATE jobs SET lease_expires_at = now() WHERE state = 'leased'")


def result_writer(ctx: JobContext) -> Callable[[Connection], object]:
    async def write(conn: Connection) -> None:
        # a primary key: a job committed twice would fail here
        await conn.execute(RECORD_RESULT, f"result:{ctx.job.payload['n']}")

    return write


async def make_library(db: Database, name: str) -> uuid.UUID:
    return (await libraries.create(db, name, "movies", [f"/srv/{name}"])).id


async def enqueue(db: Database, library: uuid.UUID, count: int, start: int = 0) -> None:
    await queue.enqueue(
        db,
        [
            NewJob("folder_scan", library, {"n": n}, Priority.P1, f"k{n}")
            for n in range(start, start + count)
        ],
    )


async def wait_until_done(db: Database, library: uuid.UUID, timeout: float = 20) -> dict[str, int]:
    with trio.fail_after(timeout):
        while True:
            counts = await queue.counts(db, library)
            if not any(counts.get(s, 0) for s in ("ready", "deferred", "leased")):
                return counts
            await trio.sleep(0.05)


def test_renewal_timing_half_ttl_or_two_seconds_before_expiry() -> None:
    assert renew_delay(30, 30) == 15
    assert renew_delay(30, 10) == 8
    assert renew_delay(30, 1.5) == 0.75, "never a tight loop"
    assert renew_delay(3, 3) == 1.0


async def test_every_job_runs_and_commits_exactly_once(db: Database) -> None:
    library = await make_library(db, "films")
    await enqueue(db, library, 60)

    async def handler(ctx: JobContext) -> None:
        await trio.sleep(0.001)
        await ctx.commit(result_writer(ctx))  # type: ignore[arg-type]

    async with trio.open_nursery() as nursery:
        d = Dispatcher(db, {"folder_scan": handler}, idle_poll_seconds=0.05)
        await nursery.start(d.run)
        assert await wait_until_done(db, library) == {"completed": 60}
        nursery.cancel_scope.cancel()
    assert len(await db.fetch(RESULTS)) == 60
    assert d.budget.in_use[Workload.SCAN] == 0


async def test_failures_retry_later_and_permanent_ones_dead_letter(db: Database) -> None:
    library = await make_library(db, "films")
    await enqueue(db, library, 2)

    async def handler(ctx: JobContext) -> None:
        if ctx.job.payload["n"] == 0:
            raise RuntimeError("disk hiccup")
        raise PermanentJobError("not a media file")

    async with trio.open_nursery() as nursery:
        d = Dispatcher(db, {"folder_scan": handler}, idle_poll_seconds=0.05)
        await nursery.start(d.run)
        with trio.fail_after(10):
            while (counts := await queue.counts(db, library)) != {"deferred": 1, "dead_letter": 1}:
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()
    assert counts == {"deferred": 1, "dead_letter": 1}


async def test_budget_caps_concurrency_per_workload(db: Database) -> None:
    library = await make_library(db, "films")
    await enqueue(db, library, 12)
    running = peak = 0

    async def handler(ctx: JobContext) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await trio.sleep(0.05)
        running -= 1

    budget = WorkloadBudget({w: 3 for w in Workload})
    async with trio.open_nursery() as nursery:
        d = Dispatcher(
            db,
            {"folder_scan": handler},
            budget=budget,
            scheduler=WeightedFairScheduler(per_library_cap=100),
            idle_poll_seconds=0.05,
        )
        await nursery.start(d.run)
        await wait_until_done(db, library)
        nursery.cancel_scope.cancel()
    assert peak == 3


class _RefusingBudget(WorkloadBudget):
    """Says a token is free but then refuses it: what the dispatcher sees if the cap is reached
    between its look and its take."""

    def try_acquire(self, workload: Workload) -> bool:
        return False


async def test_a_refused_token_hands_the_job_back_instead_of_running_over_the_cap(
    db: Database,
) -> None:
    """The cap is a real check: an ``assert`` on try_acquire would vanish under ``python -O``
    (and crash the dispatcher otherwise)."""
    library = await make_library(db, "films")
    await enqueue(db, library, 1)
    ran = False

    async def handler(ctx: JobContext) -> None:
        nonlocal ran
        ran = True

    async with trio.open_nursery() as nursery:
        d = Dispatcher(
            db, {"folder_scan": handler}, budget=_RefusingBudget(), idle_poll_seconds=0.05
        )
        await nursery.start(d.run)
        await trio.sleep(0.5)
        nursery.cancel_scope.cancel()
    assert not ran
    assert await queue.counts(db, library) == {"ready": 1}, "handed back, not leased or lost"


async def test_lost_lease_cancels_the_job_and_discards_its_result(db: Database) -> None:
    library = await make_library(db, "films")
    await enqueue(db, library, 1)
    started = trio.Event()
    cancelled = False

    async def slow(ctx: JobContext) -> None:
        nonlocal cancelled
        started.set()
        try:
            await trio.sleep(30)
        except trio.Cancelled:
            cancelled = True
            raise
        await ctx.commit(result_writer(ctx))  # type: ignore[arg-type]

    async with trio.open_nursery() as nursery:
        d = Dispatcher(
            db,
            {"folder_scan": slow},
            lease_ttl=1.0,
            idle_poll_seconds=0.05,
            housekeeping_seconds=3600,
        )
        await nursery.start(d.run)
        await started.wait()
        await db.execute(EXPIRE_LEASES)  # as if the worker stalled past its lease
        assert await queue.reap_expired(db) == 1
        with trio.fail_after(5):
            while not cancelled:
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()
    assert await db.fetch(RESULTS) == []
    assert await queue.counts(db, library) in ({"ready": 1}, {"leased": 1})


async def test_crashed_worker_jobs_are_resumed_by_another_after_lease_expiry(
    db: Database,
) -> None:
    library = await make_library(db, "films")
    await enqueue(db, library, 6)
    hang = trio.Event()

    async def stuck(ctx: JobContext) -> None:
        hang.set()
        await trio.sleep_forever()

    async def works(ctx: JobContext) -> None:
        await ctx.commit(result_writer(ctx))  # type: ignore[arg-type]

    # "crash": the first process stops dead while holding leases (no fail, no complete)
    with trio.CancelScope() as crash:
        async with trio.open_nursery() as nursery:
            first = Dispatcher(
                db,
                {"folder_scan": stuck},
                lease_ttl=1.0,
                idle_poll_seconds=0.05,
                housekeeping_seconds=3600,
                release_on_cancel=False,
            )  # a crash: nothing is handed back
            await nursery.start(first.run)
            await hang.wait()
            await trio.sleep(0.2)
            crash.cancel()
    assert (await queue.counts(db, library)).get("leased", 0) > 0

    async with trio.open_nursery() as nursery:
        second = Dispatcher(
            db, {"folder_scan": works}, idle_poll_seconds=0.05, housekeeping_seconds=0.2
        )
        await nursery.start(second.run)
        assert await wait_until_done(db, library) == {"completed": 6}
        nursery.cancel_scope.cancel()
    assert len(await db.fetch(RESULTS)) == 6


async def test_orderly_stop_hands_running_jobs_back_at_once(db: Database) -> None:
    library = await make_library(db, "films")
    await enqueue(db, library, 2)
    running = trio.Event()

    async def slow(ctx: JobContext) -> None:
        running.set()
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        d = Dispatcher(db, {"folder_scan": slow}, idle_poll_seconds=0.05)
        await nursery.start(d.run)
        await running.wait()
        await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    assert await queue.counts(db, library) == {"ready": 2}
    job = await queue.claim(db, 1, library, "next")
    assert job is not None and job.attempts == 1, "the interrupted attempt is not counted"


async def test_small_library_finishes_while_big_one_still_runs(db: Database) -> None:
    big = await make_library(db, "big")
    small = await make_library(db, "small")
    await enqueue(db, big, 300)
    await enqueue(db, small, 10, start=1000)
    finished: list[uuid.UUID | None] = []

    async def handler(ctx: JobContext) -> None:
        await trio.sleep(0.002)
        await ctx.commit()
        finished.append(ctx.job.library_id)

    async with trio.open_nursery() as nursery:
        d = Dispatcher(db, {"folder_scan": handler}, idle_poll_seconds=0.05)
        await nursery.start(d.run)
        await wait_until_done(db, small)
        big_counts = await queue.counts(db, big)
        nursery.cancel_scope.cancel()
    assert big_counts.get("ready", 0) > 100, "the big library is far from done"
    assert finished.count(small) == 10
