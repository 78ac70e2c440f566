"""Access limits on every route (issue 20, items 1, 5, 6, 7): a user limited to some libraries
cannot tell the others exist (libraries, scans, metadata, images, events); a DENY or a library
taken away ends existing playback tickets at once; an admin's PIN session is not an admin; and
item details never show where files lie on the server.

Real Postgres and Redis, the real app in process (tests/authkit.py)."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio
from PIL import Image

from appliance.redis_client import RedisClient
from appliance.scan.service import ScanService
from store.db import Database
from store.sql import sql
from tests.authkit import LOCAL, Harness
from tests.mediakit import Catalogue, movie_rows, seed

ADD_FILE = sql(
    """
    INSERT INTO media_files (library_id, path, folder, size_bytes, mtime_ns, media_info, present,
                             item_id, analysis_error)
    VALUES ($1, $2, $3, 1, 1, $4::jsonb, true, $5, $6) RETURNING id
    """
)
ADD_IMAGE = sql(
    """
    INSERT INTO images (id, source_path, width, height, format) VALUES ($1, $2, 40, 60, 'jpeg')
    """
)
LINK_IMAGE = sql(
    "INSERT INTO item_images (item_id, kind, image_id, source) VALUES ($1, 'poster', $2, 'local')"
)
ADD_PERSON = sql(
    """
    WITH p AS (INSERT INTO people (identity_key, name, image_id) VALUES ($1, 'Hidden Actor', $2)
               RETURNING id)
    INSERT INTO item_people (item_id, person_id, kind, ord) SELECT $3, id, 'actor', 0 FROM p
    """
)


@dataclass
class World:
    h: Harness
    db: Database
    admin: str
    bob_id: str
    bob: str
    films: Catalogue
    secret: Catalogue
    tmp: Path

    async def call(self, method: str, path: str, json: Any = None, token: str | None = None) -> Any:
        return await self.h.call(method, path, json, token=token or self.bob)

    async def raw(self, url: str, token: str | None = None) -> tuple[int, Any, bytes]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.h.client.get(url, headers=headers, scope_base={"client": LOCAL})
        return response.status_code, response.headers, await response.get_data(as_text=False)


@pytest.fixture
async def w(db: Database, redis: RedisClient, tmp_path: Path) -> AsyncIterator[World]:
    h = Harness(db, redis, tmp_path / "data")
    h.state.scans = ScanService(db, h.state.bus)
    await h.claim()
    admin = await h.token(device="admin-laptop")
    films = await seed(db, movie_rows(6, seed=1), root=str(tmp_path / "films"), name="Films")
    secret = await seed(db, movie_rows(6, seed=2), root=str(tmp_path / "secret"), name="Secret")
    bob = await h.create_user(admin, "bob")
    reply = await h.call(
        "PUT",
        f"/api/v1/users/{bob['id']}/libraries",
        {"library_ids": [str(films.library_id)]},
        token=admin,
    )
    assert reply.status == 200, reply.body
    token = await h.token("bob", "user password 1", device="bobs-tv")
    yield World(h, db, admin, bob["id"], token, films, secret, tmp_path)


def not_found_like_a_missing_one(reply: Any) -> None:
    assert reply.status == 404, reply.body
    assert reply.code == "not_found", reply.body


async def test_a_hidden_library_is_indistinguishable_from_a_missing_one(w: World) -> None:
    films, secret = str(w.films.library_id), str(w.secret.library_id)
    listed = (await w.call("GET", "/api/v1/libraries")).body["libraries"]
    assert [lib["id"] for lib in listed] == [films]
    assert listed[0]["roots"] == [], "root paths are for those who manage libraries"
    every = (await w.call("GET", "/api/v1/libraries", token=w.admin)).body["libraries"]
    assert sorted(lib["name"] for lib in every) == ["Films", "Secret"]
    assert all(lib["roots"] for lib in every), "an admin sees the roots"

    assert (await w.call("GET", f"/api/v1/libraries/{films}")).status == 200
    missing = await w.call("GET", f"/api/v1/libraries/{uuid.uuid4()}")
    hidden = await w.call("GET", f"/api/v1/libraries/{secret}")
    not_found_like_a_missing_one(missing)
    not_found_like_a_missing_one(hidden)
    not_found_like_a_missing_one(await w.call("GET", f"/api/v1/libraries/{secret}/scans"))

    # Scans of the hidden library: not in the list, 404 by id.
    started = await w.call("POST", f"/api/v1/libraries/{secret}/scan", {}, token=w.admin)
    assert started.status == 202, started.body
    await w.call("POST", f"/api/v1/libraries/{films}/scan", {}, token=w.admin)
    active = (await w.call("GET", "/api/v1/scans")).body["scans"]
    assert [s["library_id"] for s in active] == [films]
    not_found_like_a_missing_one(await w.call("GET", f"/api/v1/scans/{started.body['id']}"))
    assert (await w.call("GET", f"/api/v1/scans/{started.body['id']}", token=w.admin)).status == 200


async def test_a_user_with_scan_rights_cannot_touch_a_hidden_library(w: World) -> None:
    secret = str(w.secret.library_id)
    await w.call(
        "PUT",
        f"/api/v1/users/{w.bob_id}/permissions",
        {"grant": ["libraries:scan", "libraries:manage"]},
        token=w.admin,
    )
    for method, path in (
        ("POST", f"/api/v1/libraries/{secret}/scan"),
        ("POST", f"/api/v1/libraries/{secret}/scan/pause"),
        ("PATCH", f"/api/v1/libraries/{secret}"),
        ("DELETE", f"/api/v1/libraries/{secret}"),
    ):
        body = {"watch": False} if method == "PATCH" else {} if path.endswith("/scan") else None
        not_found_like_a_missing_one(await w.call(method, path, body))
    assert (await w.call("GET", f"/api/v1/libraries/{secret}", token=w.admin)).status == 200
    # As a manager bob now sees the roots of the library he may see.
    listed = (await w.call("GET", "/api/v1/libraries")).body["libraries"]
    assert listed[0]["roots"] == [str(w.tmp / "films")]


async def test_metadata_and_images_of_a_hidden_item_are_404(w: World) -> None:
    hidden = next(r for r in w.secret.rows if r.present)
    shown = next(r for r in w.films.rows if r.present)
    assert (await w.call("GET", f"/api/v1/media/items/{hidden.id}")).status == 404
    not_found_like_a_missing_one(await w.call("GET", f"/api/v1/metadata/items/{hidden.id}"))
    assert (await w.call("GET", f"/api/v1/metadata/items/{shown.id}")).status == 200
    assert (await w.call("GET", f"/api/v1/metadata/items/{hidden.id}", token=w.admin)).status == 200
    await w.call(
        "PUT",
        f"/api/v1/users/{w.bob_id}/permissions",
        {"grant": ["media:edit_metadata"]},
        token=w.admin,
    )
    not_found_like_a_missing_one(
        await w.call("PATCH", f"/api/v1/metadata/items/{hidden.id}", {"title": "Mine now"})
    )
    not_found_like_a_missing_one(
        await w.call("POST", f"/api/v1/metadata/items/{hidden.id}/refresh")
    )

    async def image(colour: tuple[int, int, int]) -> str:
        out = io.BytesIO()
        Image.new("RGB", (40, 60), colour).save(out, "JPEG")
        data = out.getvalue()
        image_id = hashlib.sha256(data).hexdigest()
        path = w.tmp / f"{image_id}.jpg"
        path.write_bytes(data)
        await w.db.execute(ADD_IMAGE, image_id, str(path))
        return image_id

    poster, secret_poster, face = (
        await image((200, 0, 0)),
        await image((0, 200, 0)),
        await image((0, 0, 200)),
    )
    await w.db.execute(LINK_IMAGE, shown.id, poster)
    await w.db.execute(LINK_IMAGE, hidden.id, secret_poster)
    await w.db.execute(ADD_PERSON, "actor:hidden", face, hidden.id)
    assert (await w.raw(f"/api/v1/images/{poster}", w.bob))[0] == 200
    for image_id in (secret_poster, face):
        status, _, body = await w.raw(f"/api/v1/images/{image_id}", w.bob)
        assert status == 404 and msgspec.json.decode(body)["error"]["code"] == "not_found"
        assert (await w.raw(f"/api/v1/images/{image_id}", w.admin))[0] == 200


class SseReader:
    """The raw SSE stream of /api/v1/events through the app, parsed into (type, data)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.buffer = b""

    async def until(self, marker: bytes) -> None:
        while marker not in self.buffer:
            self.buffer += await self.conn.receive()

    async def events_until(self, event_type: str) -> list[tuple[str, dict[str, Any]]]:
        with trio.fail_after(10):
            while True:
                events = self.parsed()
                if any(kind == event_type for kind, _ in events):
                    return events
                self.buffer += await self.conn.receive()

    def parsed(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for block in self.buffer.decode().split("\n\n"):
            fields = dict(
                line.split(": ", 1)
                for line in block.splitlines()
                if not line.startswith(":") and ": " in line
            )
            if "event" in fields:
                out.append((fields["event"], msgspec.json.decode(fields.get("data", "{}"))))
        return out


class _Done(Exception):
    pass


async def sse(
    w: World, token: str, act: Callable[[], Awaitable[str]]
) -> list[tuple[str, dict[str, Any]]]:
    """Connect, run ``act`` (which returns the event type that ends the wait), and return
    every event received up to it."""
    result: list[tuple[str, dict[str, Any]]] = []
    try:
        async with w.h.client.request(
            "/api/v1/events",
            headers={"Authorization": f"Bearer {token}"},
            scope_base={"client": LOCAL},
        ) as conn:
            await conn.send_complete()
            reader = SseReader(conn)
            with trio.fail_after(10):
                await reader.until(b": connected")
            result = await reader.events_until(await act())
            raise _Done
    except* _Done:
        pass
    return result


async def test_events_of_a_hidden_library_never_reach_the_user(w: World) -> None:
    films, secret = str(w.films.library_id), str(w.secret.library_id)

    async def scans_then_marker() -> str:
        # The hidden library's events come first, so had they passed they would be seen.
        assert (
            await w.call("POST", f"/api/v1/libraries/{secret}/scan", {}, token=w.admin)
        ).status == 202
        w.h.state.bus.publish(
            "job.failed",
            job=7,
            kind="FolderScan",
            state="failed",
            error=f"{w.tmp}/secret/x.mkv: unreadable",
        )
        w.h.state.bus.publish("library.updated", library_id=secret)
        assert (
            await w.call("POST", f"/api/v1/libraries/{films}/scan", {}, token=w.admin)
        ).status == 202
        w.h.state.bus.publish("marker.done")
        return "marker.done"

    seen = await sse(w, w.bob, scans_then_marker)
    assert [(kind, data.get("library_id")) for kind, data in seen] == [
        ("scan.started", films),
        ("marker.done", None),
    ]

    admin_seen = await sse(w, w.admin, scans_then_marker)  # the scans are joined this time
    assert [kind for kind, _ in admin_seen] == ["job.failed", "library.updated", "marker.done"]
    assert admin_seen[1][1]["library_id"] == secret, "managers see every library's events"


async def test_websocket_follows_the_limits_as_they_change(w: World) -> None:
    secret = str(w.secret.library_id)
    async with w.h.client.websocket(
        "/api/v1/ws", headers={"Authorization": f"Bearer {w.bob}"}, scope_base={"client": LOCAL}
    ) as ws:

        async def next_event() -> dict[str, Any]:
            with trio.fail_after(5):
                while True:
                    message = msgspec.json.decode(await ws.receive())
                    if message["type"] == "event":
                        return dict(message)

        await ws.send('{"type": "ping", "id": "x"}')
        with trio.fail_after(5):  # live (subscribed) once it answers
            assert msgspec.json.decode(await ws.receive())["type"] == "ack"
        w.h.state.bus.publish("library.updated", library_id=secret)
        w.h.state.bus.publish("marker.one")
        assert (await next_event())["event"] == "marker.one"
        # Given the library, the same open socket now forwards its events.
        reply = await w.call(
            "PUT", f"/api/v1/users/{w.bob_id}/libraries", {"library_ids": None}, token=w.admin
        )
        assert reply.status == 200
        assert (await next_event())["event"] == "access.changed"
        w.h.state.bus.publish("library.updated", library_id=secret)
        pushed = await next_event()
        assert (pushed["event"], pushed["data"]["library_id"]) == ("library.updated", secret)


# --- item 5: tickets end with the permission or the library -----------------------------------


async def test_a_deny_or_a_library_taken_away_ends_existing_tickets(w: World) -> None:
    root = w.tmp / "films"
    movie = next(r for r in w.films.rows if r.present)
    (root / "clip.mkv").parent.mkdir(parents=True, exist_ok=True)
    (root / "clip.mkv").write_bytes(b"x" * 5000)
    file_id = await w.db.fetchval(
        ADD_FILE, w.films.library_id, str(root / "clip.mkv"), str(root), "{}", movie.id, None
    )
    reply = await w.call("POST", "/api/v1/stream/tickets", {"file_id": str(file_id)})
    assert reply.status == 201, reply.body
    url = reply.body["url"]
    assert (await w.raw(url))[0] == 200

    await w.call(
        "PUT", f"/api/v1/users/{w.bob_id}/permissions", {"deny": ["media:stream"]}, token=w.admin
    )
    status, _, body = await w.raw(url)
    assert status == 403, body
    assert (await w.call("POST", "/api/v1/stream/tickets", {"file_id": str(file_id)})).status == 403
    await w.call("PUT", f"/api/v1/users/{w.bob_id}/permissions", {}, token=w.admin)
    assert (await w.raw(url))[0] == 200, "the same ticket works again once allowed"

    await w.call(
        "PUT",
        f"/api/v1/users/{w.bob_id}/libraries",
        {"library_ids": [str(w.secret.library_id)]},
        token=w.admin,
    )
    status, _, body = await w.raw(url)
    assert status == 404 and msgspec.json.decode(body)["error"]["code"] == "not_found"


# --- item 6: a PIN session is not an admin, whatever the role ---------------------------------


async def test_an_admin_pin_session_cannot_read_another_users_watch_state(w: World) -> None:
    query = {"user_id": w.bob_id, "limit": 5}
    assert (await w.call("POST", "/api/v1/media/query", query, token=w.admin)).status == 200
    await w.h.call("PUT", "/api/v1/auth/pin", {"pin": "4071"}, token=w.admin)
    pin = await w.h.pin_login("admin", "admin-laptop", "4071")
    assert pin.status == 200 and pin.body["scope"] == "playback", pin.body
    playback = pin.body["access_token"]
    refused = await w.call("POST", "/api/v1/media/query", query, token=playback)
    assert refused.status == 403 and refused.code == "forbidden", refused.body
    own = await w.call("POST", "/api/v1/media/query", {"limit": 5}, token=playback)
    assert own.status == 200, "its own watch state it may query"
    # An admin whose users:read is denied is no more an admin for this than a PIN session.
    me = (await w.call("GET", "/api/v1/auth/me", token=w.admin)).body["user"]["id"]
    await w.call("PUT", f"/api/v1/users/{me}/permissions", {"deny": ["users:read"]}, token=w.admin)
    assert (await w.call("POST", "/api/v1/media/query", query, token=w.admin)).status == 403


# --- item 7: no server paths in item details --------------------------------------------------


async def test_item_details_give_subtitle_urls_not_server_paths(w: World) -> None:
    root = w.tmp / "films"
    root.mkdir(exist_ok=True)
    movie = next(r for r in w.films.rows if r.present)
    (root / "m.mkv").write_bytes(b"x")
    (root / "m.en.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
    (root / "m.de.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHallo\n")
    info = {
        "subtitles": [
            {"index": 2, "codec": "subrip", "language": "fre", "external": False},
            {
                "path": str(root / "m.en.srt"),
                "codec": "subrip",
                "language": "eng",
                "external": True,
            },
            {
                "path": str(root / "m.de.srt"),
                "codec": "subrip",
                "language": "ger",
                "external": True,
            },
        ],
        "warnings": [f"file:{root}/m.mkv: trailing garbage"],
    }
    file_id = await w.db.fetchval(
        ADD_FILE,
        w.films.library_id,
        str(root / "m.mkv"),
        str(root),
        msgspec.json.encode(info).decode(),
        movie.id,
        f"truncated: {root}/m.mkv: end of file",
    )
    status, _, raw = await w.raw(f"/api/v1/media/items/{movie.id}", w.bob)
    assert status == 200
    assert str(w.tmp).encode() not in raw, "no server path anywhere in the answer"
    details = msgspec.json.decode(raw)
    served = next(f for f in details["files"] if f["id"] == str(file_id))
    subs = served["media_info"]["subtitles"]
    assert [(s["language"], s["url"], s["path"]) for s in subs] == [
        ("fre", None, None),
        ("eng", f"/api/v1/stream/{file_id}/subtitles/0", None),
        ("ger", f"/api/v1/stream/{file_id}/subtitles/1", None),
    ]
    assert served["analysis_error"] == "truncated: m.mkv: end of file"
    status, _, body = await w.raw(subs[2]["url"], w.bob)
    assert status == 200 and b"Hallo" in body, "the URL the client got plays"


def test_no_role_checks_left() -> None:
    """Access is decided by the caller's effective permissions (``Principal.can``: role,
    overrides and session scope), never by comparing the caller's role."""
    appliance = Path(__file__).resolve().parent.parent / "appliance"
    offenders = [
        f"{path.relative_to(appliance.parent)}: {needle}"
        for path in appliance.rglob("*.py")
        for needle in ("is_admin", "principal.role", "ctx.principal.role")
        if needle in path.read_text()
    ]
    assert offenders == [], offenders
