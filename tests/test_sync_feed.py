"""The server side of the sync feed against a real Postgres: the change log the triggers write,
snapshots, change pages, and the promise the player relies on — a snapshot followed by every
change page equals a fresh snapshot, whatever happened in between."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import trio

from appliance import syncfeed
from appliance.events import InProcEventBus
from store import sync_feed
from store.db import Database
from sync.feed_types import (
    FEED_SCHEMA,
    EndFrame,
    Frame,
    FrameReader,
    HeaderFrame,
    ItemFrame,
    ItemRecord,
    LibraryFrame,
    LibraryInfo,
    Tombstone,
    WatchFrame,
    decode_batch,
)
from sync.media_types import WatchStateOut


async def raw(db: Database, text: str, *args: Any) -> Any:
    return await db.run_asyncio(lambda conn: conn.fetch(text, *args))


@dataclass
class Model:
    """What a player's replica holds, minus the indexes: the reference the feed must match."""

    libraries: dict[uuid.UUID, LibraryInfo] = field(default_factory=dict)
    items: dict[uuid.UUID, ItemRecord] = field(default_factory=dict)
    watch: dict[uuid.UUID, WatchStateOut] = field(default_factory=dict)
    seq: int = 0

    def apply(self, frames: list[Frame]) -> bool:
        more = False
        for frame in frames:
            if isinstance(frame, LibraryFrame):
                self.libraries[frame.library.id] = frame.library
            elif isinstance(frame, ItemFrame):
                self.items[frame.item.id] = frame.item
            elif isinstance(frame, WatchFrame):
                self.watch[frame.item_id] = frame.state
            elif isinstance(frame, Tombstone):
                store: dict[uuid.UUID, Any] = {
                    "library": self.libraries,
                    "item": self.items,
                    "watch": self.watch,
                }[frame.entity]
                store.pop(frame.id, None)
                if frame.entity == "library":
                    for item_id in [i for i, r in self.items.items() if r.library_id == frame.id]:
                        del self.items[item_id]
            elif isinstance(frame, EndFrame):
                self.seq = frame.seq
                more = frame.more
        return more

    def same_as(self, other: Model) -> bool:
        return (self.libraries, self.items, self.watch) == (
            other.libraries,
            other.items,
            other.watch,
        )


async def take_snapshot(db: Database, user: uuid.UUID) -> tuple[Model, list[Frame]]:
    model = Model()
    reader = FrameReader()
    frames: list[Frame] = []
    async for chunk in syncfeed.snapshot(db, user, "server-x"):
        for batch in reader.feed(chunk):
            frames += batch
            model.apply(batch)
    reader.close()
    return model, frames


async def pull(db: Database, model: Model, user: uuid.UUID, limit: int = 1000) -> None:
    while True:
        body = await syncfeed.changes(db, user, model.seq, limit)
        if not model.apply(decode_batch(body[4:])):
            return


async def make_user(db: Database, name: str) -> uuid.UUID:
    user = uuid.uuid4()
    now = datetime.now(UTC)
    await raw(
        db,
        "INSERT INTO users (id, username, role, password_hash, created_at, updated_at)"
        " VALUES ($1, $2, 'user', 'x', $3, $3)",
        user,
        name,
        now,
    )
    return user


async def make_library(db: Database, name: str = "Films") -> uuid.UUID:
    rows = await raw(
        db,
        "INSERT INTO libraries (name, kind, roots) VALUES ($1, 'movies', "
        "ARRAY['/media/' || $1]) RETURNING id",
        name,
    )
    return uuid.UUID(str(rows[0]["id"]))


async def add_movie(db: Database, library: uuid.UUID, title: str, year: int = 2001) -> uuid.UUID:
    rows = await raw(
        db,
        "INSERT INTO media_items (library_id, kind, identity_key, title, "
        "sort_title, year, genres) VALUES ($1, 'movie', $2, $3, lower($3), $4, "
        "ARRAY['Drama']) RETURNING id",
        library,
        f"movie:{uuid.uuid4()}",
        title,
        year,
    )
    return uuid.UUID(str(rows[0]["id"]))


async def set_progress(db: Database, user: uuid.UUID, item: uuid.UUID, position: float) -> None:
    await raw(
        db,
        "INSERT INTO watch_state (user_id, item_id, position_s, duration_s, client_ts)"
        " VALUES ($1, $2, $3, 100, now()) ON CONFLICT (user_id, item_id) DO UPDATE"
        " SET position_s = excluded.position_s, client_ts = excluded.client_ts",
        user,
        item,
        position,
    )


