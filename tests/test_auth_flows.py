"""Auth and device trust end to end over HTTP, in-process, on the real Postgres and Redis."""

from __future__ import annotations

import logging
import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio

from appliance import cli
from appliance.auth import keys, tokens
from appliance.redis_client import RedisClient
from store import auth_users
from store.db import Database
from tests.authkit import ADMIN_PASSWORD, LOCAL, REMOTE, Harness, auth_config


@pytest.fixture
async def h(db: Database, redis: RedisClient, tmp_path: Path) -> AsyncIterator[Harness]:
    yield Harness(db, redis, tmp_path)


@pytest.fixture
async def admin(h: Harness) -> str:
    return await h.admin_token()


# -- first run ------------------------------------------------------------------------------------


async def test_first_run_claim_from_the_local_network_then_409(h: Harness) -> None:
    status = await h.call("GET", "/api/v1/setup")
    assert status.body == {"claimed": False, "local_client": True}
    reply = await h.claim()
    assert reply.body["role"] == "admin"
    again = await h.call(
        "POST", "/api/v1/setup/claim", {"username": "mallory", "password": "another password"}
    )
    assert (again.status, again.code) == (409, "already_claimed")
    assert (await h.call("GET", "/api/v1/setup")).body["claimed"] is True
    assert (await h.login()).status == 200


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.20.0.5",
        "169.254.3.3",
        "::1",
        "fd12:3456::1",
        "fe80::1",
        "::ffff:192.168.0.9",
    ],
)
async def test_every_kind_of_local_address_may_claim(h: Harness, address: str) -> None:
    reply = await h.call(
        "POST",
        "/api/v1/setup/claim",
        {"username": "admin", "password": ADMIN_PASSWORD},
        client=(address, 1234),
    )
    assert reply.status == 201, reply.body


async def test_claim_from_a_non_local_address_is_refused(h: Harness) -> None:
    for address in ("203.0.113.7", "8.8.8.8", "2001:db8::1", "100.64.0.1"):
        reply = await h.call(
            "POST",
            "/api/v1/setup/claim",
            {"username": "admin", "password": ADMIN_PASSWORD},
            client=(address, 1),
        )
        assert (reply.status, reply.code) == (403, "setup_not_allowed"), address
        reply = await h.call(
            "POST",
            "/api/v1/setup/claim",
            {
                "username": "admin",
                "password": ADMIN_PASSWORD,
                "setup_token": "fxt_guess",
            },
            client=(address, 1),
        )
        assert reply.status == 403
    assert (await h.call("GET", "/api/v1/setup", client=REMOTE)).body == {
        "claimed": False,
        "local_client": False,
    }


