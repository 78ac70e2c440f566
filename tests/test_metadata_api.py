"""Metadata and images over HTTP: variants, ETag/304, concurrency, LRU, locked edits, refresh."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio
from PIL import Image

from appliance.metadata import images
from appliance.metadata.enrich import MetadataSettings
from appliance.orchestration.dispatcher import Dispatcher
from appliance.redis_client import RedisClient
from appliance.scan.pipeline import PipelineSettings, handlers
from appliance.scan.service import ScanService
from store import libraries, media_index, metadata, scans
from store.db import Database
from tests.authkit import Harness
from tests.test_metadata import MOVIE_NFO, jpeg, write


class Api:
    def __init__(self, h: Harness, token: str, service: ScanService) -> None:
        self.h = h
        self.token = token
        self.service = service

    async def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        return await self.h.client.open(
            path,
            method="GET",
            headers={"Authorization": f"Bearer {self.token}", **(headers or {})},
            scope_base={"client": ("192.168.1.20", 5000)},
        )

    async def scan(self, library_id: uuid.UUID) -> None:
        scan = await self.service.start(library_id)
        with trio.fail_after(60):
            while True:
                await self.service.track_once()
                current = await scans.get(self.h.state.db, scan.id)
                assert current is not None
                if current.state == "completed":
                    return
                await trio.sleep(0.05)


@pytest.fixture
async def api(db: Database, redis: RedisClient, tmp_path: Path) -> AsyncIterator[Api]:
    h = Harness(db, redis, tmp_path / "data")
    await h.claim()
    token = await h.token()
    settings = PipelineSettings(
        analyze=False, metadata=MetadataSettings(data_dir=tmp_path / "data")
    )
    dispatcher = Dispatcher(
        db, handlers(settings), bus=h.state.bus, idle_poll_seconds=0.05, housekeeping_seconds=0.5
    )
    service = ScanService(db, h.state.bus, wake_dispatcher=dispatcher.wake)
    h.state.scans = service
    async with trio.open_nursery() as nursery:
        await nursery.start(dispatcher.run)
        yield Api(h, token, service)
        nursery.cancel_scope.cancel()


async def matrix(api: Api, tmp_path: Path) -> uuid.UUID:
    root = tmp_path / "films"
    write(root, "The Matrix (1999)/The Matrix (1999).mkv")
    write(root, "The Matrix (1999)/movie.nfo", MOVIE_NFO)
    write(root, "The Matrix (1999)/poster.jpg", jpeg(400, 600))
    library = await libraries.create(api.h.state.db, "Films", "movies", [str(root)])
    await api.scan(library.id)
    rows = await media_index.items(api.h.state.db, library.id)
    assert len(rows) == 1
    item_id: uuid.UUID = rows[0]["id"]
    return item_id


def width_of(data: bytes) -> tuple[str, int]:
    with Image.open(io.BytesIO(data)) as im:
        return str(im.format), im.width


async def test_item_metadata_and_image_variants(api: Api, tmp_path: Path) -> None:
    item_id = await matrix(api, tmp_path)
    reply = await api.h.call("GET", f"/api/v1/metadata/items/{item_id}", token=api.token)
    assert reply.status == 200, reply.body
    body = reply.body
    assert body["title"] == "The Matrix" and body["runtime_minutes"] == 136
    assert body["genres"] == ["Action", "Science Fiction"]
    assert body["people"][0] == {
        "name": "Keanu Reeves",
        "kind": "actor",
        "role": "Neo",
        "thumb_url": "http://x/keanu.jpg",
    }
    poster = body["images"]["poster"]
    assert body["placeholder"]["image_id"] == poster

    first = await api.get(f"/api/v1/images/{poster}?w=342")
    assert first.status_code == 200 and first.content_type == "image/webp"
    assert width_of(await first.get_data()) == ("WEBP", 342)
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    etag = first.headers["ETag"]
    again = await api.get(f"/api/v1/images/{poster}?w=342", {"If-None-Match": etag})
    assert again.status_code == 304 and await again.get_data() == b""
    assert again.headers["ETag"] == etag

    for asked, got in [(100, 154), (185, 185), (300, 300), (343, 400), (5000, 400)]:
        reply_w = await api.get(f"/api/v1/images/{poster}?w={asked}")
        assert width_of(await reply_w.get_data()) == ("WEBP", got), asked
    as_jpeg = await api.get(f"/api/v1/images/{poster}?w=154&format=jpeg")
    assert as_jpeg.content_type == "image/jpeg"
    assert width_of(await as_jpeg.get_data()) == ("JPEG", 154)
    assert (
        as_jpeg.headers["ETag"] != (await api.get(f"/api/v1/images/{poster}?w=154")).headers["ETag"]
    )
    old_client = await api.get(f"/api/v1/images/{poster}?w=92", {"Accept": "image/jpeg,*/*"})
    assert old_client.content_type == "image/jpeg"

    assert (await api.get(f"/api/v1/images/{'0' * 64}")).status_code == 404
    assert (await api.get("/api/v1/images/not-an-id")).status_code == 404
    assert (await api.get(f"/api/v1/images/{poster}?w=big")).status_code == 422
    unauthenticated = await api.h.client.open(f"/api/v1/images/{poster}", method="GET")
    assert unauthenticated.status_code == 401


async def test_many_requests_for_a_new_variant_render_it_once(api: Api, tmp_path: Path) -> None:
    item_id = await matrix(api, tmp_path)
    row = await metadata.item(api.h.state.db, item_id)
    assert row is not None
    poster = json.loads(row.images)["poster"]
    store = images.store_for(api.h.state.db, api.h.state.data_dir)
    before = store.produced
    results: list[bytes] = []

    async def one() -> None:
        reply = await api.get(f"/api/v1/images/{poster}?w=500")
        assert reply.status_code == 200
        results.append(await reply.get_data())

    async with trio.open_nursery() as nursery:
        for _ in range(20):
            nursery.start_soon(one)
    assert len(results) == 20 and len(set(results)) == 1
    assert store.produced - before == 1


async def test_edit_locks_fields_against_refresh(api: Api, tmp_path: Path) -> None:
    item_id = await matrix(api, tmp_path)
    path = f"/api/v1/metadata/items/{item_id}"
    edited = await api.h.call(
        "PATCH",
        path,
        {"title": "Matrix, The (my cut)", "genres": ["Cyberpunk"], "lock": ["overview"]},
        token=api.token,
    )
    assert edited.status == 200, edited.body
    assert edited.body["title"] == "Matrix, The (my cut)"
    assert edited.body["sort_title"] == "matrix the my cut"
    assert edited.body["locked_fields"] == ["genres", "overview", "sort_title", "title"]

    (tmp_path / "films" / "The Matrix (1999)" / "movie.nfo").write_bytes(
        MOVIE_NFO.replace(b"A hacker learns the truth.", b"New plot.").replace(
            b"<runtime>136", b"<runtime>140"
        )
    )
    refreshed = await api.h.call("POST", f"{path}/refresh", token=api.token)
    assert refreshed.status == 200, refreshed.body
    assert refreshed.body["title"] == "Matrix, The (my cut)"  # locked
    assert refreshed.body["genres"] == ["Cyberpunk"]  # locked
    assert refreshed.body["overview"] == "A hacker learns the truth."  # locked, not edited
    assert refreshed.body["runtime_minutes"] == 140  # not locked: the NFO's new value

    unlocked = await api.h.call(
        "PATCH", path, {"unlock": ["title", "sort_title", "overview"]}, token=api.token
    )
    assert unlocked.body["locked_fields"] == ["genres"]
    again = await api.h.call("POST", f"{path}/refresh", token=api.token)
    assert again.body["title"] == "The Matrix" and again.body["overview"] == "New plot."
    assert (
        await api.h.call(
            "PATCH", f"/api/v1/metadata/items/{uuid.uuid4()}", {"title": "x"}, token=api.token
        )
    ).status == 404
    assert (await api.h.call("PATCH", path, {"lock": ["nonsense"]}, token=api.token)).status == 422


async def test_variant_cache_evicts_least_recently_used(db: Database, tmp_path: Path) -> None:
    store = images.ImageStore(db, tmp_path / "data", limit_bytes=10_000)
    ids = []
    async with db.transaction() as conn:
        for n in range(6):
            source = write(tmp_path, f"art/{n}.jpg", jpeg(800, 1200, (n * 40, 90, 90)))
            original, _ = await store.inspect_file(source)
            await metadata.save_image(
                conn, original.image_id, str(source), None, 800, 1200, "jpeg", original.color, None
            )
            ids.append((original.image_id, str(source)))
    paths = []
    for image_id, source in ids:
        paths.append(await store.variant(image_id, source, 500, "jpeg"))
        await trio.sleep(0.01)
    total = await metadata.variant_bytes(db)
    assert total <= 10_000
    assert paths[-1].exists() and not paths[0].exists()
    # an evicted variant is simply rendered again on the next request
    assert (await store.variant(ids[0][0], ids[0][1], 500, "jpeg")).exists()
