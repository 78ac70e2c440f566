"""A flag that says whether a backing service can be used right now.

The supervisor flips it when the embedded Postgres or Redis dies and comes back; callers check it
first so that a request fails fast with 503 instead of hanging on a dead socket.
"""

from __future__ import annotations

import time


class Unavailable(Exception):
    """The service cannot answer now. The API maps this to 503."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service} unavailable: {reason}")
        self.service = service
        self.reason = reason


class ServiceGate:
    def __init__(self, service: str) -> None:
        self.service = service
        self.up = False
        self.reason = "starting"
        self.changed_at = time.monotonic()

    def open(self) -> None:
        self.up = True
        self.reason = ""
        self.changed_at = time.monotonic()

    def close(self, reason: str) -> None:
        self.up = False
        self.reason = reason
        self.changed_at = time.monotonic()

    def check(self) -> None:
        if not self.up:
            raise Unavailable(self.service, self.reason)
