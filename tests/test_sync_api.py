"""The sync feed over HTTP on a real appliance: a scanned library arrives in a snapshot, edits and
progress arrive as changes, the WebSocket says "changed up to SEQ", and errors are plain."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
import trio_websocket

from sync.feed_types import (
    FRAMES_CONTENT_TYPE,
    EndFrame,
    Frame,
    FrameReader,
    HeaderFrame,
    ItemFrame,
    LibraryFrame,
    WatchFrame,
)
from tests.helpers import RunningAppliance, admin_token, http_json, make_series_tree, wait_for

pytestmark = pytest.mark.slow


def fetch_frames(base: str, path: str, token: str) -> tuple[int, str, list[Frame]]:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        reader = FrameReader()
        frames: list[Frame] = []
        while chunk := response.read(65536):
            for batch in reader.feed(chunk):
                frames += batch
        reader.close()
        return response.status, response.headers["Content-Type"], frames


@pytest.fixture(scope="module")
def appliance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    from tests.helpers import short_tempdir

    root = short_tempdir("fxs")
    media = root / "shows"
    make_series_tree(media, shows=3, seasons=2, episodes=3)
    app = RunningAppliance(
        root / "var",
        env={"FERREX_MEDIA_SYNC_PUSH_INTERVAL_MS": "100", "FERREX_METADATA_FRAME_GRABS": "false"},
    )
    try:
        base = app.wait_ready()
        token = admin_token(base)
        status, body = http_json(
            "POST",
            base + "/api/v1/libraries",
            {"name": "Shows", "kind": "series", "roots": [str(media)]},
            token=token,
        )
        assert status == 201, body
        assert wait_for(lambda: _episodes(base, token) == 18, timeout=90)
        yield base, token, root
    finally:
        app.stop()
        import shutil

        shutil.rmtree(root, ignore_errors=True)


def _episodes(base: str, token: str) -> int:
    status, page = http_json(
        "POST", base + "/api/v1/media/query", {"kinds": ["episode"], "limit": 1}, token=token
    )
    return int(page.get("total") or 0) if status == 200 else -1


def test_snapshot_streams_the_scanned_library(appliance: tuple[str, str, Path]) -> None:
    base, token, _ = appliance
    status, content_type, frames = fetch_frames(base, "/api/v1/sync/snapshot", token)
    assert status == 200 and content_type == FRAMES_CONTENT_TYPE
    assert isinstance(frames[0], HeaderFrame)
    assert [f.library.name for f in frames if isinstance(f, LibraryFrame)] == ["Shows"]
    items = [f.item for f in frames if isinstance(f, ItemFrame)]
    kinds = sorted(i.kind for i in items)
    assert kinds.count("series") == 3 and kinds.count("season") == 6
    assert kinds.count("episode") == 18
    end = frames[-1]
    assert isinstance(end, EndFrame) and end.seq > 0


def test_progress_and_edits_arrive_as_changes_and_are_pushed(
    appliance: tuple[str, str, Path],
) -> None:
    base, token, _ = appliance
    _, _, frames = fetch_frames(base, "/api/v1/sync/snapshot", token)
    end = frames[-1]
    assert isinstance(end, EndFrame)
    episode = next(f.item for f in frames if isinstance(f, ItemFrame) and f.item.kind == "episode")

    status, body = http_json(
        "PUT",
        base + f"/api/v1/media/items/{episode.id}/progress",
        {"position_s": 30.0, "duration_s": 600.0, "client_ts": "2026-11-24T08:00:00Z"},
        token=token,
    )
    assert status == 200, body
    status, body = http_json(
        "PATCH",
        base + f"/api/v1/metadata/items/{episode.id}",
        {"overview": "Edited offline-proof overview."},
        token=token,
    )
    assert status == 200, body

    status, _, changes = fetch_frames(base, f"/api/v1/sync/changes?since={end.seq}", token)
    assert status == 200
    watch = [f for f in changes if isinstance(f, WatchFrame)]
    assert [(w.item_id, w.state.position_s) for w in watch] == [(episode.id, 30.0)]
    edited = [f.item for f in changes if isinstance(f, ItemFrame) and f.item.id == episode.id]
    assert edited and edited[0].overview == "Edited offline-proof overview."
    last = changes[-1]
    assert isinstance(last, EndFrame) and last.seq > end.seq and not last.more


def test_websocket_says_changed_up_to_seq(appliance: tuple[str, str, Path]) -> None:
    base, token, _ = appliance
    _, _, frames = fetch_frames(base, "/api/v1/sync/snapshot", token)
    end = frames[-1]
    assert isinstance(end, EndFrame)
    episode = next(f.item for f in frames if isinstance(f, ItemFrame) and f.item.kind == "episode")

    async def main() -> int:
        url = base.replace("http://", "ws://") + "/api/v1/ws"
        async with trio_websocket.open_websocket_url(
            url, extra_headers=[(b"authorization", f"Bearer {token}".encode())]
        ) as ws:
            status, body = http_json(
                "POST",
                base + f"/api/v1/media/items/{episode.id}/watched",
                {"client_ts": "2026-11-24T08:30:00Z"},
                token=token,
            )
            assert status == 200, body
            with trio.fail_after(10):
                while True:
                    message = json.loads(await ws.get_message())
                    if (
                        message.get("type") == "event"
                        and message["event"] == "sync"
                        and message["data"]["seq"] > end.seq
                    ):
                        return int(message["data"]["seq"])

    pushed = trio.run(main)
    assert pushed > end.seq
    _, _, changes = fetch_frames(base, f"/api/v1/sync/changes?since={end.seq}", token)
    watched = [f for f in changes if isinstance(f, WatchFrame) and f.item_id == episode.id]
    assert watched and watched[0].state.completed


def test_feed_errors_are_plain(appliance: tuple[str, str, Path]) -> None:
    base, token, _ = appliance
    status, body = http_json("GET", base + "/api/v1/sync/changes?since=abc", token=token)
    assert status == 422 and body["error"]["code"] == "invalid_argument"
    status, body = http_json("GET", base + "/api/v1/sync/changes", token=token)
    assert status == 422
    status, body = http_json("GET", base + "/api/v1/sync/changes?since=999999999", token=token)
    assert status == 410 and body["error"]["code"] == "resnapshot_required"
    status, body = http_json("GET", base + "/api/v1/sync/snapshot")
    assert status == 401


def test_a_user_limited_to_some_libraries_sees_and_replicates_only_those(
    appliance: tuple[str, str, Path],
) -> None:
    base, admin, _ = appliance
    status, user = http_json(
        "POST",
        base + "/api/v1/users",
        {"username": "kid", "password": "kid password 1", "role": "user"},
        token=admin,
    )
    assert status == 201, user
    status, body = http_json(
        "PUT", base + f"/api/v1/users/{user['id']}/libraries", {"library_ids": []}, token=admin
    )
    assert status == 200 and body["library_ids"] == []
    status, body = http_json(
        "PUT",
        base + f"/api/v1/users/{user['id']}/libraries",
        {"library_ids": [str(user["id"])]},
        token=admin,
    )
    assert status == 422 and body["error"]["code"] == "unknown_library"
    status, login = http_json(
        "POST",
        base + "/api/v1/auth/login",
        {
            "username": "kid",
            "password": "kid password 1",
            "device": {"id": "kid-tablet", "name": "tablet", "platform": "linux"},
        },
    )
    assert status == 200, login
    kid = login["access_token"]

    _, _, frames = fetch_frames(base, "/api/v1/sync/snapshot", kid)
    assert not [f for f in frames if isinstance(f, (LibraryFrame, ItemFrame))]
    end = frames[-1]
    assert isinstance(end, EndFrame)
    _, admin_frames = fetch_frames(base, "/api/v1/sync/snapshot", admin)[1:]
    episode = next(
        f.item for f in admin_frames if isinstance(f, ItemFrame) and f.item.kind == "episode"
    )
    status, page = http_json(
        "POST", base + "/api/v1/media/query", {"kinds": ["episode"]}, token=kid
    )
    assert status == 200 and page["items"] == []
    status, _ = http_json("GET", base + f"/api/v1/media/items/{episode.id}", token=kid)
    assert status == 404
    file_id = episode.files[0].id if episode.files else None
    if file_id is not None:
        status, _ = http_json(
            "POST", base + "/api/v1/stream/tickets", {"file_id": str(file_id)}, token=kid
        )
        assert status == 404

    # given access to everything, the kid's player is told to start over, then sees it all
    status, body = http_json(
        "PUT", base + f"/api/v1/users/{user['id']}/libraries", {"library_ids": None}, token=admin
    )
    assert status == 200 and body["library_ids"] is None
    status, body = http_json("GET", base + f"/api/v1/sync/changes?since={end.seq}", token=kid)
    assert status == 410 and body["error"]["code"] == "resnapshot_required"
    _, _, frames = fetch_frames(base, "/api/v1/sync/snapshot", kid)
    assert any(isinstance(f, ItemFrame) and f.item.id == episode.id for f in frames)


def test_episodes_carry_their_series_to_the_feed_the_replica_and_the_api(
    appliance: tuple[str, str, Path],
) -> None:
    """Issue 21, item 3: an episode is "Show · S01E02", never a bare "Episode 2", in the feed's
    records, in the replica's cards (what Next Up, Continue Watching and the grid draw) and in
    the media API's items."""
    from sync.replica import Replica

    base, token, root = appliance
    _, _, frames = fetch_frames(base, "/api/v1/sync/snapshot", token)
    items = {f.item.id: f.item for f in frames if isinstance(f, ItemFrame)}
    episodes = [i for i in items.values() if i.kind == "episode"]
    seasons = [i for i in items.values() if i.kind == "season"]
    for episode in episodes:
        season = items[episode.parent_id]  # type: ignore[index]
        assert episode.series_id == season.parent_id and episode.series_id in items
        assert episode.series_title == items[episode.series_id].title
    for season in seasons:
        assert season.series_id == season.parent_id
        assert season.series_title == items[season.parent_id].title  # type: ignore[index]
    assert all(i.series_id is None for i in items.values() if i.kind == "series")
    first = next(
        e
        for e in episodes
        if e.series_title == "Show 001" and e.season_number == 2 and e.episode_numbers == [3]
    )

    with Replica.open(root / "replica") as replica:
        replica.apply_snapshot([frames])
        assert first.parent_id is not None
        card = next(c for c in replica.children(first.parent_id) if c.id == first.id)
        assert card.label == "Show 001 · S02E03"
        assert replica.item(first.id).series_title == "Show 001"  # type: ignore[union-attr]

    status, body = http_json(
        "PUT",
        base + f"/api/v1/media/items/{first.id}/progress",
        {"position_s": 40.0, "duration_s": 600.0, "client_ts": "2026-11-24T09:00:00Z"},
        token=token,
    )
    assert status == 200, body
    status, body = http_json("GET", base + "/api/v1/media/continue-watching", token=token)
    assert status == 200, body
    shown = next(i for i in body["items"] if i["id"] == str(first.id))
    assert (shown["series_title"], shown["series_id"]) == ("Show 001", str(first.series_id))
    status, body = http_json(
        "POST", base + "/api/v1/media/query", {"kinds": ["episode"], "limit": 50}, token=token
    )
    assert status == 200, body
    assert len(body["items"]) == 18
    assert all(i["series_title"].startswith("Show 0") for i in body["items"])
    status, body = http_json("GET", base + f"/api/v1/media/items/{first.id}", token=token)
    assert status == 200, body
    assert body["item"]["series_title"] == "Show 001" and body["item"]["season_number"] == 2


