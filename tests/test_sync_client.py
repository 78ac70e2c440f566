"""The player's sync client and headless CLI against a real appliance: a scanned library is
synced into the replica, the server is stopped, the replica is browsed, searched and filtered
with ``ferrex-player offline ls`` and progress is recorded offline; with the server back the
progress reaches it exactly once, and a second device sees it through the change feed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, RunningAppliance, admin_token, http_json, short_tempdir, wait_for

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery"
FILMS = [
    ("Alien", 1979, ["Horror", "Science Fiction"], 8.5),
    ("Aliens", 1986, ["Action", "Science Fiction"], 8.4),
    ("Heat", 1995, ["Crime", "Drama"], 8.3),
    ("The Matrix", 1999, ["Action", "Science Fiction"], 8.7),
    ("Amélie", 2001, ["Comedy", "Romance"], 8.1),
    ("Zodiac", 2007, ["Crime", "Drama", "Mystery"], 7.7),
]


def make_films(root: Path) -> None:
    for title, year, genres, rating in FILMS:
        folder = root / f"{title} ({year})"
        folder.mkdir(parents=True)
        (folder / f"{title} ({year}).mkv").touch()
        tags = "".join(f"<genre>{g}</genre>" for g in genres)
        (folder / f"{title} ({year}).nfo").write_text(
            f"<movie><title>{title}</title><year>{year}</year><rating>{rating}</rating>{tags}"
            "</movie>",
            encoding="utf-8",
        )


class World:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.media = root / "films"
        self.data = root / "var"
        self.app: RunningAppliance | None = None
        self.base = ""
        self.token = ""

    def start(self) -> None:
        self.app = RunningAppliance(
            self.data,
            env={
                "FERREX_MEDIA_SYNC_PUSH_INTERVAL_MS": "100",
                "FERREX_METADATA_FRAME_GRABS": "false",
            },
        )
        self.base = self.app.wait_ready()

    def stop(self) -> None:
        if self.app is not None:
            self.app.stop()
            self.app = None


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    root = short_tempdir("fxp")
    w = World(root)
    make_films(w.media)
    w.start()
    try:
        w.token = admin_token(w.base, PASSWORD)
        status, body = http_json(
            "POST",
            w.base + "/api/v1/libraries",
            {"name": "Films", "kind": "movies", "roots": [str(w.media)]},
            token=w.token,
        )
        assert status == 201, body
        assert wait_for(lambda: _described(w) == len(FILMS), timeout=90)
        yield w
    finally:
        w.stop()
        shutil.rmtree(root, ignore_errors=True)


def _described(w: World) -> int:
    status, page = http_json(
        "POST",
        w.base + "/api/v1/media/query",
        {"kinds": ["movie"], "genres": ["Drama", "Comedy", "Action", "Horror"], "limit": 50},
        token=w.token,
    )
    return len(page["items"]) if status == 200 else -1


def player_env(device: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERREX_")}
    env.update(
        {
            "FERREX_PLAYER_DATA": str(device / "data"),
            "FERREX_PLAYER_KEYRING": "0",
            "XDG_CONFIG_HOME": str(device / "config"),
        }
    )
    return env


def player_command(device: Path, *args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from ui.main import main; sys.exit(main())", *args]


def player(device: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        player_command(device, *args),
        input=stdin,
        capture_output=True,
        text=True,
        env=player_env(device),
        cwd=REPO,
        timeout=120,
    )


def ls(device: Path, *args: str) -> dict[str, Any]:
    done = player(device, "offline", "ls", "--json", *args)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def titles(result: dict[str, Any]) -> list[str]:
    return [item["title"] for item in result["items"]]


def test_offline_browse_progress_and_replay(world: World) -> None:
    laptop, tablet = world.root / "laptop", world.root / "tablet"
    # first sync needs a login; later ones use the stored one
    done = player(
        laptop,
        "sync",
        "--server",
        world.base,
        "--user",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert done.returncode == 0, done.stderr
    assert "synced: snapshot" in done.stdout and "6 titles in 1 libraries" in done.stdout
    done = player(laptop, "sync", "--server", world.base)
    assert done.returncode == 0, done.stderr
    assert "synced: 0 change(s)" in done.stdout
    done = player(
        tablet,
        "sync",
        "--server",
        world.base,
        "--user",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert done.returncode == 0, done.stderr

    # what the server answers now, the replica must answer with the server off
    online = {name: _server_titles(world, body) for name, body in SERVER_QUERIES.items()}
    world.stop()  # --- the server is gone from here on --------------------------------------
    assert titles(ls(laptop)) == online["by title"]
    assert titles(ls(laptop, "--sort", "rating", "--desc")) == online["by rating"]
    assert (
        titles(ls(laptop, "--genre", "Science Fiction", "--year", "1980-", "--sort", "year"))
        == online["sci-fi since 1980"]
    )
    assert titles(ls(laptop, "--query", "alien")) == ["Alien", "Aliens"]
    assert "Amélie" in titles(ls(laptop, "--query", "amelie"))
    assert titles(ls(laptop, "--query", "matrx")) == ["The Matrix"]  # a typo still finds it
    assert titles(ls(laptop, "--genre", "crime", "--sort", "year", "--desc")) == ["Zodiac", "Heat"]
    assert titles(ls(laptop, "--year", "1980-2000", "--sort", "year")) == [
        "Aliens",
        "Heat",
        "The Matrix",
    ]
    assert ls(laptop, "--library", "films", "--limit", "2")["total"] == 6
    bad = player(laptop, "offline", "ls", "--library", "Nope")
    assert bad.returncode == 2 and "no library 'Nope' (libraries: Films)" in bad.stderr

    heat = next(i for i in ls(laptop, "--query", "heat")["items"] if i["title"] == "Heat")
    done = player(laptop, "offline", "progress", heat["id"], "600", "--duration", "6000")
    assert done.returncode == 0 and "queued #1" in done.stdout, done.stderr
    in_progress = ls(laptop, "--in-progress")
    assert titles(in_progress) == ["Heat"] and in_progress["items"][0]["position_s"] == 600
    assert "Heat" not in titles(ls(laptop, "--unwatched"))
    done = player(laptop, "sync", "--server", world.base)  # still down
    assert done.returncode == 3 and "unreachable" in done.stderr
    pending = player(laptop, "offline", "pending")
    assert pending.stdout.count("ProgressAction") == 1

    world.start()  # --- the server is back (on a new port) -----------------------------------
    done = player(
        laptop,
        "sync",
        "--server",
        world.base,
        "--user",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert done.returncode == 0, done.stderr
    assert "1 offline action(s) delivered, 0 still queued" in done.stdout
    assert "change(s)" in done.stdout  # same server: changes, not a new snapshot
    status, details = http_json(
        "GET", world.base + f"/api/v1/media/items/{heat['id']}", token=_token(world)
    )
    assert status == 200 and details["item"]["watch"]["position_s"] == 600
    again = player(laptop, "sync", "--server", world.base)
    assert again.returncode == 0 and "0 offline action(s) delivered" in again.stdout

    # the tablet never saw the action; the change feed brings it
    done = player(
        tablet,
        "sync",
        "--server",
        world.base,
        "--user",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert done.returncode == 0 and "change(s)" in done.stdout, done.stderr
    seen = ls(tablet, "--in-progress")
    assert titles(seen) == ["Heat"] and seen["items"][0]["position_s"] == 600

    # following the push: the tablet pulls as soon as the server announces a change
    follower = subprocess.Popen(
        player_command(tablet, "sync", "--server", world.base, "--follow", "30"),
        env=player_env(tablet),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stdout is not None and "synced:" in follower.stdout.readline()
        alien = next(i for i in seen_all(tablet) if i["title"] == "Alien")
        status, body = http_json(
            "POST",
            world.base + f"/api/v1/media/items/{alien['id']}/watched",
            {},
            token=_token(world),
        )
        assert status == 200, body
        assert wait_for(lambda: "Alien" in titles(ls(tablet, "--watched")), timeout=20)
    finally:
        follower.kill()
        follower.wait()

    # a cursor the server cannot serve (its database was restored, say): a new snapshot
    from sync.feed_types import EndFrame
    from sync.replica import Replica

    with Replica.open(laptop / "data" / "replica") as replica:
        replica.apply_changes([EndFrame(seq=10**12)])
    done = player(laptop, "sync", "--server", world.base)
    assert done.returncode == 0 and "synced: snapshot" in done.stdout, done.stderr
    assert titles(ls(laptop, "--in-progress")) == ["Heat"]


def seen_all(device: Path) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ls(device, "--limit", "500")["items"]
    return items


SERVER_QUERIES: dict[str, dict[str, Any]] = {
    "by title": {"kinds": ["movie", "series"], "sort_by": "title"},
    "by rating": {"kinds": ["movie", "series"], "sort_by": "rating", "sort_order": "desc"},
    "sci-fi since 1980": {
        "kinds": ["movie", "series"],
        "genres": ["Science Fiction"],
        "year_min": 1980,
        "sort_by": "year",
    },
}


def _server_titles(world: World, body: dict[str, Any]) -> list[str]:
    status, page = http_json(
        "POST", world.base + "/api/v1/media/query", {**body, "limit": 50}, token=world.token
    )
    assert status == 200, page
    return [item["title"] for item in page["items"]]


def _token(world: World) -> str:
    status, body = http_json(
        "POST",
        world.base + "/api/v1/auth/login",
        {
            "username": "admin",
            "password": PASSWORD,
            "device": {"id": "test-runner", "name": "test runner", "platform": "linux"},
        },
    )
    assert status == 200, body
    return str(body["access_token"])


def test_headless_sync_refreshes_an_expired_session_and_keeps_the_rotated_tokens(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stored access token no longer works (a day later): the sync refreshes once, retries,
    and stores the rotated pair before using it, so the next run works too (a refresh token
    presented twice would end the login)."""
    from ui.net.credentials import CredentialStore, StoredTokens

    desk = world.root / "desk"
    done = player(
        desk,
        "sync",
        "--server",
        world.base,
        "--user",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert done.returncode == 0, done.stderr
    monkeypatch.setenv("FERREX_PLAYER_KEYRING", "0")
    store = CredentialStore(
        desk / "data", key_path=desk / "config" / "ferrex-player" / "credentials.key"
    )
    stored = store.load_sync(world.base, "admin")
    assert stored is not None and stored.has_session
    expired = "fxs_" + "x" * 43
    store.save_sync(
        world.base,
        "admin",
        StoredTokens(
            access_token=expired,
            refresh_token=stored.refresh_token,
            scope=stored.scope,
            device_key=stored.device_key,
        ),
    )
    for _ in range(2):  # the second run uses what the first one stored
        done = player(desk, "sync", "--server", world.base)
        assert done.returncode == 0, done.stderr
        assert "synced:" in done.stdout
    now = store.load_sync(world.base, "admin")
    assert now is not None and now.refresh_token != stored.refresh_token
    assert now.access_token != expired and now.device_key == stored.device_key
