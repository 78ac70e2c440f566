"""Cards as people see them (issue 21, items 2, 3 and 6), drawn for real under Xvfb and checked
by pixel: an item without a poster is the same typographic placeholder in the GL grid, the
search results and the details; an episode's card is landscape and shows its still whole; the
top bar highlights the view on screen."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtCore import QBuffer, QIODevice, QRect
from PyQt6.QtGui import QColor, QImage, QLinearGradient, QPainter
from pytestqt.qtbot import QtBot

from sync.feed_types import Card
from tests.grid_kit import GeneratedPosters
from tests.helpers import REPO
from ui.domains.core import DomainRegistry
from ui.domains.events import LibraryOpened, ScreenChanged, SearchOverlay
from ui.domains.registry import build_registry
from ui.domains.services import Services
from ui.domains.views import CardView, DetailView, LibraryView, card_from_replica
from ui.grid.source import ListSource
from ui.grid.widget import PosterGrid
from ui.placeholder import placeholder_image
from ui.screens.detail import DetailScreen
from ui.screens.widgets import card_size
from ui.screens.window import MainWindow
from ui.settings.model import DisplaySettings

LIBRARY = uuid.UUID(int=7)
# screenshots: the temp dir, or with FERREX_UPDATE_SCREENSHOTS=1 the pictures in docs/
SHOTS = (
    REPO / "docs" / "screenshots"
    if os.environ.get("FERREX_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "ferrex-screenshots"
)
W, H = 960, 640


def pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    ptr = image.constBits()
    assert ptr is not None
    ptr.setsize(image.sizeInBytes())
    rows = np.frombuffer(memoryview(ptr), np.uint8).reshape(  # type: ignore[arg-type]
        image.height(), image.bytesPerLine()
    )
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def signature(rgb: np.ndarray) -> np.ndarray:
    """Mean colour of 4 x 6 blocks of the card's inside (corners and borders cut away): the
    placeholder's gradient and where its type sits, independent of the size it is drawn at."""
    h, w = rgb.shape[:2]
    inner = rgb[h // 12 : h - h // 12, w // 12 : w - w // 12].astype(np.float64)
    ih, iw = inner.shape[:2]
    return np.array(
        [
            [
                inner[r * ih // 6 : (r + 1) * ih // 6, c * iw // 4 : (c + 1) * iw // 4].mean(
                    axis=(0, 1)
                )
                for c in range(4)
            ]
            for r in range(6)
        ]
    )


def same_design(a: np.ndarray, b: np.ndarray, tol: float = 22.0) -> bool:
    return float(np.abs(signature(a) - signature(b)).max()) <= tol


@pytest.fixture
def window(qtbot: QtBot) -> Iterator[tuple[MainWindow, DomainRegistry]]:
    registry = build_registry(Services())
    win = MainWindow(registry)
    qtbot.addWidget(win)
    win.resize(1440, 900)
    win.show()
    qtbot.waitExposed(win)
    win.transition.animations = False
    yield win, registry
    win.close()


def detail_screen(win: MainWindow) -> DetailScreen:
    screen = win.screens["detail"]
    assert isinstance(screen, DetailScreen)
    return screen


def film(n: int, title: str, year: int | None = 2007) -> Card:
    return Card(uuid.UUID(int=100 + n), LIBRARY, "movie", title, year, None, None)


def rendered_grid(
    qtbot: QtBot, cards: list[Card], posters: GeneratedPosters, frames: int
) -> tuple[PosterGrid, np.ndarray]:
    """The GL grid of ``cards`` shown, and its picture after ``frames`` frames 0.1 s apart on
    its own clock (textures arrive over a few frames); the caller closes it."""
    clock = [100.0]
    grid = PosterGrid(
        ListSource(cards), posters, display=DisplaySettings(), size=(W, H), clock=lambda: clock[0]
    )
    qtbot.addWidget(grid.native)
    grid.show()
    qtbot.waitExposed(grid.native)
    image = None
    for _ in range(frames):
        clock[0] += 0.1
        image = grid.render(alpha=False)
    assert image is not None
    return grid, image


def test_a_missing_poster_is_the_same_placeholder_in_grid_search_and_details(
    qtbot: QtBot, window: tuple[MainWindow, DomainRegistry]
) -> None:
    win, _ = window
    cards = [film(0, "Alpha Film"), film(1, "Perfect Child"), film(2, "Gamma")]
    reference = pixels(placeholder_image("Perfect Child", 2007, None, 170, 255))

    # the GL grid: a texture made once for the item, in its poster slot
    grid, image = rendered_grid(qtbot, cards, GeneratedPosters(), frames=6)
    lay = grid.view.layout
    x, y = (round(v) for v in lay.card_origin(1, 0.0))
    in_grid = np.ascontiguousarray(
        image[y : y + round(lay.poster_h), x : x + round(lay.poster_w), :3]
    )
    grid.close()
    assert same_design(in_grid, reference), "grid placeholder differs"

    # the search results (QPainter cards)
    search = win.search
    search.open_with("")
    search.results.set_cards([card_from_replica(c) for c in cards])
    qtbot.wait(50)
    rect = search.results.visualItemRect(search.results.item(1))
    d = search.results.display
    grab = search.results.viewport().grab(
        QRect(  # type: ignore[union-attr]
            rect.x() + d.spacing // 2, rect.y() + d.spacing // 2, d.poster_width, d.poster_height
        )
    )
    in_search = pixels(grab.toImage())
    assert same_design(in_search, reference), "search placeholder differs"

    # the details
    detail = detail_screen(win)
    detail.show_detail(
        DetailView(
            id=cards[1].id, library_id=LIBRARY, kind="movie", title="Perfect Child", year=2007
        )
    )
    shown = detail.poster.pixmap()
    assert shown is not None and not shown.isNull()
    assert same_design(pixels(shown.toImage()), reference), "detail placeholder differs"
    # another title is another card: the design tells items apart
    other = pixels(placeholder_image("Gamma", 2007, None, 170, 255))
    assert not same_design(other, reference)


def still_png() -> bytes:
    """A 16:9 still with a coloured band on each edge: all four visible means nothing cut."""
    image = QImage(320, 180, QImage.Format.Format_RGB32)
    image.fill(QColor(128, 128, 128))
    painter = QPainter(image)
    painter.fillRect(0, 0, 12, 180, QColor(255, 0, 0))
    painter.fillRect(308, 0, 12, 180, QColor(0, 0, 255))
    painter.fillRect(12, 0, 296, 10, QColor(0, 255, 0))
    painter.fillRect(12, 170, 296, 10, QColor(255, 255, 0))
    painter.end()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return buffer.data().data()


def near(rgb: np.ndarray, colour: tuple[int, int, int], tol: int = 40) -> bool:
    return all(abs(int(a) - b) <= tol for a, b in zip(rgb, colour, strict=True))


def test_an_episode_card_is_landscape_with_its_still_uncropped(
    qtbot: QtBot, window: tuple[MainWindow, DomainRegistry]
) -> None:
    win, _ = window
    win.posters.put("still-1", still_png())
    episodes = [
        CardView(
            id=uuid.UUID(int=300 + n),
            library_id=LIBRARY,
            kind="episode",
            title="Episode 2",
            series_title="Show",
            season_number=1,
            episode_numbers=(n + 1,),
            still_image_id="still-1",
        )
        for n in range(3)
    ]
    assert episodes[1].label == "Show · S01E02"
    cards = detail_screen(win).child_cards  # a season's episodes
    cards.show()
    cards.set_cards(episodes)
    qtbot.wait(50)
    d = cards.display
    width, height = card_size(d, True)
    assert width > height and abs(width / height - 16 / 9) < 0.02
    rect = cards.visualItemRect(cards.item(1))
    assert rect.width() >= width and rect.height() >= height
    x0, y0 = rect.x() + d.spacing // 2, rect.y() + d.spacing // 2
    viewport = cards.viewport()
    assert viewport is not None
    rgb = pixels(viewport.grab(QRect(x0, y0, width, height)).toImage())
    mid_y, mid_x = height // 2, width // 2
    assert near(rgb[mid_y, 4], (255, 0, 0)), "the still's left edge is cut off"
    assert near(rgb[mid_y, width - 5], (0, 0, 255)), "the still's right edge is cut off"
    assert near(rgb[4, mid_x], (0, 255, 0)), "the still's top edge is cut off"
    assert near(rgb[height - 5, mid_x], (255, 255, 0)), "the still's bottom edge is cut off"

    # its details show the still in a landscape frame, whole, with series and numbers
    detail = detail_screen(win)
    detail.show_detail(
        DetailView(
            id=episodes[1].id,
            library_id=LIBRARY,
            kind="episode",
            title="Episode 2",
            season_number=1,
            episode_numbers=(2,),
            series_title="Show",
            still_image_id="still-1",
            poster_image_id="still-1",
        )
    )
    assert detail.title.text() == "Show · S01E02"
    shown = detail.poster.pixmap()
    assert shown is not None and shown.width() > shown.height()
    rgb = pixels(shown.toImage())
    assert near(rgb[shown.height() // 2, 3], (255, 0, 0))
    assert near(rgb[shown.height() // 2, shown.width() - 4], (0, 0, 255))

    # the picture in docs/player.md: a season's page, its episodes in landscape cards
    for n, colour in enumerate(("#264653", "#e76f51", "#2a9d8f", "#6d597a")):
        win.posters.put(f"frame-{n}", frame_png(colour))
    names = ["The Lighthouse", "Episode 2", "Low Tide", "The Keeper's Log"]
    season = [
        CardView(
            id=uuid.UUID(int=400 + n),
            library_id=LIBRARY,
            kind="episode",
            title=name,
            series_title="Harbour Lights",
            season_number=1,
            episode_numbers=(n + 1,),
            still_image_id=f"frame-{n}",
            progress=0.4 if n == 1 else None,
            watched=n == 0,
        )
        for n, name in enumerate(names)
    ]
    detail.show_detail(
        DetailView(
            id=uuid.UUID(int=399),
            library_id=LIBRARY,
            kind="season",
            title="Season 1",
            year=2022,
            series_title="Harbour Lights",
            season_number=1,
            children=tuple(season),
            overview="Four nights on a rock in the North Sea.",
        )
    )
    win.show_screen("detail")
    assert detail.title.text() == "Harbour Lights · Season 1"
    qtbot.wait(300)
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert win.grab().save(str(SHOTS / "episodes.png"))


def frame_png(colour: str) -> bytes:
    image = QImage(480, 270, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    fill = QLinearGradient(0, 0, 480, 270)
    fill.setColorAt(0.0, QColor(colour).lighter(140))
    fill.setColorAt(1.0, QColor(colour).darker(160))
    painter.fillRect(0, 0, 480, 270, fill)
    painter.setPen(QColor(255, 255, 255, 120))
    for r in (40, 70, 100):
        painter.drawEllipse(240 - r, 120 - r, 2 * r, 2 * r)
    painter.end()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return buffer.data().data()


def test_the_top_bar_highlights_the_view_on_screen(
    window: tuple[MainWindow, DomainRegistry],
) -> None:
    win, _ = window

    def checked() -> list[str]:
        return [
            b.text()
            for b in (win.nav_home, win.nav_library, win.nav_search, win.nav_settings)
            if b.isChecked()
        ]

    win.on_event(ScreenChanged("home"))
    assert checked() == ["Home"]
    library = LibraryView(id=LIBRARY, name="Films", kind="movies")
    win.on_event(LibraryOpened(library=library, cards=(), total=0))
    win.on_event(ScreenChanged("library"))
    assert checked() == ["Films"] and win.nav_library.isVisible()
    win.on_event(ScreenChanged("detail"))  # opened from the library: still the library
    assert checked() == ["Films"]
    win.on_event(SearchOverlay(True, ""))
    assert checked() == ["Search"]
    win.on_event(SearchOverlay(False))
    assert checked() == ["Films"]
    win.on_event(ScreenChanged("settings"))
    assert checked() == ["Settings"]
    win.on_event(ScreenChanged("home"))
    win.on_event(ScreenChanged("detail"))  # opened from Home
    assert checked() == ["Home"]
    win.on_event(ScreenChanged("login"))
    assert checked() == []


def test_home_rows_grid_and_details_name_an_episode_with_its_series() -> None:
    """Next Up and Continue Watching come from the API or the replica; both shapes, the GL
    carousel's cards made from them and the details say "Show · S01E02 · Title"."""
    from datetime import UTC, datetime

    from sync.media_types import ItemDetails, MediaItemOut
    from ui.domains.views import card_from_api, detail_from_api
    from ui.screens.browse import card_of

    item = MediaItemOut(
        id=uuid.uuid4(),
        library_id=LIBRARY,
        kind="episode",
        title="The Pilot",
        sort_title="00002",
        season_number=1,
        episode_numbers=[2],
        series_id=uuid.uuid4(),
        series_title="Show",
        added_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    view = card_from_api(item)
    assert view.label == "Show · S01E02 · The Pilot" and view.landscape
    assert card_of(view).label == "Show · S01E02 · The Pilot"  # the home carousels' cards
    assert card_from_replica(card_of(view)).label == view.label
    assert detail_from_api(ItemDetails(item=item)).label == "Show · S01E02 · The Pilot"
    film = card_from_replica(Card(uuid.uuid4(), LIBRARY, "movie", "Alien", 1979, None, None))
    assert film.label == "Alien" and not film.landscape


def test_an_episode_in_the_gl_grid_shows_its_still_whole_in_a_landscape_band(qtbot: QtBot) -> None:
    """The GL grid and carousels (Next Up, Continue Watching) keep portrait slots: an episode's
    16:9 still is decoded at 16:9 and set across the middle of its placeholder, not stretched
    or cropped into the slot."""
    from tests.grid_kit import poster_colour

    episodes = [
        Card(
            uuid.UUID(int=500 + n),
            LIBRARY,
            "episode",
            "Episode 1",
            2022,
            None,
            None,
            None,
            "Show",
            1,
            (n + 1,),
            f"{n + 3:064x}",
        )
        for n in range(3)
    ]
    posters = GeneratedPosters()
    grid, image = rendered_grid(qtbot, episodes, posters, frames=30)
    grid.close()
    # the still was asked for at 16:9, not at the poster's 2:3
    request = next(r for r in posters.demands[-1] if r.image_id == f"{4:064x}")
    assert abs(request.width / request.height - 16 / 9) < 0.02
    lay = grid.view.layout
    x, y = lay.card_origin(1, 0.0)
    still_h = round(lay.poster_w * 9 / 16)
    top = y + (round(lay.poster_h) - still_h) // 2
    cx = round(x + lay.poster_w / 2)
    colour = poster_colour(4)

    def at(py: float) -> tuple[int, int, int]:
        r, g, b = image[round(py), cx, :3]
        return int(r), int(g), int(b)

    def close(a: tuple[int, int, int], b: tuple[int, int, int], tol: int = 12) -> bool:
        return all(abs(p - q) <= tol for p, q in zip(a, b, strict=True))

    assert close(at(top + still_h * 0.6), colour)  # the still's body
    # its light band (1/8 down the generated still) is where an uncropped still puts it
    band = top + still_h // 8
    assert any(close(at(band + d), (250, 250, 250), tol=20) for d in (0, 1, 2))
    # above and below the band: the placeholder card, not the still stretched
    assert not close(at(y + 8), colour, tol=30) and not close(
        at(y + lay.poster_h - 8), colour, tol=30
    )
