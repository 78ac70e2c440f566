"""Playing the downloaded copy (issue 22, item 2) in the real app under Xvfb, with a real
appliance: a film is downloaded (``ferrex-player download``), the server is stopped, the app
starts offline and plays the file from disk: Play from its details, seek, the second audio
track, the downloaded sidecar subtitles, stopped half way and resumed from the replica's
position, then to the end. The server is started again, the app reconnects on its own, and
the progress reaches the server exactly once: completed, one play counted, the offline queue
empty, and still one after another sync."""

from __future__ import annotations

import pytest
import trio
from PyQt6.QtCore import Qt
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication

from sync.offline_queue import ProgressAction
from tests.player_download_kit import FILM_S, Trip, drive, until
from tests.test_sync_client import player
from ui.domains.core import CrossDomainEvent, DomainRegistry, Notice
from ui.domains.library import SyncNow
from ui.domains.media import OpenItem
from ui.domains.streaming import StreamFailed
from ui.playback.widget import LOCAL_TEXT, PlayerView
from ui.screens.detail import DetailScreen
from ui.screens.window import MainWindow

pytest_plugins = ["tests.player_download_kit"]
pytestmark = pytest.mark.slow


def test_offline_play_of_the_download_reaches_the_server_once(
    qapp: QApplication, trip: Trip
) -> None:
    film = trip.items["film"]
    done = player(trip.device, "download", str(film))
    assert done.returncode == 0, done.stderr
    local = trip.data / "downloads" / str(film) / trip.paths["film"].name
    assert local.is_file()
    assert trip.watch("film") is None
    trip.stop()
    seen: list[CrossDomainEvent] = []
    checked: dict[str, object] = {}

    async def play_from_details(window: MainWindow, registry: DomainRegistry) -> PlayerView:
        registry.post(OpenItem(film))
        await until(lambda: window.current == "detail", "the film's details, offline")
        detail = window.screens["detail"]
        assert isinstance(detail, DetailScreen)
        await until(lambda: detail.detail is not None and detail.detail.id == film, "details")
        detail.play.setFocus()
        QTest.keyClick(detail.play, Qt.Key.Key_Space)
        host = window.player_host
        await until(lambda: host.view is not None, "the player screen")
        assert host.view is not None
        await host.view.session.wait_for(lambda s: s.first_frame_s is not None, 20)
        return host.view

    async def scenario(window: MainWindow, registry: DomainRegistry) -> None:
        from ui.domains.auth import RestoreSession

        registry.listen(seen.append)
        registry.post(RestoreSession())
        await until(lambda: window.current == "home", "home from the replica")
        await until(lambda: window.banner.isVisible(), "the offline banner")
        services = registry.services
        assert not services.online

        # first play: from the file on disk, seek, then stop half way
        view = await play_from_details(window, registry)
        session = view.session
        assert session.info is not None and session.info.local
        assert session.info.uri == local.as_uri() and session.info.resume_s == 0.0
        assert view.controls.source.isVisible() and view.controls.source.text() == LOCAL_TEXT
        session.seek(2.5)
        await until(lambda: (session.engine.position() or 0.0) >= 2.6, "seek in the file")
        session.pause()
        view.perform("leave")
        await until(lambda: window.player_host.view is None, "back from the player")
        watch = services.replica.watch(film)
        assert watch is not None and watch.position_s == pytest.approx(2.6, abs=0.5)

        # second play: resumes at the replica's position; tracks switch; then to the end
        view = await play_from_details(window, registry)
        session = view.session
        assert session.info is not None and session.info.resume_s == pytest.approx(watch.position_s)
        # started there (a keyframe seek: at most a GOP, 1 s, before it)
        assert (session.engine.position() or 0.0) >= watch.position_s - 1.1
        assert len(session.engine.tracks("audio")) == 2
        session.select_audio(1)
        await until(lambda: session.engine.audio_track == 1, "the second audio track")
        choices = {c: label for label, c in session.subtitle_choices()}
        assert choices.get("sidecar:0") == "eng (file)", choices
        assert choices.get("embedded:0") == "spa", choices
        session.select_subtitle("sidecar:0")
        sidecar = session.info.sidecars[0].url
        assert sidecar.startswith("file://") and sidecar.endswith(".eng.srt")
        playbin = session.engine.playbin
        # reopened with the downloaded sidecar: playbin lists it beside the embedded track
        await until(
            lambda: (
                playbin.get_property("current-suburi") == sidecar
                and int(playbin.get_property("n-text")) == 2
            ),
            "the sidecar beside the file loaded",
        )
        assert session.engine.subtitle_track == 0  # the sidecar shows (playbin lists it first)
        await session.wait_for(lambda s: s.finished, FILM_S + 15)
        checked["error"] = session.status.error
        await until(lambda: window.player_host.view is None, "back to the details at the end")
        queued = [
            q.action
            for q in services.replica.pending_actions()
            if isinstance(q.action, ProgressAction)
        ]
        assert queued and queued[-1].completed, queued
        checked["queued"] = len(queued)

        # the server is back: the app reconnects by itself and delivers the queue
        await trio.to_thread.run_sync(trip.restart)
        await until(lambda: services.online, "online again", timeout=60)
        await until(
            lambda: not services.replica.pending_actions(), "the queue delivered", timeout=60
        )
        first = await trio.to_thread.run_sync(trip.watch, "film")
        registry.post(SyncNow())  # again: nothing is delivered twice
        await trio.sleep(2)
        checked["first"], checked["again"] = (
            first,
            await trio.to_thread.run_sync(trip.watch, "film"),
        )

    drive(qapp, trip.device, scenario)
    assert checked["error"] is None
    assert not [e for e in seen if isinstance(e, StreamFailed)]
    assert not [e for e in seen if isinstance(e, Notice) and e.level == "error"], [
        e for e in seen if isinstance(e, Notice)
    ]
    assert int(str(checked["queued"])) >= 3  # start, seek, stop... each kept offline
    for watch in (checked["first"], checked["again"]):
        assert isinstance(watch, dict)
        assert watch["completed"] is True and watch["play_count"] == 1, watch
