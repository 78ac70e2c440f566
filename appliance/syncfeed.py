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

from appliance.errors import Gone
from appliance.events import InProcEventBus
from store import library_access
from store import sync_feed as feed
from store.db import Connection, Database
from store.gate import Unavailable
from store.sync_feed import ChangeRow, ItemRecordRow, LibraryRow
from store.watch_state import WatchStateRow
from sync.errors import ErrorCode
from sync.feed_types import (
    FEED_SCHEMA,
    EndFrame,
    Frame,
    HeaderFrame,
    ItemFrame,
    ItemRecord,
    LibraryFrame,
    LibraryInfo,
    PackedItemFrame,
    Tombstone,
    WatchFrame,
    encode_batch,
)

log = logging.getLogger(__name__)

# Items per page of a snapshot (and per frame batch on the wire). Each page is one round trip to
# Postgres: 2000 took half the time of 500 for 30k stored records (1.3 MB a page).
SNAPSHOT_BATCH = 2000
PAGE_DEFAULT = 1000
PAGE_MAX = 5000
# Snapshots each hold a pooled connection for as long as the player reads: two at once at most.
SNAPSHOT_SLOTS = trio.CapacityLimiter(2)
_NIL = uuid.UUID(int=0)
_record = msgspec.json.Decoder(ItemRecord)
_packer = msgspec.msgpack.Encoder()
# Stored records are (re)written this many per transaction.
RECORDS_BATCH = 500
# The feed must have been still this long before stored records are refreshed.
RECORDS_QUIET_S = 2.0


class ResnapshotRequired(Gone):
    """The player's cursor is older than the retained feed (or from another database)."""

    def __init__(self, since: int) -> None:
        super().__init__(
            ErrorCode.RESNAPSHOT_REQUIRED,
            f"changes after {since} are no longer kept (or come from another "
            "database); take a new snapshot",
        )


def _library(row: LibraryRow) -> LibraryInfo:
    return LibraryInfo(id=row.id, name=row.name, kind=row.kind)


def _watch(row: WatchStateRow) -> WatchFrame:
    return WatchFrame(item_id=row.item_id, state=row.wire())


def _json_record(row: ItemRecordRow) -> ItemRecord:
    assert row.record is not None, "the statement builds the JSON record where none is stored"
    return _record.decode(row.record)


def _item_frame(row: ItemRecordRow) -> ItemFrame | PackedItemFrame:
    packed = row.packed
    if packed is not None:  # stored and current: sent as it is
        return PackedItemFrame(item=msgspec.Raw(packed))
    return ItemFrame(item=_json_record(row))


async def refresh_records(db: Database) -> int:
    """Store the encoded record of every present item whose stored one is missing or outdated
    (migration 0011), so snapshots send bytes instead of building records. Returns how many
    were written.

    Each batch is read and written in one REPEATABLE READ transaction and stored as of its
    high-water sequence: the records are exactly the state at that sequence, and any later
    change of an item is in the log after it, which retires the stored one. One pass visits each
    item once, so an item that keeps changing cannot keep it busy.
    """
    written = 0
    after = _NIL
    while True:
        async with db.transaction(isolation="repeatable_read") as conn:
            seq = await feed.high_water(conn)
            rows = await feed.stale_records(conn, after, RECORDS_BATCH)
            if not rows:
                return written
            records = [_packer.encode(_json_record(r)) for r in rows]
            await feed.store_records(conn, [r.id for r in rows], records, seq)
        written += len(rows)
        after = rows[-1].id


async def snapshot(db: Database, user_id: uuid.UUID, server_id: str) -> AsyncIterator[bytes]:
    """The whole browse set of ``user_id`` as length-prefixed frame batches."""
    async with SNAPSHOT_SLOTS, db.transaction(isolation="repeatable_read", readonly=True) as conn:
        seq = await feed.high_water(conn)
        visible = await library_access.visible(conn, user_id)
        head: list[Frame] = [HeaderFrame(schema=FEED_SCHEMA, server_id=server_id, user_id=user_id)]
        head += [LibraryFrame(library=_library(r)) for r in await feed.libraries(conn, visible)]
        yield encode_batch(head)
        after = _NIL
        while True:
            rows = await feed.snapshot_items(conn, after, SNAPSHOT_BATCH, visible)
            if not rows:
                break
            yield encode_batch([_item_frame(r) for r in rows])
            after = rows[-1].id
        watch: list[Frame] = [_watch(r) for r in await feed.watch_of_user(conn, user_id, visible)]
        yield encode_batch([*watch, EndFrame(seq=seq)])


