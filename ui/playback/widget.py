"""Video in the player window: a native child window the sink draws into (GstVideoOverlay),
and the controls drawn above it, hidden after a few seconds without input.

X11: the ``VideoSurface`` is a native window (``WA_NativeWindow``) whose id goes to xvimagesink
(XVideo present), else ximagesink, via ``set_window_handle``; Qt does not paint it
(``WA_PaintOnScreen`` + no paint engine), so nothing fights the sink. The controls are a second
native window, a sibling raised above the video, so they are composited by the X server above
the video without any alpha tricks.

Wayland (``QT_QPA_PLATFORM=wayland``): waylandsink draws into a subsurface of the
``VideoSurface``'s own ``wl_surface`` (a native child window is a Qt subsurface; Qt's
client-side frame is off, see ``wayland.without_client_frame``), given Qt's
``wl_display`` as a context and the child's ``winId()`` (its ``wl_surface`` on Qt >= 6.9) as the
window handle, plus ``set_render_rectangle`` on every resize; see ``ui.playback.wayland``. The
controls are sibling subsurfaces stacked above the video child, and so above the sink's
subsurface, which hangs under it.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QEvent, QObject, Qt, QTimer
from PyQt6.QtGui import (
    QColor,
    QGuiApplication,
    QKeyEvent,
    QPaintEngine,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
)
from PyQt6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ui.playback.engine import set_window_handle
from ui.playback.gst import Gst, GstVideo, element, has_element
from ui.playback.keys import DEFAULT, Action, KeyMap
from ui.playback.session import PlaybackSession, Status, UpNext
from ui.playback.wayland import answer_need_context, give_display, qt_display

HIDE_AFTER_MS = 3000
CONTROLS_HEIGHT = 56
SLIDER_MIN_WIDTH = 160
"""What the seek slider keeps at the narrowest window (800 px) with every label shown."""
UP_NEXT_SIZE = (380, 132)
BAR_COLOR = "#141414"
LOCAL_TEXT = "Playing the downloaded copy"
CARD_COLOR = "#1e1e1e"


class Panel(QWidget):
    """A native window above the video that paints its own opaque background. Not through
    ``autoFillBackground`` + a style sheet's ``background``: a plain QWidget subclass only
    gets that from its palette, which the style sheet does not always reach (the bar was
    drawn in the default light grey inside the app's screen stack: the dark-bar pixel check
    of test_playback_qt failed and the light time text was unreadable on it)."""

    def __init__(self, parent: QWidget, color: str) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_NativeWindow)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._color = QColor(color)

    def paintEvent(self, event: QPaintEvent | None) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self._color)
        painter.end()


def overlay_sink(platform: str | None = None) -> tuple[Gst.Element, str]:
    """The sink for the window and a note for the log: xvimagesink where the X server has
    XVideo (hardware scaling), else ximagesink; on Wayland see the module docstring."""
    name = platform or QGuiApplication.platformName()
    if name == "wayland":
        if not has_element("waylandsink"):
            raise RuntimeError(
                "No Wayland video sink: install gstreamer1.0-plugins-bad (waylandsink)"
            )
        sink = element("waylandsink")
        give_display(sink, qt_display())  # before the window handle: same connection
        return sink, "waylandsink (subsurface) into the window"
    for factory in ("xvimagesink", "ximagesink"):
        if not has_element(factory):
            continue
        sink = element(factory)
        if sink.set_state(Gst.State.READY) == Gst.StateChangeReturn.FAILURE:
            sink.set_state(Gst.State.NULL)  # e.g. no XVideo adaptor (Xvfb, some VMs)
            continue
        sink.set_state(Gst.State.NULL)
        sink.set_property("handle-events", False)  # keys and mouse stay with Qt
        sink.set_property("force-aspect-ratio", True)
        if factory == "ximagesink":
            return software_scaled(sink), "ximagesink (scaled in software) into the window"
        return sink, f"{factory} into the window"
    raise RuntimeError(
        "No X11 video sink: install gstreamer1.0-plugins-base (ximagesink) or gstreamer1.0-x"
    )


FIT = "fit"


def software_scaled(sink: Gst.Element) -> Gst.Bin:
    """ximagesink draws frames at their own size (no XVideo, no scaling) and picks that size
    once, at negotiation, from whatever the window measured then; so scale in software to
    the window's size, kept current by ``VideoSurface`` through the capsfilter named
    ``FIT`` (a caps change renegotiates upstream). ``add-borders`` keeps the aspect ratio."""
    bin_ = Gst.Bin.new("scaled-x11-sink")
    scale = element("videoscale")
    scale.set_property("add-borders", True)
    fit = element("capsfilter", FIT)
    for part in (scale, fit, sink):
        bin_.add(part)
    scale.link(fit)
    fit.link(sink)
    pad = scale.get_static_pad("sink")
    assert pad is not None
    bin_.add_pad(Gst.GhostPad.new("sink", pad))
    return bin_


def overlay_of(sink: Gst.Element) -> Gst.Element | None:
    """The element that takes the window handle: the sink itself, or the one in its bin."""
    from ui.playback.gst import GstVideo

    if isinstance(sink, GstVideo.VideoOverlay):
        return sink
    if isinstance(sink, Gst.Bin):
        found = sink.get_by_interface(GstVideo.VideoOverlay.__gtype__)
        return found if isinstance(found, Gst.Element) else None
    return None


class VideoSurface(QWidget):
    """A native window for the sink; Qt never paints it on X11. On Wayland Qt paints it black
    once: a subsurface without a buffer is not mapped, nor is the sink's subsurface under it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wayland = QGuiApplication.platformName() == "wayland"
        self.setAttribute(Qt.WidgetAttribute.WA_NativeWindow)
        if not self.wayland:
            self.setAttribute(Qt.WidgetAttribute.WA_PaintOnScreen)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setStyleSheet("background: black")
        self.sink: Gst.Element | None = None
        self.fit: Gst.Element | None = None
        self._fitted: tuple[int, int] | None = None
        self.rectangle: tuple[int, int, int, int] | None = None
        """The sink's render rectangle on Wayland, in the surface's (logical) pixels."""

    def paintEngine(self) -> QPaintEngine | None:
        return super().paintEngine() if self.wayland else None

    def paintEvent(self, event: QPaintEvent | None) -> None:
        if self.wayland:
            painter = QPainter(self)
            painter.fillRect(self.rect(), QColor("black"))
            painter.end()

    def attach(self, sink: Gst.Element) -> None:
        """X11: the handle now. Wayland: only when the sink asks (``prepare-window-handle``,
        answered by the engine with ``window_handle`` and ``render_rectangle``): by then it
        is in the pipeline and has asked for Qt's display on the bus; given the surface
        before that, a sink without the display would open its own connection and fail."""
        overlay = overlay_of(sink)
        if overlay is None or not (
            isinstance(overlay, GstVideo.VideoOverlay)
            if self.wayland
            else set_window_handle(overlay, int(self.winId()))
        ):
            raise RuntimeError(f"{sink.get_name()} cannot draw into a window")
        self.sink = overlay
        self.fit = sink.get_by_name(FIT) if isinstance(sink, Gst.Bin) else None
        self._fit()
        self._place()

    def _place(self) -> None:
        """waylandsink's subsurface: its own position and size, not the window's; none is
        drawn until it has one (the X11 sinks fill the window and need none)."""
        if not self.wayland or self.sink is None:
            return
        rectangle = (0, 0, max(1, self.width()), max(1, self.height()))
        if rectangle != self.rectangle:
            self.rectangle = rectangle
            if isinstance(self.sink, GstVideo.VideoOverlay):
                self.sink.set_render_rectangle(*rectangle)

    def resizeEvent(self, event: QResizeEvent | None) -> None:
        super().resizeEvent(event)
        self._fit()
        self._place()
        self._expose_soon()

    def _expose_soon(self) -> None:
        """The sinks run with ``handle-events`` off (keys and mouse stay with Qt), so they
        never see ConfigureNotify and learn the window's size only from ``expose()``, which
        asks the X server. Qt sends the resize to the server only when its loop next
        flushes, so an expose from inside ``resizeEvent`` can read the old size (a native
        child starts at 100x30) and the sink keeps drawing into that corner. Expose now and
        again once the loop has flushed."""
        self._expose()
        QTimer.singleShot(0, self._expose)
        QTimer.singleShot(100, self._expose)

    def _fit(self) -> None:
        """Frames the size of the window, in device pixels (software-scaled sink only)."""
        if self.fit is None:
            return
        ratio = self.devicePixelRatioF()
        size = (max(2, round(self.width() * ratio)), max(2, round(self.height() * ratio)))
        if size == self._fitted:
            return
        self._fitted = size
        self.fit.set_property(
            "caps",
            Gst.Caps.from_string(
                f"video/x-raw,width={size[0]},height={size[1]},pixel-aspect-ratio=1/1"
            ),
        )

    def event(self, event: QEvent | None) -> bool:
        if event is not None and event.type() == QEvent.Type.Paint:
            self._expose()
        elif event is not None and event.type() == QEvent.Type.Show:
            self._expose_soon()
        return super().event(event)

    def refresh(self) -> None:
        self._expose_soon()

    def _expose(self) -> None:
        if self.sink is not None and isinstance(self.sink, Gst.Element):
            from ui.playback.gst import GstVideo

            if isinstance(self.sink, GstVideo.VideoOverlay):
                self.sink.expose()


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    return (
        f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
        if hours
        else f"{rest // 60:02d}:{rest % 60:02d}"
    )


