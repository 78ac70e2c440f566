"""The player's memory bounds (issue 18, item 5): the decoded-poster cache stays within its byte
budget, atlases are sized to the slots they need, and the grid gives its atlases back while it is
off screen (playback) and makes them again on the way back. No timing or RSS assertions here: the
figures come from ``python -m bench.run player-memory``."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from tests.grid_kit import GeneratedPosters, make_cards
from ui import memtrim
from ui.grid import atlas
from ui.grid.atlas import SlotAllocator, fit_slots
from ui.grid.source import ListSource
from ui.grid.widget import PosterGrid
from ui.images.lru import ByteLRU
from ui.images.service import MEMORY_BYTES, ImageService
from ui.images.types import ReadyPoster
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
