"""Playback polish under Xvfb (issue 18, item 4): the controls bar at every window width from
800 px, the position following the video, a film's end back to its details (watched), and the
"Up next" card at an episode's end, with real GStreamer playback of generated media.

Screenshots go to ``$FERREX_SHOTS`` when set (to look at), else to the test's tmp dir."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import trio
from PyQt6.QtCore import QRect, Qt
from PyQt6.QtGui import QGuiApplication, QImage
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication, QStackedWidget, QWidget
from pytestqt.qtbot import QtBot

from tests.playbackkit import Served
from tests.test_playback_qt import pixels
from ui.domains.core import DomainRegistry
from ui.domains.media import MediaDomain, OpenItem
from ui.domains.player import PlayerDomain, play_message
from ui.domains.services import Services
from ui.domains.streaming import StreamingDomain
from ui.net.client import ApiClient
from ui.playback.errors import PlaybackError
from ui.playback.hdr import HdrStatus
from ui.playback.screen import PlayerHost
from ui.playback.session import Status
from ui.playback.widget import CONTROLS_HEIGHT, SLIDER_MIN_WIDTH, ControlsBar, PlayerView
from ui.qt_trio import run as run_guest
from ui.screens.detail import DetailScreen
from ui.screens.widgets import PosterCache

pytest_plugins = ["tests.playbackkit"]

BADGE = np.array([0xC9, 0xA2, 0x27])


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("FERREX_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def yellow(picture: np.ndarray) -> np.ndarray:
    """Pixels of the HDR badge's colour."""
    found: np.ndarray = np.abs(picture.astype(int) - BADGE).sum(axis=2) < 40
    return found


@pytest.mark.parametrize("width", [800, 1024, 1440, 1920])
def test_controls_bar_lays_out_at_every_width_from_800(
    width: int, qtbot: QtBot, tmp_path: Path
) -> None:
    """A two-hour film at 1:23:45 with the HDR badge, a speed and a long error message: the
    slider takes the room, the time is whole (not clipped), nothing overlaps the badge."""
    host = QWidget()
    qtbot.addWidget(host)
    host.resize(width, CONTROLS_HEIGHT)
    bar = ControlsBar(host)
    bar.setGeometry(0, 0, width, CONTROLS_HEIGHT)
    status = Status(
        title="Film",
        position_s=5025.0,
        duration_s=7200.0,
        playing=True,
        hdr=HdrStatus("HDR10", False, "HDR10 → SDR", "converted"),
        error=PlaybackError(
            "network", "Lost the connection to the server; retrying at the same position. " * 3
        ),
    )
    bar.show_status(status, 1.25)
    host.show()
    qtbot.waitExposed(host)
    qtbot.wait(50)
    assert bar.time.text() == "1:23:45 / 2:00:00"
    shown = [
        w
        for w in (bar.play, bar.position, bar.time, bar.speed, bar.badge, bar.message)
        if w.isVisible()
    ]
    assert len(shown) == 6
    rects = [w.geometry() for w in shown]
    for i, a in enumerate(rects):
        assert a.left() >= 0 and a.right() < width, (shown[i], a)
        for b in rects[i + 1 :]:
            assert not a.intersects(b), (a, b)
    for label in (bar.time, bar.speed, bar.badge):
        needed = label.fontMetrics().horizontalAdvance(label.text())
        assert label.contentsRect().width() >= needed, (label.text(), label.width(), needed)
    slider = bar.position.width()
    assert slider >= SLIDER_MIN_WIDTH
    assert slider >= 0.4 * (width - 400), "the slider takes the room, not the message"

    image = bar.grab().toImage()
    image.save(str(shots(tmp_path) / f"controls-{width}.png"))
    picture = pixels(image)
    badge, time_ = bar.badge.geometry(), bar.time.geometry()
    on_badge = yellow(picture[badge.top() : badge.bottom(), badge.left() : badge.right()])
    assert on_badge.mean() > 0.5, "the badge is drawn where it is laid out"
    on_time = yellow(picture[time_.top() : time_.bottom(), time_.left() : time_.right()])
    assert not on_time.any(), "the badge does not overlap the time"
    # the time's text is drawn whole: its bright pixels end inside the label, to the right
    text = picture[time_.top() : time_.bottom(), time_.left() : time_.right()].max(axis=2) > 128
    columns = np.flatnonzero(text.any(axis=0))
    assert columns.size and columns[0] > 0 and columns[-1] < time_.width() - 1


