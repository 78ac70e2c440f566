"""Downloads in the window (issue 22, items 1 and 3) under Xvfb, with a real appliance: a
film's details get "Download", its progress shows there and on the Downloads screen (reached
from the top bar by keyboard) with a bar whose painted fill follows the transfer, while the
window keeps answering; a season's details download the next N unwatched episodes (N chosen
with the keyboard); the Downloads screen lists each with its size and state and the space
used, limit and free, and removes one with the keyboard (its files go, focus stays in the
list)."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QImage
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication, QWidget

from tests.player_download_kit import Trip, drive, until
from ui.domains.core import DomainName, DomainRegistry
from ui.domains.media import OpenItem
from ui.domains.streaming import StreamingDomain
from ui.screens.detail import DetailScreen
from ui.screens.downloads import BAR_STEPS, DownloadsScreen, size_text
from ui.screens.theme import DARK
from ui.screens.window import MainWindow

pytest_plugins = ["tests.player_download_kit"]
pytestmark = pytest.mark.slow


def filled(bar: QWidget) -> float:
    """The share of the bar's width painted in the accent colour (its chunk), read from the
    widget's own rendering along its middle row."""
    image = bar.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    ptr = image.constBits()
    assert ptr is not None
    ptr.setsize(image.sizeInBytes())
    rows = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())
    line = rows[image.height() // 2, : image.width() * 3].reshape(image.width(), 3).astype(int)
    accent = np.array([int(DARK.accent[i : i + 2], 16) for i in (1, 3, 5)])
    return float((np.abs(line - accent).sum(axis=1) < 40).mean())


def press(widget: QWidget, key: Qt.Key) -> None:
    widget.setFocus()
    QTest.keyClick(widget, key)


def test_download_from_details_and_the_downloads_screen(qapp: QApplication, trip: Trip) -> None:
    film, e1, e2, e3 = (trip.items[k] for k in ("heavy", "e1", "e2", "e3"))
    size = trip.paths["heavy"].stat().st_size
    checked: dict[str, float] = {}

    async def scenario(window: MainWindow, registry: DomainRegistry) -> None:
        from ui.domains.auth import RestoreSession

        registry.post(RestoreSession())
        services = registry.services
        await until(
            lambda: window.current == "home" and services.online and services.me is not None,
            "home, online",
        )
        streaming = registry.domain(DomainName.STREAMING)
        assert isinstance(streaming, StreamingDomain)
        await until(lambda: streaming.downloads.manager is not None, "the downloads manager")
        manager = streaming.downloads.manager
        assert manager is not None
        manager.rate_limit = size // 6  # six seconds: progress to see

        # the film's details: Download, then its progress there
        registry.post(OpenItem(film))
        await until(lambda: window.current == "detail", "the film's details")
        detail = window.screens["detail"]
        assert isinstance(detail, DetailScreen)
        await until(lambda: detail.detail is not None and detail.detail.id == film, "details")
        assert detail.download.isVisible() and detail.download.text() == "Download"
        assert not detail.download_next.isVisible()
        press(detail.download, Qt.Key.Key_Space)
        await until(
            lambda: detail.download_bar.isVisible() and detail.download_bar.value() > 0,
            lambda: f"progress in the details: {detail.download_state.text()!r}",
        )
        assert detail.download.text() == "Cancel download"
        assert detail.download_state.text().startswith("Downloading")

        # the window keeps answering while the transfer runs: a 10 ms timer's gaps
        ticks: list[float] = []
        timer = QTimer()
        timer.timeout.connect(lambda: ticks.append(time.monotonic()))
        timer.start(10)

        # the Downloads screen from the top bar, by keyboard
        press(window.nav_downloads, Qt.Key.Key_Space)
        await until(lambda: window.current == "downloads", "the Downloads screen")
        screen = window.screens["downloads"]
        assert isinstance(screen, DownloadsScreen)
        assert window.nav_downloads.isChecked()
        await until(lambda: film in screen.rows, "the film's row")
        row = screen.rows[film]
        await until(lambda: row.bar.isVisible() and row.bar.value() > 0, "a bar while it runs")
        first = row.bar.value()
        await until(lambda: row.bar.value() > max(first, 300), "the bar advances past 30 %")
        checked["value"] = row.bar.value() / BAR_STEPS
        checked["painted"] = filled(row.bar)
        assert row.status.text().startswith("Downloading")
        assert row.remove.text() == "Cancel"
        await until(lambda: row.state.state == "complete", "downloaded", timeout=60)
        timer.stop()
        checked["gap"] = max(b - a for a, b in itertools.pairwise(ticks))
        assert not row.bar.isVisible() and row.status.text() == "Downloaded"
        assert row.title.text() == "Heavy" and row.meta.text() == f"Film   ·   {size_text(size)}"
        assert screen.space.text().startswith(f"{size_text(size)} used of ")
        assert "free on this disk" in screen.space.text()
        assert (trip.data / "downloads" / str(film) / trip.paths["heavy"].name).is_file()

        # back to the details: it is here now
        QTest.keyClick(window, Qt.Key.Key_Escape)
        await until(lambda: window.current == "detail", "back to the details")
        assert detail.download.text() == "Remove download"
        assert detail.download_state.text() == f"Downloaded · {size_text(size)} on this device"

        # a season: the next N unwatched, N = 2 chosen with the keyboard
        registry.post(OpenItem(trip.season))
        await until(lambda: detail.detail is not None and detail.detail.id == trip.season, "s1")
        assert not detail.download.isVisible() and detail.download_next.isVisible()
        assert detail.download_count.value() == 3
        press(detail.download_count, Qt.Key.Key_Down)
        assert detail.download_next.text() == "Download next 2 unwatched"
        press(detail.download_next, Qt.Key.Key_Space)
        await until(
            lambda: (
                {s.item_id for s in manager.states() if s.state == "complete"} >= {film, e1, e2}
            ),
            lambda: f"two episodes: {[(s.title, s.state) for s in manager.states()]}",
            timeout=90,
        )
        assert e3 not in {s.item_id for s in manager.states()}
        await until(
            lambda: detail.download_state.text() == "Episodes: 2 downloaded",
            lambda: f"the season's summary: {detail.download_state.text()!r}",
        )

        # the list, and a removal by keyboard: ↓ to the second row, → to Remove, Space
        press(window.nav_downloads, Qt.Key.Key_Space)
        await until(lambda: window.current == "downloads" and len(screen.rows) == 3, "3 rows")
        assert [r.item_id for r in screen.ordered()] == [film, e1, e2]
        # (the window's focus widget: Xvfb has no window manager to keep it active)
        assert window.focusWidget() is screen.ordered()[0].open
        QTest.keyClick(screen.ordered()[0].open, Qt.Key.Key_Down)
        assert window.focusWidget() is screen.rows[e1].open
        QTest.keyClick(screen.rows[e1].open, Qt.Key.Key_Right)
        assert window.focusWidget() is screen.rows[e1].remove
        QTest.keyClick(screen.rows[e1].remove, Qt.Key.Key_Space)
        await until(lambda: e1 not in screen.rows, "the episode's row removed")
        assert not (trip.data / "downloads" / str(e1)).exists()
        assert window.focusWidget() is screen.rows[e2].remove  # focus stays, same place
        # Details of a row opens the item
        QTest.keyClick(screen.rows[e2].remove, Qt.Key.Key_Up)
        QTest.keyClick(screen.rows[film].remove, Qt.Key.Key_Left)
        QTest.keyClick(screen.rows[film].open, Qt.Key.Key_Return)
        await until(
            lambda: (
                window.current == "detail"
                and detail.detail is not None
                and detail.detail.id == film
            ),
            "the film's details from its row",
        )

    drive(qapp, trip.device, scenario)
    # the painted fill is the bar's value (its ends are rounded: a few pixels either way)
    assert checked["value"] > 0.3
    assert checked["painted"] == pytest.approx(checked["value"], abs=0.06), checked
    # the longest the window's loop went unserved while the transfer ran (0.2 s at a load of
    # 12 on two cores)
    assert checked["gap"] < 0.75, checked
