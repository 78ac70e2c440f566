"""A real appliance for the player's download tests (issue 22, items 1-3, the window's part):
a film with two audio tracks, an embedded and a sidecar subtitle, and a season of short
episodes; the appliance listens on a fixed port, so a test can stop it and start it again
where the player expects it (``Trip.restart``). The app itself runs as ``ferrex-player``
runs it: Qt with trio as its guest, on the data dir the command line logged in with."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication

from tests.helpers import (
    APPLIANCE,
    REPO,
    RunningAppliance,
    admin_token,
    http_json,
    live_processes_mentioning,
    short_tempdir,
    wait_for,
)
from tests.media_fixtures import _ffmpeg
from tests.playbackkit import _srt, encode_two_language_film, make_clip
from tests.test_sync_client import player
from ui.app import close_services, make_services
from ui.domains.core import DomainRegistry
from ui.domains.registry import build_registry
from ui.qt_trio import run as run_guest
from ui.screens.window import MainWindow

PASSWORD = "correct horse battery"
FILM_S = 6
EPISODES = 4
SIDECAR_TEXT = "A sidecar line"
ENV = {"FERREX_MEDIA_PEAK_HOURS": "", "FERREX_SERVER_SHUTDOWN_GRACE_SECONDS": "2"}


def make_media(root: Path) -> dict[str, Path]:
    """``Trip (2020).mkv``: 6 s, audio 440 Hz (eng) and 880 Hz (ger), an embedded Spanish
    SRT, ``Trip (2020).en.srt`` beside it; ``Heavy (2017).mp4``, 14 MB; ``Road (2021)``:
    four 2 s episodes."""
    films, shows = root / "films", root / "shows"
    folder = films / "Trip (2020)"
    folder.mkdir(parents=True)
    embedded = root / "embedded.srt"
    embedded.write_text(_srt("Hola", FILM_S))
    film = encode_two_language_film(
        folder / "Trip (2020).mkv", FILM_S, "testsrc2=size=320x240:rate=24", embedded
    )
    embedded.unlink()
    (folder / "Trip (2020).en.srt").write_text(_srt(SIDECAR_TEXT, FILM_S))
    # lossless noise: about 14 MB, so a transfer has many chunks (1 MiB each) to show
    # progress with
    heavy = films / "Heavy (2017)" / "Heavy (2017).mp4"
    heavy.parent.mkdir(parents=True)
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=24,noise=alls=60:allf=t",
        "-t",
        "4",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-qp",
        "0",
        "-pix_fmt",
        "yuv420p",
        heavy,
    )
    season = shows / "Road (2021)" / "Season 01"
    paths = {"film": film, "heavy": heavy, "films": films, "shows": shows}
    for n in range(1, EPISODES + 1):
        paths[f"e{n}"] = make_clip(season / f"Road - S01E0{n}.mp4", 2)
    return paths


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FixedPortAppliance(RunningAppliance):
    """``RunningAppliance`` on a port chosen once: started again on the same data dir it is
    the same server at the same address (the player reconnects to it on its own)."""

    def __init__(self, data_dir: Path, port: int, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.log_path = data_dir.parent / f"appliance-{time.monotonic_ns()}.log"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("FERREX_")}
        full_env.update({"FERREX_LOG_LEVEL": "info", **env})
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [*APPLIANCE, "serve", "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{port}"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=REPO,
        )
        self.base_url = ""


@dataclass
class Trip:
    """The appliance, its library's items and a player data dir logged in as admin."""

    root: Path
    port: int
    app: RunningAppliance
    base: str
    token: str
    paths: dict[str, Path]
    items: dict[str, uuid.UUID]
    series: uuid.UUID
    season: uuid.UUID

    @property
    def device(self) -> Path:
        """What ``tests.test_sync_client.player`` takes: the data dir is ``device/data``."""
        return self.root / "device"

    @property
    def data(self) -> Path:
        return self.device / "data"

    def stop(self) -> None:
        self.app.stop()

    def restart(self) -> None:
        self.app = FixedPortAppliance(self.root / "var", self.port, ENV)
        assert self.app.wait_ready() == self.base
        self.token = login(self.base)

    def watch(self, key: str) -> dict[str, Any] | None:
        """The server's watch state of the item, as its API answers it."""
        status, body = http_json(
            "GET", f"{self.base}/api/v1/media/items/{self.items[key]}", token=self.token
        )
        assert status == 200, body
        watch: dict[str, Any] | None = body["item"]["watch"]
        return watch


def login(base: str) -> str:
    status, body = http_json(
        "POST",
        base + "/api/v1/auth/login",
        {
            "username": "admin",
            "password": PASSWORD,
            "device": {"id": "test-runner", "name": "test runner", "platform": "linux"},
        },
    )
    assert status == 200, body
    return str(body["access_token"])


def _items(base: str, token: str, kind: str) -> list[dict[str, Any]]:
    status, page = http_json(
        "POST", base + "/api/v1/media/query", {"kinds": [kind], "limit": 50}, token=token
    )
    return list(page["items"]) if status == 200 else []


def _analysed(base: str, token: str, item_id: str) -> bool:
    status, details = http_json("GET", f"{base}/api/v1/media/items/{item_id}", token=token)
    return status == 200 and all(f["media_info"] for f in details.get("files", []))


