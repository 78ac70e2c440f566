"""The cross-domain events: what one domain announces and any other (or a screen) may react to.

They live in one module so a screen can subscribe to any of them without importing a domain.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sync.auth_types import DeviceOut, Me, UserOut
from sync.library_types import LibraryOut
from ui.domains.core import CrossDomainEvent
from ui.domains.views import CardView, DetailView, LibraryView
from ui.settings.model import Settings


@dataclass(frozen=True)
class ServerChosen(CrossDomainEvent):
    url: str
    reachable: bool
    claimed: bool = True
    local_client: bool = True


@dataclass(frozen=True)
class LoggedIn(CrossDomainEvent):
    username: str
    me: Me | None
    """None when started offline from the replica (permissions unknown until connected)."""
    offline: bool = False


@dataclass(frozen=True)
class LoggedOut(CrossDomainEvent):
    reason: str = ""


@dataclass(frozen=True)
class AuthFailed(CrossDomainEvent):
    text: str
    action: str  # "login" | "pin" | "claim" | "set_pin" | "password" | "connect"


@dataclass(frozen=True)
class PinSet(CrossDomainEvent):
    username: str


@dataclass(frozen=True)
class ConnectivityChanged(CrossDomainEvent):
    online: bool
    reason: str = ""


@dataclass(frozen=True)
class ServerEventReceived(CrossDomainEvent):
    type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class ReplicaUpdated(CrossDomainEvent):
    items: int


@dataclass(frozen=True)
class LibrariesChanged(CrossDomainEvent):
    libraries: tuple[LibraryView, ...]
    managed: tuple[LibraryOut, ...] = ()
    """Full records (roots, intervals), for the admin Libraries section."""


@dataclass(frozen=True)
class LibraryOpened(CrossDomainEvent):
    library: LibraryView
    cards: tuple[CardView, ...]
    total: int
    refresh: bool = False


@dataclass(frozen=True)
class ScanProgress(CrossDomainEvent):
    library_id: uuid.UUID
    state: str
    files_found: int = 0
    folders_walked: int = 0
    jobs_done: int = 0
    jobs_queued: int = 0
    errors: int = 0
    eta_s: float | None = None


@dataclass(frozen=True)
class HomeLoaded(CrossDomainEvent):
    rows: tuple[tuple[str, tuple[CardView, ...]], ...]
    libraries: tuple[LibraryView, ...]


@dataclass(frozen=True)
class DetailLoaded(CrossDomainEvent):
    detail: DetailView
    refresh: bool = False


@dataclass(frozen=True)
class WatchChanged(CrossDomainEvent):
    item_id: uuid.UUID
    watched: bool


@dataclass(frozen=True)
class ImageReady(CrossDomainEvent):
    image_id: str
    width: int
    data: bytes


@dataclass(frozen=True)
class PosterResolved(CrossDomainEvent):
    item_id: uuid.UUID
    image_id: str | None


@dataclass(frozen=True)
class SettingsChanged(CrossDomainEvent):
    settings: Settings
    section: str


@dataclass(frozen=True)
class ServerSettingsLoaded(CrossDomainEvent):
    values: dict[str, Any]


@dataclass(frozen=True)
class UsersLoaded(CrossDomainEvent):
    users: tuple[UserOut, ...]


@dataclass(frozen=True)
class DevicesLoaded(CrossDomainEvent):
    devices: tuple[DeviceOut, ...]


@dataclass(frozen=True)
class SearchResults(CrossDomainEvent):
    text: str
    cards: tuple[CardView, ...]
    total: int
    strategy: str
    winner: str
    elapsed_ms: float


@dataclass(frozen=True)
class ScreenChanged(CrossDomainEvent):
    screen: str
    previous: str | None = None


@dataclass(frozen=True)
class BannerChanged(CrossDomainEvent):
    text: str | None


@dataclass(frozen=True)
class SearchOverlay(CrossDomainEvent):
    open: bool
    text: str = ""