def _clock_template(seconds: float | None) -> str:
    """The widest text ``_clock`` gives for times up to ``seconds`` (digits as 0s): the time
    label is sized for it once per duration, so it never clips nor jitters while playing."""
    return "0:00:00" if seconds is not None and seconds >= 3600 else "00:00"


class ElidedLabel(QLabel):
    """A label that takes whatever room is left and ends its text with "…" when it does not
    fit: a long message must not squeeze the slider or push the other labels over each
    other (a QLabel's minimum width is its whole text)."""

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(0)

    def paintEvent(self, event: QPaintEvent | None) -> None:
        painter = QPainter(self)
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        style = self.style()
        if style is not None:
            style.drawItemText(
                painter,
                rect,
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                self.palette(),
                self.isEnabled(),
                text,
                QPalette.ColorRole.WindowText,
            )
        painter.end()


class ControlsBar(Panel):
    """Play/pause, position, time, speed, the HDR badge and messages; a native sibling window
    above the video (see the module docstring).

    Layout from 800 px up: the button, time, speed and badge keep their whole text (fixed
    width: the time label's from its widest text for the duration), the slider takes the
    room (never under ``SLIDER_MIN_WIDTH``), a message gets what is left, elided."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent, BAR_COLOR)
        self.setStyleSheet(f"background: {BAR_COLOR}; color: #eeeeee; font-size: 13px")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        self.play = QPushButton("Play")
        self.play.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.position = QSlider(Qt.Orientation.Horizontal)
        self.position.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.position.setMinimumWidth(SLIDER_MIN_WIDTH)
        self.position.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.time = QLabel("--:-- / --:--")
        self.time.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._time_for: str | None = None
        self.speed = QLabel("")
        self.badge = QLabel("")
        self.badge.setStyleSheet(
            "background: #c9a227; color: black; padding: 2px 6px;"
            "border-radius: 3px; font-weight: bold"
        )
        self.badge.hide()
        self.source = QLabel(LOCAL_TEXT)
        self.source.setStyleSheet(
            "background: #2e7d32; color: white; padding: 2px 6px; border-radius: 3px"
        )
        self.source.setToolTip("No bytes over the network: the file downloaded to this device.")
        self.source.hide()
        self.message = ElidedLabel("")
        self.message.setStyleSheet("color: #ff8a80")
        self.message.hide()
        for label in (self.time, self.speed):
            label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self.badge.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.source.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        layout.setSpacing(10)
        for widget, stretch in (
            (self.play, 0),
            (self.position, 3),
            (self.time, 0),
            (self.speed, 0),
            (self.badge, 0),
            (self.source, 0),
            (self.message, 1),
        ):
            layout.addWidget(widget, stretch)
        self._size_time(None)

    def _size_time(self, duration_s: float | None) -> None:
        """Width of the time label for this duration's widest text (see _clock_template)."""
        template = _clock_template(duration_s)
        if template == self._time_for:
            return
        self._time_for = template
        self.time.ensurePolished()  # the style sheet's font, before measuring
        width = self.time.fontMetrics().horizontalAdvance(f"{template} / {template}")
        self.time.setFixedWidth(width + 8)

    def show_status(self, status: Status, rate: float, *, local: bool = False) -> None:
        """``local``: the session plays the downloaded copy (``StreamInfo.local``)."""
        self.play.setText("Pause" if status.playing else "Play")
        duration = status.duration_s or 0.0
        self.position.setRange(0, int(duration * 10))
        if not self.position.isSliderDown():  # the user is dragging it
            self.position.setValue(int(status.position_s * 10))
        self._size_time(status.duration_s)
        self.time.setText(f"{_clock(status.position_s)} / {_clock(status.duration_s)}")
        self.speed.setText("" if rate == 1.0 else f"{rate:g}x")
        self.speed.setVisible(rate != 1.0)
        self.source.setVisible(local)
        hdr = status.hdr
        if hdr is not None and hdr.badge:
            self.badge.setText(hdr.badge)
            self.badge.setToolTip(hdr.reason)
            self.badge.show()
        else:
            self.badge.hide()
        if status.error is not None:
            retry = f" (retry {status.retrying})" if status.retrying else ""
            self.show_message(status.error.message + retry)
        elif status.buffering < 100:
            self.show_message(f"Buffering {status.buffering} %")
        else:
            self.show_message("")

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setToolTip(text)
        self.message.setVisible(bool(text))


