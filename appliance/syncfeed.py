"""The sync feed: snapshot and change pages as frames, and the "changed up to SEQ" push.

Both read inside one REPEATABLE READ transaction, so a snapshot is the browse set exactly as of
the high-water sequence it ends with, and a change page's records are the state as of its end
sequence. Because the change log's order is commit order (migration 0007), "everything up to N"
is a well-defined cut: a player that applies a snapshot at N and then every page after N holds
exactly what a fresh snapshot would give.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import msgspec
import trio

from appliance.events import InProcEventBus
from store import library_access
from store import sync_feed as feed
from store.db import Connection, Database, Record
from store.gate import Unavailable
from sync.feed_types import (
    FEED_SCHEMA,
    EndFrame,
    Frame,
    HeaderFrame,
    ItemFrame,
    ItemRecord,
    LibraryFrame,
    LibraryInfo,
    Tombstone,
    WatchFrame,
    encode_batch,
)
from sync.media_types import WatchStateOut

log = logging.getLogger(__name__)

SNAPSHOT_BATCH = 500
PAGE_DEFAULT = 1000
PAGE_MAX = 5000
# Snapshots each hold a pooled connection for as long as the player reads: two at once at most.
SNAPSHOT_SLOTS = trio.CapacityLimiter(2)
_NIL = uuid.UUID(int=0)
_record = msgspec.json.Decoder(ItemRecord)


class ResnapshotRequired(Exception):
    """The player's cursor is older than the retained feed (or from another database)."""


def _library(row: Record) -> LibraryInfo:
    return LibraryInfo(id=row["id"], name=row["name"], kind=row["kind"])


def _watch(row: Record) -> WatchFrame:
    return WatchFrame(item_id=row["item_id"], state=WatchStateOut(
        position_s=row["position_s"], duration_s=row["duration_s"], completed=row["completed"],
        play_count=row["play_count"], last_played_at=row["last_played_at"],
        client_ts=row["client_ts"]))


async def snapshot(db: Database, user_id: uuid.UUID, server_id: str) -> AsyncIterator[bytes]:
    """The whole browse set of ``user_id`` as length-prefixed frame batches."""
    async with SNAPSHOT_SLOTS, db.transaction(isolation="repeatable_read",
                                              readonly=True) as conn:
        seq = await feed.high_water(conn)
        visible = await library_access.visible(conn, user_id)
        head: list[Frame] = [HeaderFrame(schema=FEED_SCHEMA, server_id=server_id,
                                         user_id=user_id)]
        head += [LibraryFrame(library=_library(r)) for r in await feed.libraries(conn, visible)]
        yield encode_batch(head)
        after = _NIL
        while True:
            rows = await feed.snapshot_items(conn, after, SNAPSHOT_BATCH, visible)
            if not rows:
                break
            yield encode_batch([ItemFrame(item=_record.decode(r["record"])) for r in rows])
            after = rows[-1]["id"]
        watch: list[Frame] = [_watch(r) for r in await feed.watch_of_user(conn, user_id, visible)]
        yield encode_batch([*watch, EndFrame(seq=seq)])


async def changes(db: Database, user_id: uuid.UUID, since: int, limit: int) -> bytes:
    """One page of changes after ``since`` as current state (upserts) and tombstones."""
    async with db.transaction(isolation="repeatable_read", readonly=True) as conn:
        high = await feed.high_water(conn)
        if since < await feed.pruned_through(conn) or since > high:
            raise ResnapshotRequired
        rows = await feed.changes_page(conn, since, user_id, limit)
        if any(r["entity"] == "access" for r in rows):
            raise ResnapshotRequired  # what this user may see changed: start over
        more = len(rows) == limit
        end = rows[-1]["seq"] if more else high
        visible = await library_access.visible(conn, user_id)
        if visible is not None:
            allowed = set(visible)
            rows = [r for r in rows if r["library_id"] in allowed]
        return encode_batch(await _frames_for(conn, user_id, rows) + [EndFrame(seq=end,
                                                                                more=more)])


async def _frames_for(conn: Connection, user_id: uuid.UUID, rows: list[Record]) -> list[Frame]:
    # Each entity once, in order of its last change; the state served is the current one.
    wanted: dict[str, dict[uuid.UUID, None]] = {"library": {}, "item": {}, "watch": {}}
    for row in rows:
        order = wanted[row["entity"]]
        order.pop(row["entity_id"], None)
        order[row["entity_id"]] = None
    frames: list[Frame] = []
    gone: list[Frame] = []
    if wanted["library"]:
        ids = list(wanted["library"])
        found = {r["id"]: r for r in await feed.libraries_by_id(conn, ids)}
        frames += [LibraryFrame(library=_library(found[i])) for i in ids if i in found]
        gone += [Tombstone(entity="library", id=i) for i in ids if i not in found]
    if wanted["item"]:
        ids = list(wanted["item"])
        found = {r["id"]: r for r in await feed.items_by_id(conn, ids)}
        frames += [ItemFrame(item=_record.decode(found[i]["record"])) for i in ids if i in found]
        gone = [Tombstone(entity="item", id=i) for i in ids if i not in found] + gone
    if wanted["watch"]:
        ids = list(wanted["watch"])
        found = {r["item_id"]: r for r in await feed.watch_by_id(conn, user_id, ids)}
        frames += [_watch(found[i]) for i in ids if i in found]
        gone = [Tombstone(entity="watch", id=i) for i in ids if i not in found] + gone
    # upserts first (libraries before their items), then deletions (items before libraries)
    return frames + gone


class SyncNotifier:
    """Watches the feed's high-water mark and tells players "changed up to SEQ" on the bus.

    Polling one indexed max() keeps this independent of which code path wrote the change (scans,
    metadata edits, another device's progress) and survives Postgres restarts without
    re-subscribing; the interval bounds push latency and bus traffic alike.
    """

    def __init__(self, db: Database, bus: InProcEventBus, interval_s: float,
                 retention: timedelta) -> None:
        self._db = db
        self._bus = bus
        self._interval = interval_s
        self._retention = retention
        self.seq = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            self.seq = await feed.high_water(self._db)
        except Unavailable:
            self.seq = 0
        task_status.started()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._prune_loop)
            while True:
                await trio.sleep(self._interval)
                try:
                    seq = await feed.high_water(self._db)
                except Unavailable:
                    continue
                if seq != self.seq:
                    self.seq = seq
                    self._bus.publish("sync", seq=seq)

    async def _prune_loop(self) -> None:
        while True:
            try:
                through = await feed.prune(self._db, self._retention)
                log.debug("sync feed pruned", extra={"pruned_through": through})
            except Unavailable:
                pass
            await trio.sleep(3600)
