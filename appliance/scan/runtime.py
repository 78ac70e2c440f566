"""Everything that scans, started as one unit inside the appliance's nursery.

dispatcher (claims and runs jobs) + scan service (progress, periodic rescans) + watchers
(inotify → P0 folder scans; overflow or a vanished root → P0 library rescan). The watched set
follows the libraries: it is re-synced whenever the bus says a library changed.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import trio

from appliance.events import InProcEventBus
from appliance.orchestration.budget import Workload, WorkloadBudget
from appliance.orchestration.dispatcher import Dispatcher
from appliance.orchestration.scheduler import WeightedFairScheduler
from appliance.scan.analyzers import Analyzers
from appliance.scan.pipeline import PipelineSettings, handlers
from appliance.scan.service import ScanService
from appliance.scan.walkers import Walkers
from appliance.scan.watcher import FolderChanged, LibraryRescan, LibraryWatchers, WatchEvent
from store import libraries
from store.db import Database
from store.gate import Unavailable
from store.queue import Priority

log = logging.getLogger(__name__)

LIBRARY_EVENTS = {"library.created", "library.updated", "library.deleted"}
RESYNC_SECONDS = 60.0


@dataclass
class ScanRuntime:
    db: Database
    bus: InProcEventBus
    settings: PipelineSettings = field(default_factory=PipelineSettings)
    budget: WorkloadBudget = field(default_factory=WorkloadBudget)
    per_library_cap: int = 4
    watch_debounce_ms: int = 1500
    lease_ttl: float = 30.0
    housekeeping_seconds: float = 15.0
    walk_processes: int = -1
    """Worker processes for folder walks (-1: from the CPU count; 0: a thread of this
    process)."""
    worker_idle_seconds: float = 0.0
    """A walk worker leaves after this long without a walk (0: kept, started at once)."""
    walkers: Walkers = field(init=False)
    analyzers: Analyzers = field(init=False)
    """MediaAnalyze's worker processes, one per analysis the budget runs at once."""
    dispatcher: Dispatcher = field(init=False)
    service: ScanService = field(init=False)

    def __post_init__(self) -> None:
        self.walkers = Walkers(self.walk_processes, self.worker_idle_seconds)
        self.analyzers = Analyzers(self.budget.limits[Workload.ANALYSIS])
        self.dispatcher = Dispatcher(
            self.db,
            handlers(self.settings, self.walkers, self.analyzers),
            bus=self.bus,
            budget=self.budget,
            scheduler=WeightedFairScheduler(per_library_cap=self.per_library_cap),
            lease_ttl=self.lease_ttl,
            housekeeping_seconds=self.housekeeping_seconds,
        )
        self.service = ScanService(self.db, self.bus, wake_dispatcher=self.dispatcher.wake)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        send, receive = trio.open_memory_channel[WatchEvent](256)
        watchers = LibraryWatchers(send, debounce_ms=self.watch_debounce_ms)
        async with self.walkers.open(), self.analyzers.open(), trio.open_nursery() as nursery:
            nursery.start_soon(self.walkers.warm_up)
            await nursery.start(self.dispatcher.run)
            await nursery.start(self.service.run)
            await nursery.start(watchers.run)
            nursery.start_soon(self._consume, receive)
            nursery.start_soon(self._follow_libraries, watchers)
            task_status.started()

    async def _sync_watchers(self, watchers: LibraryWatchers) -> None:
        wanted = {
            lib.id: [Path(r) for r in lib.roots]
            for lib in await libraries.list_all(self.db)
            if lib.watch
        }
        await watchers.sync(wanted)

    async def _follow_libraries(self, watchers: LibraryWatchers) -> None:
        async with self.bus.subscribe() as events:
            while True:
                try:
                    await self._sync_watchers(watchers)
                except Unavailable:
                    pass
                with trio.move_on_after(RESYNC_SECONDS):
                    while (await events.receive()).type not in LIBRARY_EVENTS | {"gap"}:
                        pass

    async def _consume(self, receive: trio.MemoryReceiveChannel[WatchEvent]) -> None:
        async with receive:
            async for event in receive:
                try:
                    await self._apply(event)
                except Unavailable:
                    log.warning("database unavailable; change will be seen by the next scan")
                except LookupError:
                    pass  # the library was deleted meanwhile

    async def _apply(self, event: WatchEvent) -> None:
        library_id: uuid.UUID = event.library_id
        if isinstance(event, FolderChanged):
            await self.service.rescan_folder(library_id, str(event.folder))
        elif isinstance(event, LibraryRescan):
            log.info(
                "library rescan requested by watcher",
                extra={"library_id": str(library_id), "reason": event.reason},
            )
            # events were lost: walk the roots again even if this scan walked them already
            await self.service.start(
                library_id,
                trigger=f"watcher: {event.reason}",
                priority=Priority.P0,
                walk_again=True,
            )
