"""The stored, encoded item records a snapshot sends (migration 0011) against a real Postgres:
a stored record is sent only while it is the item's current one; any change a player would see
(the item, its files, images or cast, a person's name) retires it, and so does pruning the log it
is checked against. The reference is always a snapshot with every record built afresh."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
import trio

from appliance import syncfeed
from appliance.events import InProcEventBus
from store import sync_feed
from store.db import Database
from tests.test_sync_feed import Model, add_movie, make_library, make_user, pull, raw, take_snapshot


async def built_afresh(db: Database, user: uuid.UUID) -> Model:
    """A snapshot with no stored record at all (what a snapshot was before 0011)."""

    async def snapshot_without_records(conn: Any) -> None:
        await conn.execute("DELETE FROM sync_item_records")

    kept = await raw(db, "SELECT item_id, seq, format, record FROM sync_item_records")
    await db.run_asyncio(snapshot_without_records)
    model, _ = await take_snapshot(db, user)
    await raw(
        db,
        "INSERT INTO sync_item_records SELECT * FROM unnest($1::uuid[], $2::bigint[], "
        "$3::integer[], $4::bytea[])",
        [r["item_id"] for r in kept],
        [r["seq"] for r in kept],
        [r["format"] for r in kept],
        [r["record"] for r in kept],
    )
    return model


async def add_file(db: Database, library: uuid.UUID, item: uuid.UUID, name: str) -> uuid.UUID:
    info = {
        "duration_s": 5400.0,
        "container": "matroska",
        "video": {"codec": "hevc", "width": 3840, "height": 2160, "hdr": "HDR10"},
        "audio": [{"language": "eng", "codec": "eac3", "channel_layout": "5.1"}],
        "subtitles": [{"language": "fre", "codec": "subrip", "external": True}],
    }
    rows = await raw(
        db,
        "INSERT INTO media_files (library_id, path, folder, size_bytes, mtime_ns,"
        " item_id, media_info) VALUES ($1, '/media/' || $2, '/media', 1000, 1, "
        "$3, $4::jsonb) RETURNING id",
        library,
        name,
        item,
        json.dumps(info),
    )
    return uuid.UUID(str(rows[0]["id"]))


async def test_stored_records_are_sent_while_current_and_retired_by_any_visible_change(
    db: Database,
) -> None:
    alice = await make_user(db, "alice")
    films = await make_library(db)
    plain, filed, cast, hidden = [
        await add_movie(db, films, t) for t in ("Plain", "Filed", "Cast", "Hidden")
    ]
    file_id = await add_file(db, films, filed, "Filed.mkv")
    await raw(db, "INSERT INTO images (id, width, height, format) VALUES ('img1', 10, 15, 'jpeg')")
    await raw(
        db,
        "INSERT INTO item_images (item_id, kind, image_id, source) "
        "VALUES ($1, 'poster', 'img1', 'local')",
        cast,
    )
    person = (
        await raw(
            db,
            "INSERT INTO people (name, identity_key) VALUES ('Ann Actor', "
            "'name:ann actor') RETURNING id",
        )
    )[0]["id"]
    await raw(
        db,
        "INSERT INTO item_people (item_id, person_id, kind, role) "
        "VALUES ($1, $2, 'actor', 'Herself')",
        cast,
        person,
    )
    await raw(db, "UPDATE media_items SET present = false WHERE id = $1", hidden)

    assert await syncfeed.refresh_records(db) == 3  # present items only
    assert await syncfeed.refresh_records(db) == 0  # nothing outdated: nothing rewritten
    stored, _ = await take_snapshot(db, alice)
    assert stored.same_as(await built_afresh(db, alice))
    assert set(stored.items) == {plain, filed, cast}
    assert stored.items[filed].files[0].hdr == "HDR10"
    assert stored.items[cast].people[0].name == "Ann Actor"
    assert stored.items[cast].poster_image_id == "img1"

    # each kind of change a player sees retires that item's stored record, and only that one
    await raw(db, "UPDATE media_items SET title = 'Plain (Director''s Cut)' WHERE id = $1", plain)
    await raw(
        db,
        "UPDATE media_files SET media_info = jsonb_set(media_info, '{video,hdr}', "
        "'null') WHERE id = $1",
        file_id,
    )
    await raw(db, "UPDATE people SET name = 'Ann B. Actor' WHERE id = $1", person)
    await raw(db, "UPDATE media_items SET present = true WHERE id = $1", hidden)
    changed, _ = await take_snapshot(db, alice)
    assert changed.same_as(await built_afresh(db, alice))
    assert changed.items[plain].title == "Plain (Director's Cut)"
    assert changed.items[filed].files[0].hdr is None
    assert changed.items[cast].people[0].name == "Ann B. Actor"
    assert hidden in changed.items
    assert await syncfeed.refresh_records(db) == 4
    again, _ = await take_snapshot(db, alice)
    assert again.same_as(changed)

    # a deleted item takes its stored record with it
    await raw(db, "DELETE FROM media_items WHERE id = $1", hidden)
    assert not await raw(db, "SELECT 1 FROM sync_item_records WHERE item_id = $1", hidden)

    # once the log before a record's sequence is pruned, the record cannot be checked: unused
    await raw(db, "UPDATE sync_changes SET at = now() - interval '40 days'")
    assert await sync_feed.prune(db, timedelta(days=30)) > 0
    assert await syncfeed.refresh_records(db) == 3


async def test_records_another_version_stored_are_never_sent_and_get_rewritten(
    db: Database,
) -> None:
    alice = await make_user(db, "alice")
    films = await make_library(db)
    for n in range(3):
        await add_movie(db, films, f"Film {n}")
    assert await syncfeed.refresh_records(db) == 3
    # as if an appliance that encodes records differently had stored them (bytes this version
    # cannot decode: sent, they would break every player)
    await raw(db, "UPDATE sync_item_records SET format = format + 1, record = '\\xc1'::bytea")
    model, _ = await take_snapshot(db, alice)
    assert sorted(r.title for r in model.items.values()) == ["Film 0", "Film 1", "Film 2"]
    assert await syncfeed.refresh_records(db) == 3
    again, _ = await take_snapshot(db, alice)
    assert again.same_as(model)
    assert await syncfeed.refresh_records(db) == 0


async def test_records_stored_meanwhile_never_leak_into_a_snapshot_or_a_pull(db: Database) -> None:
    """Stored records written between a snapshot and the pulls after it (and after changes made
    in between) leave snapshot + changes equal to a fresh snapshot built without them."""
    alice = await make_user(db, "alice")
    films = await make_library(db)
    ids = [await add_movie(db, films, f"Film {n}") for n in range(6)]
    await syncfeed.refresh_records(db)
    model, _ = await take_snapshot(db, alice)
    for n, item in enumerate(ids[:3]):
        await raw(db, "UPDATE media_items SET title = $2 WHERE id = $1", item, f"New {n}")
        if n == 1:
            await syncfeed.refresh_records(db)
    await add_movie(db, films, "Late")
    await pull(db, model, alice, limit=2)
    fresh, _ = await take_snapshot(db, alice)
    assert model.same_as(fresh) and model.same_as(await built_afresh(db, alice))


async def test_the_notifier_stores_records_once_the_feed_is_quiet(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    films = await make_library(db)
    ids = [await add_movie(db, films, f"Film {n}") for n in range(3)]
    notifier = syncfeed.SyncNotifier(db, InProcEventBus(), 0.02, timedelta(days=30))
    monkeypatch.setattr(syncfeed, "RECORDS_QUIET_S", 0.05)
    async with trio.open_nursery() as nursery:
        await nursery.start(notifier.run)
        with trio.fail_after(10):
            while len(await raw(db, "SELECT 1 FROM sync_item_records")) < 3:
                await trio.sleep(0.05)
        await raw(db, "UPDATE media_items SET title = 'Renamed' WHERE id = $1", ids[0])
        with trio.fail_after(10):  # the outdated one is rewritten
            while not await raw(
                db,
                "SELECT 1 FROM sync_item_records WHERE item_id = $1 "
                "AND seq >= (SELECT max(seq) FROM sync_changes)",
                ids[0],
            ):
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()
