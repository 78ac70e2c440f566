"""Glue between the main window and the Player domain: provides the overlay sink, shows a
``PlayerView`` in the window's screen stack when a session starts and goes back when it ends.

The main window wires it with one line: ``PlayerHost(registry, self.stack)``.
"""

from __future__ import annotations

from PyQt6.QtWidgets import QStackedWidget, QWidget

from ui.domains.core import CrossDomainEvent, DomainRegistry
from ui.domains.player import PlayerStarted, PlayerStopped, StopPlayback
from ui.playback.gst import Gst
from ui.playback.widget import PlayerView, overlay_sink


class PlayerHost:
    def __init__(self, registry: DomainRegistry, stack: QStackedWidget) -> None:
        self.registry = registry
        self.stack = stack
        self.view: PlayerView | None = None
        self.previous: QWidget | None = None
        self.note = ""
        registry.services.extra["video_sink"] = self._sink
        registry.listen(self.on_event)

    def _sink(self) -> Gst.Element:
        sink, self.note = overlay_sink()
        return sink

    def on_event(self, event: CrossDomainEvent) -> None:
        if isinstance(event, PlayerStarted) and event.sink is not None:
            self._close_view()
            self.previous = self.stack.currentWidget()
            view = PlayerView(event.session, event.sink)
            view.on_leave.append(lambda: self.registry.post(StopPlayback()))
            self.stack.addWidget(view)
            self.stack.setCurrentWidget(view)
            view.setFocus()
            self.view = view
        elif isinstance(event, PlayerStopped):
            self._close_view()

    def _close_view(self) -> None:
        view, self.view = self.view, None
        if view is None:
            return
        if self.previous is not None:
            self.stack.setCurrentWidget(self.previous)
        self.stack.removeWidget(view)
        view.deleteLater()