async def changes(db: Database, user_id: uuid.UUID, since: int, limit: int) -> bytes:
    """One page of changes after ``since`` as current state (upserts) and tombstones."""
    async with db.transaction(isolation="repeatable_read", readonly=True) as conn:
        high = await feed.high_water(conn)
        if since < await feed.pruned_through(conn) or since > high:
            raise ResnapshotRequired(since)
        rows = await feed.changes_page(conn, since, user_id, limit)
        if any(r.entity == "access" for r in rows):
            raise ResnapshotRequired(since)  # what this user may see changed: start over
        more = len(rows) == limit
        end = rows[-1].seq if more else high
        visible = await library_access.visible(conn, user_id)
        if visible is not None:
            allowed = set(visible)
            rows = [r for r in rows if r.library_id in allowed]
        return encode_batch(await _frames_for(conn, user_id, rows) + [EndFrame(seq=end, more=more)])


async def _frames_for(conn: Connection, user_id: uuid.UUID, rows: list[ChangeRow]) -> list[Frame]:
    # Each entity once, in order of its last change; the state served is the current one.
    wanted: dict[str, dict[uuid.UUID, None]] = {"library": {}, "item": {}, "watch": {}}
    for row in rows:
        order = wanted[row.entity]
        order.pop(row.entity_id, None)
        order[row.entity_id] = None
    frames: list[Frame] = []
    gone: list[Frame] = []
    if wanted["library"]:
        ids = list(wanted["library"])
        libraries = {r.id: r for r in await feed.libraries_by_id(conn, ids)}
        frames += [LibraryFrame(library=_library(libraries[i])) for i in ids if i in libraries]
        gone += [Tombstone(entity="library", id=i) for i in ids if i not in libraries]
    if wanted["item"]:
        ids = list(wanted["item"])
        items = {r.id: r for r in await feed.items_by_id(conn, ids)}
        frames += [ItemFrame(item=_json_record(items[i])) for i in ids if i in items]
        gone = [Tombstone(entity="item", id=i) for i in ids if i not in items] + gone
    if wanted["watch"]:
        ids = list(wanted["watch"])
        watched = {r.item_id: r for r in await feed.watch_by_id(conn, user_id, ids)}
        frames += [_watch(watched[i]) for i in ids if i in watched]
        gone = [Tombstone(entity="watch", id=i) for i in ids if i not in watched] + gone
    # upserts first (libraries before their items), then deletions (items before libraries)
    return frames + gone


class SyncNotifier:
    """Watches the feed's high-water mark and tells players "changed up to SEQ" on the bus.

    Polling one indexed max() keeps this independent of which code path wrote the change (scans,
    metadata edits, another device's progress) and survives Postgres restarts without
    re-subscribing; the interval bounds push latency and bus traffic alike.
    """

    def __init__(
        self, db: Database, bus: InProcEventBus, interval_s: float, retention: timedelta
    ) -> None:
        self._db = db
        self._bus = bus
        self._interval = interval_s
        self._retention = retention
        self.seq = 0
        self._records_seq = -1  # the feed's sequence when the stored records were last refreshed
        self._records_due = True

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            self.seq = await feed.high_water(self._db)
        except Unavailable:
            self.seq = 0
        task_status.started()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._prune_loop)
            nursery.start_soon(self._records_loop)
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
                self._records_due = True  # records older than the log are no longer trusted
            except Unavailable:
                pass
            await trio.sleep(3600)

    async def _records_loop(self) -> None:
        """Keeps the stored records current once the feed has been quiet for a while.

        During a scan every record written would soon be outdated again; a snapshot taken
        meanwhile builds what is missing itself, so waiting costs only speed.
        """
        last = -1
        while True:
            await trio.sleep(RECORDS_QUIET_S)
            seq = self.seq
            if seq == last and (self._records_due or seq != self._records_seq):
                due, self._records_due = self._records_due, False
                try:
                    if due or await feed.items_changed_after(self._db, self._records_seq):
                        written = await refresh_records(self._db)
                        if written:
                            log.debug("sync records stored", extra={"records": written})
                    # else: watch state only (playback heartbeats), no record changed
                    self._records_seq = seq
                except Unavailable:
                    self._records_due = True
                except Exception:  # a race with a deletion, say: the next quiet moment retries
                    self._records_due = True
                    log.warning("storing sync records failed", exc_info=True)
            last = seq
