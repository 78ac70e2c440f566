"""Home (rows and libraries), a library's grid, and the search overlay."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QHideEvent
from PyQt6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from sync.feed_types import Card
from sync.wire import SEARCH_MAX
from ui.domains.catalog import replica_ready
from ui.domains.core import CrossDomainEvent, DomainRegistry
from ui.domains.events import (
    HomeLoaded,
    LibraryOpened,
    SearchOverlay,
    SearchResults,
    SettingsChanged,
)
from ui.domains.library import OpenLibrary
from ui.domains.media import MarkWatched, OpenItem
from ui.domains.search import Search
from ui.domains.ui import Back
from ui.domains.views import CardView, LibraryView
from ui.grid.carousel_widget import CarouselRow
from ui.grid.source import ReplicaSource
from ui.grid.view import WatchInfo
from ui.grid.widget import PosterGrid
from ui.images.mux import DemandChannel
from ui.images.service import ImageService
from ui.screens.base import Screen
from ui.screens.grid_images import GridImages
from ui.screens.widgets import CardList, PosterCache, button, heading


def frame_pump(owner: QWidget, nudge: Callable[[], None]) -> QTimer:
    """A ~60 Hz timer owned by ``owner`` that asks on-demand GL views for a frame while they
    still have uploads or fades to run; ``nudge`` decides whether there is anything to do."""
    pump = QTimer(owner)
    pump.setInterval(16)
    pump.timeout.connect(nudge)
    pump.start()
    return pump


def _open(screen: Screen, card: CardView) -> None:
    screen.post(OpenItem(card.id))


class HomeScreen(Screen):
    """Libraries, then one GL carousel per home row (Continue Watching, Next Up, Recently Added
    per library): ←/→ within a row, ↑/↓ between rows (Up from the first row reaches the library
    buttons), Enter opens the details, F or the Menu key flips the poster to its actions."""

    name = "home"

    def __init__(self, registry: DomainRegistry, images: GridImages) -> None:
        super().__init__(registry)
        self.images = images
        self.rows: list[CarouselRow] = []
        self.row_titles: list[str] = []
        self.row_cards: list[list[CardView]] = []
        self.library_buttons: list[QWidget] = []
        self._channels: list[DemandChannel] = []
        self._selected: dict[str, int] = {}
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.body = QWidget()
        self.layout_ = QVBoxLayout(self.body)
        self.layout_.setContentsMargins(32, 20, 32, 32)
        self.layout_.setSpacing(6)
        scroll.setWidget(self.body)
        self.scroller = scroll
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.empty = heading(
            "Nothing here yet. An administrator can add a library in Settings → Libraries.",
            "subtitle",
        )
        self.layout_.addWidget(self.empty)
        self.layout_.addStretch(1)
        # GL rows draw on demand; while posters arrive they need frames to upload them and run
        # their fade-in (the frames themselves come at the display's pace)
        self._frames_left = 0
        self._pump = frame_pump(self, self._nudge)

    def _nudge(self) -> None:
        if not self.rows or not self.isVisible():
            return
        if self.images.pending:
            self._frames_left = 40
        if self._frames_left > 0:
            self._frames_left -= 1
            for row in self.rows:
                row.update()

    def _clear(self) -> None:
        for row, title in zip(self.rows, self.row_titles, strict=True):
            self._selected[title] = row.view.selected
            row.view.forget_demand()
        mux = self.images.mux
        for channel in self._channels:
            if mux is not None:
                mux.remove(channel)
        while self.layout_.count():
            item = self.layout_.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.rows, self.row_titles, self.row_cards, self.library_buttons = [], [], [], []
        self._channels = []

    def show_home(self, event: HomeLoaded) -> None:
        focused_row = next((i for i, r in enumerate(self.rows) if r.widget.hasFocus()), 0)
        self._clear()
        settings = self.services.settings
        if event.libraries:
            self.layout_.addWidget(heading("Libraries", "rowTitle"))
            strip = QHBoxLayout()
            holder = QWidget()
            holder.setLayout(strip)
            strip.setContentsMargins(0, 0, 0, 10)
            for lib in event.libraries:
                b = button(
                    f"{lib.name}  ·  {'Movies' if lib.kind == 'movies' else 'Shows'}",
                    "",
                    self._opener(lib),
                )
                b.setMinimumHeight(48)
                strip.addWidget(b)
                self.library_buttons.append(b)
            strip.addStretch(1)
            self.layout_.addWidget(holder)
        shared = self.images.get()
        for title, views in event.rows:
            self.layout_.addWidget(heading(title, "rowTitle"))
            channel = shared[1].channel() if shared is not None else None
            if channel is not None:
                self._channels.append(channel)
            watch = {v.id: WatchInfo(v.watched, v.progress or 0.0) for v in views}
            row = CarouselRow(
                [card_of(v) for v in views],
                channel,
                display=settings.display,
                performance=settings.performance,
                watch=_lookup(watch),
            )
            index = len(self.rows)
            row.row_signals.leave.connect(lambda step, i=index: self._focus_row(i + step))
            row.signals.details.connect(lambda card: self.post(OpenItem(card.id)))
            row.signals.play.connect(lambda card: self.post(OpenItem(card.id)))
            row.signals.mark_watched.connect(
                lambda card, w=watch: self.post(
                    MarkWatched(card.id, not (card.id in w and w[card.id].watched))
                )
            )
            row.view.select(self._selected.get(title, 0), animate=False)
            self.layout_.addWidget(row.widget)
            self.rows.append(row)
            self.row_titles.append(title)
            self.row_cards.append(list(views))
        if not event.rows and not event.libraries:
            self.empty = heading(
                "Nothing here yet. An administrator can add a library in Settings → Libraries.",
                "subtitle",
            )
            self.layout_.addWidget(self.empty)
        self.layout_.addStretch(1)
        if self.isVisible() and not self.library_buttons_have_focus():
            self._focus_row(min(focused_row, len(self.rows) - 1))

    def _opener(self, lib: LibraryView) -> Callable[[], None]:
        return lambda: self.post(OpenLibrary(lib.id))

    def library_buttons_have_focus(self) -> bool:
        return any(b.hasFocus() for b in self.library_buttons)

    def _focus_row(self, index: int) -> None:
        if index < 0:
            if self.library_buttons:
                self.library_buttons[0].setFocus()
            return
        if 0 <= index < len(self.rows):
            row = self.rows[index]
            row.widget.setFocus()
            self.scroller.ensureWidgetVisible(row.widget, 0, 60)

    def shown(self) -> None:
        if self.rows:
            self._focus_row(0)
        elif self.library_buttons:
            self.library_buttons[0].setFocus()

    def hideEvent(self, event: QHideEvent | None) -> None:
        for row in self.rows:  # off screen: its posters are no longer wanted
            row.view.forget_demand()
        super().hideEvent(event)

    def on_event(self, event: CrossDomainEvent) -> None:
        if isinstance(event, HomeLoaded):
            self.show_home(event)
        elif isinstance(event, SettingsChanged):
            for row in self.rows:
                row.apply_settings(event.settings.display, event.settings.performance)


def _lookup(watch: dict[uuid.UUID, WatchInfo]) -> Callable[[Card], WatchInfo | None]:
    return lambda card: watch.get(card.id)


def card_of(view: CardView) -> Card:
    """The grid's card record for a home row's card."""
    return Card(
        view.id,
        view.library_id,
        view.kind,  # type: ignore[arg-type]
        view.title,
        view.year,
        view.placeholder_color,
        view.poster_image_id,
        view.parent_id,
        view.series_title,
        view.season_number,
        view.episode_numbers or None,
        view.still_image_id,
    )


class LibraryScreen(Screen):
    """A library's items. From the replica it is the GPU poster grid (``ui.grid``: virtual
    rows, kinetic scroll, batched texture uploads, flip menu); before the replica has its
    snapshot, a plain card grid fed by the server."""

    name = "library"

    def __init__(self, registry: DomainRegistry, posters: PosterCache, shared: GridImages) -> None:
        super().__init__(registry)
        self.library: LibraryView | None = None
        self.poster_grid: PosterGrid | None = None
        self.shared = shared
        self._channel: DemandChannel | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 20, 32, 20)
        top = QHBoxLayout()
        self.title = heading("Library")
        self.count = heading("", "subtitle")
        top.addWidget(self.title)
        top.addSpacing(16)
        top.addWidget(self.count, 0, Qt.AlignmentFlag.AlignBottom)
        top.addStretch(1)
        top.addWidget(button("Back", "", lambda: self.post(Back())))
        layout.addLayout(top)
        self.views = QStackedWidget()
        self.grid = CardList(self.services.settings.display, posters, row=False)
        self.grid.activated_card.connect(lambda card: _open(self, card))
        self.views.addWidget(self.grid)
        layout.addWidget(self.views, 1)
        # The grid draws on demand; while posters are being fetched and decoded it needs frames
        # to upload them and run their fade-in, so it is nudged until the service is idle.
        self._frames_left = 0
        self._pump = frame_pump(self, self._nudge)

    def _nudge(self) -> None:
        if self.poster_grid is None or self.images is None or not self.isVisible():
            return
        if self.images.pending:
            self._frames_left = 40  # the fade-in after the last arrival
        if self._frames_left > 0:
            self._frames_left -= 1
            self.poster_grid.update()

    def shown(self) -> None:
        current = self.views.currentWidget()
        if current is not None:
            current.setFocus()

    @property
    def images(self) -> ImageService | None:
        return self.shared.service

    def _image_channel(self) -> DemandChannel | None:
        """A fresh channel of the shared image service for a new grid (the old one's goes)."""
        shared = self.shared.get()
        if self._channel is not None and self.shared.mux is not None:
            self.shared.mux.remove(self._channel)
        self._channel = shared[1].channel() if shared is not None else None
        return self._channel

    def _watch(self, card: Card) -> WatchInfo | None:
        replica = self.services.replica
        state = replica.watch(card.id) if replica is not None else None
        if state is None:
            return None
        progress = (
            state.position_s / state.duration_s if state.duration_s and not state.completed else 0.0
        )
        return WatchInfo(watched=state.completed, progress=progress)

    def _show_grid(self, library: LibraryView) -> None:
        settings = self.services.settings
        if self.poster_grid is not None:
            self.views.removeWidget(self.poster_grid.widget)
            self.poster_grid.widget.deleteLater()
        grid = PosterGrid(
            ReplicaSource(self.services.replica, library.id),
            self._image_channel(),
            display=settings.display,
            performance=settings.performance,
            watch=self._watch,
        )
        grid.signals.details.connect(lambda card: self.post(OpenItem(card.id)))
        grid.signals.play.connect(lambda card: self.post(OpenItem(card.id)))
        grid.signals.mark_watched.connect(self._toggle_watched)
        self.poster_grid = grid
        self.views.addWidget(grid.widget)
        self.views.setCurrentWidget(grid.widget)

    def _toggle_watched(self, card: Card) -> None:
        info = self._watch(card)
        self.post(MarkWatched(card.id, not (info is not None and info.watched)))

    def on_event(self, event: CrossDomainEvent) -> None:
        if isinstance(event, LibraryOpened):
            same = self.library is not None and self.library.id == event.library.id
            self.library = event.library
            self.title.setText(event.library.name)
            noun = "movies" if event.library.kind == "movies" else "shows"
            self.count.setText(f"{event.total} {noun}")
            if replica_ready(self.services):
                if event.refresh and same and self.poster_grid is not None:
                    self.poster_grid.view.source_changed()
                    self.poster_grid.update()
                else:
                    self._show_grid(event.library)
            else:
                self.grid.set_cards(event.cards)
                self.views.setCurrentWidget(self.grid)
            if self.isVisible():
                self.shown()
        elif isinstance(event, SettingsChanged):
            self.grid.apply_display(event.settings.display)
            if self.poster_grid is not None:
                self.poster_grid.apply_settings(event.settings.display, event.settings.performance)


class SearchOverlayWidget(QFrame):
    """Covers the current screen; typing refines, arrows move into results, Esc closes."""

    def __init__(self, registry: DomainRegistry, posters: PosterCache, parent: QWidget) -> None:
        super().__init__(parent)
        self.registry = registry
        self.setObjectName("overlay")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(80, 40, 80, 40)
        self.field = QLineEdit()
        self.field.setObjectName("search")
        self.field.setPlaceholderText("Search movies and shows")
        self.field.setMaxLength(SEARCH_MAX)  # the server refuses longer searches with a 422
        self.field.textEdited.connect(lambda text: registry.post(Search(text)))
        self.info = heading("", "muted")
        self.results = CardList(registry.services.settings.display, posters, row=False)
        self.results.activated_card.connect(lambda card: registry.post(OpenItem(card.id)))
        self.results.leave_up.connect(self.field.setFocus)
        layout.addWidget(self.field)
        layout.addWidget(self.info)
        layout.addWidget(self.results, 1)
        self.field.installEventFilter(self)
        self.hide()

    def eventFilter(self, obj: object, event: object) -> bool:
        from PyQt6.QtCore import QEvent
        from PyQt6.QtGui import QKeyEvent

        if (
            obj is self.field
            and isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() == Qt.Key.Key_Down
            and self.results.count()
        ):
            self.results.setFocus()
            return True
        return False

    def open_with(self, text: str) -> None:
        """Opened at once by the window on the first key, so the next keys land in the field;
        the UI domain's SearchOverlay event for the same opening then changes nothing."""
        if self.isVisible():
            return
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.show()
        self.raise_()
        self.field.setText(text)
        if text:
            self.registry.post(Search(text))
        self.field.setFocus()

    def on_event(self, event: CrossDomainEvent) -> None:
        if isinstance(event, SearchOverlay):
            if event.open:
                self.open_with(event.text)
            else:
                self.hide()
                self.field.clear()
                self.results.clear()
                self.info.setText("")
        elif isinstance(event, SearchResults) and event.text == self.field.text():
            self.results.set_cards(event.cards)
            if event.strategy == "none":
                self.info.setText("Type at least 3 letters.")
            else:
                source = {"client": "this device", "server": "the server"}.get(
                    event.winner, event.winner
                )
                self.info.setText(
                    f"{event.total} found · answered by {source} "
                    f"({event.strategy.replace('_', ' ')}, "
                    f"{event.elapsed_ms:.0f} ms)"
                )
        elif isinstance(event, SettingsChanged):
            self.results.apply_display(event.settings.display)


__all__ = ["HomeScreen", "LibraryScreen", "QLabel", "SearchOverlayWidget"]
