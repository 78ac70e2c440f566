"""Lockouts under real concurrency, unknown names that behave like real ones, and trusted
devices that a stranger's wrong passwords cannot lock out (issue 20, items 2-4).

Requests run at once through the real app on the real Postgres; the Argon2 verify is wrapped
only to count the calls and, where a test needs a fixed order, to hold them at a gate.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from appliance.auth import lockout
from appliance.redis_client import RedisClient
from store import login_counters
from store.db import Database
from store.login_counters import Counters, UserCounters
from tests.authkit import ADMIN_PASSWORD, Harness, Reply, auth_config

PIN = "4071"
CAROL_PASSWORD = "user password 1"


class VerifySpy:
    """Counts Argon2 verifies; with a gate, holds each verify until the gate opens."""

    def __init__(self, h: Harness, monkeypatch: pytest.MonkeyPatch, *, delay: float = 0.02) -> None:
        self._real = h.service.hasher.verify
        self.calls: list[str] = []
        self.gate: trio.Event | None = None
        self.delay = delay
        monkeypatch.setattr(h.service.hasher, "verify", self)

    async def __call__(self, stored: str | None, secret: str) -> bool:
        self.calls.append(secret)
        if self.gate is not None:
            await self.gate.wait()
        else:
            await trio.sleep(self.delay)  # keeps the concurrent requests overlapping
        return await self._real(stored, secret)

    async def wait_for(self, count: int) -> None:
        with trio.fail_after(10):
            while len(self.calls) < count:
                await trio.sleep(0.005)


@pytest.fixture
async def h(db: Database, redis: RedisClient, tmp_path: Path) -> AsyncIterator[Harness]:
    yield Harness(db, redis, tmp_path)


@pytest.fixture
async def admin(h: Harness) -> str:
    return await h.admin_token()


async def trusted_tv(h: Harness, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
    """Log in on "tv", set its PIN (trusted); returns the device key of that login."""
    reply = await h.login(username, password, device="tv")
    assert reply.status == 200, reply.body
    token = reply.body["access_token"]
    assert (await h.call("PUT", "/api/v1/auth/pin", {"pin": PIN}, token=token)).status == 200
    return str(reply.body["device_key"])


async def all_at_once(calls: list[Callable[[], Any]]) -> list[Reply]:
    replies: list[Reply | None] = [None] * len(calls)

    async def one(i: int) -> None:
        replies[i] = await calls[i]()

    async with trio.open_nursery() as nursery:
        for i in range(len(calls)):
            nursery.start_soon(one, i)
    assert all(r is not None for r in replies)
    return [r for r in replies if r is not None]


async def device_row(h: Harness, token: str, client_id: str) -> dict[str, Any]:
    devices = (await h.call("GET", "/api/v1/auth/devices", token=token)).body["devices"]
    return dict(next(d for d in devices if d["client_id"] == client_id))


async def user_row(h: Harness, admin: str, user_id: str) -> dict[str, Any]:
    reply = await h.call("GET", f"/api/v1/users/{user_id}", token=admin)
    assert reply.status == 200
    return dict(reply.body)


# -- item 2: lockouts hold under concurrency ------------------------------------------------------


async def test_ten_pin_logins_at_once_verify_at_most_three(
    h: Harness, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await trusted_tv(h)
    spy = VerifySpy(h, monkeypatch)
    pins = ["9999"] * 4 + [PIN] + ["9999"] * 5
    replies = await all_at_once([partial(h.pin_login, "admin", "tv", p) for p in pins])
    # Three wrong guesses at most; the right PIN, if it was among the first, makes four.
    assert spy.calls.count("9999") <= 3 and len(spy.calls) <= 4, spy.calls
    statuses = [r.status for r in replies]
    assert all(s in (200, 401, 423) for s in statuses), statuses
    assert statuses.count(423) >= 6
    locked = (await device_row(h, admin, "tv"))["pin_locked"]
    # The device locks exactly when three wrong PINs were verified; if it did not, the right PIN
    # was among those verified and got its session (the others were refused meanwhile).
    assert locked == (spy.calls.count("9999") == 3), (statuses, spy.calls)
    assert locked or statuses.count(200) == 1, (statuses, spy.calls)
    assert statuses.count(200) == (PIN in spy.calls)


async def test_a_right_pin_after_three_wrong_reservations_gets_no_session(
    h: Harness, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await trusted_tv(h)
    spy = VerifySpy(h, monkeypatch)
    spy.gate = trio.Event()
    wrong: list[Reply] = []

    async def guess() -> None:
        wrong.append(await h.pin_login("admin", "tv", "9999"))

    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(guess)
        await spy.wait_for(3)
        right = await h.pin_login("admin", "tv", PIN)  # the three are being verified now
        assert (right.status, right.code) == (423, "device_locked")
        assert len(spy.calls) == 3  # refused without a verify
        spy.gate.set()
    assert sorted(r.status for r in wrong) == [401, 401, 401]
    assert (await device_row(h, admin, "tv"))["pin_locked"] is True
    assert (await h.pin_login("admin", "tv", PIN)).status == 423
    assert len(spy.calls) == 3


async def test_ten_password_logins_at_once_verify_at_most_five(
    h: Harness, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    carol = await h.create_user(admin, "carol")
    spy = VerifySpy(h, monkeypatch)
    passwords = ["wrong password"] * 6 + [CAROL_PASSWORD] + ["wrong password"] * 3
    replies = await all_at_once(
        [partial(h.login, "carol", p, device=f"d{i}") for i, p in enumerate(passwords)]
    )
    assert spy.calls.count("wrong password") <= 5 and len(spy.calls) <= 6, spy.calls
    statuses = [r.status for r in replies]
    assert statuses.count(423) >= 4, statuses
    locked = (await user_row(h, admin, carol["id"]))["locked_until"] is not None
    assert locked == (spy.calls.count("wrong password") == 5), (statuses, spy.calls)
    assert locked or statuses.count(200) == 1, (statuses, spy.calls)
    assert statuses.count(200) == (CAROL_PASSWORD in spy.calls)


async def test_a_success_racing_the_lock_neither_gets_in_nor_lifts_it(
    h: Harness, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    carol = await h.create_user(admin, "carol")
    spy = VerifySpy(h, monkeypatch)
    spy.gate = trio.Event()
    wrong: list[Reply] = []

    async def guess(i: int) -> None:
        wrong.append(await h.login("carol", "wrong password", device=f"d{i}"))

    async with trio.open_nursery() as nursery:
        for i in range(5):
            nursery.start_soon(guess, i)
        await spy.wait_for(5)
        right = await h.login("carol", CAROL_PASSWORD)
        assert (right.status, right.code) == (423, "account_locked")
        assert len(spy.calls) == 5
        spy.gate.set()
    assert sorted(r.status for r in wrong) == [401] * 5
    assert (await user_row(h, admin, carol["id"]))["locked_until"] is not None
    again = await h.login("carol", CAROL_PASSWORD)
    assert (again.status, again.body["error"]["details"]) == (423, {"retry_after_s": 15 * 60})


async def test_a_cancelled_check_gives_its_reservation_back(
    h: Harness, admin: str, db: Database
) -> None:
    carol = await h.create_user(admin, "carol")
    counters = UserCounters(uuid.UUID(carol["id"]))

    async def hang() -> bool:
        await trio.sleep_forever()
        return False

    for _ in range(7):  # more than the limit: each reservation came back
        with trio.move_on_after(0.05):
            await h.service.password_lockout.check(counters, hang)
    async with db.transaction() as conn:
        assert await counters.read(conn, h.clock.now()) == Counters(0, None, 0, h.clock.now())
    assert (await h.login("carol", CAROL_PASSWORD)).status == 200


def test_lockout_rules() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    lock = timedelta(minutes=15)
    c = Counters()
    for _ in range(3):
        c, refusal = lockout.reserve(c, now, 3, lock)
        assert refusal is None
    _, refusal = lockout.reserve(c, now, 3, lock)
    assert refusal is not None and refusal.until is None  # busy: three being verified
    # Reservations of a check that died are dropped after a while.
    later = now + lockout.STALE_AFTER
    assert lockout.reserve(c, later, 3, lock)[1] is None
    # A success never lifts a lock in force, and a lock's end starts the count afresh.
    locked = Counters(failures=3, locked_until=now + lock, in_flight=1, checks_at=now)
    assert lockout.succeeded(locked, now).locked_until == now + lock
    assert lockout.reserve(locked, now + lock, 3, lock) == (Counters(0, None, 1, now + lock), None)
    # Lowering the limit below the failures already counted locks at once.
    c, refusal = lockout.reserve(Counters(failures=4), now, 3, lock)
    assert refusal is not None and c.locked_until == now + lock
    # A PIN lock has no end.
    c, newly = lockout.failed(Counters(failures=2, in_flight=1, checks_at=now), now, 3, None)
    assert newly and c.locked_until == login_counters.FOREVER and c.in_flight == 0


# -- item 3: unknown names are indistinguishable ---------------------------------------------------


async def test_an_unknown_name_locks_after_five_failures_like_a_real_account(
    h: Harness, admin: str
) -> None:
    await h.create_user(admin, "carol")
    answers: dict[str, list[tuple[int, str | None, Any]]] = {}
    for name in ("carol", "nobody"):
        seen = answers.setdefault(name, [])
        for _ in range(6):
            reply = await h.login(name, "wrong password")
            seen.append((reply.status, reply.code, reply.body["error"].get("details")))
        seen.append(((r := await h.login(name, CAROL_PASSWORD)).status, r.code, None))
    assert answers["carol"] == answers["nobody"]
    assert [s for s, _, _ in answers["nobody"]] == [401] * 5 + [423, 423]
    assert answers["nobody"][5][2] == {"retry_after_s": 15 * 60}
    events = (await h.call("GET", "/api/v1/security/events", token=admin)).body["events"]
    assert {"account_locked", "unknown_user_locked"} <= {e["kind"] for e in events}
    # Case does not make a fresh name, as usernames are unique regardless of case.
    assert (await h.login("NoBody", "wrong password")).status == 423
    h.clock.advance(15 * 60)
    assert (await h.login("nobody", "wrong password")).status == 401
    assert (await h.login("carol", CAROL_PASSWORD)).status == 200
    # Unknown names not tried for a day are forgotten.
    h.clock.advance(2 * 86400)
    assert await login_counters.purge_unknown(h.service.db, h.clock.now() - timedelta(days=1)) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"path": "/api/v1/auth/pin/login", "device_id": "tv\x00", "pin": PIN},
        {
            "path": "/api/v1/auth/login",
            "password": "wrong password",
            "device": {"id": "tv\x00", "name": "TV", "platform": "linux"},
        },
        {
            "path": "/api/v1/auth/login",
            "password": ADMIN_PASSWORD,
            "device": {"id": "tv", "name": "T\x00V", "platform": "li\x00nux"},
        },
        {"path": "/api/v1/auth/pin/login", "device_id": "tv", "pin": "40\x0071"},
        {
            "path": "/api/v1/auth/login",
            "password": "wrong\x00password",
            "device": {"id": "tv", "name": "TV", "platform": "linux"},
        },
    ],
)
async def test_odd_input_answers_the_same_for_known_and_unknown_users(
    h: Harness, admin: str, body: dict[str, Any]
) -> None:
    await trusted_tv(h)
    fields = {k: v for k, v in body.items() if k != "path"}
    known = await h.call("POST", body["path"], {"username": "admin", **fields})
    unknown = await h.call("POST", body["path"], {"username": "nobody", **fields})
    assert 400 <= known.status < 500, known.body
    assert (known.status, known.code) == (unknown.status, unknown.code)


async def test_pin_login_answers_the_same_for_unknown_users_and_devices(
    h: Harness, admin: str
) -> None:
    await trusted_tv(h)
    replies = [
        await h.pin_login(name, device, "9999")
        for name, device in (("nobody", "tv"), ("admin", "not-a-device"))
    ]
    assert {(r.status, r.code) for r in replies} == {(401, "invalid_credentials")}


async def test_an_unknown_name_takes_as_long_as_a_wrong_password(
    db: Database, redis: RedisClient, tmp_path: Path
) -> None:
    # Argon2 costly enough to dominate the round trip; no lock during the measurement.
    h = Harness(
        db,
        redis,
        tmp_path,
        auth=auth_config(argon2_memory_kib=16384, argon2_time_cost=2, max_failed_passwords=1000),
    )
    await h.claim()
    await h.login("nobody", "warm up the dummy hash")
    known: list[float] = []
    unknown: list[float] = []
    for i in range(9):
        for name, into in (("admin", known), (f"nobody{i % 3}", unknown)):
            start = time.perf_counter()
            reply = await h.login(name, "wrong password")
            into.append(time.perf_counter() - start)
            assert reply.status == 401
    assert statistics.median(unknown) >= 0.5 * statistics.median(known), (known, unknown)


# -- item 4: a lockout cannot be used against the owner -------------------------------------------


async def locked_out(h: Harness, username: str = "admin") -> None:
    for _ in range(5):
        await h.login(username, "a stranger's guess", device="attacker")
    assert (
        await h.login(
            username, ADMIN_PASSWORD if username == "admin" else CAROL_PASSWORD, device="attacker"
        )
    ).status == 423


async def key_login(
    h: Harness, key: str | None, device: str = "tv", password: str = ADMIN_PASSWORD
) -> Reply:
    body: dict[str, Any] = {
        "username": "admin",
        "password": password,
        "device": {"id": device, "name": "TV", "platform": "linux"},
    }
    if key is not None:
        body["device_key"] = key
    return await h.call("POST", "/api/v1/auth/login", body)


async def test_a_trusted_device_with_its_key_logs_in_through_an_account_lock(
    h: Harness, admin: str
) -> None:
    key = await trusted_tv(h)
    assert key.startswith("fxd_")
    await locked_out(h)
    # Only the right password, from the trusted device, with its key gets in.
    assert (await key_login(h, None)).status == 423  # the client id alone proves nothing
    assert (await key_login(h, "fxd_" + "A" * 43)).status == 423
    assert (await key_login(h, key, device="admin-laptop")).status == 423
    assert (await key_login(h, key, password="a stranger's guess")).status == 401
    reply = await key_login(h, key)
    assert reply.status == 200 and reply.body["scope"] == "full"
    # The key is replaced at each password login: the old one is spent.
    new_key = reply.body["device_key"]
    assert new_key != key
    assert (await key_login(h, key)).status == 423
    assert (await key_login(h, new_key)).status == 200
    # The lock still stands for everyone else, and PIN logins are not the account's lock.
    assert (await h.login(device="attacker")).status == 423
    assert (await h.pin_login("admin", "tv", PIN)).status == 200


async def test_wrong_passwords_on_the_trusted_path_lock_that_device(h: Harness, admin: str) -> None:
    key = await trusted_tv(h)
    await locked_out(h)
    for left in range(3):
        assert (await key_login(h, key, password="typo typo typo")).status == 401, left
    assert (await device_row(h, admin, "tv"))["pin_locked"] is True
    # A locked device is no longer trusted past the account lock (no endless guessing).
    assert (await key_login(h, key)).status == 423
    assert (await h.pin_login("admin", "tv", PIN)).status == 423
    h.clock.advance(15 * 60)
    assert (await key_login(h, key)).status == 200  # the lock ended: unlocks the PIN too
    assert (await h.pin_login("admin", "tv", PIN)).status == 200


async def test_pending_and_revoked_devices_do_not_pass_the_lock(h: Harness, admin: str) -> None:
    pending = await h.login(device="phone")
    pending_key = pending.body["device_key"]
    key = await trusted_tv(h)
    tv_id = (await device_row(h, admin, "tv"))["id"]
    assert (await h.call("DELETE", f"/api/v1/auth/devices/{tv_id}", token=admin)).status == 204
    await locked_out(h)
    assert (await key_login(h, pending_key, device="phone")).status == 423
    assert (await key_login(h, key)).status == 423


async def test_the_player_keeps_its_device_key_and_gets_past_a_lock(
    h: Harness, admin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The player's side: the key is stored with the tokens, outlives a logout, and is sent."""
    from ui.domains.auth import device_info
    from ui.net.client import ApiClient
    from ui.net.credentials import CredentialStore, StoredTokens

    monkeypatch.setenv("FERREX_PLAYER_KEYRING", "0")
    store = CredentialStore(tmp_path / "player", key_path=tmp_path / "player.key")
    server = "http://nas:8420"
    transport = httpx.ASGITransport(app=h.app, client=("192.168.1.30", 4000))  # type: ignore[arg-type]
    async with ApiClient(server, transport=transport) as api:
        pair = await api.login("admin", ADMIN_PASSWORD, device_info("player-1"))
        assert pair.device_key is not None
        await store.save(
            server,
            "admin",
            StoredTokens(
                access_token=pair.access_token,
                refresh_token=pair.refresh_token,
                device_key=pair.device_key,
            ),
        )
        await api.set_pin(PIN)
    await store.forget_session(server, "admin")  # logout
    kept = await store.load(server, "admin")
    assert kept is not None and not kept.has_session and kept.device_key == pair.device_key
    await locked_out(h)
    async with ApiClient(server, transport=transport) as api:
        again = await api.login(
            "admin",
            ADMIN_PASSWORD,
            device_info("player-1"),
            await store.device_key(server, "admin"),
        )
        assert again.scope == "full" and again.device_key not in (None, pair.device_key)
