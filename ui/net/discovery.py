"""Finding appliances on the LAN: a browser for ``_ferrex._tcp`` (mDNS / DNS-SD).

python-zeroconf's thread-based ``ServiceBrowser`` calls back on zeroconf's own thread; the
browser keeps what it found in a dict under a lock, and the UI (a QTimer on the connect screen)
or the ``discover`` command reads ``snapshot()``. No Qt or trio here, so both use it as is.
A service that sends goodbye (its appliance stopped) is removed at once.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from sync.discovery import SERVICE_TYPE, FoundServer, parse

if TYPE_CHECKING:
    from zeroconf import ServiceBrowser, ServiceStateChange, Zeroconf

RESOLVE_TIMEOUT_MS = 3000


class DiscoveryBrowser:
    """Browses while started; ``snapshot()`` is the appliances seen and not gone, by name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._found: dict[str, FoundServer] = {}
        self._generation: dict[str, int] = {}
        """Per name, bumped by every change: a resolve that finishes after a newer change (a
        goodbye, say) is dropped instead of bringing back what is gone."""
        self._zeroconf: Zeroconf | None = None
        self._browser: ServiceBrowser | None = None
        self.changed = threading.Event()
        """Set whenever the list changes (for waiting in tests and the CLI)."""

    def start(self) -> None:
        from zeroconf import ServiceBrowser, Zeroconf

        self._zeroconf = Zeroconf()
        self._browser = ServiceBrowser(self._zeroconf, SERVICE_TYPE, handlers=[self._on_change])

    def close(self) -> None:
        if self._browser is not None:
            self._browser.cancel()
            self._browser = None
        if self._zeroconf is not None:
            self._zeroconf.close()
            self._zeroconf = None

    def __enter__(self) -> DiscoveryBrowser:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def snapshot(self) -> list[FoundServer]:
        with self._lock:
            return sorted(self._found.values(), key=lambda f: (f.name.lower(), f.server_id))

    def _on_change(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        from zeroconf import ServiceStateChange

        with self._lock:
            generation = self._generation[name] = self._generation.get(name, 0) + 1
            gone = (
                self._found.pop(name, None) if state_change is ServiceStateChange.Removed else None
            )
        if gone is not None:
            self.changed.set()
        if state_change is ServiceStateChange.Removed:
            return
        # Added or Updated (a claim changes the TXT record): resolve off zeroconf's thread,
        # which must not block on its own queries
        threading.Thread(
            target=self._resolve, args=(zeroconf, service_type, name, generation), daemon=True
        ).start()

    def _resolve(self, zeroconf: Zeroconf, service_type: str, name: str, generation: int) -> None:
        from zeroconf import ServiceInfo

        info = ServiceInfo(service_type, name)
        if not info.request(zeroconf, RESOLVE_TIMEOUT_MS):
            return
        found = parse(name, dict(info.properties), info.parsed_scoped_addresses(), info.port or 0)
        if found is None:
            return
        with self._lock:
            if self._generation.get(name) != generation or self._found.get(name) == found:
                return
            self._found[name] = found
        self.changed.set()


def discover(timeout: float) -> list[FoundServer]:
    """Browse for ``timeout`` seconds and return what was found (``ferrex-player discover``)."""
    with DiscoveryBrowser() as browser:
        time.sleep(timeout)
        return browser.snapshot()
