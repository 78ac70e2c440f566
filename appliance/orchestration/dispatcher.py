"""JobDispatcher: claims jobs in fair order, runs them under budget, keeps their leases alive.

One dispatcher per appliance process; several processes may share one database. The loop:
snapshot eligible work → ask the scheduler for a (band, library) → claim one job of a kind whose
workload has a free token → run it in the worker nursery. Each running job has a lease keeper
that renews at 50% of the TTL or when fewer than 2 s remain; if the lease is lost the job's
cancel scope is cancelled and nothing it did is committed (see ``store.queue.complete``).
Housekeeping returns expired leases to ready and promotes deferred retries every 15 s.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import trio

from appliance.events import InProcEventBus
from appliance.orchestration.budget import Workload, WorkloadBudget
from appliance.orchestration.scheduler import LibraryKey, WeightedFairScheduler
from store import queue
from store.db import Connection, Database
from store.gate import Unavailable
from store.queue import Job

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 15.0
RENEW_MARGIN_SECONDS = 2.0

WORKLOAD_OF: dict[str, Workload] = {
    "folder_scan": Workload.SCAN,
    "media_analyze": Workload.ANALYSIS,
    "metadata_enrich": Workload.METADATA,
    "image_fetch": Workload.IMAGES,
}


class PermanentJobError(Exception):
    """Retrying cannot help (e.g. the file is not media): dead-letter at once."""


class LeaseLost(Exception):
    """The job's lease expired or was taken over; its result must not be committed."""


@dataclass
class JobContext:
    """What a job handler gets: the database, the bus, and the one way to commit."""

    db: Database
    bus: InProcEventBus
    job: Job
    committed: bool = False

    async def commit(self, write: Callable[[Connection], Awaitable[None]] | None = None) -> None:
        """Write the job's result and mark it complete in ONE transaction, or not at all."""
        async with self.db.transaction() as conn:
            if not await queue.complete(conn, self.job):
                raise LeaseLost(f"job {self.job.id} lost its lease")
            if write is not None:
                await write(conn)
        self.committed = True


Handler = Callable[[JobContext], Awaitable[None]]


def renew_delay(ttl: float, remaining: float) -> float:
    """Seconds until the next renewal: at half the TTL, or earlier when < 2 s would remain.

    When less than the margin is left already (short test TTLs, or renewals failing while
    Postgres restarts), renew halfway through what remains rather than in a tight loop.
    """
    delay = min(ttl / 2, remaining - RENEW_MARGIN_SECONDS)
    return delay if delay > 0 else max(0.0, remaining / 2)


