"""A film's versions (issue 21, item 5): the details API lists each with resolution, HDR,
codec, edition, size and duration; the detail view lists them, Play starts the best this
player decodes, and picking another version (keyboard) plays that one."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
import trio
from PyQt6.QtCore import Qt
from PyQt6.QtTest import QTest
from pytestqt.qtbot import QtBot

from tests.playbackkit import Served
from ui.domains.views import FileView
from ui.playback import versions
from ui.playback.versions import Decoders

pytest_plugins = ["tests.playbackkit"]

H264 = FileView(
    id=uuid.uuid4(),
    name="Film - 1080p.mkv",
    resolution="1080p",
    video_codec="h264",
    height=1080,
    size_bytes=8_000_000_000,
)
HEVC10_HDR = FileView(
    id=uuid.uuid4(),
    name="Film - 2160p.mkv",
    resolution="4K",
    video_codec="hevc",
    bit_depth=10,
    height=2160,
    hdr="HDR10",
    size_bytes=40_000_000_000,
)
AV1 = FileView(
    id=uuid.uuid4(),
    name="Film - 1440p.mkv",
    resolution="1440p",
    video_codec="av1",
    bit_depth=8,
    height=1440,
    size_bytes=9_000_000_000,
)


def test_best_version_is_the_best_this_player_decodes() -> None:
    everything = Decoders(
        frozenset({"h264", "hevc", "av1"}), frozenset({"hevc", "av1"}), hdr_output=True
    )
    files = [H264, HEVC10_HDR, AV1]
    assert versions.best(files, everything) is HEVC10_HDR, "highest resolution"
    no_hdr_out = replace(everything, hdr_output=False)
    assert versions.best(files, no_hdr_out) is AV1, "SDR first when HDR cannot be shown"
    eight_bit = Decoders(frozenset({"h264", "hevc"}), frozenset(), hdr_output=True)
    assert versions.best(files, eight_bit) is H264, "no 10-bit HEVC decoder, no AV1"
    gone = replace(H264, present=False)
    assert versions.best([gone, HEVC10_HDR], eight_bit) is HEVC10_HDR, (
        "nothing decodable: the first present file (the player says why it fails)"
    )
    assert "HEVC 10-bit" in versions.label(HEVC10_HDR, "4K", "Director's Cut")


def test_this_players_registry_decodes_h264() -> None:
    found = versions.probe()
    assert "h264" in found.codecs  # the test machine's GStreamer (gst-libav)


@pytest.mark.slow
def test_details_list_versions_and_play_starts_the_chosen_one(served: Served, qtbot: QtBot) -> None:
    from PyQt6.QtWidgets import QApplication

    from ui.domains.core import DomainName, DomainRegistry
    from ui.domains.player import PlayerDomain, PlayerStarted, StopPlayback
    from ui.domains.services import Services
    from ui.domains.streaming import StreamingDomain
    from ui.domains.views import detail_from_api
    from ui.net.client import ApiClient
    from ui.playback.client import StreamingClient
    from ui.playback.gst import element
    from ui.qt_trio import run as run_guest
    from ui.screens.detail import DetailScreen
    from ui.screens.widgets import PosterCache

    # the API: one item, both files, each with what tells versions apart
    body = served.details("v480")
    assert served.details("v240")["item"]["id"] == body["item"]["id"]
    files = {f["file_name"]: f for f in body["files"]}
    assert set(files) == {"Twice (2016) - 240p.mp4", "Twice (2016) - 480p.mp4"}
    for name, height in (("Twice (2016) - 240p.mp4", 240), ("Twice (2016) - 480p.mp4", 480)):
        info = files[name]["media_info"]
        assert info["video"]["height"] == height and info["video"]["codec"] == "h264"
        assert info["duration_s"] == pytest.approx(2.0, abs=0.2)
        assert files[name]["size_bytes"] > 0 and "edition" in files[name]
        assert info["video"].get("hdr") in (None, "SDR")
    high, low = (
        uuid.UUID(files[n]["id"]) for n in ("Twice (2016) - 480p.mp4", "Twice (2016) - 240p.mp4")
    )

    api = ApiClient(served.base, access_token=served.token, device_id="versions-test")
    registry = DomainRegistry(Services(api=api))
    registry.services.extra["video_sink"] = lambda: element("fakesink")
    registry.register(PlayerDomain)
    registry.register(StreamingDomain)
    screen = DetailScreen(registry, PosterCache(lambda *_: None, lambda *_: None))
    qtbot.addWidget(screen)
    screen.resize(1100, 800)
    screen.show()
    qtbot.waitExposed(screen)
    started: list[uuid.UUID] = []

    def on_event(event: object) -> None:
        if isinstance(event, PlayerStarted) and event.session.info is not None:
            started.append(event.session.info.file.id)

    registry.listen(on_event)
    seen: dict[str, object] = {}

    async def play_and_wait(count: int) -> None:
        screen.play.setFocus()
        screen.activateWindow()  # no window manager under Xvfb: focus needs an active window
        QTest.keyClick(screen.play, Qt.Key.Key_Return)  # type: ignore[call-overload]
        with trio.fail_after(20):
            while len(started) < count:
                await trio.sleep(0.05)
        registry.post(StopPlayback())

    async def main() -> None:
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(registry.run)
                client = StreamingClient(api)
                screen.show_detail(detail_from_api(await client.details(served.item_id("v480"))))
                seen["labels"] = [b.text() for b in screen.version_buttons]
                seen["chosen"] = screen.chosen
                await play_and_wait(1)
                # keyboard: focus the versions, Down moves to the other one and picks it
                screen.version_buttons[0].setFocus()
                down = screen.version_buttons[0]
                QTest.keyClick(down, Qt.Key.Key_Down)  # type: ignore[call-overload]
                seen["picked"] = screen.chosen
                seen["labels_after"] = [b.text() for b in screen.version_buttons]
                await play_and_wait(2)
                streaming = registry.domain(DomainName.STREAMING)
                assert isinstance(streaming, StreamingDomain) and streaming.last is not None
                seen["requested"] = streaming.last.file.id
                await trio.sleep(0.2)
                nursery.cancel_scope.cancel()
        finally:
            await api.aclose()

    run_guest(QApplication.instance(), main)  # type: ignore[arg-type]
    labels = seen["labels"]
    assert isinstance(labels, list) and len(labels) == 2
    assert labels[0].startswith("●") and "480p" in labels[0] and "H264" in labels[0], labels
    assert labels[1].startswith("○") and "240p" in labels[1], labels
    assert seen["chosen"] == high, "the best decodable version first"
    assert seen["picked"] == low
    assert seen["labels_after"] == [labels[0].replace("●", "○"), labels[1].replace("○", "●")]
    assert started == [high, low], "Play started the chosen version, then the picked one"
    assert seen["requested"] == low
