"""``ferrex-player download`` / ``downloads`` against a real appliance with generated media
(issue 22, item 1, the CLI part): a film and its sidecar subtitles land in the data dir with
the server file's bytes; a transfer killed with SIGKILL leaves only a ``.part`` and the next run
resumes it to the same bytes; a corrupted ``.part`` is detected and fetched again; a user
without ``media:download`` or without the library gets a refusal, not a file."""

from __future__ import annotations

import contextlib
import hashlib
import json
import signal
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import trio

from sync.connection import ServerConnection
from sync.downloads import download_item
from tests.helpers import REPO, http_json, wait_for
from tests.playbackkit import Served
from tests.test_sync_client import player, player_command, player_env

pytest_plugins = ["tests.playbackkit"]
PASSWORD = "correct horse battery"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def login(device: Path, served: Served, user: str = "admin", password: str = PASSWORD) -> None:
    done = player(
        device,
        "sync",
        "--server",
        served.base,
        "--user",
        user,
        "--password-stdin",
        stdin=password + "\n",
    )
    assert done.returncode == 0, done.stderr


def folder(device: Path, served: Served, key: str) -> Path:
    return device / "data" / "downloads" / str(served.item_id(key))


@pytest.fixture
def device(tmp_path: Path, served: Served) -> Path:
    login(tmp_path, served)
    return tmp_path


def test_download_list_and_remove(device: Path, served: Served) -> None:
    item = str(served.item_id("clip"))
    done = player(device, "download", item)
    assert done.returncode == 0, done.stderr
    assert "downloaded: Clip" in done.stdout and "100.0%" in done.stderr
    where = folder(device, served, "clip")
    source = served.paths["clip"]
    assert sha(where / source.name) == sha(source)
    # the sidecar came along, named for the player; nothing partial is left
    assert (where / "Clip (2020).eng.srt").read_bytes() == source.with_name(
        "Clip (2020).en.srt"
    ).read_bytes()
    assert not [p for p in where.iterdir() if ".part" in p.name]
    listed = json.loads(player(device, "downloads", "--json").stdout)
    assert [d["item_id"] for d in listed] == [item]
    assert listed[0]["files"][0]["sha256"] == sha(source)
    assert listed[0]["files"][0]["size_bytes"] == source.stat().st_size
    # again: already complete, the same bytes, one entry
    assert player(device, "download", item).returncode == 0
    assert len(json.loads(player(device, "downloads", "--json").stdout)) == 1
    done = player(device, "downloads", "remove", item)
    assert done.returncode == 0 and "removed: Clip" in done.stdout, done.stderr
    assert not where.exists()
    assert json.loads(player(device, "downloads", "--json").stdout) == []


