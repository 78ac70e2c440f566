"""Streaming in process: byte ranges (206/416, If-Range, HEAD), MIME types, playback tickets,
404/503 rules and path tricks, sidecar subtitles with SRT → WebVTT."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from appliance.api.stream import make_ticket, parse_range, srt_to_vtt
from appliance.redis_client import RedisClient
from store import libraries
from store.db import Database
from store.sql import sql
from tests.authkit import LOCAL, Harness

ADD_FILE = sql(
    """
    INSERT INTO media_files (library_id, path, folder, size_bytes, mtime_ns, media_info, present)
    VALUES ($1, $2, $3, 1, 1, $4::jsonb, $5) RETURNING id
    """
)
SRT = (
    "\ufeff1\r\n00:00:01,500 --> 00:00:02,000\r\nHello\r\n\r\n"
    "2\r\n00:01:02,5 --> 00:01:03,25\r\nBye\r\n"
)


class Env:
    def __init__(
        self, h: Harness, db: Database, root: Path, library_id: uuid.UUID, token: str
    ) -> None:
        self.h, self.db, self.root, self.library_id, self.token = h, db, root, library_id, token

    async def add(
        self, path: str | Path, *, present: bool = True, info: dict[str, Any] | None = None
    ) -> uuid.UUID:
        text = str(path)
        file_id = await self.db.fetchval(
            ADD_FILE,
            self.library_id,
            text,
            os.path.dirname(text),
            msgspec.json.encode(info or {}).decode(),
            present,
        )
        assert isinstance(file_id, uuid.UUID)
        return file_id

    async def get(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        method: str = "GET",
        auth: bool = True,
    ) -> tuple[int, Any, bytes]:
        all_headers = dict(headers or {})
        if auth:
            all_headers["Authorization"] = f"Bearer {self.token}"
        response = await self.h.client.open(
            url, method=method, headers=all_headers, scope_base={"client": LOCAL}
        )
        return response.status_code, response.headers, await response.get_data()


@pytest.fixture
async def env(db: Database, redis: RedisClient, tmp_path: Path) -> AsyncIterator[Env]:
    h = Harness(db, redis, tmp_path / "data")
    await h.claim()
    token = await h.token()
    root = tmp_path / "media"
    root.mkdir()
    library = await libraries.create(db, "Films", "movies", [str(root)])
    yield Env(h, db, root, library.id, token)


@pytest.fixture
def payload() -> bytes:
    return os.urandom(3 * (1 << 20) + 12345)  # several 1 MiB chunks and a ragged tail


def test_parse_range_table() -> None:
    size = 1000
    assert parse_range(None, size) is None
    assert parse_range("bytes=0-99", size) == (0, 99)
    assert parse_range("bytes=990-", size) == (990, 999)
    assert parse_range("bytes=-10", size) == (990, 999)
    assert parse_range("bytes=-5000", size) == (0, 999)
    assert parse_range("bytes=500-5000", size) == (500, 999)
    assert parse_range("bytes=1000-", size) == "unsatisfiable"
    assert parse_range("bytes=-0", size) == "unsatisfiable"
    assert parse_range("bytes=0-1,5-6", size) is None
    assert parse_range("items=0-1", size) is None
    assert parse_range("bytes=9-3", size) is None
    assert parse_range("bytes=0-", 0) == "unsatisfiable"


async def test_ranges_etag_if_range_and_head(env: Env, payload: bytes) -> None:
    path = env.root / "Heat (1995).mkv"
    path.write_bytes(payload)
    url = f"/api/v1/stream/{await env.add(path)}"
    size = len(payload)

    status, headers, body = await env.get(url)
    assert status == 200 and body == payload
    assert headers["Content-Type"] == "video/x-matroska"
    assert headers["Accept-Ranges"] == "bytes" and headers["Content-Length"] == str(size)
    etag = headers["ETag"]

    cases = [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, size - 1),
        ("bytes=-500", size - 500, size - 1),
        ("bytes=0-0", 0, 0),
        ("bytes=1048570-1048580", 1048570, 1048580),
        (f"bytes=10-{size * 2}", 10, size - 1),
    ]
    for header, start, end in cases:
        status, headers, body = await env.get(url, {"Range": header})
        assert status == 206, header
        assert headers["Content-Range"] == f"bytes {start}-{end}/{size}", header
        assert body == payload[start : end + 1], header
        assert headers["Content-Length"] == str(end - start + 1)

    for header in (f"bytes={size}-", "bytes=-0", f"bytes={size + 10}-{size + 20}"):
        status, headers, _ = await env.get(url, {"Range": header})
        assert status == 416 and headers["Content-Range"] == f"bytes */{size}", header

    status, _, body = await env.get(url, {"Range": "bytes=0-1,5-9"})
    assert status == 200 and len(body) == size, "several ranges: the whole file"
    status, _, body = await env.get(url, {"Range": "bytes=5-9", "If-Range": etag})
    assert status == 206 and body == payload[5:10]
    status, _, body = await env.get(url, {"Range": "bytes=5-9", "If-Range": '"stale"'})
    assert status == 200 and len(body) == size
    status, _, _ = await env.get(url, {"If-None-Match": etag})
    assert status == 304

    status, headers, body = await env.get(url, method="HEAD")
    # (Content-Length of HEAD is checked over real HTTP in test_media_e2e: the test client
    # recomputes it from the empty body.)
    assert status == 200 and body == b"" and headers["ETag"] == etag
    status, headers, body = await env.get(url, {"Range": "bytes=0-9"}, method="HEAD")
    assert status == 206 and body == b"" and headers["Content-Range"] == f"bytes 0-9/{size}"

    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    status, headers, _ = await env.get(url, {"Range": "bytes=5-9", "If-Range": etag})
    assert status == 200 and headers["ETag"] != etag, "a changed file has a new ETag"


async def test_mime_types(env: Env) -> None:
    for name, mime in (
        ("a.mp4", "video/mp4"),
        ("b.webm", "video/webm"),
        ("c.avi", "video/x-msvideo"),
        ("d.m2ts", "video/mp2t"),
        ("e.xyz", "application/octet-stream"),
    ):
        (env.root / name).write_bytes(b"x" * 10)
        status, headers, _ = await env.get(f"/api/v1/stream/{await env.add(env.root / name)}")
        assert (status, headers["Content-Type"]) == (200, mime), name


async def test_tickets(env: Env, payload: bytes) -> None:
    (env.root / "a.mp4").write_bytes(payload)
    (env.root / "b.mp4").write_bytes(b"other")
    a, b = await env.add(env.root / "a.mp4"), await env.add(env.root / "b.mp4")
    reply = await env.h.call("POST", "/api/v1/stream/tickets", {"file_id": str(a)}, token=env.token)
    assert reply.status == 201, reply.body
    url = reply.body["url"]
    ticket = reply.body["ticket"]
    status, _, body = await env.get(url, {"Range": "bytes=0-9"}, auth=False)
    assert status == 206 and body == payload[:10]
    status, _, body = await env.get(url, auth=False)
    assert status == 200 and body == payload

    for bad_url, why in (
        (f"/api/v1/stream/{b}?ticket={ticket}", "another file"),
        (url[:-3] + "AAA", "not valid"),
        (f"/api/v1/stream/{a}?ticket=nonsense", "not a playback ticket"),
    ):
        status, _, body = await env.get(bad_url, auth=False)
        assert status == 401 and why in msgspec.json.decode(body)["error"]["message"], bad_url

    key = env.h.service.derived_key("playback-ticket")
    me = (await env.h.call("GET", "/api/v1/auth/me", token=env.token)).body
    old = make_ticket(key, me["user"]["id"], a, str(uuid.uuid4()), int(time.time()) - 1)
    status, _, body = await env.get(f"/api/v1/stream/{a}?ticket={old}", auth=False)
    assert status == 401 and b"expired" in body
    forged = make_ticket(b"x" * 32, me["user"]["id"], a, str(uuid.uuid4()), int(time.time()) + 60)
    assert (await env.get(f"/api/v1/stream/{a}?ticket={forged}", auth=False))[0] == 401

    # The ticket only opens streams: not the API.
    reply = await env.h.call("GET", f"/api/v1/libraries?ticket={ticket}")
    assert reply.status == 401
    # Logging out (revoking the login) ends its tickets.
    await env.h.call("POST", "/api/v1/auth/logout", token=env.token)
    assert (await env.get(url, auth=False))[0] == 401
    assert (
        await env.h.call(
            "POST",
            "/api/v1/stream/tickets",
            {"file_id": str(uuid.uuid4())},
            token=await env.h.token(),
        )
    ).status == 404


async def test_missing_offline_and_path_tricks(env: Env, tmp_path: Path) -> None:
    (tmp_path / "secret.mkv").write_bytes(b"secret")
    (env.root / "gone.mkv").write_bytes(b"x")
    gone = await env.add(env.root / "gone.mkv")
    (env.root / "gone.mkv").unlink()
    status, _, body = await env.get(f"/api/v1/stream/{gone}")
    assert status == 404 and msgspec.json.decode(body)["error"]["code"] == "file_missing"

    (env.root / "hidden.mkv").write_bytes(b"x")
    not_present = await env.add(env.root / "hidden.mkv", present=False)
    assert (await env.get(f"/api/v1/stream/{not_present}"))[0] == 404
    assert (await env.get(f"/api/v1/stream/{uuid.uuid4()}"))[0] == 404

    dotdot = await env.add(f"{env.root}/../secret.mkv")
    status, _, body = await env.get(f"/api/v1/stream/{dotdot}")
    assert status == 404 and b"secret" not in body
    (env.root / "link.mkv").symlink_to(tmp_path / "secret.mkv")
    link = await env.add(env.root / "link.mkv")
    status, _, body = await env.get(f"/api/v1/stream/{link}")
    assert status == 404 and b"secret" not in body
    outside = await env.add(tmp_path / "secret.mkv")
    assert (await env.get(f"/api/v1/stream/{outside}"))[0] == 404
    sibling = tmp_path / "media2"
    sibling.mkdir()
    (sibling / "s.mkv").write_bytes(b"secret")
    assert (await env.get(f"/api/v1/stream/{await env.add(sibling / 's.mkv')}"))[0] == 404

    (env.root / "ok.mkv").write_bytes(b"fine")
    ok = await env.add(env.root / "ok.mkv")
    env.root.rename(tmp_path / "unmounted")
    status, headers, body = await env.get(f"/api/v1/stream/{ok}")
    assert status == 503 and msgspec.json.decode(body)["error"]["code"] == "library_offline"
    assert headers["Retry-After"]


async def test_sidecar_subtitles(env: Env) -> None:
    (env.root / "m.mkv").write_bytes(b"x")
    (env.root / "m.en.srt").write_bytes(SRT.encode())
    (env.root / "m.de.vtt").write_bytes(b"WEBVTT\n\n00:01.000 --> 00:02.000\nHallo\n")
    info = {
        "subtitles": [
            {"index": 2, "codec": "subrip", "external": False},
            {"path": str(env.root / "m.en.srt"), "codec": "subrip", "external": True},
            {"path": str(env.root / "m.de.vtt"), "codec": "webvtt", "external": True},
            {"path": "/etc/passwd", "codec": "subrip", "external": True},
        ]
    }
    file_id = await env.add(env.root / "m.mkv", info=info)
    base = f"/api/v1/stream/{file_id}/subtitles"
    status, headers, body = await env.get(f"{base}/0")
    assert status == 200 and body == SRT.encode()
    assert headers["Content-Type"].startswith("application/x-subrip")
    status, headers, body = await env.get(f"{base}/0?format=vtt")
    assert status == 200 and headers["Content-Type"].startswith("text/vtt")
    assert body.decode() == (
        "WEBVTT\n\n1\n00:00:01.500 --> 00:00:02.000\nHello\n\n2\n"
        "00:01:02.500 --> 00:01:03.250\nBye\n"
    )
    status, _, body = await env.get(f"{base}/1")
    assert status == 200 and body.startswith(b"WEBVTT")
    assert (await env.get(f"{base}/1?format=srt"))[0] == 415
    assert (await env.get(f"{base}/2"))[0] == 404, "outside the library"
    assert (await env.get(f"{base}/3"))[0] == 404


def test_srt_to_vtt_keeps_text() -> None:
    assert srt_to_vtt("1\n00:00:00,000 --> 00:00:01,000\nA, b\n") == (
        "WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.000\nA, b\n"
    )
