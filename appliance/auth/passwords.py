"""Argon2id hashing of passwords and PINs, off the trio thread and bounded in concurrency.

Each hash needs ``argon2_memory_kib`` of RAM; a CapacityLimiter keeps a burst of logins from
exhausting a Raspberry Pi's memory. Verifying a hash made with older parameters says so, so the
caller can re-hash on a successful login.
"""

from __future__ import annotations

import itertools
import re

import trio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from appliance.config import AuthSection

MAX_PASSWORD_BYTES = 1024  # argon2 hashes anything, but a 1 MB "password" is a DoS, not a secret
_PIN = re.compile(r"^[0-9]{4,8}$")


class Hasher:
    def __init__(self, config: AuthSection) -> None:
        self._hasher = PasswordHasher(
            time_cost=config.argon2_time_cost,
            memory_cost=config.argon2_memory_kib,
            parallelism=config.argon2_parallelism,
        )
        self._limiter = trio.CapacityLimiter(config.argon2_concurrency)
        # Verified against unknown usernames so that "no such user" takes as long as a wrong
        # password (no username probing by timing). Made on first use, off the event loop.
        self._dummy: str | None = None

    async def hash(self, secret: str) -> str:
        return await trio.to_thread.run_sync(self._hasher.hash, secret, limiter=self._limiter)

    async def verify(self, stored: str | None, secret: str) -> bool:
        if stored is None and self._dummy is None:
            self._dummy = await self.hash("ferrex-dummy-password")
        against = stored or self._dummy
        assert against is not None

        def check() -> bool:
            try:
                return self._hasher.verify(against, secret) and stored is not None
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await trio.to_thread.run_sync(check, limiter=self._limiter)

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)


def password_problem(password: str, min_length: int) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < min_length:
        return f"password must be at least {min_length} characters"
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return f"password must be at most {MAX_PASSWORD_BYTES} bytes"
    return None


def pin_problem(pin: str) -> str | None:
    """Why a new PIN is refused, or None: 4-8 digits, not one digit repeated, not a straight run
    up or down (wrapping, so 7890 and 2109 count)."""
    if not _PIN.match(pin):
        return "PIN must be 4 to 8 digits"
    digits = [int(c) for c in pin]
    if len(set(digits)) == 1:
        return "PIN must not be one digit repeated"
    steps = {(b - a) % 10 for a, b in itertools.pairwise(digits)}
    if steps in ({1}, {9}):
        return "PIN must not be a straight run of digits"
    return None
