"""Virtual grid without GL: layout, keyboard selection and scroll over 30k cards, demand plan."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from sync.feed_types import Card
from tests.grid_kit import GeneratedPosters, make_cards
from ui.grid.demand import Priority, plan_demand
from ui.grid.layout import GridLayout
from ui.grid.selection import Move, move_selection
from ui.grid.source import CardWindow, ListSource
from ui.grid.titles import PillowTitles
from ui.grid.view import GridView
from ui.settings.model import DisplaySettings, PerformanceSettings

N = 30_000


class CountingSource(ListSource):
    def __init__(self, cards: Sequence[Card]) -> None:
        super().__init__(cards)
        self.reads: list[tuple[int, int]] = []

    def page(self, offset: int, limit: int) -> Sequence[Card]:
        self.reads.append((offset, limit))
        return super().page(offset, limit)


@pytest.fixture(scope="module")
def cards() -> list[Card]:
    return make_cards(N)


def frames(view: GridView, start: float, seconds: float, hz: float = 120) -> float:
    t = start
    for _ in range(round(seconds * hz)):
        t += 1 / hz
        view.frame(t, (1920, 1080))
    return t


def test_layout_columns_rows_and_hit_testing() -> None:
    lay = GridLayout(1920, 1080, 170, 255, 18)
    assert lay.columns == 10  # (1920 - 2 * 24 padding + 18) // (170 + 18)
    assert lay.rows(N) == 3000
    x, y = lay.card_origin(10, offset=0)
    assert lay.hit(x + 5, y + 5, 0, N) == 10
    assert lay.hit(x + 170 + 9, y + 5, 0, N) is None  # the gap between two cards
    assert lay.hit(x + 5, y + 5, 0, 5) is None  # past the last card
    assert lay.visible_rows(0, N) == range(0, 4)
    assert lay.visible_range(lay.max_offset(N), N).stop == N


def test_selection_moves_and_stays_in_bounds() -> None:
    assert move_selection(0, Move.LEFT, N, 9, 3) == 0
    assert move_selection(0, Move.DOWN, N, 9, 3) == 9
    assert move_selection(20, Move.PAGE_DOWN, N, 9, 3) == 47
    assert move_selection(5, Move.PAGE_UP, N, 9, 3) == 5
    assert move_selection(0, Move.END, N, 9, 3) == N - 1
    assert move_selection(N - 1, Move.DOWN, N, 9, 3) == N - 1
    # Down from a full row onto a shorter last row lands on the last card
    assert move_selection(N - 10, Move.DOWN, N, 9, 3) == N - 1
    assert move_selection(3, Move.HOME, 0, 9, 3) == 0


def test_demand_plan_priorities_and_order() -> None:
    lay = GridLayout(1920, 1080, 170, 255, 18)
    offset = lay.row_top(100)
    plan = plan_demand(lay, offset, N, rows_above=1, rows_below=3, background_rows=2)
    visible = lay.visible_range(offset, N)
    c = lay.columns
    assert plan.indices(Priority.VISIBLE) == list(visible)
    preload = plan.indices(Priority.PRELOAD)
    assert preload[: 3 * c] == list(range(visible.stop, visible.stop + 3 * c))  # 3 rows below
    assert preload[3 * c :] == list(reversed(range(visible.start - c, visible.start)))  # 1 above
    assert plan.indices(Priority.BACKGROUND) == list(
        range(visible.stop + 3 * c, visible.stop + 5 * c)
    )
    priorities = [d.priority for d in plan.entries]
    assert priorities == sorted(priorities)
    up = plan_demand(lay, offset, N, 1, 3, 2, direction=-1)
    assert up.indices(Priority.BACKGROUND)[0] == visible.start - c - 1  # nearest first, above


def test_card_window_reads_only_pages_it_needs(cards: list[Card]) -> None:
    source = CountingSource(cards)
    window = CardWindow(source, pages=4)
    assert window.count == N
    card = window.get(25_000)
    assert card is not None and card.title == "Generated film 25000"
    assert window.get(25_001) is not None and len(source.reads) == 1
    assert window.get(N) is None and window.get(-1) is None


def test_keyboard_scroll_through_30k_items(cards: list[Card]) -> None:
    source = CountingSource(cards)
    posters = GeneratedPosters()
    view = GridView(
        source,
        PillowTitles(),
        posters,
        display=DisplaySettings(),
        performance=PerformanceSettings(prefetch_rows_above=1, prefetch_rows_below=3),
    )
    view.resize(1920, 1080)
    t = frames(view, 0.0, 0.1)
    cols = view.layout.columns
    assert view.plan is not None and view.plan.visible == range(0, 4 * cols)

    # End jumps to the last card; the smooth scroll brings it to the centre
    view.key_press("End")
    t = frames(view, t, 1.0)
    lay = view.layout
    offset = view.motion.scroll.offset
    assert view.selected == N - 1
    assert offset == pytest.approx(lay.max_offset(N), abs=1.0)
    visible = lay.visible_range(offset, N)
    assert visible.stop == N and (N - 1) in visible
    assert view.plan.visible == visible
    last = posters.demands[-1]
    assert [r.priority for r in last[: len(visible)]] == [Priority.VISIBLE] * len(visible)
    assert {r.image_id for r in last[: len(visible)]} == {f"{i:064x}" for i in visible}
    # the request asks for the on-screen size (x dpr 1): 170 x 255 physical pixels
    assert (last[0].width, last[0].height) == (170, 255)
    # never more than a few pages of the 30k cards were read
    assert len(source.reads) < 12

    # Home, then PageDown moves a page of rows and keeps the selection centred
    view.key_press("Home")
    t = frames(view, t, 1.0)
    view.key_press("Down")
    view.key_press("Down")
    view.key_press("PageDown")
    t = frames(view, t, 1.0)
    expected = (2 + lay.page_rows()) * cols
    assert view.selected == expected
    assert view.motion.scroll.offset == pytest.approx(lay.centred_offset(expected, N), abs=1.0)
    row_centre = lay.row_top(lay.row_of(expected)) + (lay.poster_h + lay.title_h) / 2
    assert row_centre - view.motion.scroll.offset == pytest.approx(1080 / 2, abs=1.0)


def test_held_key_scrolls_kinetically_and_settles_centred(cards: list[Card]) -> None:
    view = GridView(ListSource(cards), PillowTitles(), GeneratedPosters())
    view.resize(1920, 1080)
    t = frames(view, 0.0, 0.05)
    view.key_press("Down")  # the first press moves one row
    for _ in range(20):  # auto-repeat while held: 1.5 s of frames
        view.key_press("Down", autorepeat=True)
        t = frames(view, t, 0.075)
    held_offset = view.motion.scroll.offset
    rows_moved = held_offset / view.layout.row_h
    # base 6 rows/s ramping by 1.5x per second: 1.5 s held travels well over 9 rows
    assert rows_moved > 9
    assert view.selected > 9 * view.layout.columns
    assert view.selected % view.layout.columns == 0  # the column is kept
    view.key_release("Down")
    t = frames(view, t, 3.0)
    scroll = view.motion.scroll
    assert scroll.kinetic is None and not scroll.moving
    assert scroll.offset > held_offset  # momentum carried on after the release
    assert scroll.offset == pytest.approx(view.layout.centred_offset(view.selected, N), abs=1.0)
    # Shift boosts: the same hold goes further
    boosted = GridView(ListSource(cards), PillowTitles(), GeneratedPosters())
    boosted.resize(1920, 1080)
    t2 = frames(boosted, 0.0, 0.05)
    boosted.key_press("Down")
    for _ in range(20):
        boosted.key_press("Down", shift=True, autorepeat=True)
        t2 = frames(boosted, t2, 0.075)
    assert boosted.motion.scroll.offset > 2 * held_offset


def test_title_strips_from_cached_glyphs_match_pillow_text() -> None:
    """The strips are composed from glyphs rasterised once; they must read like Pillow's own
    text: same ink where it draws, elided with "…" inside the strip, and any title string drawn
    without an error."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    titles = PillowTitles()
    width, height = 170, 28
    size = int(height * 0.36)
    expected = Image.new("L", (width, height), 0)
    ImageDraw.Draw(expected).text(
        (2, 1), "Generated film 12", fill=255, font=ImageFont.load_default(size=size)
    )
    strip = titles.title("Generated film 12", None, width, height)
    assert strip.shape == (height, width)
    assert np.abs(strip.astype(int) - np.asarray(expected, dtype=int)).mean() < 1.0
    assert strip.max() > 200
    long = titles.title(
        "A title far too long to fit in one poster's width, however small", 1999, width, height
    )
    assert long[:, width - 1].max() == 0  # elided inside the strip, nothing drawn past it
    assert long[:, width - 30 : width - 2].max() > 100  # ...and the "…" is at its end
    for odd in ("", "line\nbreak", "tab\there", "\x00nul", "東京物語 🎬"):
        assert titles.title(odd, None, width, height).shape == (height, width)
