"""Details, home rows and watch state: REST marks, progress (newest client_ts wins), and the
WebSocket with two devices of one user (plus another user who must see nothing of theirs)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio
from quart.testing.connections import WebsocketResponseError

from appliance.redis_client import RedisClient
from store.db import Database
from tests.authkit import LOCAL, Harness
from tests.mediakit import Catalogue, Row, insert_rows, movie_rows, seed

T0 = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)


def ts(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


@pytest.fixture
async def h(db: Database, redis: RedisClient, tmp_path: Path) -> AsyncIterator[Harness]:
    harness = Harness(db, redis, tmp_path / "data")
    await harness.claim()
    yield harness


def series_rows(title: str, seasons: int, episodes: int) -> list[Row]:
    base = datetime(2025, 1, 1, tzinfo=UTC)
    show = Row(
        id=uuid.uuid4(),
        kind="series",
        title=title,
        sort_title=title.lower(),
        original_title=None,
        year=2010,
        release_date=None,
        rating=8.0,
        runtime_minutes=None,
        genres=["Drama"],
        added_at=base,
    )
    rows = [show]
    for s in range(1, seasons + 1):
        season = Row(
            id=uuid.uuid4(),
            kind="season",
            title=f"Season {s}",
            sort_title=f"season {s}",
            original_title=None,
            year=None,
            release_date=None,
            rating=None,
            runtime_minutes=None,
            genres=[],
            added_at=base,
            parent_id=show.id,
            season_number=s,
        )
        rows.append(season)
        for e in range(1, episodes + 1):
            rows.append(
                Row(
                    id=uuid.uuid4(),
                    kind="episode",
                    title=f"Episode {s}x{e}",
                    sort_title=f"episode {s}x{e:02d}",
                    original_title=None,
                    year=None,
                    release_date=None,
                    rating=None,
                    runtime_minutes=45,
                    genres=[],
                    added_at=base + timedelta(days=s * 10 + e),
                    parent_id=season.id,
                    season_number=s,
                    episode=e,
                    height=1080,
                    hdr="SDR",
                    file_id=uuid.uuid4(),
                )
            )
    return rows


@pytest.fixture
async def cat(h: Harness, db: Database) -> Catalogue:
    cat = await seed(db, movie_rows(10))
    show = series_rows("Lost", 2, 3)
    await insert_rows(db, cat.library_id, show, "/srv/media/films")
    cat.rows += show
    return cat


def episode(cat: Catalogue, s: int, e: int) -> Row:
    return cat.by_title(f"Episode {s}x{e}")


async def test_details_of_movie_series_and_season(h: Harness, cat: Catalogue) -> None:
    token = await h.token()
    movie = next(r for r in cat.rows if r.kind == "movie" and r.present)
    reply = await h.call("GET", f"/api/v1/media/items/{movie.id}", token=token)
    assert reply.status == 200, reply.body
    body = reply.body
    assert body["item"]["title"] == movie.title and body["item"]["genres"] == movie.genres
    assert [f["id"] for f in body["files"]] == [str(movie.file_id)]
    info = body["files"][0]["media_info"]
    assert info["video"]["height"] == movie.height and info["video"]["hdr"] == movie.hdr
    assert body["files"][0]["stream_url"] == f"/api/v1/stream/{movie.file_id}"
    assert body["children"] == [] and body["extras"] == []

    show = cat.by_title("Lost")
    reply = await h.call("GET", f"/api/v1/media/items/{show.id}", token=token)
    assert [c["title"] for c in reply.body["children"]] == ["Season 1", "Season 2"]
    season = reply.body["children"][1]["id"]
    reply = await h.call("GET", f"/api/v1/media/items/{season}", token=token)
    assert [c["title"] for c in reply.body["children"]] == [
        "Episode 2x1",
        "Episode 2x2",
        "Episode 2x3",
    ]
    assert (await h.call("GET", f"/api/v1/media/items/{uuid.uuid4()}", token=token)).status == 404


async def test_next_episode_is_one_request(h: Harness, cat: Catalogue) -> None:
    """``GET /media/items/{id}/next``: the next episode in running order, watched or not, across
    seasons; none after the last one or for a film; 404 for an unknown item."""
    token = await h.token()

    async def following(item_id: uuid.UUID) -> list[str]:
        reply = await h.call("GET", f"/api/v1/media/items/{item_id}/next", token=token)
        assert reply.status == 200, reply.body
        return [i["title"] for i in reply.body["items"]]

    await h.call("POST", f"/api/v1/media/items/{episode(cat, 1, 3).id}/watched", {}, token=token)
    assert await following(episode(cat, 1, 1).id) == ["Episode 1x2"]
    assert await following(episode(cat, 1, 2).id) == ["Episode 1x3"], "watched or not"
    assert await following(episode(cat, 1, 3).id) == ["Episode 2x1"], "into the next season"
    assert await following(episode(cat, 2, 3).id) == []
    assert await following(next(r.id for r in cat.rows if r.kind == "movie")) == []
    missing = await h.call("GET", f"/api/v1/media/items/{uuid.uuid4()}/next", token=token)
    assert missing.status == 404


async def test_progress_marks_and_home_rows(h: Harness, cat: Catalogue) -> None:
    token = await h.token()
    e11, e12, e13 = episode(cat, 1, 1), episode(cat, 1, 2), episode(cat, 1, 3)
    movie = next(r for r in cat.rows if r.kind == "movie" and r.present)

    async def progress(item: Row, position: float, at: float, **extra: Any) -> dict[str, Any]:
        reply = await h.call(
            "PUT",
            f"/api/v1/media/items/{item.id}/progress",
            {
                "position_s": position,
                "duration_s": 2700.0,
                "client_ts": ts(at),
                **extra,
            },
            token=token,
        )
        assert reply.status == 200, reply.body
        return dict(reply.body)

    assert (await progress(e11, 2600, 10))["state"]["completed"], ">= 95 %: completed"
    assert (await progress(e12, 300, 20))["state"]["completed"] is False
    assert (await progress(movie, 100, 30, completed=True))["state"]["completed"], "credits"
    await progress(movie, 0, 40)  # started again
    late = await progress(e12, 100, 15)  # recorded offline before the last one
    assert late["applied"] is False and late["state"]["position_s"] == 300

    cw = (await h.call("GET", "/api/v1/media/continue-watching", token=token)).body["items"]
    assert [i["id"] for i in cw] == [str(e12.id)]
    up = (await h.call("GET", "/api/v1/media/next-up", token=token)).body["items"]
    assert [i["id"] for i in up] == [str(e12.id)], "next unwatched after the last completed"
    await progress(e12, 2700, 50)
    up = (await h.call("GET", "/api/v1/media/next-up", token=token)).body["items"]
    assert [i["id"] for i in up] == [str(e13.id)]
    recent = (
        await h.call(
            "GET", f"/api/v1/media/recently-added?library_id={cat.library_id}", token=token
        )
    ).body["items"]
    newest = sorted(
        (r for r in cat.rows if r.present and r.kind != "season"),
        key=lambda r: r.added_at,
        reverse=True,
    )
    assert [i["id"] for i in recent] == [str(r.id) for r in newest][:24]

    show = cat.by_title("Lost")
    marked = await h.call("POST", f"/api/v1/media/items/{show.id}/watched", {}, token=token)
    assert marked.status == 200 and len(marked.body["updates"]) == 6
    assert all(u["state"]["completed"] for u in marked.body["updates"])
    assert (await h.call("GET", "/api/v1/media/next-up", token=token)).body["items"] == []
    reply = await h.call("POST", f"/api/v1/media/items/{e13.id}/unwatched", {}, token=token)
    assert reply.body["updates"][0]["state"]["completed"] is False
    detail = await h.call("GET", f"/api/v1/media/items/{e11.id}", token=token)
    play_count = detail.body["item"]["watch"]["play_count"]
    assert play_count == 1, "marking an already completed episode does not count a play"

    await progress(movie, 500, 10**6)
    cleared = await h.call(
        "POST", f"/api/v1/media/items/{movie.id}/progress/clear", {}, token=token
    )
    assert cleared.body["updates"][0]["state"]["position_s"] == 0
    old = await h.call(
        "POST", f"/api/v1/media/items/{movie.id}/watched", {"client_ts": ts(-100)}, token=token
    )
    assert old.body["updates"][0]["applied"] is False, "an old mark loses too"

    season = cat.by_title("Season 1")
    reply = await h.call(
        "PUT",
        f"/api/v1/media/items/{season.id}/progress",
        {"position_s": 1, "client_ts": ts(1)},
        token=token,
    )
    assert (reply.status, reply.code) == (422, "not_playable")
    reply = await h.call(
        "PUT",
        f"/api/v1/media/items/{movie.id}/progress",
        {"position_s": 1, "client_ts": "2026-03-01T20:00:00"},
        token=token,
    )
    assert reply.status == 422, "client_ts without a timezone"


class Socket:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def send(self, **message: Any) -> None:
        await self.conn.send(msgspec.json.encode(message).decode())

    async def receive(self, timeout: float = 5) -> dict[str, Any]:
        with trio.fail_after(timeout):
            return dict(msgspec.json.decode(await self.conn.receive()))

    async def next_of(self, kind: str, event: str | None = None) -> dict[str, Any]:
        while True:
            message = await self.receive()
            if message["type"] == kind and (event is None or message.get("event") == event):
                return message

    async def nothing(self, event: str, wait: float = 0.3) -> None:
        with trio.move_on_after(wait):
            while True:
                message = dict(msgspec.json.decode(await self.conn.receive()))
                assert message.get("event") != event, message


async def test_websocket_heartbeats_from_two_devices(h: Harness, cat: Catalogue) -> None:
    admin = await h.token()
    await h.create_user(admin, "ann")
    phone = await h.token("ann", "user password 1", device="phone")
    tv = await h.token("ann", "user password 1", device="tv")
    bob_user = await h.create_user(admin, "bob")
    bob = await h.token("bob", "user password 1", device="bobs-tv")
    movie = next(r for r in cat.rows if r.kind == "movie" and r.present)

    def connect(token: str) -> Any:
        return h.client.websocket(
            "/api/v1/ws", headers={"Authorization": f"Bearer {token}"}, scope_base={"client": LOCAL}
        )

    async with connect(phone) as p, connect(tv) as t, connect(bob) as b:
        phone_ws, tv_ws, bob_ws = Socket(p), Socket(t), Socket(b)
        for ws in (phone_ws, tv_ws, bob_ws):  # the sockets are live once they answer a ping
            await ws.send(type="ping", id="hi")
            assert (await ws.next_of("ack"))["id"] == "hi"
        await phone_ws.send(
            type="progress",
            id="1",
            item_id=str(movie.id),
            position_s=600,
            duration_s=6000,
            client_ts=ts(100),
            event="pause",
        )
        ack = await phone_ws.next_of("ack")
        assert ack["id"] == "1" and ack["applied"] and ack["state"]["position_s"] == 600
        pushed = await tv_ws.next_of("event", "watch.changed")
        assert pushed["data"]["item_id"] == str(movie.id)
        assert pushed["data"]["state"]["position_s"] == 600
        # The TV was offline and recorded an older position: it must not win.
        await tv_ws.send(type="progress", item_id=str(movie.id), position_s=50, client_ts=ts(90))
        ack = await tv_ws.next_of("ack")
        assert ack["applied"] is False and ack["state"]["position_s"] == 600
        await tv_ws.send(
            type="progress", item_id=str(movie.id), position_s=700, client_ts=ts(110), event="seek"
        )
        assert (await tv_ws.next_of("ack"))["applied"]
        assert (await phone_ws.next_of("event", "watch.changed"))["data"]["state"][
            "position_s"
        ] == 700
        await phone_ws.nothing("watch.changed")  # never the device's own change echoed
        await bob_ws.nothing("watch.changed")  # never another user's

        h.state.bus.publish("library.updated", library_id=str(cat.library_id))
        for ws in (phone_ws, tv_ws, bob_ws):
            assert (await ws.next_of("event", "library.updated"))["data"] == {
                "library_id": str(cat.library_id)
            }

        await phone_ws.send(type="progress", item_id="nope")
        assert (await phone_ws.next_of("error"))["code"] == "invalid_message"
        await phone_ws.send(
            type="progress", item_id=str(uuid.uuid4()), position_s=1, client_ts=ts(1)
        )
        assert (await phone_ws.next_of("error"))["code"] == "not_found"

    statuses = []
    await h.call(
        "PUT", f"/api/v1/users/{bob_user['id']}/permissions", {"deny": ["sync:read"]}, token=admin
    )
    for headers in ({}, {"Authorization": f"Bearer {bob}x"}, {"Authorization": f"Bearer {bob}"}):
        try:
            async with h.client.websocket(
                "/api/v1/ws", headers=headers, scope_base={"client": LOCAL}
            ) as ws:
                await ws.receive()
        except* WebsocketResponseError as group:
            error = group.exceptions[0]
            assert isinstance(error, WebsocketResponseError)
            statuses.append(error.response.status_code)
    assert statuses == [401, 401, 403], "refused before the handshake is accepted"