async def test_snapshot_has_header_libraries_items_watch_and_ends_at_the_high_water(
    db: Database,
) -> None:
    alice, bob = await make_user(db, "alice"), await make_user(db, "bob")
    films = await make_library(db)
    ids = [await add_movie(db, films, f"Film {n}") for n in range(3)]
    await raw(
        db,
        "UPDATE media_items SET overview = 'A story.', placeholder = "
        '\'{"color": "#112233", "blurhash": "LKO2"}\' WHERE id = $1',
        ids[0],
    )
    await set_progress(db, alice, ids[1], 42)
    await set_progress(db, bob, ids[2], 7)

    model, frames = await take_snapshot(db, alice)
    assert isinstance(frames[0], HeaderFrame) and frames[0].schema == FEED_SCHEMA
    assert frames[0].user_id == alice
    assert isinstance(frames[-1], EndFrame)
    assert model.seq == await sync_feed.high_water(db) > 0
    assert set(model.libraries) == {films}
    assert set(model.items) == set(ids)
    first = model.items[ids[0]]
    assert (first.overview, first.placeholder_color, first.blurhash) == (
        "A story.",
        "#112233",
        "LKO2",
    )
    assert first.genres == ["Drama"] and first.year == 2001
    # only this user's watch state travels
    assert set(model.watch) == {ids[1]} and model.watch[ids[1]].position_s == 42


async def test_changes_deliver_current_state_once_and_tombstones(db: Database) -> None:
    alice = await make_user(db, "alice")
    films = await make_library(db)
    keep, gone = await add_movie(db, films, "Keep"), await add_movie(db, films, "Gone")
    model, _ = await take_snapshot(db, alice)
    start = model.seq

    for n in range(5):  # five edits of one item arrive as one record with the last title
        await raw(db, "UPDATE media_items SET title = $2 WHERE id = $1", keep, f"Keep {n}")
    await raw(db, "DELETE FROM media_items WHERE id = $1", gone)
    await set_progress(db, alice, keep, 12.5)
    await raw(db, "UPDATE libraries SET name = 'Movies' WHERE id = $1", films)

    body = await syncfeed.changes(db, alice, start, 1000)
    frames = decode_batch(body[4:])
    items = [f for f in frames if isinstance(f, ItemFrame)]
    assert [f.item.title for f in items] == ["Keep 4"]
    assert Tombstone(entity="item", id=gone) in frames
    assert [f.library.name for f in frames if isinstance(f, LibraryFrame)] == ["Movies"]
    model.apply(frames)
    fresh, _ = await take_snapshot(db, alice)
    assert model.same_as(fresh) and model.seq == fresh.seq


async def test_an_update_that_changes_nothing_a_player_shows_is_not_logged(db: Database) -> None:
    films = await make_library(db)
    item = await add_movie(db, films, "Quiet")
    before = await sync_feed.high_water(db)
    # a rescan touches bookkeeping columns only
    await raw(
        db, "UPDATE media_items SET updated_at = now() + interval '1 minute' WHERE id = $1", item
    )
    await raw(db, "UPDATE libraries SET scan_interval_minutes = 5 WHERE id = $1", films)
    assert await sync_feed.high_water(db) == before


async def test_paging_and_other_users_watch_changes(db: Database) -> None:
    alice, bob = await make_user(db, "alice"), await make_user(db, "bob")
    films = await make_library(db)
    model, _ = await take_snapshot(db, alice)
    ids = [await add_movie(db, films, f"Film {n:02}") for n in range(25)]
    for item in ids:  # bob's progress is none of alice's business, but moves the cursor
        await set_progress(db, bob, item, 3)
    pages = 0
    while True:
        body = await syncfeed.changes(db, alice, model.seq, 7)
        frames = decode_batch(body[4:])
        assert not any(isinstance(f, WatchFrame) for f in frames)
        pages += 1
        if not model.apply(frames):
            break
    assert pages >= 4
    assert set(model.items) == set(ids)
    assert model.seq == await sync_feed.high_water(db)


async def test_a_cursor_older_than_retention_or_from_elsewhere_must_resnapshot(
    db: Database,
) -> None:
    alice = await make_user(db, "alice")
    films = await make_library(db)
    await add_movie(db, films, "Old")
    await raw(db, "UPDATE sync_changes SET at = now() - interval '40 days'")
    await add_movie(db, films, "New")
    pruned = await sync_feed.prune(db, timedelta(days=30))
    assert pruned > 0
    with pytest.raises(syncfeed.ResnapshotRequired):
        await syncfeed.changes(db, alice, 0, 100)
    with pytest.raises(syncfeed.ResnapshotRequired):  # a cursor from a bigger, other database
        await syncfeed.changes(db, alice, 10**9, 100)
    model, _ = await take_snapshot(db, alice)
    await pull(db, model, alice)
    assert {r.title for r in model.items.values()} == {"Old", "New"}