def _killed_mid_transfer(device: Path, served: Served, key: str) -> Path:
    """Start a throttled download, SIGKILL it once some bytes are in; the .part."""
    source = served.paths[key]
    part = folder(device, served, key) / (source.name + ".part")
    proc = subprocess.Popen(
        player_command(
            device,
            "download",
            str(served.item_id(key)),
            "--limit-rate",
            str(source.stat().st_size // 8),
        ),
        env=player_env(device),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for(
            lambda: part.exists() and part.stat().st_size > source.stat().st_size // 4, 60
        )
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    held = part.stat().st_size
    assert 0 < held < source.stat().st_size
    assert not (part.parent / source.name).exists()  # never a half file that looks complete
    return part


def test_kill_9_mid_download_resumes_to_the_same_bytes(device: Path, served: Served) -> None:
    source = served.paths["heavy"]
    part = _killed_mid_transfer(device, served, "heavy")
    held = part.stat().st_size
    done = player(device, "download", str(served.item_id("heavy")))
    assert done.returncode == 0, done.stderr
    final = part.parent / source.name
    assert sha(final) == sha(source) and not part.exists()
    # resumed, not started over: the bar's first figure is where the kill left it
    first_mb = float(done.stderr.split("]", 1)[1].split("MB")[0].split()[-1])
    assert first_mb >= held / 1e6 - 0.1, done.stderr


def test_corrupted_part_is_detected_and_fetched_again(device: Path, served: Served) -> None:
    source = served.paths["heavy"]
    part = _killed_mid_transfer(device, served, "heavy")
    with open(part, "r+b") as f:  # a flipped block in what was already received
        f.seek(1000)
        block = f.read(100)
        f.seek(1000)
        f.write(bytes(b ^ 0xFF for b in block))
    done = player(device, "download", str(served.item_id("heavy")))
    assert done.returncode == 0, done.stderr
    assert sha(part.parent / source.name) == sha(source)


def test_refused_without_permission_or_library(tmp_path: Path, served: Served) -> None:
    status, bob = http_json(
        "POST",
        served.base + "/api/v1/users",
        {"username": "downloader", "password": "user password 1", "role": "user"},
        token=served.token,
    )
    assert status == 201, bob
    status, body = http_json(
        "PUT",
        f"{served.base}/api/v1/users/{bob['id']}/permissions",
        {"deny": ["media:download"]},
        token=served.token,
    )
    assert status == 200, body
    login(tmp_path, served, "downloader", "user password 1")
    item = str(served.item_id("clip"))
    done = player(tmp_path, "download", item)
    assert done.returncode == 1 and "not allowed to download" in done.stderr, done.stderr
    assert not folder(tmp_path, served, "clip").exists()
    # allowed again, but the films library taken away: no such item
    http_json("PUT", f"{served.base}/api/v1/users/{bob['id']}/permissions", {}, token=served.token)
    status, libs = http_json("GET", served.base + "/api/v1/libraries", token=served.token)
    shows = [lib["id"] for lib in libs["libraries"] if lib["name"] == "Shows"]
    status, body = http_json(
        "PUT",
        f"{served.base}/api/v1/users/{bob['id']}/libraries",
        {"library_ids": shows},
        token=served.token,
    )
    assert status == 200, body
    done = player(tmp_path, "download", item)
    assert done.returncode == 1 and "no item" in done.stderr, done.stderr
    assert not (tmp_path / "data" / "downloads").exists()


class CuttingRelay:
    """A TCP relay to the appliance that drops its first connection after ``cut_after``
    bytes towards the player (a network drop mid-transfer) and relays later ones whole."""

    def __init__(self, upstream_port: int, cut_after: int) -> None:
        self.upstream_port, self.cut_after = upstream_port, cut_after
        self.port = 0
        self.connections = 0
        self.sent = bytearray()

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._relay, listeners)

    async def _relay(self, client: trio.SocketStream) -> None:
        self.connections += 1
        budget = self.cut_after if self.connections == 1 else None
        upstream = await trio.open_tcp_stream("127.0.0.1", self.upstream_port)
        async with client, upstream, trio.open_nursery() as nursery:

            async def up() -> None:
                with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    while data := await client.receive_some(65536):
                        self.sent += data
                        await upstream.send_all(data)
                nursery.cancel_scope.cancel()

            async def down() -> None:
                passed = 0
                with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    while data := await upstream.receive_some(65536):
                        await client.send_all(data)
                        passed += len(data)
                        if budget is not None and passed >= budget:
                            break
                nursery.cancel_scope.cancel()

            nursery.start_soon(up)
            nursery.start_soon(down)


async def test_network_drop_resumes_with_range(tmp_path: Path, served: Served) -> None:
    source = served.paths["heavy"]
    relay = CuttingRelay(urlsplit(served.base).port or 80, source.stat().st_size // 3)
    async with trio.open_nursery() as nursery:
        await nursery.start(relay.serve)
        async with ServerConnection(
            f"http://127.0.0.1:{relay.port}", access_token=served.token
        ) as conn:
            done = await download_item(conn, tmp_path, served.item_id("heavy"))
        nursery.cancel_scope.cancel()
    assert relay.connections >= 2
    assert b"range: bytes=" in bytes(relay.sent).lower()  # resumed, not started over
    local = tmp_path / "downloads" / done.files[0].path
    assert sha(local) == sha(source)


def test_sync_removes_downloads_of_a_revoked_library(tmp_path: Path, served: Served) -> None:
    status, bob = http_json(
        "POST",
        served.base + "/api/v1/users",
        {"username": "traveller", "password": "user password 1", "role": "user"},
        token=served.token,
    )
    assert status == 201, bob
    login(tmp_path, served, "traveller", "user password 1")
    assert player(tmp_path, "download", str(served.item_id("clip"))).returncode == 0
    assert player(tmp_path, "download", str(served.item_id("e1"))).returncode == 0
    status, libs = http_json("GET", served.base + "/api/v1/libraries", token=served.token)
    shows = [lib["id"] for lib in libs["libraries"] if lib["name"] == "Shows"]
    status, body = http_json(
        "PUT",
        f"{served.base}/api/v1/users/{bob['id']}/libraries",
        {"library_ids": shows},
        token=served.token,
    )
    assert status == 200, body
    done = player(tmp_path, "sync")
    assert done.returncode == 0, done.stderr
    assert "removed download: Clip" in done.stdout, done.stdout
    listed = json.loads(player(tmp_path, "downloads", "--json").stdout)
    assert [d["item_id"] for d in listed] == [str(served.item_id("e1"))]
    assert not folder(tmp_path, served, "clip").exists()
