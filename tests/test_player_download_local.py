"""What a play of the downloaded copy is made of (``ui.playback.local``), with a real replica
and real files and no server: the manifest's file when it is whole, the item and its tracks
from the replica's record (audio and embedded subtitles from its summaries, the sidecars that
were downloaded beside the file), the resume position from the replica (offline plays
included), the next episode only when it is downloaded too, and a client that asks nothing
of a server it knows is away."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trio

from sync.downloads import Download, LocalFile, Manifest
from sync.feed_types import FileSummary
from sync.replica import Replica
from tests.feedkit import World, batches
from ui.net.client import ApiClient
from ui.playback.local import LocalFirstClient, LocalMedia


def _download(root: Path, item_id: uuid.UUID, file_id: uuid.UUID, name: str, title: str) -> Path:
    folder = root / "downloads" / str(item_id)
    folder.mkdir(parents=True)
    path = folder / name
    path.write_bytes(b"x" * 1000)
    stem = Path(name).stem
    (folder / f"{stem}.eng.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHi\n")
    Manifest(root).add(
        Download(
            item_id=item_id,
            title=title,
            kind="movie",
            files=[
                LocalFile(
                    file_id=file_id,
                    path=f"{item_id}/{name}",
                    size_bytes=1000,
                    sha256="0" * 64,
                    etag='"e"',
                    subtitles=[f"{item_id}/{stem}.eng.srt"],
                )
            ],
            downloaded_at=datetime.now(UTC),
        )
    )
    return path


@pytest.fixture
def world_replica(tmp_path: Path) -> tuple[World, Replica, uuid.UUID, list[uuid.UUID]]:
    w = World(random.Random(7))
    films = w.library("Films")
    film = w.movie(films.id, "Trip")
    film.files = [
        FileSummary(
            id=uuid.uuid4(),
            file_name="Trip.mkv",
            size_bytes=1000,
            duration_s=6.0,
            container="matroska",
            video_codec="h264",
            width=320,
            height=240,
            audio=["eng aac mono", "ger aac mono", "opus stereo"],
            subtitles=["spa subrip", "subrip", "eng subrip (external)"],
        )
    ]
    shows = w.library("Shows", "series")
    episodes = [r.id for r in w.series(shows.id, 1, 3) if r.kind == "episode"]
    replica = Replica.open(tmp_path / "replica")
    replica.apply_snapshot(batches(w.snapshot_frames(), 25))
    return w, replica, film.id, episodes


def test_offline_play_is_described_by_the_replica(
    tmp_path: Path, world_replica: tuple[World, Replica, uuid.UUID, list[uuid.UUID]]
) -> None:
    w, replica, film, _ = world_replica
    file_id = w.items[film].files[0].id
    path = _download(tmp_path, film, file_id, "Trip.mkv", "Trip")
    media = LocalMedia(tmp_path, replica)
    copy = media.find(film)
    assert copy is not None and copy.path == path and copy.file_id == file_id
    assert media.find(film, uuid.uuid4()) is None  # another version: streamed
    details = media.details(copy)
    assert details.item.title == "Trip" and details.item.kind == "movie"
    info = media.stream_info(copy, details)
    assert info.local and info.uri == path.as_uri() and info.resume_s == 0.0
    assert info.duration_s == 6.0 and info.hdr == "SDR"
    mi = info.file.media_info
    assert mi is not None
    assert [(a.language, a.codec, a.channel_layout) for a in mi.audio] == [
        ("eng", "aac", "mono"),
        ("ger", "aac", "mono"),
        (None, "opus", "stereo"),
    ]
    # embedded tracks from the summaries, then the sidecar downloaded beside the file
    assert [(s.language, s.codec, s.external) for s in mi.subtitles] == [
        ("spa", "subrip", False),
        (None, "subrip", False),
        ("eng", "subrip", True),
    ]
    assert [(s.number, s.track.language, s.url) for s in info.sidecars] == [
        (0, "eng", (path.parent / "Trip.eng.srt").as_uri())
    ]
    # the replica's position: an offline play's, queued and not yet delivered
    replica.record_progress(film, 2.5, 6.0, client_ts=datetime.now(UTC))
    assert media.stream_info(copy, media.details(copy)).resume_s == 2.5
    assert media.stream_info(copy, media.details(copy), from_start=True).resume_s == 0.0
    # a file that is not whole is not played
    path.write_bytes(b"x" * 10)
    assert media.find(film) is None


def test_next_episode_offline_only_when_downloaded(
    tmp_path: Path, world_replica: tuple[World, Replica, uuid.UUID, list[uuid.UUID]]
) -> None:
    _, replica, _, episodes = world_replica
    e1, e2, _ = episodes
    media = LocalMedia(tmp_path, replica)
    first = media.item(e1)
    assert first is not None and first.kind == "episode"
    assert media.next_episode(first) is None  # the next one is not here
    _download(tmp_path, e2, uuid.uuid4(), "E2.mkv", "E2")
    following = media.next_episode(first)
    assert following is not None and following.id == e2


def test_client_plays_local_without_the_server(
    tmp_path: Path, world_replica: tuple[World, Replica, uuid.UUID, list[uuid.UUID]]
) -> None:
    w, replica, film, episodes = world_replica
    path = _download(tmp_path, film, w.items[film].files[0].id, "Trip.mkv", "Trip")
    media = LocalMedia(tmp_path, replica)

    async def main() -> None:
        # port 9 (discard): nothing listens, a call would fail at once
        async with ApiClient("http://127.0.0.1:9", access_token="t") as api:
            offline = LocalFirstClient(api, media, lambda: False)
            info = await offline.stream_info(film)
            assert info.local and info.uri == path.as_uri()
            # believed online, the server is not there: the copy plays anyway
            online = LocalFirstClient(api, media, lambda: True)
            assert (await online.stream_info(film)).local
            assert await online.probe(path.as_uri()) == 200
            assert await online.probe((path.parent / "gone.mkv").as_uri()) == 404
            item = media.item(episodes[0])
            assert item is not None
            assert await online.next_episode(item) is None  # unreachable, none downloaded

    trio.run(main)
