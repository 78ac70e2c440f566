"""What every part of the auth service shares: its settings, clock, server key, password hasher,
session cache and rate limiter, the lockouts, and the security event trail.

Postgres is the truth (users, devices, sessions, families, lockout counters); Redis only caches
validated sessions and keeps rate-limit windows, so losing Redis loses speed, not security.
No token, password or PIN is ever logged; security events name users and devices by id.
The parts (``authenticator``, ``logins``, ``account``, ``admin``, ``housekeeping``) raise
:mod:`appliance.errors` classes; the API maps them to statuses.
"""

from __future__ import annotations

import hmac
import logging
import math
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.auth import tokens
from appliance.auth.cache import SessionCache
from appliance.auth.clock import Clock, SystemClock
from appliance.auth.lockout import Locked as LockedOut
from appliance.auth.lockout import Lockout
from appliance.auth.passwords import Hasher
from appliance.auth.ratelimit import RateLimiter
from appliance.config import AuthSection
from appliance.errors import InvalidInput, Locked, NotAuthenticated, NotFound
from appliance.redis_client import RedisClient
from store import auth_events, auth_sessions, auth_users
from store.auth_users import UserRow
from store.db import Database
from store.login_counters import UnknownNameCounters, UserCounters
from sync.errors import ErrorCode

# Named as before the split (operators and the benches filter on it).
security_log = logging.getLogger("appliance.auth.service.security")


def invalid_credentials() -> NotAuthenticated:
    return NotAuthenticated(ErrorCode.INVALID_CREDENTIALS, "wrong username, password or PIN")


def refuse_nul(*values: str) -> None:
    """Postgres text cannot hold NUL: refuse it before any lookup, so that the answer (422) is
    the same whether or not the user exists (it was a 500 for a real user, 401 for others)."""
    if any("\x00" in v for v in values):
        raise InvalidInput(
            ErrorCode.INVALID_BODY, "request body: text must not contain NUL characters"
        )


class AuthCore:
    """The state and helpers the auth parts share; :class:`appliance.auth.service.AuthService`
    is all the parts over one of these."""

    def __init__(
        self,
        db: Database,
        redis: RedisClient,
        config: AuthSection,
        server_key: bytes,
        data_dir: Path,
        clock: Clock | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.data_dir = data_dir
        self._key = server_key
        self.hasher = Hasher(config)
        self.cache = SessionCache(redis, config.session_cache_seconds)
        self.limiter = RateLimiter(redis, config, self.clock)

    def derived_key(self, purpose: str) -> bytes:
        """A key for another signing purpose (playback tickets), derived from the server key."""
        return hmac.new(self._key, b"ferrex-derived-key:" + purpose.encode(), "sha256").digest()

    # -- helpers ------------------------------------------------------------------------------

    def _hash(self, token: str) -> bytes:
        return tokens.digest(self._key, token)

    @property
    def session_lifetime(self) -> timedelta:
        return timedelta(hours=self.config.session_hours)

    @property
    def refresh_lifetime(self) -> timedelta:
        return timedelta(days=self.config.refresh_days)

    @property
    def password_lockout(self) -> Lockout:
        """max_failed_passwords wrong passwords lock an account (or an unknown name) for
        password_lockout_minutes. Built per use: tests swap the clock, settings may change."""
        return Lockout(
            self.db,
            self.clock,
            self.config.max_failed_passwords,
            timedelta(minutes=self.config.password_lockout_minutes),
        )

    @property
    def pin_lockout(self) -> Lockout:
        """max_failed_pins failures lock a device's PIN until a password login on it."""
        return Lockout(self.db, self.clock, self.config.max_failed_pins, None)

    async def event(
        self,
        kind: str,
        *,
        user_id: uuid.UUID | None = None,
        device_id: uuid.UUID | None = None,
        ip: str = "",
        **details: Any,
    ) -> None:
        await auth_events.record(
            self.db,
            at=self.clock.now(),
            kind=kind,
            user_id=user_id,
            device_id=device_id,
            client_ip=ip,
            details=details,
        )
        security_log.warning(
            kind,
            extra={
                "user_id": str(user_id) if user_id else None,
                "device_id": str(device_id) if device_id else None,
                "remote": ip,
                **details,
            },
        )

    def _account_locked(self, until: datetime | None) -> Locked:
        """423 for a locked account, or (``until`` None) for one whose remaining attempts are
        all being verified right now: those may lock it, so no more are verified meanwhile."""
        seconds = (
            1 if until is None else max(1, math.ceil((until - self.clock.now()).total_seconds()))
        )
        return Locked(
            ErrorCode.ACCOUNT_LOCKED,
            f"too many failed passwords; try again in {seconds} s",
            {"retry_after_s": seconds},
        )

    @staticmethod
    def _device_locked() -> Locked:
        return Locked(
            ErrorCode.DEVICE_LOCKED,
            "PIN locked after too many failed attempts; log in with the password to unlock it",
        )

    async def _check_password(
        self, user: UserRow | None, username: str, password: str, ip: str
    ) -> bool:
        """Verify a password under the account lockout. An unknown name goes through the same
        steps (its own counters, a verify against a fixed dummy hash), so it answers 401 and
        423 exactly when a real account would, in the same time."""
        counters = UserCounters(user.id) if user else UnknownNameCounters(username)
        stored = user.password_hash if user else None
        try:
            outcome = await self.password_lockout.check(
                counters, lambda: self.hasher.verify(stored, password)
            )
        except LockedOut as locked:
            raise self._account_locked(locked.until) from None
        if outcome.newly_locked:  # for unknown names too: same work, and worth an admin's eye
            await self.event(
                "account_locked" if user else "unknown_user_locked",
                user_id=user.id if user else None,
                ip=ip,
                failures=outcome.failures,
                minutes=self.config.password_lockout_minutes,
            )
        return outcome.ok and user is not None

    async def _invalidate(self, hashes: list[bytes]) -> None:
        await self.cache.invalidate(hashes)

    async def _user(self, user_id: uuid.UUID) -> UserRow:
        user = await auth_users.by_id(self.db, user_id)
        if user is None:
            raise NotFound(ErrorCode.NOT_FOUND, "no such user")
        return user

    async def _refresh_cached(self, user_id: uuid.UUID) -> None:
        """Role or overrides changed: cached sessions carry the old permissions."""
        await self._invalidate(await auth_sessions.live_hashes_for_user(self.db, user_id))
