"""ScanService: starts, pauses, resumes and cancels library scans, and reports their progress.

A scan is a row in ``scans`` plus the jobs that carry its id. It starts by queueing a FolderScan
for each root; the pipeline fans out from there. The tracker watches running scans once a
second: it publishes ``scan.progress`` (folders, files, jobs done/queued/failed, rate, ETA) and
marks a scan completed when none of its jobs is left. The periodic loop starts P2 rescans when a
library's interval has passed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import trio

from appliance.events import InProcEventBus
from appliance.scan.folder_scan import folder_scan_job
from store import libraries, queue, scans
from store.db import Database
from store.gate import Unavailable
from store.paths import to_db
from store.queue import Priority
from store.scans import Scan

log = logging.getLogger(__name__)

ACTIVE_JOB_STATES = ("ready", "deferred", "leased")


@dataclass
class _Rate:
    at: float
    done: int


@dataclass
class ScanService:
    db: Database
    bus: InProcEventBus
    wake_dispatcher: Callable[[], None] = lambda: None
    progress_interval: float = 1.0
    periodic_interval: float = 60.0
    _rates: dict[uuid.UUID, _Rate] = field(default_factory=dict)

    async def start(
        self,
        library_id: uuid.UUID,
        *,
        trigger: str = "manual",
        force: bool = False,
        priority: Priority = Priority.P1,
        walk_again: bool = False,
    ) -> Scan:
        """Start a scan of the whole library, or join the one already running."""
        scan, _ = await self.start_or_join(
            library_id, trigger=trigger, force=force, priority=priority, walk_again=walk_again
        )
        return scan

    async def start_or_join(
        self,
        library_id: uuid.UUID,
        *,
        trigger: str = "manual",
        force: bool = False,
        priority: Priority = Priority.P1,
        walk_again: bool = False,
    ) -> tuple[Scan, bool]:
        """The library's scan and whether this call started it (False: joined the running one).

        Joining queues only the roots this scan has not walked yet: a root whose walk is
        queued merges by dedupe key (a P0 request raises its priority), one already walked is
        not walked twice (``library add`` then ``scan --wait`` counted every file twice).
        ``walk_again`` (the watcher after lost events) and a forced scan joining an unforced
        one walk them again.
        """
        library = await libraries.get(self.db, library_id)
        if library is None:
            raise LookupError(f"no library {library_id}")
        scan, created = await scans.create_or_join(self.db, library_id, trigger, force)
        jobs = [
            folder_scan_job(library_id, scan.id, to_db(root), priority, force, root=True)
            for root in library.roots
        ]
        if not created and not walk_again and not (force and not scan.force):
            done = await scans.walked(self.db, scan.id, [j.dedupe_key or "" for j in jobs])
            jobs = [j for j in jobs if j.dedupe_key not in done]
        await queue.enqueue(self.db, jobs)
        if created:
            self.bus.publish(
                "scan.started", scan_id=str(scan.id), library_id=str(library_id), trigger=trigger
            )
            log.info("scan started", extra={"library": library.name, "trigger": trigger})
        self.wake_dispatcher()
        return scan, created

    async def rescan_folder(self, library_id: uuid.UUID, folder: str) -> Scan:
        """A hot change (watcher): scan one folder at P0 as part of the library's scan.

        A folder that is gone is scanned from its nearest existing parent, whose listing then
        marks everything that was under it as missing.
        """
        library = await libraries.get(self.db, library_id)
        if library is None:
            raise LookupError(f"no library {library_id}")
        folder = await trio.to_thread.run_sync(
            existing_ancestor, folder, [r.rstrip("/") for r in library.roots]
        )
        scan, _ = await scans.create_or_join(self.db, library_id, "watcher", False)
        await queue.enqueue(
            self.db, [folder_scan_job(library_id, scan.id, to_db(folder), Priority.P0)]
        )
        self.wake_dispatcher()
        return scan

    async def pause(self, library_id: uuid.UUID) -> Scan | None:
        await libraries.set_paused(self.db, library_id, True)
        scan = await scans.set_state(self.db, library_id, "paused")
        self.bus.publish("scan.paused", library_id=str(library_id))
        return scan

    async def resume(self, library_id: uuid.UUID) -> Scan | None:
        await libraries.set_paused(self.db, library_id, False)
        scan = await scans.set_state(self.db, library_id, "running")
        self.bus.publish("scan.resumed", library_id=str(library_id))
        self.wake_dispatcher()
        return scan

    async def cancel(self, library_id: uuid.UUID) -> Scan | None:
        async with self.db.transaction() as conn:
            await queue.cancel_library(conn, library_id)
            scan = await scans.set_state(conn, library_id, "cancelled")
        await libraries.set_paused(self.db, library_id, False)
        self.bus.publish("scan.cancelled", library_id=str(library_id))
        return scan

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._track)
            nursery.start_soon(self._periodic)
            task_status.started()

    async def track_once(self) -> None:
        for scan in await scans.active(self.db):
            counts = await scans.job_counts(self.db, scan.id)
            if scan.state == "running" and not any(counts.get(s) for s in ACTIVE_JOB_STATES):
                finished = await scans.finish_if_idle(self.db, scan.id)
                if finished is not None:
                    self._rates.pop(scan.id, None)
                    self.bus.publish("scan.completed", **progress_data(finished, counts, None))
                    self.bus.publish("library.changed", library_id=str(scan.library_id))
                    log.info(
                        "scan completed",
                        extra={"scan": str(scan.id), "files": finished.files_found},
                    )
                    continue
            self.bus.publish(
                "scan.progress", **progress_data(scan, counts, self._rate(scan.id, counts))
            )

    def _rate(self, scan_id: uuid.UUID, counts: dict[str, int]) -> float | None:
        done = counts.get("completed", 0) + counts.get("failed", 0) + counts.get("dead_letter", 0)
        now = time.monotonic()
        previous = self._rates.get(scan_id)
        self._rates[scan_id] = _Rate(now, done)
        if previous is None or now <= previous.at:
            return None
        return (done - previous.done) / (now - previous.at)

    async def _track(self) -> None:
        while True:
            try:
                await self.track_once()
            except Unavailable:
                pass
            await trio.sleep(self.progress_interval)

    async def periodic_once(self) -> None:
        now = dt.datetime.now(dt.UTC)
        busy = {scan.library_id for scan in await scans.active(self.db)}
        for library in await libraries.list_all(self.db):
            if library.scan_interval_minutes <= 0 or library.paused or library.id in busy:
                continue
            last = await scans.last_finished(self.db, library.id)
            due = last is None or now - last >= dt.timedelta(minutes=library.scan_interval_minutes)
            if due:
                await self.start(library.id, trigger="periodic", priority=Priority.P2)

    async def _periodic(self) -> None:
        while True:
            await trio.sleep(self.periodic_interval)
            try:
                await self.periodic_once()
            except Unavailable:
                pass


def existing_ancestor(folder: str, roots: list[str]) -> str:
    while not os.path.isdir(folder) and folder.rstrip("/") not in roots:
        parent = os.path.dirname(folder.rstrip("/"))
        if parent == folder:
            break
        folder = parent
    return folder


def progress_data(scan: Scan, counts: dict[str, int], rate: float | None) -> dict[str, object]:
    done = counts.get("completed", 0)
    failed = counts.get("failed", 0) + counts.get("dead_letter", 0)
    queued = sum(counts.get(s, 0) for s in ACTIVE_JOB_STATES)
    eta = queued / rate if rate and rate > 0 else None
    return {
        "scan_id": str(scan.id),
        "library_id": str(scan.library_id),
        "state": scan.state,
        "folders_walked": scan.folders_walked,
        "files_found": scan.files_found,
        "errors": scan.errors,
        "jobs_done": done,
        "jobs_failed": failed,
        "jobs_queued": queued,
        "rate_jobs_per_s": None if rate is None else round(rate, 2),
        "eta_s": None if eta is None else round(eta, 1),
    }