class UpNextCard(Panel):
    """At the end of an episode: the next one and a countdown, "Play now" (Enter) and "Cancel"
    (Esc), in the bottom right corner like the players people know; a native sibling window
    above the video, as the controls are."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent, CARD_COLOR)
        self.setStyleSheet(
            f"QLabel {{ background: {CARD_COLOR}; color: #eeeeee;"
            " font-size: 13px }"
            "QPushButton { background: #3a3a3a; color: #eeeeee;"
            " padding: 4px 12px; border: none; border-radius: 3px }"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        self.heading = QLabel("Up next")
        self.heading.setStyleSheet("color: #9e9e9e; font-size: 12px")
        self.title = ElidedLabel("")
        self.title.setStyleSheet("font-size: 15px; font-weight: bold")
        self.countdown = QLabel("")
        buttons = QHBoxLayout()
        self.play_now = QPushButton("Play now")
        self.play_now.setStyleSheet(
            "background: #e5e5e5; color: black; font-weight: bold;"
            "padding: 4px 12px; border: none; border-radius: 3px"
        )
        self.cancel = QPushButton("Cancel")
        for b in (self.play_now, self.cancel):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            buttons.addWidget(b)
        buttons.addStretch(1)
        for widget in (self.heading, self.title, self.countdown):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        self.hide()

    def show_up_next(self, up_next: UpNext) -> None:
        self.title.setText(up_next.label)
        self.title.setToolTip(up_next.label)
        self.countdown.setText(f"Starts in {up_next.seconds_left} s")


class PlayerView(QWidget):
    """The player screen: video, controls above it, keys (``keys.DEFAULT``)."""

    def __init__(
        self,
        session: PlaybackSession,
        sink: Gst.Element,
        *,
        keymap: KeyMap = DEFAULT,
        hide_after_ms: int = HIDE_AFTER_MS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.keymap = keymap
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setStyleSheet("background: black")
        self.video = VideoSurface(self)
        if self.video.wayland:  # before attach: the handle makes a sink without one ask
            display = qt_display()
            session.engine.need_context = lambda message: answer_need_context(message, display)
        self.video.attach(sink)
        session.engine.window_handle = int(self.video.winId())
        session.engine.render_rectangle = self.video.rectangle
        self.controls = ControlsBar(self)
        self.controls.play.clicked.connect(session.toggle)
        self.up_next = UpNextCard(self)
        self.up_next.play_now.clicked.connect(session.play_next_now)
        self.up_next.cancel.clicked.connect(session.cancel_next)
        self._left = False
        self.controls.position.sliderReleased.connect(
            lambda: session.seek(self.controls.position.value() / 10)
        )
        self._hide = QTimer(self)
        self._hide.setSingleShot(True)
        self._hide.setInterval(hide_after_ms)
        self._hide.timeout.connect(self._auto_hide)
        self.setMouseTracking(True)
        self.video.setMouseTracking(True)
        self.video.installEventFilter(self)
        self.on_leave: list[Callable[[], None]] = []
        self.on_external: list[Callable[[], None]] = []
        self._started: tuple[float | None, bool] = (None, False)
        session.on_status = self.show_status
        self.wake()

    @property
    def local(self) -> bool:
        """The session plays the downloaded copy: the bar says so."""
        info = self.session.info
        return info is not None and info.local

    def show_status(self, status: Status) -> None:
        started = (status.first_frame_s, status.playing)
        if started != self._started:
            self._started = started
            self.video.refresh()  # the sink re-reads the window's size (see VideoSurface)
        self.controls.show_status(status, self.session.engine.rate, local=self.local)
        if status.error is not None:
            self.wake()
        if status.up_next is not None:
            self.up_next.show_up_next(status.up_next)
            if not self.up_next.isVisible():
                self.up_next.show()
                self.up_next.raise_()
                self.wake()
        elif self.up_next.isVisible():
            self.up_next.hide()
        if status.ended and not self._left:
            self._left = True  # the film is over (or no next episode): back to the details
            QTimer.singleShot(0, self._leave)

    def _leave(self) -> None:
        for callback in self.on_leave:
            callback()

    def wake(self) -> None:
        """Show the controls; they hide again after a while without input, once playing."""
        self.controls.show()
        self.controls.raise_()
        self._hide.start()

    def _auto_hide(self) -> None:
        if self.session.engine.playing and self.session.status.error is None:
            self.controls.hide()
            self.setCursor(Qt.CursorShape.BlankCursor)
        else:
            self._hide.start()  # paused or in error: stay, look again later

    def resizeEvent(self, event: QResizeEvent | None) -> None:
        super().resizeEvent(event)
        self.video.setGeometry(0, 0, self.width(), self.height())
        if self.video.wayland:  # for the sink's prepare-window-handle (streaming thread)
            self.session.engine.render_rectangle = (0, 0, self.width(), self.height())
        self.controls.setGeometry(0, self.height() - CONTROLS_HEIGHT, self.width(), CONTROLS_HEIGHT)
        width, height = min(UP_NEXT_SIZE[0], self.width() - 48), UP_NEXT_SIZE[1]
        self.up_next.setGeometry(
            self.width() - width - 24, self.height() - CONTROLS_HEIGHT - height - 24, width, height
        )
        self.controls.raise_()
        self.up_next.raise_()

    def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:
        if event is not None and event.type() == QEvent.Type.MouseMove:
            self.unsetCursor()
            self.wake()
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent | None) -> None:
        if event is None:
            return
        if self.session.status.up_next is not None and self._answer_up_next(event.key()):
            return
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        action = self.keymap.action(event.key(), shift)
        if action is None:
            super().keyPressEvent(event)
            return
        self.wake()
        self.perform(action)

    def _answer_up_next(self, key: int) -> bool:
        """Enter or Space: play the next episode now; Esc: cancel (and go back)."""
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.session.play_next_now()
            return True
        if key == Qt.Key.Key_Escape:
            self.session.cancel_next()
            return True
        return False

    def perform(self, action: Action) -> None:
        s = self.session
        if action == "toggle":
            s.toggle()
        elif action in ("back", "forward", "back_large", "forward_large"):
            s.step(forward=action.startswith("forward"), large=action.endswith("large"))
        elif action in ("volume_up", "volume_down"):
            s.change_volume(0.05 if action == "volume_up" else -0.05)
        elif action == "mute":
            s.toggle_mute()
        elif action in ("faster", "slower"):
            s.faster(action == "faster")
        elif action == "cycle_audio":
            tracks = s.engine.tracks("audio")
            if tracks:
                s.select_audio((s.engine.audio_track + 1) % len(tracks))
        elif action == "cycle_subtitles":
            choices = [c for _, c in s.subtitle_choices()]
            here = choices.index(s.subtitle_choice) if s.subtitle_choice in choices else 0
            s.select_subtitle(choices[(here + 1) % len(choices)])
        elif action in ("next_chapter", "previous_chapter"):
            s.skip_chapter(action == "next_chapter")
        elif action == "restart":
            s.seek(0.0)
        elif action == "fullscreen":
            window = self.window()
            if window is not None:
                window.setWindowState(window.windowState() ^ Qt.WindowState.WindowFullScreen)
        elif action == "leave":
            window = self.window()
            if window is not None and window.isFullScreen():
                window.showNormal()
            else:
                for callback in self.on_leave:
                    callback()
        elif action == "external_player":
            for callback in self.on_external:
                callback()
        self.controls.show_status(s.status, s.engine.rate, local=self.local)
