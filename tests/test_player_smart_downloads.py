"""Smart downloads in the window (issue 22, item 4) under Xvfb, with a real appliance: on a
series' details, "Keep next N downloaded" (N chosen with the keyboard, the check box toggled
with Space) follows the series and its next N unwatched episodes are downloaded at once; one
of them is watched on the server (another device, through the API), and the refresh after
the next sync removes it ("remove after watching" is on by default) and fetches the one after.
The Downloads screen names the series kept downloaded. The follow is kept with the
downloads: the app started again shows the series followed with its N, and unfollowing there
keeps what is on the device."""

from __future__ import annotations

import uuid

import pytest
import trio
from PyQt6.QtCore import Qt
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication, QWidget

from sync.download_manager import DownloadManager
from sync.download_policy import load_follows
from tests.helpers import http_json
from tests.player_download_kit import Trip, drive, until
from ui.domains.core import DomainName, DomainRegistry
from ui.domains.library import SyncNow
from ui.domains.media import OpenItem
from ui.domains.streaming import StreamingDomain
from ui.screens.detail import DetailScreen
from ui.screens.downloads import DownloadsScreen
from ui.screens.window import MainWindow

pytest_plugins = ["tests.player_download_kit"]
pytestmark = pytest.mark.slow


def press(widget: QWidget, key: Qt.Key) -> None:
    widget.setFocus()
    QTest.keyClick(widget, key)  # type: ignore[call-overload]


def complete(manager: DownloadManager) -> set[uuid.UUID]:
    return {s.item_id for s in manager.states() if s.state == "complete"}


def held(manager: DownloadManager) -> set[uuid.UUID]:
    return {s.item_id for s in manager.states()}


async def open_series(window: MainWindow, registry: DomainRegistry, trip: Trip) -> DetailScreen:
    from ui.domains.auth import RestoreSession

    registry.post(RestoreSession())
    services = registry.services
    await until(
        lambda: window.current == "home" and services.online and services.me is not None,
        "home, online",
    )
    registry.post(OpenItem(trip.series))
    await until(lambda: window.current == "detail", "the series' details")
    detail = window.screens["detail"]
    assert isinstance(detail, DetailScreen)
    await until(lambda: detail.detail is not None and detail.detail.id == trip.series, "the series")
    return detail


def manager_of(registry: DomainRegistry) -> DownloadManager:
    streaming = registry.domain(DomainName.STREAMING)
    assert isinstance(streaming, StreamingDomain)
    manager = streaming.downloads.ensure()
    assert manager is not None
    return manager


def test_keep_next_n_downloaded_follows_the_series(qapp: QApplication, trip: Trip) -> None:
    e1, e2, e3, e4 = (trip.items[f"e{n}"] for n in range(1, 5))
    folder = trip.data / "downloads"

    async def follow_and_watch(window: MainWindow, registry: DomainRegistry) -> None:
        detail = await open_series(window, registry, trip)
        manager = manager_of(registry)
        # a series: the control, off, N = 3; the season's "download next" is there too
        assert detail.keep.isVisible() and detail.keep_count.isVisible()
        assert not detail.keep.isChecked() and detail.keep_count.value() == 3
        assert detail.keep.text() == "Keep next 3 downloaded"
        assert detail.keep_state.text() == ""

        # N = 2 with the keyboard, then Space on the check box: followed, two episodes fetched
        press(detail.keep_count, Qt.Key.Key_Down)
        assert detail.keep.text() == "Keep next 2 downloaded"
        assert manager.policy.smart == {}  # changing N of a series not followed follows nothing
        press(detail.keep, Qt.Key.Key_Space)
        await until(
            lambda: complete(manager) >= {e1, e2},
            lambda: f"the next two: {[(s.title, s.state) for s in manager.states()]}",
            timeout=90,
        )
        assert held(manager) == {e1, e2}
        assert manager.policy.smart == {trip.series: 2}
        assert load_follows(folder) == {trip.series: 2}  # kept beside the downloads
        await until(
            lambda: detail.keep_state.text().startswith("Following: the next 2 unwatched"),
            lambda: f"the state line: {detail.keep_state.text()!r}",
        )
        assert detail.keep.isChecked()

        # E1 watched elsewhere; after the next sync's refresh it is gone and E3 is here
        status, body = await trio.to_thread.run_sync(
            lambda: http_json(
                "POST", f"{trip.base}/api/v1/media/items/{e1}/watched", {}, token=trip.token
            )
        )
        assert status == 200, body
        registry.post(SyncNow())
        await until(
            lambda: complete(manager) == {e2, e3} and held(manager) == {e2, e3},
            lambda: f"E1 out, E3 in: {[(s.title, s.state) for s in manager.states()]}",
            timeout=90,
        )
        assert not (folder / str(e1)).exists()
        assert (folder / str(e3)).is_dir()
        assert e4 not in held(manager)

        # the Downloads screen lists them and names the series kept downloaded
        press(window.nav_downloads, Qt.Key.Key_Space)
        await until(lambda: window.current == "downloads", "the Downloads screen")
        screen = window.screens["downloads"]
        assert isinstance(screen, DownloadsScreen)
        await until(lambda: set(screen.rows) == {e2, e3}, "E2 and E3 listed")
        assert screen.policy.text().endswith("· Kept downloaded: Road (next 2)"), (
            screen.policy.text()
        )

    drive(qapp, trip.device, follow_and_watch)

    async def unfollow_after_restart(window: MainWindow, registry: DomainRegistry) -> None:
        detail = await open_series(window, registry, trip)
        manager = manager_of(registry)
        # the app started again: the series shows followed, with its N
        await until(lambda: detail.keep.isChecked(), "the series followed after a restart")
        assert detail.keep_count.value() == 2
        assert detail.keep.text() == "Keep next 2 downloaded"
        press(detail.keep, Qt.Key.Key_Space)
        await until(lambda: not manager.policy.smart, "unfollowed")
        await until(lambda: detail.keep_state.text() == "", "the state line cleared")
        assert not detail.keep.isChecked()
        assert load_follows(folder) == {}
        assert complete(manager) == {e2, e3}  # what is here stays

    drive(qapp, trip.device, unfollow_after_restart)
