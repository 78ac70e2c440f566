"""The poster grid as a Qt widget: a vispy Canvas (pyqt6 backend) around a :class:`GridView`.

Embed ``PosterGrid(...).native`` in a layout. Actions from the flipped card's back face (and Enter)
come out as Qt signals carrying the :class:`~sync.feed_types.Card`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PyQt6.QtCore import QEvent, QObject, QTimer, pyqtSignal
from PyQt6.QtWidgets import QWidget
from vispy import app, gloo

from sync.feed_types import Card
from ui.grid import residency
from ui.grid.renderer import use_instancing_gl
from ui.grid.source import CardSource
from ui.grid.text_qt import QtTitles
from ui.grid.view import GridView, WatchInfo
from ui.images.types import PosterProvider
from ui.settings.model import DisplaySettings, PerformanceSettings

use_instancing_gl()
app.use_app("pyqt6")


class GridSignals(QObject):
    play = pyqtSignal(object)
    details = pyqtSignal(object)
    mark_watched = pyqtSignal(object)
    selection_changed = pyqtSignal(int)


class PosterGrid(app.Canvas):  # type: ignore[misc]
    def __init__(
        self,
        source: CardSource,
        posters: PosterProvider | None = None,
        *,
        display: DisplaySettings | None = None,
        performance: PerformanceSettings | None = None,
        watch: Callable[[Card], WatchInfo | None] | None = None,
        parent: QWidget | None = None,
        size: tuple[int, int] = (1280, 800),
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        super().__init__(app="pyqt6", size=size, keys=None, parent=parent, show=False, vsync=True)
        self.signals = GridSignals()
        self.view = GridView(
            source,
            QtTitles(),
            posters,
            display=display,
            performance=performance,
            watch=watch,
            on_action=self._action,
        )
        self._selected = -1
        self._max_texture = 0
        self._clock = clock  # the frame clock; tests step it by hand
        # off screen for a while (another screen left open): the atlases go, see ui.grid.residency
        self._hidden_timer = QTimer(self.native)
        self._hidden_timer.setSingleShot(True)
        self._hidden_timer.setInterval(round(residency.HIDDEN_RELEASE_S * 1000))
        self._hidden_timer.timeout.connect(self._hidden_for_long)
        self._visibility = _VisibilityWatch(self._hidden_timer)
        self.native.installEventFilter(self._visibility)
        residency.track_view(self)

    def is_shown(self) -> bool:
        try:
            return bool(self.widget.isVisible())
        except RuntimeError:  # its Qt widget is gone (a replaced grid not yet collected)
            return False

    def release_gpu(self) -> bool:
        """Drop the atlases now (``GridView.release_gl`` with this canvas's context current);
        the next draw makes them again. A canvas whose Qt widget is gone took its context and
        textures with it: nothing to do."""
        if self.view.renderer is None:
            return False
        try:
            self.widget.isVisible()
        except RuntimeError:
            return False
        self.set_current()
        return self.view.release_gl()

    def _hidden_for_long(self) -> None:
        if not self.is_shown():
            self.release_gpu()

    @property
    def widget(self) -> QWidget:
        native: QWidget = self.native
        return native

    def apply_settings(self, display: DisplaySettings, performance: PerformanceSettings) -> None:
        resized = display != self.view.display
        self.view.apply_settings(display, performance)
        if resized:
            self._resize_view()
        self.update()

    def _resize_view(self) -> None:
        width, height = self.size
        self.view.resize(float(width), float(height), float(self.pixel_scale))

    def _action(self, name: str, card: Card) -> None:
        {
            "play": self.signals.play,
            "details": self.signals.details,
            "mark_watched": self.signals.mark_watched,
        }[name].emit(card)

    def on_resize(self, event: object) -> None:
        self._resize_view()
        self.update()

    def on_draw(self, event: object) -> None:
        if self.view.renderer is None:
            if not self._max_texture:
                self._max_texture = int(gloo.gl.glGetParameter(gloo.gl.GL_MAX_TEXTURE_SIZE))
            self._resize_view()
            self.view.attach_gl(self._max_texture)
        self.view.frame(self._clock(), tuple(self.physical_size))
        if self.view.selected != self._selected:
            self._selected = self.view.selected
            self.signals.selection_changed.emit(self._selected)
        if self.view.animating:
            self.update()  # the next frame comes at the display's pace (vsync)

    def on_key_press(self, event: app.canvas.KeyEvent) -> None:
        if event.key is None:
            return
        native = event.native
        repeat = bool(native is not None and native.isAutoRepeat())
        if self.view.key_press(
            event.key.name, "Shift" in [m.name for m in event.modifiers], repeat
        ):
            event.handled = True
            self.update()

    def on_key_release(self, event: app.canvas.KeyEvent) -> None:
        if event.key is None:
            return
        native = event.native
        repeat = bool(native is not None and native.isAutoRepeat())
        if self.view.key_release(event.key.name, repeat):
            event.handled = True
            self.update()

    def on_mouse_press(self, event: app.canvas.MouseEvent) -> None:
        x, y = event.pos
        self.view.click(float(x), float(y), right=event.button == 2)
        self.update()

    def on_mouse_wheel(self, event: app.canvas.MouseEvent) -> None:
        self.view.wheel(-float(event.delta[1]))
        self.update()


class _VisibilityWatch(QObject):
    """Arms the hidden-for-long timer when the canvas is hidden (its screen left the stack's
    top), disarms it when the canvas is shown again."""

    def __init__(self, timer: QTimer) -> None:
        super().__init__()
        self.timer = timer

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:
        if event is not None:
            if event.type() == QEvent.Type.Hide:
                self.timer.start()
            elif event.type() == QEvent.Type.Show:
                self.timer.stop()
        return False