class Harness(NamedTuple):
    api: ApiClient
    stack: QStackedWidget
    registry: DomainRegistry
    host: PlayerHost
    screen: DetailScreen


def _harness(served: Served, qtbot: QtBot) -> Harness:
    """The app's parts for playback: Media, Player and Streaming domains against the real
    appliance, the details screen in a screen stack and the ``PlayerHost`` that puts the
    player (xvimagesink/ximagesink into the window) over it."""
    api = ApiClient(served.base, access_token=served.token, device_id="polish-test")
    services = Services(api=api)
    services.online = True
    registry = DomainRegistry(services)
    for domain in (MediaDomain, PlayerDomain, StreamingDomain):
        registry.register(domain)
    stack = QStackedWidget()
    qtbot.addWidget(stack)
    screen = DetailScreen(registry, PosterCache(lambda *_: None, lambda *_: None))
    registry.listen(screen.on_event)
    stack.addWidget(screen)
    stack.resize(800, 560)  # the session's Xvfb screen is 800x600: grabs stop at its edge
    stack.show()
    qtbot.waitExposed(stack)
    host = PlayerHost(registry, stack)
    return Harness(api, stack, registry, host, screen)


async def _until(predicate: Callable[[], object], seconds: float, what: str) -> None:
    with trio.move_on_after(seconds):
        while not predicate():
            await trio.sleep(0.05)
        return
    raise AssertionError(f"no {what} after {seconds} s")


def _window_shot(widget: QWidget, path: Path) -> np.ndarray:
    screen = QGuiApplication.primaryScreen()
    assert screen is not None
    image: QImage = screen.grabWindow(widget.winId()).toImage()
    image.save(str(path))
    return pixels(image)


def test_film_plays_to_its_end_position_follows_then_back_to_details_watched(
    served: Served, qtbot: QtBot, tmp_path: Path
) -> None:
    api, stack, registry, host, screen = _harness(served, qtbot)
    item = served.item_id("ending")
    times: list[str] = []
    slider: list[int] = []
    seen: dict[str, object] = {}
    folder = shots(tmp_path)

    async def main() -> None:
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(registry.run)
                registry.post(OpenItem(item))
                await _until(lambda: screen.detail is not None, 20, "details")
                assert screen.detail is not None and not screen.detail.watched
                registry.post(play_message(screen.detail, from_start=True))
                await _until(lambda: host.view is not None, 20, "player")
                view = host.view
                assert isinstance(view, PlayerView) and stack.currentWidget() is view
                deadline = trio.current_time() + 60
                while host.view is view:
                    if view.session.status.playing:
                        times.append(view.controls.time.text().split(" / ")[0])
                        slider.append(view.controls.position.value())
                        if "shot" not in seen and view.session.status.position_s > 1.0:
                            seen["shot"] = _window_shot(view, folder / "film-playing.png")
                    await trio.sleep(0.1)
                    assert trio.current_time() < deadline, "the film never ended"
                # back to the details, which now say Watched
                await _until(
                    lambda: screen.detail is not None and screen.detail.watched,
                    10,
                    "details marked watched",
                )
                seen["current"] = stack.currentWidget()
                seen["progress"] = screen.progress.text()
                seen["mark"] = screen.mark.text()
                await trio.sleep(0.3)
                seen["back"] = _window_shot(stack, folder / "film-ended-details.png")
                nursery.cancel_scope.cancel()
        finally:
            await api.aclose()

    run_guest(QApplication.instance(), main)  # type: ignore[arg-type]
    assert {"00:00", "00:01", "00:02"} <= set(times), times
    assert max(slider) - min(slider) >= 15, slider
    assert seen["current"] is screen, "the film's end went back to its details"
    assert seen["progress"] == "Watched" and seen["mark"] == "Mark unwatched"
    back = seen["back"]
    assert isinstance(back, np.ndarray) and back.std() > 5, "the details are drawn, not black"
    state = served.details("ending")["item"]["watch"]
    assert state is not None and state["completed"]


