"""What every screen has: the registry to post to, an event hook, and its first focus."""

from __future__ import annotations

from PyQt6.QtWidgets import QWidget

from ui.domains.core import CrossDomainEvent, DomainMessage, DomainRegistry
from ui.domains.services import Services


class Screen(QWidget):
    name = ""

    def __init__(self, registry: DomainRegistry) -> None:
        super().__init__()
        self.setObjectName("screen")
        self.registry = registry

    @property
    def services(self) -> Services:
        return self.registry.services

    def post(self, message: DomainMessage) -> None:
        self.registry.post(message)

    def on_event(self, event: CrossDomainEvent) -> None:
        """Domain events, on the UI thread (trio runs as Qt's guest)."""

    def shown(self) -> None:
        """Called when the screen becomes current: give focus to its first control."""
