"""The downloads manager against a real appliance with generated media (issue 22, items 1-4):
the next unwatched episodes of a season (CLI ``download SEASON --next N``) in running order; the
storage limit evicts the oldest *watched* download and refuses, deleting nothing, when only
unwatched ones would make room; a file rewritten on the server (and rescanned) makes the download
stale, still playable, and the refresh replaces it with the new bytes; remove-after-watching;
smart downloads (CLI ``downloads follow`` / ``sync``) top up after an episode is watched.

Each test logs in as its own user, so watch states never leak between tests; the appliance and
its library are made once for the module."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trio

from sync.connection import ServerConnection
from sync.download_manager import DownloadManager
from sync.download_plan import next_unwatched
from sync.download_policy import DownloadPolicy
from tests.helpers import (
    RunningAppliance,
    admin_token,
    http_json,
    live_processes_mentioning,
    short_tempdir,
    wait_for,
)
from tests.media_fixtures import _ffmpeg
from tests.playbackkit import make_clip
from tests.test_sync_client import player

PASSWORD = "user password 1"
EPISODES = ("e1", "e2", "e3", "e4", "s2e1")


@dataclass
class Road:
    app: RunningAppliance
    base: str
    token: str
    paths: dict[str, Path]
    ids: dict[str, uuid.UUID] = field(default_factory=dict)
    libraries: dict[str, str] = field(default_factory=dict)

    def get(self, path: str, token: str | None = None) -> Any:
        status, body = http_json("GET", self.base + "/api/v1" + path, token=token or self.token)
        assert status == 200, body
        return body

    def size(self, key: str) -> int:
        return self.paths[key].stat().st_size


def make_media(root: Path) -> dict[str, Path]:
    films, shows = root / "films", root / "shows"
    film = make_clip(films / "Clip (2020)" / "Clip (2020).mp4", 6)
    (film.parent / "Clip (2020).en.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHi\n")
    # lossless 640x480: several MB, more than one chunk of a transfer (one to stop mid-way)
    heavy = films / "Heavy (2017)" / "Heavy (2017).mp4"
    heavy.parent.mkdir(parents=True)
    _ffmpeg(
        *["-f", "lavfi", "-i", "testsrc2=size=640x480:rate=24", "-t", "3"],
        *["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p"],
        heavy,
    )
    series = shows / "Road (2021)"
    paths = {"film": film, "heavy": heavy, "films": films, "shows": shows}
    for n in range(1, 5):
        paths[f"e{n}"] = make_clip(series / "Season 01" / f"Road - S01E0{n}.mp4", 2)
    paths["s2e1"] = make_clip(series / "Season 02" / "Road - S02E01.mp4", 2)
    return paths


def _find_ids(road: Road) -> bool:
    """Every generated file's item (and the series, its seasons) once the scan has them."""
    status, page = http_json(
        "POST",
        road.base + "/api/v1/media/query",
        {"kinds": ["movie", "episode", "series"], "limit": 50},
        token=road.token,
    )
    if status != 200:
        return False
    names = {p.name: key for key, p in road.paths.items() if key not in ("films", "shows")}
    for item in page["items"]:
        if item["kind"] == "series":
            road.ids["series"] = uuid.UUID(item["id"])
            continue
        details = road.get(f"/media/items/{item['id']}")
        for file in details["files"]:
            if file["file_name"] in names and file["present"]:
                road.ids[names[file["file_name"]]] = uuid.UUID(item["id"])
    if "series" in road.ids:
        for season in road.get(f"/media/items/{road.ids['series']}")["children"]:
            road.ids[f"season{season['season_number']}"] = uuid.UUID(season["id"])
    return all(k in road.ids for k in ("film", "heavy", "series", "season1", "season2", *EPISODES))


@pytest.fixture(scope="module")
def road() -> Iterator[Road]:
    root = short_tempdir("fxd")
    try:
        paths = make_media(root / "media")
        app = RunningAppliance(
            root / "var",
            env={"FERREX_MEDIA_PEAK_HOURS": "", "FERREX_SERVER_SHUTDOWN_GRACE_SECONDS": "2"},
        )
        base = app.wait_ready()
        road = Road(app, base, admin_token(base), paths)
        for name, kind in (("films", "movies"), ("shows", "series")):
            status, body = http_json(
                "POST",
                base + "/api/v1/libraries",
                {"name": name.title(), "kind": kind, "roots": [str(paths[name])]},
                token=road.token,
            )
            assert status == 201, body
            road.libraries[name] = body["id"]
        assert wait_for(lambda: _find_ids(road), 90, interval=0.3), app.log_path.read_text()[-3000:]
        yield road
        app.stop()
    finally:
        for pid in live_processes_mentioning(str(root)):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)


def new_user(road: Road) -> tuple[str, str]:
    """A fresh user (no watch state) and an access token of theirs."""
    name = "u" + uuid.uuid4().hex[:10]
    status, body = http_json(
        "POST",
        road.base + "/api/v1/users",
        {"username": name, "password": PASSWORD, "role": "user"},
        token=road.token,
    )
    assert status == 201, body
    status, body = http_json(
        "POST",
        road.base + "/api/v1/auth/login",
        {
            "username": name,
            "password": PASSWORD,
            "device": {"id": "test-" + name, "name": "test", "platform": "linux"},
        },
    )
    assert status == 200, body
    return name, str(body["access_token"])


