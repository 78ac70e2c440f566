"""What the domains share instead of calling each other, filled in by the app (and by tests).

A domain reads these at handling time, so the API client the Auth domain creates on login is the
one the next Media message uses. ``extra`` is for domains that plug in later (playback) and need
a service of their own without a change here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sync.auth_types import Me
from ui.net.client import ApiClient
from ui.net.credentials import CredentialStore
from ui.settings.model import Settings
from ui.settings.store import LocalState, SettingsStore


@dataclass
class Services:
    store: SettingsStore | None = None
    local: LocalState = field(default_factory=LocalState)
    credentials: CredentialStore | None = None
    settings: Settings = field(default_factory=Settings)
    api: ApiClient | None = None
    """Set once a server is chosen; carries the session's tokens after login."""
    me: Me | None = None
    """The logged-in user, scope and effective permissions (None when logged out)."""
    replica: Any = None
    """``sync.replica.Replica`` of the current server and user, when one exists on disk."""
    online: bool = False
    discovery: Any = None
    """``ui.net.discovery.DiscoveryBrowser`` (``snapshot()``) while the app browses the LAN for
    appliances; None in tests and where browsing could not start."""
    extra: dict[str, Any] = field(default_factory=dict)

    def can(self, permission: str) -> bool:
        return self.me is not None and permission in self.me.permissions

    def save_local(self) -> None:
        if self.store is not None:
            self.store.save_state(self.local)
