"""Housekeeping for the life of the server: expired sessions, refresh tokens and stale
failure counters of unknown names are purged hourly."""

from __future__ import annotations

import logging
from datetime import timedelta

import trio

from appliance.auth.core import AuthCore
from store import auth_sessions, login_counters
from store.gate import Unavailable

log = logging.getLogger(__name__)


class Housekeeping(AuthCore):
    async def purge_expired(self) -> int:
        """Drop rows that expired more than a day ago (the day keeps them for support/audits),
        and the failure counters of unknown names nobody tried for a day."""
        before = self.clock.now() - timedelta(days=1)
        return await auth_sessions.purge_expired(
            self.db, before
        ) + await login_counters.purge_unknown(self.db, before)

    async def housekeeping(self, interval: float = 3600.0) -> None:
        """Runs for the life of the server: purge expired sessions and refresh tokens hourly."""
        while True:
            try:
                removed = await self.purge_expired()
                if removed:
                    log.info("purged expired sessions", extra={"rows": removed})
            except Unavailable:
                pass  # Postgres is down or restarting: try again next time
            await trio.sleep(interval)