def watched(road: Road, token: str, key: str) -> None:
    status, body = http_json(
        "POST", f"{road.base}/api/v1/media/items/{road.ids[key]}/watched", {}, token=token
    )
    assert status == 200, body


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def login(device: Path, road: Road, user: str) -> None:
    done = player(
        device, "sync", "--server", road.base, "--user", user, "--password-stdin", stdin=PASSWORD
    )
    assert done.returncode == 0, done.stderr


def listed(device: Path) -> dict[str, dict[str, Any]]:
    done = player(device, "downloads", "--json")
    assert done.returncode == 0, done.stderr
    return {d["item_id"]: d for d in json.loads(done.stdout)}


def test_season_next_unwatched_from_the_cli(tmp_path: Path, road: Road) -> None:
    user, token = new_user(road)
    login(tmp_path, road, user)
    watched(road, token, "e1")
    done = player(tmp_path, "download", str(road.ids["season1"]), "--next", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("downloaded: ") == 2, done.stdout
    found = listed(tmp_path)
    assert set(found) == {str(road.ids["e2"]), str(road.ids["e3"])}
    for key in ("e2", "e3"):
        row = found[str(road.ids[key])]
        assert row["state"] == "complete"
        assert sha(Path(row["files"][0]["path"])) == sha(road.paths[key])
    # a film has no episodes: a usage error, nothing downloaded
    done = player(tmp_path, "download", str(road.ids["film"]), "--next", "2")
    assert done.returncode == 2 and "no episodes" in done.stderr, done.stderr


async def test_limit_evicts_the_oldest_watched_never_an_unwatched(
    tmp_path: Path, road: Road
) -> None:
    _, token = new_user(road)
    policy = DownloadPolicy(remove_after_watching=False)
    async with ServerConnection(road.base, access_token=token) as conn:
        # a series: its episodes in running order, specials and other seasons after season 1
        order = [e.id for e in await next_unwatched(conn, road.ids["series"], 10)]
        assert order == [road.ids[k] for k in EPISODES]
        m = DownloadManager(tmp_path, conn, policy)
        assert await m.enqueue_next_unwatched(road.ids["series"], 3) == order[:3]
        states = await m.drain()
        assert [s.state for s in states] == ["complete"] * 3, states
        watched(road, token, "e1")
        watched(road, token, "e2")
        report = await m.refresh()
        assert report.watched_removed == [] and not report.offline
        assert {s.item_id: s.watched for s in m.states()} == {
            road.ids["e1"]: True,
            road.ids["e2"]: True,
            road.ids["e3"]: False,
        }
        # room for e4 only once one watched download goes: the oldest (e1) goes, e2 stays
        policy.limit_bytes = m.space().used_bytes + road.size("e4") - 1
        m.enqueue(road.ids["e4"])
        await m.drain()
        held = {s.item_id: s.state for s in m.states()}
        assert held == {
            road.ids["e2"]: "complete",
            road.ids["e3"]: "complete",
            road.ids["e4"]: "complete",
        }
        assert not (tmp_path / "downloads" / str(road.ids["e1"])).exists()
        assert len(m.evicted) == 1 and "01" in m.evicted[0]
        # the film needs more than the watched e2 frees: refused, and e2 is not deleted for
        # nothing; the unwatched ones are never touched
        assert road.size("film") > road.size("e2")
        policy.limit_bytes = m.space().used_bytes
        m.enqueue(road.ids["film"])
        await m.drain()
        by_id = {s.item_id: s for s in m.states()}
        assert by_id[road.ids["film"]].state == "failed"
        assert "no room" in by_id[road.ids["film"]].reason
        assert {k for k, s in by_id.items() if s.state == "complete"} == {
            road.ids["e2"],
            road.ids["e3"],
            road.ids["e4"],
        }
        assert not (tmp_path / "downloads" / str(road.ids["film"])).exists()
        # more room: the next refresh retries the failed one
        policy.limit_bytes = None
        report = await m.refresh()
        assert report.retried
        await m.drain()
        assert {s.item_id: s.state for s in m.states()}[road.ids["film"]] == "complete"


def _rewrite(path: Path, seconds: int) -> str:
    """A new version of the file at the same path (other bytes, other size); its SHA-256."""
    fresh = make_clip(path.with_name("new-" + path.name), seconds)
    os.replace(fresh, path)
    return sha(path)


async def test_changed_file_goes_stale_and_is_replaced(tmp_path: Path, road: Road) -> None:
    _, token = new_user(road)
    film = road.ids["film"]
    async with ServerConnection(road.base, access_token=token) as conn:
        m = DownloadManager(tmp_path, conn, DownloadPolicy())
        done, _ = await m.download(film)
        old_sha = done.files[0].sha256
        assert old_sha == sha(road.paths["film"])
        assert (await m.refresh()).stale == []
        new_sha = _rewrite(road.paths["film"], 4)
        status, body = http_json(
            "POST",
            f"{road.base}/api/v1/libraries/{road.libraries['films']}/scan",
            {},
            token=road.token,
        )
        assert status == 202, body
        size = road.size("film")

        def rescanned() -> bool:
            status, details = http_json(
                "GET", f"{road.base}/api/v1/media/items/{film}", token=road.token
            )
            return status == 200 and any(f["size_bytes"] == size for f in details["files"])

        assert wait_for(rescanned, 60, interval=0.3)
        report = await m.refresh()
        assert len(report.stale) == 1 and report.queued == report.stale, report
        state = {s.item_id: s for s in m.states()}[film]
        assert state.state == "stale"
        # still playable, the old bytes, until the new copy is verified
        local = m.local_item(film)
        assert local is not None and local.stale
        assert sha(local.files[0].path) == old_sha
        assert m.local_file(local.files[0].file_id) == local.files[0].path
        await m.drain()
        state = {s.item_id: s for s in m.states()}[film]
        assert state.state == "complete" and state.size_bytes == size
        local = m.local_item(film)
        assert local is not None and not local.stale
        assert sha(local.files[0].path) == new_sha
        # nothing of the old version or of the transfer is left beside it
        names = {p.name for p in local.files[0].path.parent.iterdir()}
        assert names == {local.files[0].path.name, *(s.name for s in local.files[0].subtitles)}
        assert (await m.refresh()).stale == []


async def test_remove_after_watching_in_the_background(tmp_path: Path, road: Road) -> None:
    _, token = new_user(road)
    e1 = road.ids["e1"]
    async with ServerConnection(road.base, access_token=token) as conn:
        m = DownloadManager(tmp_path, conn, DownloadPolicy())
        changes: list[list[str]] = []
        m.subscribe(lambda: changes.append([s.state for s in m.states()]))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(m.run)
            m.enqueue(e1)
            with trio.fail_after(60):
                while m.local_item(e1) is None:
                    await trio.sleep(0.05)
            nursery.cancel_scope.cancel()
        assert ["queued"] in changes and ["downloading"] in changes and ["complete"] in changes
        assert (await m.refresh()).watched_removed == []
        watched(road, token, "e1")
        report = await m.refresh()
        assert len(report.watched_removed) == 1
        assert m.states() == [] and m.local_item(e1) is None
        assert not (tmp_path / "downloads" / str(e1)).exists()


def test_smart_downloads_top_up_after_an_episode_is_watched(tmp_path: Path, road: Road) -> None:
    user, token = new_user(road)
    login(tmp_path, road, user)
    series = str(road.ids["series"])
    done = player(tmp_path, "downloads", "follow", series, "--keep", "2")
    assert done.returncode == 0, done.stderr
    assert set(listed(tmp_path)) == {str(road.ids["e1"]), str(road.ids["e2"])}
    watched(road, token, "e1")
    done = player(tmp_path, "downloads", "sync")
    assert done.returncode == 0, done.stderr
    assert "(watched)" in done.stdout and "queued: " in done.stdout, done.stdout
    found = listed(tmp_path)
    assert set(found) == {str(road.ids["e2"]), str(road.ids["e3"])}
    assert sha(Path(found[str(road.ids["e3"])]["files"][0]["path"])) == sha(road.paths["e3"])
    # unfollowed: what is local stays, nothing more comes
    done = player(tmp_path, "downloads", "unfollow", series)
    assert done.returncode == 0, done.stderr
    watched(road, token, "e2")
    done = player(tmp_path, "downloads", "sync")
    assert done.returncode == 0, done.stderr
    assert set(listed(tmp_path)) == {str(road.ids["e3"])}


async def test_remove_stops_a_transfer_and_the_queue_goes_on(tmp_path: Path, road: Road) -> None:
    _, token = new_user(road)
    film, e1 = road.ids["heavy"], road.ids["e1"]
    async with ServerConnection(road.base, access_token=token) as conn:
        m = DownloadManager(tmp_path, conn, DownloadPolicy(), rate_limit=road.size("heavy") // 20)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(m.run)
            m.enqueue(film)
            m.enqueue(e1)
            with trio.fail_after(60):
                while not any(s.state == "downloading" and s.bytes_held for s in m.states()):
                    await trio.sleep(0.02)
            first = m.states()[0]
            assert first.item_id == film and 0 < first.bytes_held < first.bytes_total
            assert first.bytes_total == road.size("heavy")
            await m.remove(film)
            assert not (tmp_path / "downloads" / str(film)).exists()
            assert film not in {s.item_id for s in m.states()}
            m.rate_limit = None
            with trio.fail_after(60):
                while m.local_item(e1) is None:
                    await trio.sleep(0.05)
            nursery.cancel_scope.cancel()
        assert [s.item_id for s in m.states()] == [e1]
        # the queue on disk agrees: a new manager (a restart) has nothing left to do
        again = DownloadManager(tmp_path, conn, DownloadPolicy())
        assert [(s.item_id, s.state) for s in again.states()] == [(e1, "complete")]