async def test_setup_token_from_the_cli_allows_a_remote_claim(
    db: Database, redis: RedisClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["setup-token", "--data-dir", str(tmp_path)]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("fxt_")
    for name in (keys.KEY_FILE, keys.SETUP_TOKEN_FILE):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert token not in (tmp_path / keys.SETUP_TOKEN_FILE).read_text()
    h = Harness(db, redis, tmp_path, key=keys.load_or_create_server_key(tmp_path))
    body = {"username": "admin", "password": ADMIN_PASSWORD, "setup_token": token}
    wrong = await h.call(
        "POST", "/api/v1/setup/claim", {**body, "setup_token": token[:-1] + "x"}, client=REMOTE
    )
    assert wrong.status == 403
    reply = await h.call("POST", "/api/v1/setup/claim", body, client=REMOTE)
    assert reply.status == 201, reply.body
    assert not (tmp_path / keys.SETUP_TOKEN_FILE).exists(), "the token is single use"


async def test_an_expired_setup_token_is_refused(
    db: Database, redis: RedisClient, tmp_path: Path
) -> None:
    key = keys.load_or_create_server_key(tmp_path)
    h = Harness(db, redis, tmp_path, key=key)
    token = keys.create_setup_token(tmp_path, h.clock.now())  # expires right now
    reply = await h.call(
        "POST",
        "/api/v1/setup/claim",
        {"username": "admin", "password": ADMIN_PASSWORD, "setup_token": token},
        client=REMOTE,
    )
    assert reply.status == 403


async def test_the_server_key_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    first = keys.load_or_create_server_key(tmp_path)
    assert len(first) == 32
    assert stat.S_IMODE((tmp_path / keys.KEY_FILE).stat().st_mode) == 0o600
    assert keys.load_or_create_server_key(tmp_path) == first


# -- password login, PIN, devices -----------------------------------------------------------------


async def test_password_login_registers_a_pending_device_with_a_full_session(
    h: Harness, admin: str
) -> None:
    reply = await h.login(device="phone")
    body = reply.body
    assert reply.status == 200
    assert body["scope"] == "full" and body["token_type"] == "Bearer"
    assert body["expires_in"] == 24 * 3600 and body["refresh_expires_in"] == 30 * 86400
    assert body["device"]["state"] == "pending" and body["device"]["client_id"] == "phone"
    assert body["access_token"].startswith("fxs_") and body["refresh_token"].startswith("fxr_")
    me = await h.call("GET", "/api/v1/auth/me", token=body["access_token"])
    assert me.status == 200
    assert me.body["scope"] == "full" and "users:manage" in me.body["permissions"]
    wrong = await h.login(password="nope nope nope")
    unknown = await h.login(username="nobody")
    assert (
        (wrong.status, wrong.code) == (unknown.status, unknown.code) == (401, "invalid_credentials")
    )


async def test_pin_setup_trusts_the_device_and_pin_login_gives_playback_scope(
    h: Harness, admin: str
) -> None:
    pending = await h.pin_login("admin", "admin-laptop", "4071")
    assert (pending.status, pending.code) == (403, "device_not_trusted")
    for weak in ("1111", "1234", "4321", "7890", "98765", "123", "123456789", "12a4", ""):
        reply = await h.call("PUT", "/api/v1/auth/pin", {"pin": weak}, token=admin)
        assert (reply.status, reply.code) == (422, "weak_pin") if len(weak) <= 16 else True, weak
    reply = await h.call("PUT", "/api/v1/auth/pin", {"pin": "4071"}, token=admin)
    assert reply.status == 200 and reply.body["state"] == "trusted"
    assert (await h.pin_login("admin", "other-device", "4071")).status == 401
    pin = await h.pin_login("admin", "admin-laptop", "4071")
    assert pin.status == 200 and pin.body["scope"] == "playback"
    playback = pin.body["access_token"]
    me = await h.call("GET", "/api/v1/auth/me", token=playback)
    assert me.status == 200 and me.body["scope"] == "playback"
    assert "users:manage" not in me.body["permissions"]
    # An admin's PIN session still cannot reach admin routes or change credentials.
    for method, path in (
        ("GET", "/api/v1/users"),
        ("PUT", "/api/v1/auth/pin"),
        ("GET", "/api/v1/security/events"),
    ):
        reply = await h.call(method, path, token=playback)
        assert (reply.status, reply.code) == (403, "forbidden"), path


async def test_three_wrong_pins_lock_the_device_until_a_password_login(
    h: Harness, admin: str
) -> None:
    await h.call("PUT", "/api/v1/auth/pin", {"pin": "4071"}, token=admin)
    for left in (2, 1, 0):
        reply = await h.pin_login("admin", "admin-laptop", "9999")
        assert (reply.status, reply.body["error"]["details"]) == (401, {"attempts_left": left})
    fourth = await h.pin_login("admin", "admin-laptop", "4071")
    assert (fourth.status, fourth.code) == (423, "device_locked")
    devices = await h.call("GET", "/api/v1/auth/devices", token=admin)
    assert devices.body["devices"][0]["pin_locked"] is True
    assert (await h.login(device="admin-laptop")).status == 200  # unlocks
    assert (await h.pin_login("admin", "admin-laptop", "4071")).status == 200
    kinds = [
        e["kind"]
        for e in (await h.call("GET", "/api/v1/security/events", token=admin)).body["events"]
    ]
    assert "device_locked" in kinds


async def test_five_wrong_passwords_lock_the_account_for_15_minutes(
    h: Harness, admin: str, db: Database, redis: RedisClient, tmp_path: Path
) -> None:
    for _ in range(5):
        assert (await h.login(password="wrong password")).status == 401
    sixth = await h.login()
    assert (sixth.status, sixth.code) == (423, "account_locked")
    assert sixth.body["error"]["details"]["retry_after_s"] == 15 * 60
    # The lock lives in Postgres: a restarted appliance (a new service) still enforces it.
    restarted = Harness(db, redis, tmp_path)
    restarted.clock = h.clock
    restarted.service.clock = h.clock
    assert (await restarted.login()).status == 423
    h.clock.advance(15 * 60 - 1)
    assert (await h.login()).status == 423
    h.clock.advance(1)
    assert (await h.login()).status == 200
    # The counter started afresh: one more wrong password does not lock again.
    assert (await h.login(password="wrong password")).status == 401
    assert (await h.login()).status == 200


# -- refresh rotation and reuse detection ---------------------------------------------------------


async def test_refresh_rotates_and_reuse_revokes_the_whole_family(h: Harness, admin: str) -> None:
    first = (await h.login(device="tablet")).body
    rotated = await h.call(
        "POST", "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]}
    )
    assert rotated.status == 200
    second = rotated.body
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == "full"
    assert (await h.call("GET", "/api/v1/auth/me", token=first["access_token"])).status == 401
    assert (await h.call("GET", "/api/v1/auth/me", token=second["access_token"])).status == 200
    third = (
        await h.call("POST", "/api/v1/auth/refresh", {"refresh_token": second["refresh_token"]})
    ).body
    # An attacker replays the first (already rotated) refresh token.
    reuse = await h.call("POST", "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert (reuse.status, reuse.code) == (401, "refresh_token_reused")
    assert (await h.call("GET", "/api/v1/auth/me", token=third["access_token"])).status == 401
    latest = await h.call("POST", "/api/v1/auth/refresh", {"refresh_token": third["refresh_token"]})
    assert latest.status == 401, "the legitimate holder's newest token died with the family"
    events = (await h.call("GET", "/api/v1/security/events", token=admin)).body["events"]
    reuse_events = [e for e in events if e["kind"] == "refresh_token_reuse"]
    assert reuse_events and reuse_events[0]["details"]["generation"] == 0
    assert (await h.call("GET", "/api/v1/auth/me", token=admin)).status == 200, "other logins live"


async def test_pin_sessions_refresh_into_playback_scope(h: Harness, admin: str) -> None:
    await h.call("PUT", "/api/v1/auth/pin", {"pin": "4071"}, token=admin)
    pin = (await h.pin_login("admin", "admin-laptop", "4071")).body
    rotated = await h.call("POST", "/api/v1/auth/refresh", {"refresh_token": pin["refresh_token"]})
    assert rotated.body["scope"] == "playback"


async def test_expired_and_garbage_refresh_tokens_are_refused(h: Harness, admin: str) -> None:
    pair = (await h.login(device="tablet")).body
    for junk in ("", "fxr_short", pair["access_token"], "fxr_" + "A" * 43):
        reply = await h.call("POST", "/api/v1/auth/refresh", {"refresh_token": junk})
        assert (reply.status, reply.code) == (401, "invalid_refresh_token")
    h.clock.advance(30 * 86400 + 1)
    reply = await h.call("POST", "/api/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert reply.status == 401


async def test_sessions_expire_after_24_hours(h: Harness, admin: str) -> None:
    assert (await h.call("GET", "/api/v1/auth/me", token=admin)).status == 200  # now cached
    h.clock.advance(24 * 3600 + 1)
    reply = await h.call("GET", "/api/v1/auth/me", token=admin)
    assert (reply.status, reply.code) == (401, "invalid_token")


# -- revocation -----------------------------------------------------------------------------------


async def test_revoked_device_token_is_refused_on_the_next_request(h: Harness, admin: str) -> None:
    await h.create_user(admin, "alice")
    alice = (await h.login("alice", "user password 1", device="alice-tv")).body
    token = alice["access_token"]
    assert (await h.call("GET", "/api/v1/auth/me", token=token)).status == 200  # cached now
    user_id, device_id = alice["user"]["id"], alice["device"]["id"]
    listed = await h.call("GET", f"/api/v1/users/{user_id}/devices", token=admin)
    assert [d["id"] for d in listed.body["devices"]] == [device_id]
    reply = await h.call("DELETE", f"/api/v1/users/{user_id}/devices/{device_id}", token=admin)
    assert reply.status == 204
    assert (await h.call("GET", "/api/v1/auth/me", token=token)).status == 401
    refresh = await h.call(
        "POST", "/api/v1/auth/refresh", {"refresh_token": alice["refresh_token"]}
    )
    assert refresh.status == 401
    devices = await h.call("GET", f"/api/v1/users/{user_id}/devices", token=admin)
    assert devices.body["devices"][0]["state"] == "revoked"
    # A password login brings the device back as pending (it must set a PIN again).
    again = await h.login("alice", "user password 1", device="alice-tv")
    assert again.body["device"]["state"] == "pending"


async def test_users_revoke_their_own_devices_and_sessions(h: Harness, admin: str) -> None:
    other = (await h.login(device="old-phone")).body
    sessions = (await h.call("GET", "/api/v1/auth/sessions", token=admin)).body["sessions"]
    assert len(sessions) == 2 and sum(s["current"] for s in sessions) == 1
    reply = await h.call("DELETE", f"/api/v1/auth/devices/{other['device']['id']}", token=admin)
    assert reply.status == 204
    assert (await h.call("GET", "/api/v1/auth/me", token=other["access_token"])).status == 401
    third = (await h.login(device="desk")).body
    reply = await h.call("DELETE", f"/api/v1/auth/sessions/{third['session_id']}", token=admin)
    assert reply.status == 204
    assert (await h.call("GET", "/api/v1/auth/me", token=third["access_token"])).status == 401
    missing = await h.call("DELETE", f"/api/v1/auth/sessions/{uuid.uuid4()}", token=admin)
    assert missing.status == 404


async def test_logout_kills_the_session_and_its_refresh_token(h: Harness, admin: str) -> None:
    pair = (await h.login(device="tablet")).body
    assert (await h.call("GET", "/api/v1/auth/me", token=pair["access_token"])).status == 200
    assert (await h.call("POST", "/api/v1/auth/logout", token=pair["access_token"])).status == 204
    assert (await h.call("GET", "/api/v1/auth/me", token=pair["access_token"])).status == 401
    refresh = await h.call("POST", "/api/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert refresh.status == 401
    assert (await h.call("GET", "/api/v1/auth/me", token=admin)).status == 200


async def test_password_change_invalidates_the_other_sessions(h: Harness, admin: str) -> None:
    other = (await h.login(device="phone")).body
    wrong = await h.call(
        "POST",
        "/api/v1/auth/password",
        {"current_password": "not it at all", "new_password": "a new password"},
        token=admin,
    )
    assert (wrong.status, wrong.code) == (403, "wrong_password")
    reply = await h.call(
        "POST",
        "/api/v1/auth/password",
        {"current_password": ADMIN_PASSWORD, "new_password": "a new password"},
        token=admin,
    )
    assert reply.status == 204
    assert (await h.call("GET", "/api/v1/auth/me", token=admin)).status == 200
    assert (await h.call("GET", "/api/v1/auth/me", token=other["access_token"])).status == 401
    assert (
        await h.call("POST", "/api/v1/auth/refresh", {"refresh_token": other["refresh_token"]})
    ).status == 401
    assert (await h.login()).status == 401
    assert (await h.login(password="a new password")).status == 200


# -- administration -------------------------------------------------------------------------------


async def test_admin_manages_users(h: Harness, admin: str) -> None:
    bob = await h.create_user(admin, "bob", role="guest")
    dup = await h.call(
        "POST", "/api/v1/users", {"username": "BOB", "password": "whatever 12"}, token=admin
    )
    assert (dup.status, dup.code) == (409, "username_taken")
    short = await h.call(
        "POST", "/api/v1/users", {"username": "eve", "password": "short"}, token=admin
    )
    assert (short.status, short.code) == (422, "weak_password")
    listed = await h.call("GET", "/api/v1/users", token=admin)
    assert [u["username"] for u in listed.body["users"]] == ["admin", "bob"]
    edited = await h.call(
        "PATCH", f"/api/v1/users/{bob['id']}", {"role": "user", "display_name": "Bob"}, token=admin
    )
    assert edited.body["role"] == "user" and edited.body["display_name"] == "Bob"
    bob_pair = (await h.login("bob", "user password 1", device="bob-tv")).body
    sessions = await h.call("GET", f"/api/v1/users/{bob['id']}/sessions", token=admin)
    session_id = sessions.body["sessions"][0]["id"]
    assert session_id == str(bob_pair["session_id"])
    reset = await h.call(
        "POST",
        f"/api/v1/users/{bob['id']}/password",
        {"new_password": "reset password"},
        token=admin,
    )
    assert reset.status == 204
    assert (await h.call("GET", "/api/v1/auth/me", token=bob_pair["access_token"])).status == 401
    bob_token = await h.token("bob", "reset password", device="bob-tv")
    bob_session = (await h.call("GET", "/api/v1/auth/me", token=bob_token)).body["session_id"]
    killed = await h.call(
        "DELETE", f"/api/v1/users/{bob['id']}/sessions/{bob_session}", token=admin
    )
    assert killed.status == 204
    assert (await h.call("GET", "/api/v1/auth/me", token=bob_token)).status == 401
    bob_token = await h.token("bob", "reset password", device="bob-tv")
    assert (await h.call("DELETE", f"/api/v1/users/{bob['id']}", token=admin)).status == 204
    assert (await h.call("GET", "/api/v1/auth/me", token=bob_token)).status == 401
    assert (await h.call("GET", f"/api/v1/users/{bob['id']}", token=admin)).status == 404


async def test_the_last_admin_cannot_be_deleted_or_demoted(h: Harness, admin: str) -> None:
    me = (await h.call("GET", "/api/v1/auth/me", token=admin)).body["user"]["id"]
    demote = await h.call("PATCH", f"/api/v1/users/{me}", {"role": "user"}, token=admin)
    assert (demote.status, demote.code) == (409, "last_admin")
    delete = await h.call("DELETE", f"/api/v1/users/{me}", token=admin)
    assert (delete.status, delete.code) == (409, "last_admin")
    await h.create_user(admin, "second", role="admin")
    assert (
        await h.call("PATCH", f"/api/v1/users/{me}", {"role": "user"}, token=admin)
    ).status == 200
    # The demotion reaches the cached session at once.
    assert (await h.call("GET", "/api/v1/users", token=admin)).status == 403


async def test_admin_reset_clears_a_lockout(h: Harness, admin: str) -> None:
    carol = await h.create_user(admin, "carol")
    for _ in range(5):
        await h.login("carol", "bad password!")
    assert (await h.login("carol", "user password 1")).status == 423
    await h.call(
        "POST",
        f"/api/v1/users/{carol['id']}/password",
        {"new_password": "fresh password"},
        token=admin,
    )
    assert (await h.login("carol", "fresh password")).status == 200


async def test_grant_and_deny_overrides_with_deny_winning(h: Harness, admin: str) -> None:
    dave = await h.create_user(admin, "dave")
    token = await h.token("dave", "user password 1", device="d")
    assert (await h.call("GET", "/api/v1/users", token=token)).status == 403
    url = f"/api/v1/users/{dave['id']}/permissions"
    reply = await h.call("PUT", url, {"grant": ["users:read"]}, token=admin)
    assert reply.body["overrides"] == {"grant": ["users:read"], "deny": []}
    assert (await h.call("GET", "/api/v1/users", token=token)).status == 200
    reply = await h.call(
        "PUT", url, {"grant": ["users:read"], "deny": ["users:read", "users:self"]}, token=admin
    )
    assert reply.body["overrides"] == {"grant": [], "deny": ["users:read", "users:self"]}
    assert (await h.call("GET", "/api/v1/users", token=token)).status == 403
    me = await h.call("GET", "/api/v1/auth/me", token=token)
    assert (me.status, me.body["error"]["details"]) == (403, {"permission": "users:self"})
    bad = await h.call("PUT", url, {"deny": ["users:fly"]}, token=admin)
    assert (bad.status, bad.code) == (422, "unknown_permission")


# -- hashing and secrets --------------------------------------------------------------------------


async def test_login_rehashes_when_the_argon2_parameters_change(
    db: Database, redis: RedisClient, tmp_path: Path
) -> None:
    old = Harness(db, redis, tmp_path, auth=auth_config(argon2_time_cost=1))
    await old.claim()
    before = await auth_users.by_name(db, "admin")
    assert before is not None and "t=1," in before.password_hash
    assert before.password_hash.startswith("$argon2id$")
    new = Harness(db, redis, tmp_path, auth=auth_config(argon2_time_cost=2))
    assert (await new.login()).status == 200
    after = await auth_users.by_name(db, "admin")
    assert after is not None and "t=2," in after.password_hash
    assert (await new.login()).status == 200


async def test_tokens_are_stored_only_as_hmacs_and_never_logged(
    h: Harness, caplog: pytest.LogCaptureFixture, db: Database
) -> None:
    caplog.set_level(logging.DEBUG)
    await h.claim()
    pair = (await h.login(device="x")).body
    rotated = (
        await h.call("POST", "/api/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})
    ).body
    await h.call("POST", "/api/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})
    await h.login(password="wrong password 1")
    secrets_seen = [
        ADMIN_PASSWORD,
        "wrong password 1",
        pair["access_token"],
        pair["refresh_token"],
        rotated["access_token"],
        rotated["refresh_token"],
    ]
    for record in caplog.records:
        text = repr(record.__dict__)
        assert not any(s in text for s in secrets_seen), text

    async def dump(conn: Any) -> list[Any]:
        rows = await conn.fetch("SELECT token_hash FROM sessions")
        rows += await conn.fetch("SELECT token_hash FROM refresh_tokens")
        return [bytes(r["token_hash"]) for r in rows]

    stored = await db.run_asyncio(dump)
    assert tokens.digest(b"k" * 32, pair["access_token"]) in stored
    assert all(len(s) == 32 for s in stored)
    assert not any(t.encode() in s for t in secrets_seen for s in stored)


# -- rate limits and Redis ------------------------------------------------------------------------


async def test_brute_force_over_the_rate_limit_gets_429(
    db: Database, redis: RedisClient, tmp_path: Path
) -> None:
    h = Harness(db, redis, tmp_path, auth=auth_config(login_limit=3, login_window_seconds=60))
    await h.claim()
    ok = await h.login(device="a")
    assert ok.headers["X-RateLimit-Limit"] == "3"
    assert ok.headers["X-RateLimit-Remaining"] == "2"
    for device, left in (("b", "1"), ("c", "0")):  # new device ids share the per-IP window
        failed = await h.login(password="guess guess", device=device)
        assert (failed.status, failed.headers["X-RateLimit-Remaining"]) == (401, left)
    limited = await h.login(device="d")
    assert (limited.status, limited.code) == (429, "rate_limited")
    assert int(limited.headers["Retry-After"]) == 60
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    # Another address is counted on its own, but the same device id is limited everywhere.
    other_ip = ("192.168.1.99", 1)
    assert (await h.login(device="e", client=other_ip)).status == 200
    assert (await h.login(device="a", client=other_ip)).status == 200
    assert (await h.login(device="a", client=("192.168.1.98", 1))).status == 200
    assert (await h.login(device="a", client=("192.168.1.97", 1))).status == 429
    h.clock.advance(61)
    assert (await h.login(device="d")).status == 200


async def test_pin_refresh_and_setup_are_rate_limited_too(
    db: Database, redis: RedisClient, tmp_path: Path
) -> None:
    h = Harness(db, redis, tmp_path, auth=auth_config(pin_limit=2, refresh_limit=2, setup_limit=2))
    for _ in range(2):
        await h.call(
            "POST", "/api/v1/setup/claim", {"username": "x", "password": "p"}, client=REMOTE
        )
    assert (
        await h.call(
            "POST", "/api/v1/setup/claim", {"username": "x", "password": "p"}, client=REMOTE
        )
    ).status == 429
    for _ in range(2):
        await h.pin_login("nobody", "dev", "4071")
    assert (await h.pin_login("nobody", "dev", "4071")).status == 429
    for _ in range(2):
        await h.call("POST", "/api/v1/auth/refresh", {"refresh_token": "fxr_x"})
    assert (await h.call("POST", "/api/v1/auth/refresh", {"refresh_token": "fxr_x"})).status == 429


async def test_sessions_are_cached_in_redis_and_dropped_on_revoke(
    h: Harness, admin: str, redis: RedisClient
) -> None:
    await h.call("GET", "/api/v1/auth/me", token=admin)
    misses = h.service.cache.misses
    for _ in range(3):
        assert (await h.call("GET", "/api/v1/auth/me", token=admin)).status == 200
    assert h.service.cache.misses == misses and h.service.cache.hits >= 3
    key = f"ferrex:sess:{tokens.digest(b'k' * 32, admin).hex()}"
    assert await redis.execute("EXISTS", key) == 1
    await h.call("POST", "/api/v1/auth/logout", token=admin)
    assert await redis.execute("EXISTS", key) == 0


async def test_auth_keeps_working_from_postgres_when_redis_is_down(
    db: Database, redis: RedisClient, tmp_path: Path
) -> None:
    h = Harness(db, redis, tmp_path, auth=auth_config(login_limit=3))
    await h.claim()
    token = await h.token(device="a")
    assert (await h.call("GET", "/api/v1/auth/me", token=token)).status == 200  # cached
    redis.gate.close("redis exited with status -9, restarting")
    health = await h.call("GET", "/health")
    assert (health.status, health.body["status"]) == (200, "degraded")
    assert (await h.call("GET", "/api/v1/auth/me", token=token)).status == 200
    other = await h.token(device="b")
    assert (await h.call("GET", "/api/v1/auth/me", token=other)).status == 200
    # Revoked while Redis is down: refused now, and still refused once Redis is back.
    assert (await h.call("POST", "/api/v1/auth/logout", token=token)).status == 204
    assert (await h.call("GET", "/api/v1/auth/me", token=token)).status == 401
    # The per-process limiter took over (the login of "b" is already counted in it).
    assert (await h.login(device="c")).status == 200
    assert (await h.login(device="c")).status == 200
    limited = await h.login(device="c")
    assert (limited.status, limited.code) == (429, "rate_limited")
    redis.gate.open()
    assert (await h.call("GET", "/api/v1/auth/me", token=token)).status == 401
    assert (await h.call("GET", "/api/v1/auth/me", token=other)).status == 200
    assert (await h.call("GET", "/health")).body["status"] == "ok"


async def test_bearer_header_shapes(h: Harness, admin: str) -> None:
    for header in ("", "Basic abc", "Bearer", "Bearer fxr_" + "A" * 43, "Bearer fxs_short"):
        response = await h.client.get(
            "/api/v1/auth/me", headers={"Authorization": header}, scope_base={"client": LOCAL}
        )
        assert response.status_code == 401, header
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_two_concurrent_refreshes_with_one_token_count_as_reuse(
    h: Harness, admin: str
) -> None:
    pair = (await h.login(device="racer")).body
    replies: list[Any] = []

    async def refresh() -> None:
        replies.append(
            await h.call("POST", "/api/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})
        )

    async with trio.open_nursery() as nursery:
        nursery.start_soon(refresh)
        nursery.start_soon(refresh)
    statuses = sorted(r.status for r in replies)
    assert statuses == [200, 401]
    winner = next(r for r in replies if r.status == 200).body
    assert next(r for r in replies if r.status == 401).code == "refresh_token_reused"
    # The family is gone, including what the winner got.
    assert (await h.call("GET", "/api/v1/auth/me", token=winner["access_token"])).status == 401


async def test_expired_rows_are_purged(h: Harness, admin: str) -> None:
    await h.login(device="old")
    assert await h.service.purge_expired() == 0
    h.clock.advance(31 * 86400 + 1)
    assert await h.service.purge_expired() > 0
    assert (await h.call("GET", "/api/v1/auth/me", token=admin)).status == 401


def test_auth_settings_come_from_the_environment(tmp_path: Path) -> None:
    from appliance import config as config_mod
    from appliance.config import ConfigError, Location

    location = Location(tmp_path, tmp_path / "ferrex.toml")
    loaded = config_mod.load(
        location, environ={"FERREX_AUTH_LOGIN_LIMIT": "3", "FERREX_AUTH_ARGON2_TIME_COST": "2"}
    )
    assert (loaded.auth.login_limit, loaded.auth.argon2_time_cost) == (3, 2)
    assert loaded.auth.max_failed_pins == 3 and loaded.auth.max_failed_passwords == 5
    assert "[auth]" in config_mod.render(loaded)
    with pytest.raises(ConfigError, match=r"auth\.login_limit"):
        config_mod.load(location, environ={"FERREX_AUTH_LOGIN_LIMIT": "0"})
