"""View changes on the screen stack: the detail panel slides in and out, other changes crossfade.

The motion controller's panel slide and crossfade tweens are stepped on the window's frame clock
(``QWindow.requestUpdate``: one UpdateRequest per frame the display can show), not on a timer, and
a Display setting "animations" off makes every change instant. While a transition runs, a
transparent overlay on the stack paints the screen being left (a picture taken just before the
change): under the live detail panel as it slides in, or over the live screen below it as the
panel slides out or the old view fades.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum

from PyQt6 import sip
from PyQt6.QtCore import QEvent, QObject, Qt
from PyQt6.QtGui import QPainter, QPaintEvent, QPixmap, QWindow
from PyQt6.QtWidgets import QStackedWidget, QWidget

from ui.motion.controller import MotionController
from ui.motion.tween import Tween


class Kind(Enum):
    CROSSFADE = "crossfade"
    SLIDE_IN = "slide_in"  # the new screen is the panel, coming in from the right
    SLIDE_OUT = "slide_out"  # the old screen is the panel, leaving to the right


class ScreenTransition(QWidget):
    def __init__(
        self, stack: QStackedWidget, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        super().__init__(stack)
        self.stack = stack
        self.clock = clock
        self.motion = MotionController()
        self.kind: Kind | None = None
        self.frames = 0  # frames stepped by the current (or last) transition
        self._old: QPixmap | None = None
        self._panel: QWidget | None = None
        self._window: QWindow | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hide()

    @property
    def animations(self) -> bool:
        return self.motion.animations

    @animations.setter
    def animations(self, on: bool) -> None:
        self.motion.animations = on
        if not on:
            self.finish()

    @property
    def active(self) -> bool:
        return self.kind is not None

    def change(self, new: QWidget, kind: Kind) -> None:
        """Make ``new`` the stack's current screen, animated as ``kind``."""
        old = self.stack.currentWidget()
        self.finish()
        if old is None or old is new or not self.animations or not self.stack.isVisible():
            self.stack.setCurrentWidget(new)
            return
        picture = old.grab()
        self.stack.setCurrentWidget(new)
        self.motion.tick(self.clock())
        self._old, self.kind, self.frames = picture, kind, 0
        self.setGeometry(self.stack.rect())
        self.show()
        if kind is Kind.SLIDE_IN:
            self.motion.panel = None
            self.motion.slide_panel(True)
            self._panel = new
            self.stackUnder(new)  # the old picture below, the live panel moving over it
        else:
            if kind is Kind.SLIDE_OUT:
                self.motion.panel = Tween(1.0, 1.0, self.motion.now, 0.0)
                self.motion.slide_panel(False)
            else:
                self.motion.start_crossfade()
            self.raise_()
        self._apply()
        self._request_frame()

    def panel_x(self) -> int:
        """Left edge of the sliding panel in stack pixels (0 when fully in)."""
        return round((1.0 - self.motion.panel_position()) * self.stack.width())

    def finish(self) -> None:
        """End the running transition at its end state."""
        if self._panel is not None:
            self._panel.move(0, 0)
        self._panel, self._old, self.kind = None, None, None
        self.hide()

    def _apply(self) -> None:
        if not self.motion.active:
            self.finish()
            return
        if self._panel is not None:
            self._panel.move(self.panel_x(), 0)
        self.update()

    def _request_frame(self) -> None:
        top = self.window()
        window = top.windowHandle() if top is not None else None
        if window is None:
            self.finish()
            return
        if window is not self._window:
            if self._window is not None and not sip.isdeleted(self._window):
                self._window.removeEventFilter(self)  # (a native child can replace the window)
            window.installEventFilter(self)
            self._window = window
        window.requestUpdate()

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:
        if event is not None and event.type() == QEvent.Type.UpdateRequest and self.active:
            self.motion.tick(self.clock())
            self.frames += 1
            self._apply()
            if self.active and isinstance(obj, QWindow):
                obj.requestUpdate()
        return False  # the window still repaints as usual on this frame

    def paintEvent(self, event: QPaintEvent | None) -> None:
        if self._old is None or self.kind is None:
            return
        painter = QPainter(self)
        if self.kind is Kind.SLIDE_IN:
            painter.drawPixmap(0, 0, self._old)
        elif self.kind is Kind.SLIDE_OUT:
            painter.drawPixmap(self.panel_x(), 0, self._old)
        else:
            painter.setOpacity(1.0 - self.motion.crossfade_alpha())
            painter.drawPixmap(0, 0, self._old)
        painter.end()
