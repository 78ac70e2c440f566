"""The player's memory bounds (issue 18, item 5): the decoded-poster cache stays within its byte
budget, atlases are sized to the slots they need, and the grid gives its atlases back while it is
off screen (playback) and makes them again on the way back. No timing or RSS assertions here: the
figures come from ``python -m bench.run player-memory``."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from PyQt6.QtWidgets import QStackedWidget, QWidget
from pytestqt.qtbot import QtBot
from vispy.gloo.glir import JUST_DELETED

from tests.grid_kit import GeneratedPosters, make_cards
from tests.playbackkit import make_clip
from ui import memtrim
from ui.app import release_for_playback
from ui.domains.player import PlayerStarted
from ui.grid import atlas, residency
from ui.grid.atlas import SlotAllocator, fit_slots
from ui.grid.source import ListSource
from ui.grid.widget import PosterGrid
from ui.images.lru import ByteLRU
from ui.images.service import MEMORY_BYTES, ImageService
from ui.images.types import ReadyPoster
from ui.playback import engine
from ui.playback.engine import Engine, decoder_threads
from ui.playback.gst import Gst, element
from ui.settings.model import DisplaySettings


def test_decoded_image_cache_never_exceeds_its_byte_budget() -> None:
    budget = 2_000_000
    cache: ByteLRU[int, np.ndarray] = ByteLRU(budget, lambda a: int(a.nbytes))
    rng = random.Random(7)
    for i in range(2_000):
        side = rng.choice((10, 100, 300, 500))  # thumbnails to one larger than half the cache
        cache.put(i, np.zeros((side, side, 4), np.uint8))
        assert cache.bytes <= budget
        assert cache.bytes == sum(int(v.nbytes) for v, _ in cache._items.values())
        if i % 50 == 0 and i:
            assert cache.get(i) is not None  # the newest is kept
    assert len(cache) > 0
    assert cache.clear() > 0 and cache.bytes == 0 and len(cache) == 0


def test_image_service_releases_decoded_posters(tmp_path: Path) -> None:
    service = ImageService("http://127.0.0.1:9", lambda: None, tmp_path / "c")
    assert service.memory.max_bytes == MEMORY_BYTES <= 32 * 1024 * 1024
    rgba = np.zeros((255, 170, 4), np.uint8)
    for i in range(400):
        service.memory.put((f"{i:064x}", 170, 255), rgba)
        assert service.memory.bytes <= MEMORY_BYTES
    from ui.grid.demand import Priority

    service._ready["a"] = (Priority.VISIBLE, ReadyPoster("a", rgba))
    assert service.release_memory() > 0
    assert service.memory.bytes == 0 and service.take_ready(10) == []


@pytest.mark.parametrize(
    ("slot", "needed"), [((170, 255), 260), ((170, 255), 102), ((340, 510), 180), ((170, 24), 600)]
)
def test_atlas_is_sized_to_the_slots_it_needs(slot: tuple[int, int], needed: int) -> None:
    grid = fit_slots(slot[0], slot[1], needed, 16384)
    assert grid.capacity >= needed
    assert grid.capacity - needed < grid.columns  # at most one row short of full
    assert (grid.slot_w, grid.slot_h) == slot
    atlas.TIGHT = False
    try:
        square = fit_slots(slot[0], slot[1], needed, 16384)
    finally:
        atlas.TIGHT = True
    assert grid.texture_w * grid.texture_h <= square.texture_w * square.texture_h


def test_slot_allocator_release_frees_the_slot() -> None:
    slots: SlotAllocator[str] = SlotAllocator(2)
    a = slots.allocate("a")
    assert a is not None and slots.allocate("b") is not None
    slots.release("a")
    again = slots.allocate("c", pinned={"b"})
    assert again == (a[0], None)  # the freed slot, nothing evicted


def test_trim_and_arena_cap_are_harmless() -> None:
    memtrim.trim()
    memtrim.limit_arenas(8)


@pytest.fixture
def grid(qtbot: QtBot) -> Iterator[PosterGrid]:
    canvas = PosterGrid(
        ListSource(make_cards(3_000)),
        GeneratedPosters(),
        display=DisplaySettings(),
        size=(960, 640),
    )
    qtbot.addWidget(canvas.native)
    canvas.show()
    qtbot.waitExposed(canvas.native)
    yield canvas
    canvas.close()


def test_grid_releases_its_atlases_and_makes_them_again(grid: PosterGrid) -> None:
    for _ in range(20):
        image = grid.render(alpha=False)
    view = grid.view
    x, y = view.layout.card_origin(1, view.motion.scroll.offset)
    centre = (int(y + view.layout.poster_h / 2), int(x + view.layout.poster_w / 2))
    assert tuple(int(v) for v in image[centre][:3]) != (0, 0, 0)
    shown = tuple(int(v) for v in image[centre][:3])
    grid.set_current()
    view.release_gl()
    assert view.renderer is None and view.poster_slots is None and view.title_slots is None
    for _ in range(20):  # back from playback: the next draws attach again and reload
        image = grid.render(alpha=False)
    assert view.renderer is not None and view.poster_slots is not None
    assert len(view.poster_slots) > 0
    back = tuple(int(v) for v in image[centre][:3])
    assert all(abs(a - b) <= 6 for a, b in zip(shown, back, strict=True)), (shown, back)


class Stacked:
    """A library grid on one page of a stack (as in the main window) and another screen (the
    player's) on the other."""

    def __init__(self, qtbot: QtBot) -> None:
        self.stack = QStackedWidget()
        self.stack.resize(960, 640)
        self.posters = GeneratedPosters()
        self.grid = PosterGrid(
            ListSource(make_cards(3_000)), self.posters, display=DisplaySettings(), size=(960, 640)
        )
        self.other = QWidget()
        self.stack.addWidget(self.grid.widget)
        self.stack.addWidget(self.other)
        qtbot.addWidget(self.stack)
        self.stack.show()
        qtbot.waitExposed(self.stack)

    def centre(self) -> tuple[int, int, int]:
        """The second card's poster centre after 20 frames (drawn through ``on_draw``, which
        attaches the atlases again when they were released)."""
        for _ in range(20):
            image = self.grid.render(alpha=False)
        view = self.grid.view
        x, y = view.layout.card_origin(1, view.motion.scroll.offset)
        pixel = image[int(y + view.layout.poster_h / 2), int(x + view.layout.poster_w / 2)]
        return (int(pixel[0]), int(pixel[1]), int(pixel[2]))

    def gl_objects(self) -> dict[int, object]:
        objects: dict[int, object] = self.grid.context.shared.parser._objects
        return objects


def _playback_started() -> None:
    """What the app's listener gets when the player's screen takes the window."""
    release_for_playback(PlayerStarted(cast(Any, None), None))


def test_playback_releases_the_hidden_grid_and_the_decoded_posters(
    qtbot: QtBot, tmp_path: Path
) -> None:
    s = Stacked(qtbot)
    shown = s.centre()
    assert shown != (0, 0, 0)
    view = s.grid.view
    assert view.renderer is not None
    textures = [t.id for t in (view.renderer.posters, view.renderer.titles, view.renderer.menu)]
    service = ImageService("http://127.0.0.1:9", lambda: None, tmp_path / "c")
    service.memory.put(("a", 170, 255), np.zeros((255, 170, 4), np.uint8))

    _playback_started()  # the grid is on screen: it keeps everything
    assert view.renderer is not None and service.memory.bytes > 0

    s.stack.setCurrentWidget(s.other)  # the player's screen
    _playback_started()
    assert view.renderer is None and view.poster_slots is None
    objects = s.gl_objects()
    # deleted in GL now, not queued until the grid's next draw (which is on the way back)
    assert all(objects.get(t) in (None, JUST_DELETED) for t in textures), textures
    assert service.memory.bytes == 0  # no view on screen: the decoded posters went too
    assert s.posters.wanted == []  # and nothing more is decoded for a grid nobody sees

    s.stack.setCurrentWidget(s.grid.widget)  # back from playback
    back = s.centre()
    assert view.renderer is not None and view.poster_slots is not None
    assert len(view.poster_slots) > 0
    assert all(abs(a - b) <= 6 for a, b in zip(shown, back, strict=True)), (shown, back)


def test_a_grid_hidden_for_long_releases_its_atlases(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(residency, "HIDDEN_RELEASE_S", 0.3)
    s = Stacked(qtbot)
    shown = s.centre()
    view = s.grid.view
    s.stack.setCurrentWidget(s.other)
    s.stack.setCurrentWidget(s.grid.widget)  # back before the delay: nothing is released
    qtbot.wait(600)
    assert view.renderer is not None
    s.stack.setCurrentWidget(s.other)  # a details or settings screen left open
    qtbot.waitUntil(lambda: view.renderer is None, timeout=3000)
    s.stack.setCurrentWidget(s.grid.widget)
    back = s.centre()
    assert view.renderer is not None
    assert all(abs(a - b) <= 6 for a, b in zip(shown, back, strict=True)), (shown, back)


def test_decoder_threads_follow_the_stream_not_the_cpu_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 32)  # GStreamer's default: 33 threads here
    assert decoder_threads(1920, 1080, 24.0) == 1
    assert decoder_threads(1280, 720, 0.0) == 1  # no frame rate in the caps: taken as 30
    assert decoder_threads(1920, 1080, 60.0) == 2
    assert decoder_threads(3840, 2160, 30.0) == 4
    assert decoder_threads(7680, 4320, 60.0) == engine.DECODER_THREADS
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert decoder_threads(3840, 2160, 30.0) == 2


def test_the_software_decoder_gets_the_threads_its_stream_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 1080p24 H.264 film on a many-core machine: one decoding thread, not one per CPU."""
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    clip = make_clip(tmp_path / "clip.mp4", 1, size="1920x1080")
    decoders: list[Gst.Element] = []
    player = Engine(video_sink=element("fakesink"), audio_sink=element("fakesink"))
    player.playbin.connect(
        "deep-element-added",
        lambda _b, _s, e: decoders.append(e) if e.find_property("max-threads") else None,
    )
    player.load(clip.as_uri())
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (
            decoders and decoders[0].get_property("max-threads") > 0
        ):
            time.sleep(0.05)
        assert decoders and decoders[0].get_factory().get_name() == "avdec_h264"
        assert decoders[0].get_property("max-threads") == 1
    finally:
        player.close()


def test_a_replaced_grid_does_not_stop_the_release(qtbot: QtBot) -> None:
    """The library screen replaces its grid (deleteLater) when another library opens; until
    Python collects the old canvas it is still registered, without its Qt widget."""
    old = Stacked(qtbot)
    old.centre()
    s = Stacked(qtbot)
    s.centre()
    old.grid.widget.deleteLater()
    qtbot.wait(50)
    with pytest.raises(RuntimeError):
        old.grid.widget.isVisible()
    s.stack.setCurrentWidget(s.other)
    _playback_started()
    assert s.grid.view.renderer is None