@pytest.fixture(scope="module")
def trip() -> Iterator[Trip]:
    root = short_tempdir("fxdl")
    try:
        paths = make_media(root / "media")
        port = free_port()
        app = FixedPortAppliance(root / "var", port, ENV)
        base = app.wait_ready()
        token = admin_token(base, PASSWORD)
        for name, kind in (("films", "movies"), ("shows", "series")):
            status, body = http_json(
                "POST",
                base + "/api/v1/libraries",
                {"name": name.title(), "kind": kind, "roots": [str(paths[name])]},
                token=token,
            )
            assert status == 201, body
        items: dict[str, uuid.UUID] = {}

        def scanned() -> bool:
            films = _items(base, token, "movie")
            episodes = _items(base, token, "episode")
            if len(films) < 2 or len(episodes) < EPISODES:
                return False
            if not all(_analysed(base, token, i["id"]) for i in [*films, *episodes]):
                return False
            for f in films:
                items["film" if f["title"] == "Trip" else "heavy"] = uuid.UUID(f["id"])
            for e in episodes:
                items[f"e{e['episode_numbers'][0]}"] = uuid.UUID(e["id"])
            return True

        assert wait_for(scanned, 120, interval=0.5), app.log_path.read_text()[-3000:]
        status, e1 = http_json("GET", f"{base}/api/v1/media/items/{items['e1']}", token=token)
        season = uuid.UUID(e1["item"]["parent_id"])
        series = uuid.UUID(e1["item"]["series_id"])
        trip = Trip(root, port, app, base, token, paths, items, series, season)
        done = player(
            trip.device,
            "sync",
            "--server",
            base,
            "--user",
            "admin",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        assert done.returncode == 0, done.stderr
        yield trip
        trip.app.stop()
    finally:
        for pid in live_processes_mentioning(str(root)):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)


Scenario = Callable[[MainWindow, DomainRegistry], Awaitable[None]]

DRIVE_TIMEOUT_S = 150.0
"""A scenario's limit, under the suite's 180 s a test: pytest-timeout cannot fail a test from
inside Qt's loop (``tests.hang_guard``), so a scenario that is stuck fails by this, as itself."""
WIND_DOWN_S = 20.0
"""After the scenario, the app's tasks stop and its services close within this, or the test
fails with the trio tasks that still run and where each one waits."""


def task_tree(task: trio.lowlevel.Task, depth: int = 0) -> list[str]:
    """A trio task, where it waits, and its children's, indented: what a thread dump cannot
    show of a loop that stopped moving."""
    pad = "  " * depth
    lines = [f"{pad}{task.name}"]
    for frame, line in task.iter_await_frames():
        lines.append(f"{pad}  {frame.f_code.co_filename}:{line} in {frame.f_code.co_name}")
    for nursery in task.child_nurseries:
        for child in nursery.child_tasks:
            lines.extend(task_tree(child, depth + 1))
    return lines


def drive(
    qapp: QApplication, device: Path, scenario: Scenario, timeout: float = DRIVE_TIMEOUT_S
) -> None:
    """The app as ``ferrex-player`` runs it on ``device``'s data dir (the one the command
    line logged in with), driven by ``scenario``. Bounded: the scenario by ``timeout``, the
    app's stop after it by ``WIND_DOWN_S`` (a Qt timer ends the loop then, and the session
    with trio's task tree)."""
    keys = ("FERREX_PLAYER_KEYRING", "XDG_CONFIG_HOME")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ["FERREX_PLAYER_KEYRING"] = "0"
    os.environ["XDG_CONFIG_HOME"] = str(device / "config")
    services = make_services(device / "data")
    registry = build_registry(services)
    window = MainWindow(registry)
    window.resize(1280, 800)
    window.show()
    window.activateWindow()
    root: list[trio.lowlevel.Task] = []
    stuck: list[str] = []

    async def main() -> None:
        task = trio.lowlevel.current_root_task()
        if task is not None:
            root.append(task)
        async with trio.open_nursery() as nursery:
            with trio.fail_after(WIND_DOWN_S):
                await nursery.start(registry.run)
            with trio.fail_after(timeout):
                await scenario(window, registry)
            nursery.cancel_scope.cancel()
        with trio.fail_after(WIND_DOWN_S):
            await close_services(services)

    def give_up() -> None:
        stuck.extend(task_tree(root[0]) if root else ["(trio never started)"])
        qapp.exit(1)

    watchdog = QTimer()
    watchdog.setSingleShot(True)
    watchdog.timeout.connect(give_up)
    watchdog.start(int((timeout + 2 * WIND_DOWN_S) * 1000))
    try:
        run_guest(qapp, main)
    except RuntimeError:
        if not stuck:
            raise
    finally:
        watchdog.stop()
        window.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if stuck:
        # the guest run is still alive in this thread: no later test could start trio, so the
        # session ends here (fixtures are still torn down), with where each task waits
        pytest.exit("the app did not stop; trio's tasks:\n" + "\n".join(stuck), returncode=1)


async def until(
    predicate: Callable[[], object], what: str | Callable[[], str], timeout: float = 30
) -> None:
    with trio.move_on_after(timeout):
        while not predicate():
            await trio.sleep(0.05)
        return
    raise AssertionError(f"timed out waiting for: {what() if callable(what) else what}")