async def test_concurrent_writers_commit_in_sequence_order(db: Database) -> None:
    """A reader that saw N never later finds a change numbered below N (no gaps filled later)."""
    films = await make_library(db)
    seen: list[int] = []

    writers = trio.CapacityLimiter(3)  # the pool has 4 connections; the reader needs one

    async def writer(n: int) -> None:
        async def work(conn: Any) -> None:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO media_items (library_id, kind, identity_key, "
                    "title, sort_title) VALUES ($1, 'movie', $2, 't', 't')",
                    films,
                    f"k{n}",
                )
                await asyncio.sleep(0.002 * (n % 5))  # commit late, after others drew numbers

        async with writers:
            await db.run_asyncio(work)

    async def reader() -> None:
        for _ in range(30):
            rows = await raw(db, "SELECT seq FROM sync_changes ORDER BY seq")
            seqs = [r["seq"] for r in rows]
            if seen:  # everything seen before is still a prefix: nothing appeared below it
                assert seqs[: len(seen)] == seen
            seen[:] = seqs
            await trio.sleep(0.005)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        for n in range(12):
            nursery.start_soon(writer, n)
    assert len(seen) >= 1


# "store": the appliance stores the current records (migration 0011); a later snapshot sends the
# ones still current, so a stale one would make the final snapshot differ from the pulls.
OPS = ["add", "rename", "delete", "hide", "progress", "unwatch", "library", "pull", "store"]


@pytest.mark.parametrize("seed", range(12))
async def test_snapshot_then_changes_equals_a_fresh_snapshot(db: Database, seed: int) -> None:
    """Random change sequences (seeded, so a failure replays) interleaved with partial pulls."""
    rng = random.Random(seed)
    ops = [(rng.choice(OPS), rng.randrange(1000)) for _ in range(rng.randrange(1, 40))]
    users = await raw(db, "SELECT id FROM users WHERE username = 'prop'")
    user = users[0]["id"] if users else await make_user(db, "prop")
    libs = await raw(db, "SELECT id FROM libraries ORDER BY name")
    films = libs[0]["id"] if libs else await make_library(db, "A")
    model, _ = await take_snapshot(db, user)
    for op, n in ops:
        items = [r["id"] for r in await raw(db, "SELECT id FROM media_items ORDER BY id")]
        target = items[n % len(items)] if items else None
        if op == "add" or target is None:
            await add_movie(db, films, f"T{n}", 1990 + n % 30)
        elif op == "rename":
            await raw(
                db,
                "UPDATE media_items SET title = $2, rating = $3 WHERE id = $1",
                target,
                f"R{n}",
                n % 10,
            )
        elif op == "delete":
            await raw(db, "DELETE FROM media_items WHERE id = $1", target)
        elif op == "hide":
            await raw(db, "UPDATE media_items SET present = NOT present WHERE id = $1", target)
        elif op == "progress":
            await set_progress(db, user, target, float(n))
        elif op == "unwatch":
            await raw(db, "DELETE FROM watch_state WHERE item_id = $1", target)
        elif op == "library":
            if n % 3 == 0 and len(libs) < 3:
                await make_library(db, f"L{n}")
            else:
                await raw(db, "UPDATE libraries SET name = $2 WHERE id = $1", films, f"A{n}")
        elif op == "store":
            await syncfeed.refresh_records(db)
        else:
            await pull(db, model, user, limit=1 + n % 5)
    await pull(db, model, user, limit=3)
    fresh, _ = await take_snapshot(db, user)
    assert model.same_as(fresh)
    assert model.seq == fresh.seq


async def test_notifier_pushes_changed_up_to_seq_on_the_bus(db: Database) -> None:
    bus = InProcEventBus()
    notifier = syncfeed.SyncNotifier(db, bus, 0.05, timedelta(days=30))
    films = await make_library(db)
    async with trio.open_nursery() as nursery:
        await nursery.start(notifier.run)
        async with bus.subscribe() as events:
            await add_movie(db, films, "Pushed")
            with trio.fail_after(5):
                async for event in events:
                    if event.type == "sync":
                        assert event.data["seq"] == await sync_feed.high_water(db)
                        break
        nursery.cancel_scope.cancel()