@dataclass
class Dispatcher:
    db: Database
    handlers: Mapping[str, Handler]
    bus: InProcEventBus = field(default_factory=InProcEventBus)
    scheduler: WeightedFairScheduler = field(default_factory=WeightedFairScheduler)
    budget: WorkloadBudget = field(default_factory=WorkloadBudget)
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}")
    lease_ttl: float = queue.LEASE_TTL_SECONDS
    idle_poll_seconds: float = 1.0
    housekeeping_seconds: float = HOUSEKEEPING_SECONDS
    release_on_cancel: bool = True
    """On an orderly stop, hand running jobs back at once instead of letting leases expire."""
    in_flight: dict[LibraryKey, int] = field(default_factory=dict)
    _wakeup: trio.Event = field(default_factory=trio.Event)

    def wake(self) -> None:
        """Call after enqueueing so the dispatcher does not wait for its idle poll."""
        self._wakeup.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._housekeeping)
            task_status.started()
            await self._dispatch(nursery)

    async def _housekeeping(self) -> None:
        while True:
            try:
                reaped = await queue.reap_expired(self.db)
                promoted = await queue.promote_deferred(self.db)
                if reaped or promoted:
                    log.info("queue housekeeping", extra={"reaped": reaped, "promoted": promoted})
                    self.wake()
            except Unavailable:
                pass  # postgres is restarting; try again next round
            await trio.sleep(self.housekeeping_seconds)

    def _free_kinds(self, kinds: Mapping[str, int]) -> list[str]:
        return [
            k
            for k, n in kinds.items()
            if n > 0 and k in self.handlers and self.budget.available(WORKLOAD_OF[k])
        ]

    async def _idle(self) -> None:
        with trio.move_on_after(self.idle_poll_seconds):
            async with trio.open_nursery() as waiters:

                async def first(waiter: Callable[[], Awaitable[Any]]) -> None:
                    await waiter()
                    waiters.cancel_scope.cancel()

                waiters.start_soon(first, self._wakeup.wait)
                waiters.start_soon(first, self.budget.wait_for_release)
        self._wakeup = trio.Event()

    async def _dispatch(self, nursery: trio.Nursery) -> None:
        while True:
            try:
                snapshot = await queue.eligible(self.db)
            except Unavailable:
                await self._idle()
                continue
            claimed_any = False
            while True:
                runnable = {
                    choice: sum(kinds[k] for k in self._free_kinds(kinds))
                    for choice, kinds in snapshot.items()
                }
                choice = self.scheduler.next(runnable, self.in_flight)
                if choice is None:
                    break
                band, library = choice
                kinds = snapshot[choice]
                try:
                    job = await queue.claim(
                        self.db,
                        band,
                        library,
                        self.owner,
                        self.lease_ttl,
                        kinds=self._free_kinds(kinds),
                    )
                except Unavailable:
                    break
                if job is None:  # taken by another worker meanwhile
                    del snapshot[choice]
                    continue
                kinds[job.kind] -= 1
                workload = WORKLOAD_OF[job.kind]
                if not self.budget.try_acquire(workload):
                    # The kind had a free token when claimed and only this loop takes tokens,
                    # so this should not happen; if it does, the cap wins (a real check, not an
                    # assert that ``python -O`` removes): the job goes back to the queue.
                    log.error("no %s token for claimed job %s; handing it back", workload, job.id)
                    await self._hand_back(job)
                    claimed_any = False  # wait for a release rather than spin
                    break
                claimed_any = True
                self.in_flight[library] = self.in_flight.get(library, 0) + 1
                nursery.start_soon(self._run_job, job, workload)
            if not claimed_any:
                await self._idle()
            else:
                await trio.lowlevel.checkpoint()

    async def _hand_back(self, job: Job) -> None:
        # Shielded: a dispatcher cancelled between claim and release must not leave the job
        # leased until its lease expires (the work would wait a whole TTL for nothing).
        with trio.CancelScope(shield=True), trio.move_on_after(5):
            try:
                await queue.release(self.db, job)
            except Unavailable:
                pass  # the lease expires; housekeeping returns the job

    async def _run_job(self, job: Job, workload: Workload) -> None:
        ctx = JobContext(self.db, self.bus, job)
        finished = False
        try:
            await self._run_job_inner(ctx, job)
            finished = True
        finally:
            if not finished and self.release_on_cancel and not ctx.committed:
                # stopped from outside (shutdown): hand the job back instead of letting the
                # lease run out. Cancellation may arrive as a group, hence no except clause.
                with trio.CancelScope(shield=True), trio.move_on_after(2):
                    await self._hand_back(job)
            self.budget.release(workload)
            self.in_flight[job.library_id] -= 1
            self.wake()

    async def _run_job_inner(self, ctx: JobContext, job: Job) -> None:
        async with trio.open_nursery() as nursery:
            lost = trio.Event()
            nursery.start_soon(self._keep_lease, job, lost, nursery.cancel_scope)
            try:
                await self.handlers[job.kind](ctx)
                if not ctx.committed:
                    await ctx.commit()
            except LeaseLost:
                lost.set()
            except PermanentJobError as exc:
                await self._fail(job, str(exc), permanent=True)
            except Exception as exc:
                log.warning(
                    "job failed",
                    extra={
                        "job": job.id,
                        "kind": job.kind,
                        "error": f"{type(exc).__name__}: {exc}",
                    },
                )
                await self._fail(job, f"{type(exc).__name__}: {exc}", permanent=False)
            nursery.cancel_scope.cancel()
        if lost.is_set():
            log.warning("lease lost; result discarded", extra={"job": job.id})
            self.bus.publish("job.lease_lost", job=job.id, kind=job.kind)

    async def _fail(self, job: Job, error: str, *, permanent: bool) -> None:
        with trio.CancelScope(shield=True):
            try:
                state = await queue.fail(self.db, job, error, permanent=permanent)
            except Unavailable:
                return  # the lease will expire and housekeeping retries the job
        self.bus.publish("job.failed", job=job.id, kind=job.kind, state=state, error=error)

    async def _keep_lease(self, job: Job, lost: trio.Event, scope: trio.CancelScope) -> None:
        expires_in = self.lease_ttl
        while True:
            await trio.sleep(renew_delay(self.lease_ttl, expires_in))
            started = trio.current_time()
            try:
                renewed = await queue.renew(self.db, job, self.lease_ttl)
            except Unavailable:
                renewed = None
                await trio.sleep(0.25)
                expires_in -= trio.current_time() - started
                if expires_in > 0:
                    continue  # keep trying until the lease would have run out
            if renewed is None:
                lost.set()
                scope.cancel()
                return
            expires_in = self.lease_ttl
