"""Lockouts that hold under concurrency: reserve an attempt, verify, settle.

Checking ``locked_until`` and counting the failure after the (slow) Argon2 verify let ten requests
sent at once all be verified, and a success among them cleared the lock the others had set. Here
an attempt is first *reserved* in one row-locked step: it is refused (no verify at all) while the
counter is locked or while failures plus the attempts being verified reach the limit. A failure
then counts and locks at the limit; a success gives its reservation back and resets the count
(once no other check is in flight), but never lifts a lock that is in force. So at most
``limit`` wrong secrets are verified per lock window, whatever the concurrency (plus the one
right secret, if it was among them).

The rules are pure functions of :class:`Counters` (tested directly); :class:`Lockout` runs them
on a counter store (an account, an unknown name, a device's PIN) inside one transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import trio

from appliance.auth.clock import Clock
from store.db import Connection, Database
from store.login_counters import FOREVER, Counters

# A reservation older than this is taken for a check that died (a crash mid-verify) rather than
# one still running: the slowest Argon2 verify on a busy Pi takes seconds, not minutes.
STALE_AFTER = timedelta(minutes=2)


class Locked(Exception):
    """No attempt may be verified now. ``until`` is when the lock ends (``None``: the limit is
    taken by attempts being verified right now; ``FOREVER``: until a password login)."""

    def __init__(self, until: datetime | None) -> None:
        super().__init__("locked")
        self.until = until


@dataclass(frozen=True)
class Outcome:
    ok: bool
    failures: int
    newly_locked: bool
    """This failure set the lock (log it once)."""


class CounterStore(Protocol):
    async def read(self, conn: Connection, now: datetime) -> Counters: ...

    async def write(self, conn: Connection, counters: Counters, now: datetime) -> None: ...


def current(c: Counters, now: datetime) -> Counters:
    """Drop what has lapsed: a lock that ended (counting starts afresh) and dead reservations."""
    if c.locked_until is not None and c.locked_until <= now:
        c = dataclasses.replace(c, failures=0, locked_until=None)
    if c.in_flight and (c.checks_at is None or c.checks_at <= now - STALE_AFTER):
        c = dataclasses.replace(c, in_flight=0)
    return c


def lock_end(now: datetime, lock_for: timedelta | None) -> datetime:
    return FOREVER if lock_for is None else now + lock_for


def reserve(
    c: Counters, now: datetime, limit: int, lock_for: timedelta | None
) -> tuple[Counters, Locked | None]:
    """The counters after reserving one attempt, or the refusal (and counters to store)."""
    c = current(c, now)
    if c.locked_until is not None:
        return c, Locked(c.locked_until)
    if c.failures >= limit:  # the limit was lowered since these failures were counted
        c = dataclasses.replace(c, locked_until=lock_end(now, lock_for))
        return c, Locked(c.locked_until)
    if c.failures + c.in_flight >= limit:
        return c, Locked(None)
    return dataclasses.replace(c, in_flight=c.in_flight + 1, checks_at=now), None


def failed(
    c: Counters, now: datetime, limit: int, lock_for: timedelta | None
) -> tuple[Counters, bool]:
    """A reserved attempt was wrong: count it; the limit-th failure locks."""
    c = current(c, now)
    failures = c.failures + 1
    newly = c.locked_until is None and failures >= limit
    return dataclasses.replace(
        c,
        failures=failures,
        in_flight=max(0, c.in_flight - 1),
        locked_until=lock_end(now, lock_for) if newly else c.locked_until,
    ), newly


def succeeded(c: Counters, now: datetime) -> Counters:
    """A reserved attempt was right: give the reservation back, and start counting afresh if
    nothing else is being verified. A success among concurrent guesses keeps their failures
    (else each success would make room for more wrong guesses than the limit), and a lock in
    force stays (a success that raced a lock must not lift it)."""
    c = current(c, now)
    in_flight = max(0, c.in_flight - 1)
    if c.locked_until is not None or in_flight:
        return dataclasses.replace(c, in_flight=in_flight)
    return dataclasses.replace(c, failures=0, in_flight=0)


def released(c: Counters, now: datetime) -> Counters:
    """The attempt ended without an answer (an error, a cancelled request): give it back."""
    c = current(c, now)
    return dataclasses.replace(c, in_flight=max(0, c.in_flight - 1))


class Lockout:
    """One kind of lockout: ``limit`` failures lock for ``lock_for`` (``None``: until lifted)."""

    def __init__(self, db: Database, clock: Clock, limit: int, lock_for: timedelta | None) -> None:
        self.db = db
        self.clock = clock
        self.limit = limit
        self.lock_for = lock_for

    async def _update(
        self, store: CounterStore, change: Callable[[Counters, datetime], Counters]
    ) -> Counters:
        now = self.clock.now()
        async with self.db.transaction() as conn:
            before = await store.read(conn, now)
            after = change(before, now)
            if after != before:
                await store.write(conn, after, now)
        return after

    async def check(self, store: CounterStore, verify: Callable[[], Awaitable[bool]]) -> Outcome:
        """Reserve an attempt (raising :class:`Locked` without calling ``verify``), verify, and
        settle. The reservation is given back, shielded from cancellation, if verify fails."""
        refusal: Locked | None = None

        def take(c: Counters, now: datetime) -> Counters:
            nonlocal refusal
            c, refusal = reserve(c, now, self.limit, self.lock_for)
            return c

        await self._update(store, take)
        if refusal is not None:
            raise refusal
        try:
            ok = await verify()
        except BaseException:
            with trio.CancelScope(shield=True):
                await self._update(store, released)
            raise
        if ok:
            after = await self._update(store, succeeded)
            return Outcome(True, after.failures, False)
        newly = False

        def fail(c: Counters, now: datetime) -> Counters:
            nonlocal newly
            c, newly = failed(c, now, self.limit, self.lock_for)
            return c

        with trio.CancelScope(shield=True):  # a wrong guess counts even if the client hangs up
            after = await self._update(store, fail)
        return Outcome(False, after.failures, newly)
