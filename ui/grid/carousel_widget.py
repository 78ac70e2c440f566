"""A home row as a Qt widget: a :class:`~ui.grid.widget.PosterGrid` canvas showing a
:class:`~ui.grid.carousel.CarouselView` instead of a grid.

The home screen stacks several of these; Up/Down leave the row (``row_signals.leave``), keys the
row does not use (letters for search, Esc) go on to the window.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from PyQt6.QtCore import QEvent, QObject, Qt, pyqtSignal
from PyQt6.QtWidgets import QSizePolicy, QWidget
from vispy import app

from sync.feed_types import Card
from ui.grid.carousel import CarouselView, row_height
from ui.grid.source import ListSource
from ui.grid.text_qt import QtTitles
from ui.grid.view import WatchInfo
from ui.grid.widget import PosterGrid
from ui.images.types import PosterProvider
from ui.settings.model import DisplaySettings, PerformanceSettings


class RowSignals(QObject):
    leave = pyqtSignal(int)  # -1 up, +1 down


class CarouselRow(PosterGrid):
    def __init__(
        self,
        cards: Sequence[Card],
        posters: PosterProvider | None = None,
        *,
        display: DisplaySettings | None = None,
        performance: PerformanceSettings | None = None,
        watch: Callable[[Card], WatchInfo | None] | None = None,
        parent: QWidget | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        display = display or DisplaySettings()
        source = ListSource(list(cards))
        super().__init__(
            source,
            posters,
            display=display,
            performance=performance,
            watch=watch,
            parent=parent,
            size=(1280, row_height(display)),
            clock=clock,
        )
        self.row_signals = RowSignals()
        self.view: CarouselView = CarouselView(
            source,
            QtTitles(),
            posters,
            display=display,
            performance=performance,
            watch=watch,
            on_action=self._action,
            on_leave=self.row_signals.leave.emit,
        )
        self.view.set_active(False)
        widget = self.widget
        widget.setFixedHeight(row_height(display))
        widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._focus = _FocusWatch(self)
        widget.installEventFilter(self._focus)

    def apply_settings(self, display: DisplaySettings, performance: PerformanceSettings) -> None:
        self.widget.setFixedHeight(row_height(display))
        super().apply_settings(display, performance)

    def on_key_press(self, event: app.canvas.KeyEvent) -> None:
        super().on_key_press(event)
        if not event.handled and event.native is not None:
            event.native.ignore()  # up to the window: search on a letter, Esc goes back


class _FocusWatch(QObject):
    """Only the focused row shows its focus scale."""

    def __init__(self, row: CarouselRow) -> None:
        super().__init__()
        self.row = row

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:
        if event is not None and event.type() in (QEvent.Type.FocusIn, QEvent.Type.FocusOut):
            self.row.view.set_active(event.type() == QEvent.Type.FocusIn)
            self.row.update()
        return False
