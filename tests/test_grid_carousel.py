"""Home carousels drawn for real (Qt + vispy + Mesa under the session's Xvfb), checked by pixel.

The frame clock is a counter the test advances, so every frame is at a known time.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PyQt6.QtCore import QPoint, QPointF, Qt
from PyQt6.QtGui import QWheelEvent
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from sync.feed_types import Card
from tests.grid_kit import GeneratedPosters, make_cards, poster_colour
from ui.grid.carousel import RowLayout
from ui.grid.carousel_widget import CarouselRow
from ui.grid.demand import Priority
from ui.images.mux import DemandMux
from ui.motion.flip import FlipPhase
from ui.motion.scroll import PAGE_SNAP_FACTOR
from ui.motion.tween import FOCUS_SCALE
from ui.settings.model import DisplaySettings, PerformanceSettings

W = 960
SNAP_MS = 220


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


Rows = tuple[list[CarouselRow], GeneratedPosters, Clock]


def make_rows(qtbot: QtBot, animations: bool = True, n: int = 2) -> Rows:
    posters = GeneratedPosters()
    mux = DemandMux(posters)
    clock = Clock()
    rows = []
    for r in range(n):
        cards = make_cards(40 * (r + 1))[40 * r :]  # row r: cards 40r … 40r+39
        row = CarouselRow(
            cards,
            mux.channel(),
            display=DisplaySettings(animations=animations),
            performance=PerformanceSettings(carousel_snap_ms=SNAP_MS),
            clock=clock,
        )
        row.widget.resize(W, row.widget.height())
        qtbot.addWidget(row.widget)
        row.show()
        qtbot.waitExposed(row.widget)
        rows.append(row)
    return rows, posters, clock


@pytest.fixture
def rows(qtbot: QtBot) -> Iterator[Rows]:
    made = make_rows(qtbot)
    yield made
    for row in made[0]:
        row.close()


def render(row: CarouselRow, clock: Clock, seconds: float = 0.0, hz: int = 30) -> np.ndarray:
    frames = max(1, round(seconds * hz))
    image = None
    for _ in range(frames):
        clock.t += 1.0 / hz
        image = row.render(alpha=False)
    assert image is not None
    return image


def rgb(image: np.ndarray, x: float, y: float) -> tuple[int, int, int]:
    r, g, b = image[int(y), int(x), :3]
    return int(r), int(g), int(b)


def close(a: tuple[int, int, int], b: tuple[int, int, int], tol: int = 8) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def centre(lay: RowLayout, index: int) -> tuple[float, float]:
    x, y = lay.card_origin(index, 0.0)
    return x + lay.poster_w / 2, y + lay.poster_h / 2


def focus(row: CarouselRow) -> None:
    row.widget.activateWindow()
    row.widget.setFocus()
    for _ in range(50):
        QApplication.processEvents()
        if row.view.active:
            return
        QTest.qWait(10)
    raise AssertionError("the row never got the keyboard focus")


def test_rows_draw_only_visible_cards_and_ask_for_them_first(rows: Rows) -> None:
    (first, second), posters, clock = rows
    images = [render(row, clock, 1.0) for row in (first, second)]
    for r, (row, image) in enumerate(zip((first, second), images, strict=True)):
        view, lay = row.view, row.view.row
        page = lay.page_items
        assert page == 4 and view.window.count == 40
        # only the cards that intersect the viewport are laid out and drawn
        assert view.stats.visible_cards == len(lay.visible_range(0, 40)) == page + 1
        assert view.stats.instances == 2 * (page + 1)
        # the row's posters, from the shared service through the mux
        for index in range(page):
            assert close(rgb(image, *centre(lay, index)), poster_colour(40 * r + index))
        # demand: visible first, then the pages ahead (Preload), then the background band
        plan = view.plan
        assert plan is not None
        prio = [d.priority for d in plan.entries]
        assert prio[: page + 1] == [Priority.VISIBLE] * (page + 1)
        assert prio[page + 1] == Priority.PRELOAD and prio[-1] == Priority.BACKGROUND
        assert prio == sorted(prio)
    # both rows' visible posters were wanted at once from one service (not one replacing the other)
    assert {f"{i:064x}" for i in (0, 1, 40, 41)} <= {r.image_id for d in posters.demands for r in d}


def test_right_moves_focus_and_the_row_snaps_a_page(rows: Rows) -> None:
    (row, _), _, clock = rows
    focus(row)
    render(row, clock, 1.0)
    view, page = row.view, row.view.row.page_items
    assert view.selected == 0 and view.motion.scale_of(0) == FOCUS_SCALE
    for _ in range(page - 1):
        QTest.keyClick(row.widget, Qt.Key.Key_Right)
    render(row, clock, 0.3)
    assert view.selected == page - 1 and view.carousel.offset == 0.0  # still in view
    QTest.keyClick(row.widget, Qt.Key.Key_Right)  # one past the edge: the row turns a page
    assert view.selected == page
    render(row, clock, 0.1)
    cell = view.row.cell_w
    assert 0.0 < view.carousel.offset < page * cell  # moving, not jumped
    image = render(row, clock, SNAP_MS * PAGE_SNAP_FACTOR / 1000.0)  # a page snap's duration
    assert view.carousel.offset == page * cell and not view.carousel.moving  # snapped exactly
    lay = view.row
    # what the user sees: the focused card is now the first one, scaled, its poster drawn there
    x, y = lay.card_origin(page, 0.0)
    assert x == lay.padding
    assert close(rgb(image, *centre(lay, page)), poster_colour(page))
    assert close(rgb(image, x + lay.poster_w + 3, y + lay.poster_h / 2), poster_colour(page))
    assert not close(
        rgb(image, x + lay.poster_w + 3 + lay.cell_w, y + lay.poster_h / 2), poster_colour(page + 1)
    )
    # a right-click hits the card under the pointer in the scrolled row: its poster flips
    QTest.mouseClick(
        row.widget,
        Qt.MouseButton.RightButton,
        pos=QPoint(round(lay.padding + lay.cell_w + lay.poster_w / 2), round(y + lay.poster_h / 2)),
    )
    render(row, clock, 1.5)
    flip = view.motion.flip_of(page + 1)
    assert view.selected == page + 1 and flip is not None and flip.phase is FlipPhase.MENU
    QTest.keyClick(row.widget, Qt.Key.Key_Escape)  # turns it back
    render(row, clock, 1.5)
    assert view.motion.flip_of(page + 1) is None
    # Left to the first card in view, then back over the edge: the row pages back
    QTest.keyClick(row.widget, Qt.Key.Key_Left)
    render(row, clock, 0.1)
    assert view.selected == page and view.carousel.offset == page * cell
    QTest.keyClick(row.widget, Qt.Key.Key_Left)
    render(row, clock, 0.5)
    assert view.selected == page - 1 and view.carousel.offset == 0.0


def test_wheel_momentum_settles_on_an_item(rows: Rows) -> None:
    (row, _), _, clock = rows
    render(row, clock, 0.2)
    event = QWheelEvent(
        QPointF(100, 100),
        QPointF(100, 100),
        QPoint(0, 0),
        QPoint(0, -240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(row.widget, event)
    render(row, clock, 0.1)
    view = row.view
    assert view.carousel.offset > 0 and view.carousel.velocity > 0  # momentum
    render(row, clock, 3.0)
    cell = view.row.cell_w
    assert not view.carousel.moving
    assert view.carousel.offset > cell
    assert view.carousel.offset / cell == round(view.carousel.offset / cell)  # on an item


def test_up_down_leave_the_row_enter_opens_flip_shows_actions(rows: Rows) -> None:
    (row, _), _, clock = rows
    focus(row)
    left: list[int] = []
    opened: list[Card] = []
    row.row_signals.leave.connect(left.append)
    row.signals.details.connect(opened.append)
    QTest.keyClick(row.widget, Qt.Key.Key_Down)
    QTest.keyClick(row.widget, Qt.Key.Key_Up)
    assert left == [1, -1]
    QTest.keyClick(row.widget, Qt.Key.Key_Right)
    QTest.keyClick(row.widget, Qt.Key.Key_Return)
    assert [c.title for c in opened] == ["Generated film 1"]
    QTest.keyClick(row.widget, Qt.Key.Key_F)  # the poster flip, as in the grid
    render(row, clock, 1.5)
    flip = row.view.motion.flip_of(1)
    assert (
        flip is not None
        and flip.phase is FlipPhase.MENU
        and flip.angle == pytest.approx(np.pi, abs=1e-9)
    )
    QTest.keyClick(row.widget, Qt.Key.Key_Down)  # in the menu, Down picks the next action
    assert left == [1, -1] and row.view.menu_choice == 1


def test_animations_off_the_row_is_there_at_once(qtbot: QtBot) -> None:
    made, _, clock = make_rows(qtbot, animations=False, n=1)
    row = made[0]
    focus(row)
    render(row, clock, 0.5)
    view, page = row.view, row.view.row.page_items
    for _ in range(page):
        QTest.keyClick(row.widget, Qt.Key.Key_Right)
    image = render(row, clock)  # a single frame
    assert view.carousel.offset == page * view.row.cell_w
    assert view.motion.scale_of(page) == FOCUS_SCALE
    assert close(rgb(image, *centre(view.row, page)), poster_colour(page))
    row.close()


def test_demand_mux_unions_plans_and_routes_posters_to_every_asker() -> None:
    from ui.images.types import PosterRequest

    service = GeneratedPosters()
    mux = DemandMux(service)
    first, second = mux.channel(), mux.channel()
    a, b, c = (f"{i:064x}" for i in (1, 2, 3))
    first.set_demand(
        [PosterRequest(a, 8, 12, Priority.VISIBLE), PosterRequest(b, 8, 12, Priority.PRELOAD)]
    )
    second.set_demand(
        [PosterRequest(c, 8, 12, Priority.BACKGROUND), PosterRequest(b, 8, 12, Priority.VISIBLE)]
    )
    # one wanted set for the service: each image once, at the best priority any view gave it
    assert [(r.image_id, r.priority) for r in service.wanted] == [
        (a, Priority.VISIBLE),
        (b, Priority.VISIBLE),
        (c, Priority.BACKGROUND),
    ]
    assert [r.image_id for r in first.take_ready(10)] == [a, b]
    assert [r.image_id for r in second.take_ready(10)] == [b, c]
    # a view that leaves the screen stops asking; the other's plan stands alone
    first.set_demand([])
    second.set_demand([PosterRequest(c, 8, 12, Priority.VISIBLE)])
    assert [r.image_id for r in service.wanted] == [c]
    mux.remove(second)
    assert service.wanted == []