def test_a_renamed_series_reaches_its_episodes_records(appliance: tuple[str, str, Path]) -> None:
    """Migration 0016: the episodes of a series whose title changes are in the change feed
    again, carrying the new title (the replica's Next Up names the new title, not the old)."""
    base, token, _ = appliance
    _, _, frames = fetch_frames(base, "/api/v1/sync/snapshot", token)
    end = frames[-1]
    assert isinstance(end, EndFrame)
    items = [f.item for f in frames if isinstance(f, ItemFrame)]
    show = next(i for i in items if i.kind == "series" and i.title == "Show 002")
    children = {i.id for i in items if i.series_id == show.id}
    assert len(children) == 2 + 6  # two seasons of three episodes
    status, body = http_json(
        "PATCH",
        base + f"/api/v1/metadata/items/{show.id}",
        {"title": "Harbour Lights"},
        token=token,
    )
    assert status == 200, body
    status, _, changes = fetch_frames(base, f"/api/v1/sync/changes?since={end.seq}", token)
    assert status == 200
    changed = {f.item.id: f.item for f in changes if isinstance(f, ItemFrame)}
    assert children <= set(changed)
    assert {changed[i].series_title for i in children} == {"Harbour Lights"}
    # an edit that leaves the title alone does not resend the episodes
    last = changes[-1]
    assert isinstance(last, EndFrame)
    status, body = http_json(
        "PATCH",
        base + f"/api/v1/metadata/items/{show.id}",
        {"overview": "A lighthouse keeper's family."},
        token=token,
    )
    assert status == 200, body
    _, _, again = fetch_frames(base, f"/api/v1/sync/changes?since={last.seq}", token)
    assert [f.item.id for f in again if isinstance(f, ItemFrame)] == [show.id]
