"""The real scan pipeline in-process for tests: dispatcher + scan service on the test database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from appliance.events import InProcEventBus
from appliance.orchestration.dispatcher import Dispatcher
from appliance.redis_client import RedisClient
from appliance.scan.analyzers import Analyzers
from appliance.scan.pipeline import PipelineSettings, handlers
from appliance.scan.service import ScanService
from appliance.scan.walkers import Walkers
from store import media_index, scans
from store.db import Database
from tests.authkit import Harness


def touch(root: Path, relative: str, content: bytes = b"\0" * 64) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


async def scans_api(db: Database, redis: RedisClient, data_dir: Path) -> Harness:
    """The HTTP API with its first admin claimed and scan routes that queue scans (a
    ScanService without a dispatcher: nothing runs them): the libraries tests drive it."""
    await trio.Path(data_dir).mkdir(parents=True, exist_ok=True)
    harness = Harness(db, redis, data_dir)
    harness.state.scans = ScanService(db, harness.state.bus)
    await harness.claim()
    return harness


class ScanHarness:
    def __init__(self, db: Database, service: ScanService) -> None:
        self.db = db
        self.service = service

    async def scan(self, library_id: uuid.UUID, *, force: bool = False) -> scans.Scan:
        """Start (or join) a scan and wait until it has completed."""
        scan = await self.service.start(library_id, force=force)
        with trio.fail_after(60):
            while True:
                await self.service.track_once()
                current = await scans.get(self.db, scan.id)
                assert current is not None
                if current.state == "completed":
                    return current
                await trio.sleep(0.05)

    async def items(self, library_id: uuid.UUID) -> list[tuple[str, str, object, bool]]:
        rows = await media_index.items(self.db, library_id)
        return [
            (
                r["kind"],
                r["title"],
                r["year"]
                if r["kind"] in ("movie", "series")
                else (r["season_number"], list(r["episode_numbers"] or [])),
                r["present"],
            )
            for r in rows
        ]


@asynccontextmanager
async def running_pipeline(
    db: Database,
    settings: PipelineSettings | None = None,
    walkers: Walkers | None = None,
    analyzers: Analyzers | None = None,
) -> AsyncIterator[ScanHarness]:
    """``walkers``: walk in its worker processes (opened here); default a thread.
    ``analyzers``: analyse in its worker pool (opened here); default trio-parallel's."""
    bus = InProcEventBus()
    walkers = walkers or Walkers(0)
    analyzers = analyzers or Analyzers()
    dispatcher = Dispatcher(
        db,
        handlers(settings or PipelineSettings(analyze=False), walkers, analyzers),
        bus=bus,
        idle_poll_seconds=0.05,
        housekeeping_seconds=0.5,
    )
    service = ScanService(db, bus, wake_dispatcher=dispatcher.wake)
    async with walkers.open(), analyzers.open(), trio.open_nursery() as nursery:
        await nursery.start(dispatcher.run)
        yield ScanHarness(db, service)
        nursery.cancel_scope.cancel()