def test_episode_end_shows_up_next_with_a_countdown_cancel_and_play_now(
    served: Served, qtbot: QtBot, tmp_path: Path
) -> None:
    api, stack, registry, host, screen = _harness(served, qtbot)
    first, second = served.item_id("e1"), served.item_id("e2")
    seen: dict[str, object] = {}
    folder = shots(tmp_path)

    async def up_next_shown() -> PlayerView:
        registry.post(play_message(screen.detail, from_start=True))
        await _until(lambda: host.view is not None, 20, "player")
        view = host.view
        assert isinstance(view, PlayerView)
        await _until(lambda: view.up_next.isVisible(), 30, "the Up next card")
        return view

    async def main() -> None:
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(registry.run)
                registry.post(OpenItem(first))
                await _until(lambda: screen.detail is not None, 20, "details")
                # 1. the card counts down; Esc cancels: back to the details, e1 watched
                view = await up_next_shown()
                card = view.up_next
                seen["title"] = card.title.text()
                seen["count"] = card.countdown.text()
                await trio.sleep(1.2)
                seen["count_later"] = card.countdown.text()
                seen["shot"] = _window_shot(view, folder / "up-next.png")
                seen["card_rect"] = card.geometry()
                QTest.keyClick(view, Qt.Key.Key_Escape)  # type: ignore[call-overload]
                await _until(lambda: host.view is None, 10, "back after Cancel")
                seen["after_cancel"] = stack.currentWidget()
                assert view.session.status.item_id == first
                await _until(
                    lambda: screen.detail is not None and screen.detail.watched,
                    10,
                    "e1 marked watched",
                )
                # 2. again; Enter plays the next episode at once (well before 10 s)
                view = await up_next_shown()
                started = trio.current_time()
                QTest.keyClick(view, Qt.Key.Key_Return)  # type: ignore[call-overload]
                await view.session.wait_for(
                    lambda s: s.item_id == second and s.first_frame_s is not None, 20
                )
                seen["play_now_s"] = trio.current_time() - started
                seen["card_after"] = view.up_next.isVisible()
                seen["same_view"] = host.view is view
                nursery.cancel_scope.cancel()
        finally:
            await api.aclose()

    run_guest(QApplication.instance(), main)  # type: ignore[arg-type]
    assert "S01E02" in str(seen["title"]), seen["title"]
    assert seen["count"] == "Starts in 10 s", seen["count"]
    assert seen["count_later"] in ("Starts in 9 s", "Starts in 8 s"), seen["count_later"]
    shot, rect = seen["shot"], seen["card_rect"]
    assert isinstance(shot, np.ndarray)
    assert isinstance(rect, QRect)
    inner = shot[rect.top() + 4 : rect.bottom() - 4, rect.left() + 4 : rect.right() - 4]
    assert (np.abs(inner.astype(int) - 0x1E).max(axis=2) < 8).mean() > 0.6, (
        "the card's dark panel is drawn over the (stopped) video"
    )
    assert (inner.max(axis=2) > 200).mean() > 0.01, "with its text"
    assert seen["after_cancel"] is screen
    assert isinstance(seen["play_now_s"], float) and seen["play_now_s"] < 8
    assert seen["card_after"] is False and seen["same_view"] is True
    assert served.details("e1")["item"]["watch"]["completed"]
