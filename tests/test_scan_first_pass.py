"""What the first scan leaves behind (issue 19, item 6): episode thumbnails grabbed once
analysis knows the duration, and editions kept from the file names on the item and its files."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio

from appliance.metadata import art
from appliance.metadata.enrich import MetadataSettings
from appliance.redis_client import RedisClient
from appliance.scan.pipeline import PipelineSettings
from store import libraries, media_index, metadata
from store.db import Database
from tests.authkit import Harness
from tests.media_fixtures import MediaFiles, media_files  # noqa: F401
from tests.scankit import ScanHarness, running_pipeline, touch


async def thumbs(db: Database, item_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    return {
        r["item_id"]: r["source"]
        for r in await metadata.item_image_sources(db, item_ids)
        if r["kind"] == "thumb"
    }


@pytest.mark.slow  # ffprobe and ffmpeg over real files: a few seconds
async def test_first_scan_grabs_episode_frames(
    db: Database,
    tmp_path: Path,
    media_files: MediaFiles,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    grabbed: list[Path] = []
    grab = art.grab_frame

    async def counted(path: Path, duration_s: float) -> bytes | None:
        grabbed.append(path)
        return await grab(path, duration_s)

    monkeypatch.setattr(art, "grab_frame", counted)
    root = tmp_path / "shows"
    for episode in range(1, 7):
        target = root / "Show (2020)" / "Season 01" / f"Show - S01E{episode:02d}.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(media_files.sdr_mp4, target)
    touch(root, "Show (2020)/Season 01/Show - S01E07.mkv", b"not a video")
    library = await libraries.create(db, "Shows", "series", [str(root)])
    settings = PipelineSettings(analyze=True, metadata=MetadataSettings(data_dir=tmp_path / "d"))
    async with running_pipeline(db, settings) as harness:
        await harness.scan(library.id)
        episodes = {
            r["episode_numbers"][0]: r["id"]
            for r in await media_index.items(db, library.id)
            if r["kind"] == "episode"
        }
        assert await thumbs(db, list(episodes.values())) == {
            episodes[n]: "frame" for n in range(1, 7)
        }, "every playable episode, first scan"
        # a forced rescan grabs nothing new: those episodes have their thumbnail
        with trio.fail_after(60):
            await harness.scan(library.id, force=True)
        assert len(await thumbs(db, list(episodes.values()))) == 6
    assert len(grabbed) == len(set(grabbed)) == 6, "one grab per episode, never two"


class Api:
    def __init__(self, h: Harness, token: str, pipeline: ScanHarness) -> None:
        self.h, self.token, self.pipeline = h, token, pipeline

    async def scan(self, library_id: uuid.UUID) -> None:
        await self.pipeline.scan(library_id)


@pytest.fixture
async def api(db: Database, redis: RedisClient, tmp_path: Path) -> AsyncIterator[Api]:
    h = Harness(db, redis, tmp_path / "data")
    await h.claim()
    token = await h.token()
    async with running_pipeline(db) as pipeline:
        yield Api(h, token, pipeline)


async def details(api: Api, item_id: uuid.UUID) -> dict[str, Any]:
    reply = await api.h.call("GET", f"/api/v1/media/items/{item_id}", token=api.token)
    assert reply.status == 200, reply.body
    body: dict[str, Any] = reply.body
    return body


async def test_editions_and_versions_reach_the_item_and_its_files(api: Api, tmp_path: Path) -> None:
    root = tmp_path / "films"
    touch(root, "Blade Runner (1982)/Blade Runner (1982) - Director's Cut.mkv")
    touch(root, "Alien (1979)/Alien (1979) - 1080p.mkv")
    touch(root, "Alien (1979)/Alien (1979) - Director's Cut - 2160p.mkv")
    library = await libraries.create(api.h.state.db, "Films", "movies", [str(root)])
    await api.scan(library.id)
    items = {r["title"]: r["id"] for r in await media_index.items(api.h.state.db, library.id)}

    blade = await details(api, items["Blade Runner"])
    assert blade["edition"] == "Director's Cut"
    assert [(f["edition"], f["version"]) for f in blade["files"]] == [("Director's Cut", None)]

    alien = await details(api, items["Alien"])
    assert alien["edition"] is None, "two editions: the film has none of its own"
    assert sorted((f["file_name"], f["edition"], f["version"]) for f in alien["files"]) == [
        ("Alien (1979) - 1080p.mkv", None, "1080p"),
        ("Alien (1979) - Director's Cut - 2160p.mkv", "Director's Cut", "2160p"),
    ]

    # a film first indexed without its edition gets it when the file is renamed
    (root / "Blade Runner (1982)" / "Blade Runner (1982) - Director's Cut.mkv").rename(
        root / "Blade Runner (1982)" / "Blade Runner (1982).mkv"
    )
    await api.scan(library.id)
    assert (await details(api, items["Blade Runner"]))["edition"] is None
    (root / "Blade Runner (1982)" / "Blade Runner (1982).mkv").rename(
        root / "Blade Runner (1982)" / "Blade Runner (1982) {edition-Final Cut}.mkv"
    )
    await api.scan(library.id)
    assert (await details(api, items["Blade Runner"]))["edition"] == "Final Cut"
