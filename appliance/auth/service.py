"""The auth flows: first-run claim, password and PIN login, refresh rotation, revocation, and the
authenticator that turns a bearer token into a :class:`Principal` for every protected request.

Postgres is the truth (users, devices, sessions, families, lockout counters); Redis only caches
validated sessions and keeps rate-limit windows, so losing Redis loses speed, not security.
No token, password or PIN is ever logged; security events name users and devices by id.
"""

from __future__ import annotations

import hmac
import logging
import math
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import quart
import trio

from appliance.api.errors import ApiError
from appliance.auth import keys, network, rbac, tokens
from appliance.auth.cache import CachedSession, SessionCache
from appliance.auth.clock import Clock, SystemClock
from appliance.auth.lockout import Locked, Lockout
from appliance.auth.passwords import Hasher, password_problem, pin_problem
from appliance.auth.principal import Principal
from appliance.auth.ratelimit import RateLimiter
from appliance.config import AuthSection
from appliance.redis_client import RedisClient
from store import auth_devices, auth_events, auth_sessions, auth_users, login_counters
from store.auth_devices import DeviceRow, PinCounters
from store.auth_users import UsernameTaken, UserRow
from store.db import Connection, Database
from store.gate import Unavailable
from store.login_counters import UnknownNameCounters, UserCounters
from sync import auth_types as t

if TYPE_CHECKING:
    from appliance.state import AppState

log = logging.getLogger(__name__)
security_log = logging.getLogger(f"{__name__}.security")


def invalid_credentials() -> ApiError:
    return ApiError(401, "invalid_credentials", "wrong username, password or PIN")


def refuse_nul(*values: str) -> None:
    """Postgres text cannot hold NUL: refuse it before any lookup, so that the answer (422) is
    the same whether or not the user exists (it was a 500 for a real user, 401 for others)."""
    if any("\x00" in v for v in values):
        raise ApiError(422, "invalid_body", "request body: text must not contain NUL characters")


def client_ip(request: quart.Request) -> str:
    """The TCP peer (never a forwarded-for header)."""
    client = request.scope.get("client")
    return str(client[0]) if client else ""


def user_summary(user: UserRow) -> t.UserSummary:
    return t.UserSummary(id=user.id, username=user.username, display_name=user.display_name,
                         role=user.role)  # type: ignore[arg-type]


def device_out(device: DeviceRow) -> t.DeviceOut:
    return t.DeviceOut(id=device.id, client_id=device.client_id, name=device.name,
                       platform=device.platform, state=device.state,  # type: ignore[arg-type]
                       pin_locked=device.pin_locked, created_at=device.created_at,
                       last_seen_at=device.last_seen_at)


def user_out(user: UserRow, overrides: dict[str, str]) -> t.UserOut:
    return t.UserOut(
        id=user.id, username=user.username, display_name=user.display_name,
        role=user.role, locked_until=user.locked_until,  # type: ignore[arg-type]
        created_at=user.created_at,
        overrides=t.PermissionOverrides(
            grant=sorted(p for p, e in overrides.items() if e == "grant"),
            deny=sorted(p for p, e in overrides.items() if e == "deny"),
        ),
    )


class AuthService:
    def __init__(self, db: Database, redis: RedisClient, config: AuthSection, server_key: bytes,
                 data_dir: Path, clock: Clock | None = None) -> None:
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

    def attach(self, state: AppState) -> None:
        """Make this service the app's authenticator and rate limiter."""
        state.auth = self
        state.authenticator = self.authenticate
        state.rate_limiter = self.rate_limit

    async def purge_expired(self) -> int:
        """Drop rows that expired more than a day ago (the day keeps them for support/audits),
        and the failure counters of unknown names nobody tried for a day."""
        before = self.clock.now() - timedelta(days=1)
        return (await auth_sessions.purge_expired(self.db, before)
                + await login_counters.purge_unknown(self.db, before))

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
        return Lockout(self.db, self.clock, self.config.max_failed_passwords,
                       timedelta(minutes=self.config.password_lockout_minutes))

    @property
    def pin_lockout(self) -> Lockout:
        """max_failed_pins failures lock a device's PIN until a password login on it."""
        return Lockout(self.db, self.clock, self.config.max_failed_pins, None)

    async def event(self, kind: str, *, user_id: uuid.UUID | None = None,
                    device_id: uuid.UUID | None = None, ip: str = "",
                    **details: Any) -> None:
        await auth_events.record(self.db, at=self.clock.now(), kind=kind, user_id=user_id,
                                 device_id=device_id, client_ip=ip, details=details)
        security_log.warning(kind, extra={
            "user_id": str(user_id) if user_id else None,
            "device_id": str(device_id) if device_id else None, "remote": ip, **details,
        })

    async def _issue(self, conn: Connection, user: UserRow, device: DeviceRow, scope: str,
                     now: datetime, family_id: uuid.UUID | None = None,
                     generation: int = 0, device_key: str | None = None) -> t.TokenPair:
        if family_id is None:
            family_id = uuid.uuid4()
            await auth_sessions.create_family(conn, family_id=family_id, user_id=user.id,
                                              device_id=device.id, scope=scope, now=now)
        refresh = tokens.new_token(tokens.REFRESH_PREFIX)
        await auth_sessions.add_refresh_token(
            conn, token_hash=self._hash(refresh), family_id=family_id, generation=generation,
            now=now, expires_at=now + self.refresh_lifetime,
        )
        access = tokens.new_token(tokens.SESSION_PREFIX)
        session_id = uuid.uuid4()
        await auth_sessions.add_session(
            conn, session_id=session_id, token_hash=self._hash(access), user_id=user.id,
            device_id=device.id, family_id=family_id, scope=scope, now=now,
            expires_at=now + self.session_lifetime,
        )
        return t.TokenPair(
            access_token=access, refresh_token=refresh,
            expires_in=int(self.session_lifetime.total_seconds()),
            refresh_expires_in=int(self.refresh_lifetime.total_seconds()),
            scope=scope, session_id=session_id,  # type: ignore[arg-type]
            user=user_summary(user), device=device_out(device), device_key=device_key,
        )

    def _account_locked(self, until: datetime | None) -> ApiError:
        """423 for a locked account, or (``until`` None) for one whose remaining attempts are
        all being verified right now: those may lock it, so no more are verified meanwhile."""
        seconds = 1 if until is None else max(
            1, math.ceil((until - self.clock.now()).total_seconds()))
        return ApiError(423, "account_locked",
                        f"too many failed passwords; try again in {seconds} s",
                        {"retry_after_s": seconds})

    @staticmethod
    def _device_locked() -> ApiError:
        return ApiError(423, "device_locked",
                        "PIN locked after too many failed attempts; log in with the password "
                        "to unlock it")

    async def _check_password(self, user: UserRow | None, username: str, password: str,
                              ip: str) -> bool:
        """Verify a password under the account lockout. An unknown name goes through the same
        steps (its own counters, a verify against a fixed dummy hash), so it answers 401 and
        423 exactly when a real account would, in the same time."""
        counters = UserCounters(user.id) if user else UnknownNameCounters(username)
        stored = user.password_hash if user else None
        try:
            outcome = await self.password_lockout.check(
                counters, lambda: self.hasher.verify(stored, password))
        except Locked as locked:
            raise self._account_locked(locked.until) from None
        if outcome.newly_locked:  # for unknown names too: same work, and worth an admin's eye
            await self.event("account_locked" if user else "unknown_user_locked",
                             user_id=user.id if user else None, ip=ip,
                             failures=outcome.failures,
                             minutes=self.config.password_lockout_minutes)
        return outcome.ok and user is not None

    async def _trusted_device(self, user: UserRow | None,
                              body: t.LoginRequest) -> DeviceRow | None:
        """The trusted device that ``body.device_key`` proves, or None. The client id alone is
        client-chosen and guessable; the key is 256 random bits the server handed this device
        at its last password login, stored only as an HMAC. Unknown users take the same steps."""
        if body.device_key is None or not tokens.well_formed(body.device_key,
                                                             tokens.DEVICE_PREFIX):
            return None
        device = await auth_devices.by_client_id(
            self.db, user.id if user else uuid.UUID(int=0), body.device.id)
        if device is None or device.state != "trusted" or device.pin_locked:
            return None
        stored = await auth_devices.key_hash(self.db, device.id)
        if stored is None or not hmac.compare_digest(stored, self._hash(body.device_key)):
            return None
        return device

    async def _invalidate(self, hashes: list[bytes]) -> None:
        await self.cache.invalidate(hashes)

    # -- the authenticator and the rate-limit hook (see appliance.api.routing) ----------------

    async def authenticate(self, request: quart.Request, state: object) -> Principal:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "unauthorized", "authentication required")
        if not tokens.well_formed(token, tokens.SESSION_PREFIX):
            raise ApiError(401, "invalid_token", "not a session token")
        token_hash = self._hash(token)
        now = self.clock.now()
        stamp = now.timestamp()
        entry = await self.cache.get(token_hash, stamp)
        if entry is None:
            row = await auth_sessions.principal(self.db, token_hash, now)
            if row is None:
                raise ApiError(401, "invalid_token", "session expired or revoked")
            entry = CachedSession(
                token_hash=token_hash, session_id=str(row.session_id), user_id=str(row.user_id),
                username=row.username, role=row.role, scope=row.scope,
                device_id=str(row.device_id), family_id=str(row.family_id),
                expires_at=row.expires_at.timestamp(), grants=row.grants, denies=row.denies,
            )
            await self.cache.put(entry, stamp)
        return Principal(
            user_id=entry.user_id, username=entry.username, role=entry.role, scope=entry.scope,
            permissions=rbac.effective(entry.role, entry.grants, entry.denies, entry.scope),
            session_id=uuid.UUID(entry.session_id), device_id=uuid.UUID(entry.device_id),
            family_id=uuid.UUID(entry.family_id),
        )

    async def rate_limit(self, action: str, ip: str, device_id: str | None) -> dict[str, str]:
        decision = await self.limiter.hit(action, ip, device_id)
        headers = decision.headers()
        if not decision.allowed:
            raise ApiError(429, "rate_limited",
                           f"too many {action} attempts; retry in {headers['Retry-After']} s",
                           {"retry_after_s": int(headers["Retry-After"])}, headers=headers)
        return headers

    # -- first run ------------------------------------------------------------------------------

    async def setup_status(self, ip: str) -> t.SetupStatus:
        return t.SetupStatus(claimed=await auth_users.count_admins(self.db) > 0,
                             local_client=network.is_local(ip))

    async def claim(self, body: t.SetupClaimRequest, ip: str) -> t.UserOut:
        if await auth_users.count_admins(self.db) > 0:
            raise ApiError(409, "already_claimed", "this appliance already has an admin")
        now = self.clock.now()
        if not network.is_local(ip) and not (
            body.setup_token and keys.check_setup_token(self.data_dir, self._key,
                                                        body.setup_token, now)
        ):
            await self.event("setup_refused", ip=ip)
            raise ApiError(403, "setup_not_allowed",
                           "claim this appliance from the local network, or with a token from "
                           "`ferrex-appliance setup-token`")
        problem = password_problem(body.password, self.config.password_min_length)
        if problem:
            raise ApiError(422, "weak_password", problem)
        password_hash = await self.hasher.hash(body.password)
        async with self.db.transaction() as conn:
            await auth_users.lock_setup(conn)
            if await auth_users.count_admins(conn) > 0:
                raise ApiError(409, "already_claimed", "this appliance already has an admin")
            user = await auth_users.insert(conn, username=body.username,
                                           display_name=body.display_name, role="admin",
                                           password_hash=password_hash, now=now)
        keys.discard_setup_token(self.data_dir)
        await self.event("setup_claimed", user_id=user.id, ip=ip,
                         via="setup_token" if not network.is_local(ip) else "local_network")
        return user_out(user, {})

    # -- logins ---------------------------------------------------------------------------------

    async def login(self, body: t.LoginRequest, ip: str) -> t.TokenPair:
        """Password login. Wrong passwords count against the account (or the unknown name),
        except from a trusted device proven by its device key: there they count against that
        device's PIN lock instead, and the account lockout does not stop it, so a stranger's
        wrong passwords cannot lock the owner out of their own devices."""
        refuse_nul(body.device.id, body.device.name, body.device.platform)
        user = await auth_users.by_name(self.db, body.username)
        trusted = await self._trusted_device(user, body)
        ok: bool | None = None
        if trusted is not None and user is not None:
            stored = user.password_hash
            try:
                outcome = await self.pin_lockout.check(
                    PinCounters(trusted.id), lambda: self.hasher.verify(stored, body.password))
            except Locked:
                pass  # locked or busy meanwhile: the account's own rules decide below
            else:
                ok = outcome.ok
                if outcome.newly_locked:
                    await self.event("device_locked", user_id=user.id, device_id=trusted.id,
                                     ip=ip, failures=outcome.failures, via="password")
        if ok is None:
            ok = await self._check_password(user, body.username, body.password, ip)
        if not ok or user is None:
            raise invalid_credentials()
        now = self.clock.now()
        if self.hasher.needs_rehash(user.password_hash):
            new_hash = await self.hasher.hash(body.password)
            await auth_users.rehash(self.db, user.id, new_hash, user.password_hash)
            log.info("password re-hashed with current argon2 parameters",
                     extra={"user_id": str(user.id)})
        device_key = tokens.new_token(tokens.DEVICE_PREFIX)
        async with self.db.transaction() as conn:
            device = await auth_devices.register(
                conn, user_id=user.id, client_id=body.device.id, name=body.device.name,
                platform=body.device.platform, now=now,
            )
            await auth_devices.set_key(conn, device.id, self._hash(device_key))
            return await self._issue(conn, user, device, "full", now, device_key=device_key)

    async def pin_login(self, body: t.PinLoginRequest, ip: str) -> t.TokenPair:
        """PIN login on a trusted device, under the device's own PIN lock (not the account
        lockout: that one stops password guessing, and must not let strangers lock the owner's
        TV out too)."""
        refuse_nul(body.device_id)
        user = await auth_users.by_name(self.db, body.username)
        device = await auth_devices.by_client_id(
            self.db, user.id if user else uuid.UUID(int=0), body.device_id)
        if user is None or device is None:
            await self.hasher.verify(None, body.pin)  # same time as a wrong PIN
            raise invalid_credentials()
        if device.state != "trusted":
            raise ApiError(403, "device_not_trusted",
                           "this device has no PIN; log in with the password and set one")
        if device.pin_locked:
            raise self._device_locked()
        pin_hash = device.pin_hash
        try:
            outcome = await self.pin_lockout.check(
                PinCounters(device.id), lambda: self.hasher.verify(pin_hash, body.pin))
        except Locked:
            raise self._device_locked() from None
        if not outcome.ok:
            if outcome.newly_locked:
                await self.event("device_locked", user_id=user.id, device_id=device.id, ip=ip,
                                 failures=outcome.failures)
            error = invalid_credentials()
            error.details = {"attempts_left": max(0, self.config.max_failed_pins
                                                  - outcome.failures)}
            raise error
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await auth_devices.touch(conn, device.id, now)
            return await self._issue(conn, user, device, "playback", now)

    async def refresh(self, body: t.RefreshRequest, ip: str) -> t.TokenPair:
        invalid = ApiError(401, "invalid_refresh_token", "refresh token unknown, expired or "
                           "revoked; log in again")
        if not tokens.well_formed(body.refresh_token, tokens.REFRESH_PREFIX):
            raise invalid
        token_hash = self._hash(body.refresh_token)
        now = self.clock.now()
        row = await auth_sessions.refresh_lookup(self.db, token_hash)
        if row is None:
            raise invalid
        if row.rotated_at is not None:
            await self._reuse(row.family_id, row.user_id, row.device_id, row.generation, ip, now)
        if (row.family_revoked_at is not None or row.device_state == "revoked"
                or row.expires_at <= now):
            raise invalid
        user = await auth_users.by_id(self.db, row.user_id)
        device = await auth_devices.by_id(self.db, row.device_id)
        if user is None or device is None:
            raise invalid
        dead: list[bytes] = []
        pair: t.TokenPair | None = None
        async with self.db.transaction() as conn:
            generation = await auth_sessions.claim_refresh(conn, token_hash, now)
            if generation is not None:
                if not await auth_sessions.bump_family(conn, row.family_id, generation + 1):
                    raise invalid
                dead = await auth_sessions.revoke_family_sessions(conn, row.family_id, now)
                await auth_devices.touch(conn, device.id, now)
                pair = await self._issue(conn, user, device, row.scope, now,
                                         family_id=row.family_id, generation=generation + 1)
        if pair is None:  # a concurrent request rotated it first: the same token used twice
            await self._reuse(row.family_id, row.user_id, row.device_id, row.generation, ip, now)
        await self._invalidate(dead)
        assert pair is not None
        return pair

    async def _reuse(self, family_id: uuid.UUID, user_id: uuid.UUID, device_id: uuid.UUID,
                     generation: int, ip: str, now: datetime) -> None:
        """A rotated refresh token came back: someone holds a copy. Kill the whole family."""
        dead = await auth_sessions.revoke_family(self.db, family_id, now, "refresh_reuse")
        await self._invalidate(dead)
        await self.event("refresh_token_reuse", user_id=user_id, device_id=device_id, ip=ip,
                         family_id=str(family_id), generation=generation,
                         sessions_revoked=len(dead))
        raise ApiError(401, "refresh_token_reused",
                       "this refresh token was already used; the login was revoked")

    # -- the caller's own account ---------------------------------------------------------------

    async def me(self, principal: Principal) -> t.Me:
        user = await self._user(uuid.UUID(principal.user_id))
        assert principal.device_id is not None and principal.session_id is not None
        device = await auth_devices.by_id(self.db, principal.device_id)
        if device is None:
            raise ApiError(401, "invalid_token", "session expired or revoked")
        return t.Me(user=user_summary(user), scope=principal.scope,  # type: ignore[arg-type]
                    permissions=sorted(principal.permissions), session_id=principal.session_id,
                    device=device_out(device))

    async def logout(self, principal: Principal) -> None:
        assert principal.family_id is not None
        dead = await auth_sessions.revoke_family(self.db, principal.family_id, self.clock.now(),
                                                 "logout")
        await self._invalidate(dead)

    async def set_pin(self, principal: Principal, pin: str) -> t.DeviceOut:
        problem = pin_problem(pin)
        if problem:
            raise ApiError(422, "weak_pin", problem)
        assert principal.device_id is not None
        device = await auth_devices.set_pin(self.db, principal.device_id,
                                            await self.hasher.hash(pin))
        if device is None:
            raise ApiError(409, "device_revoked", "this device was revoked")
        return device_out(device)

    async def change_password(self, principal: Principal, body: t.ChangePasswordRequest,
                              ip: str) -> None:
        now = self.clock.now()
        user = await self._user(uuid.UUID(principal.user_id))
        if not await self._check_password(user, user.username, body.current_password, ip):
            raise ApiError(403, "wrong_password", "the current password is wrong")
        problem = password_problem(body.new_password, self.config.password_min_length)
        if problem:
            raise ApiError(422, "weak_password", problem)
        new_hash = await self.hasher.hash(body.new_password)
        async with self.db.transaction() as conn:
            await auth_users.set_password(conn, user.id, new_hash, now)
            dead = await auth_sessions.revoke_user(conn, user.id, now, "password_changed",
                                                   keep_family=principal.family_id)
        await self._invalidate(dead)
        await self.event("password_changed", user_id=user.id, device_id=principal.device_id,
                         ip=ip, sessions_revoked=len(dead))

    # -- devices and sessions (own, or any user's for admins) -----------------------------------

    async def list_devices(self, user_id: uuid.UUID) -> t.DeviceList:
        await self._user(user_id)
        return t.DeviceList(devices=[device_out(d) for d in
                                     await auth_devices.list_for_user(self.db, user_id)])

    async def revoke_device(self, user_id: uuid.UUID, device_id: uuid.UUID, actor: Principal,
                            ip: str) -> None:
        device = await auth_devices.by_id(self.db, device_id)
        if device is None or device.user_id != user_id:
            raise ApiError(404, "not_found", "no such device")
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await auth_devices.revoke(conn, device_id, now)
            dead = await auth_sessions.revoke_device(conn, device_id, now, "device_revoked")
        await self._invalidate(dead)
        await self.event("device_revoked", user_id=user_id, device_id=device_id, ip=ip,
                         by=actor.user_id, sessions_revoked=len(dead))

    async def list_sessions(self, user_id: uuid.UUID,
                            current: uuid.UUID | None) -> t.SessionList:
        await self._user(user_id)
        rows = await auth_sessions.list_for_user(self.db, user_id, self.clock.now())
        return t.SessionList(sessions=[
            t.SessionOut(id=r.id, device_id=r.device_id, device_name=r.device_name,
                         scope=r.scope, created_at=r.created_at,  # type: ignore[arg-type]
                         expires_at=r.expires_at, current=r.id == current)
            for r in rows
        ])

    async def revoke_session(self, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
        found = await auth_sessions.session_by_id(self.db, session_id)
        if found is None or found[0] != user_id:
            raise ApiError(404, "not_found", "no such session")
        dead = await auth_sessions.revoke_family(self.db, found[1], self.clock.now(), "revoked")
        await self._invalidate(dead)

    # -- user administration --------------------------------------------------------------------

    async def _user(self, user_id: uuid.UUID) -> UserRow:
        user = await auth_users.by_id(self.db, user_id)
        if user is None:
            raise ApiError(404, "not_found", "no such user")
        return user

    async def _refresh_cached(self, user_id: uuid.UUID) -> None:
        """Role or overrides changed: cached sessions carry the old permissions."""
        await self._invalidate(await auth_sessions.live_hashes_for_user(self.db, user_id))

    async def list_users(self) -> t.UserList:
        users = await auth_users.list_all(self.db)
        return t.UserList(users=[user_out(u, await auth_users.overrides(self.db, u.id))
                                 for u in users])

    async def get_user(self, user_id: uuid.UUID) -> t.UserOut:
        user = await self._user(user_id)
        return user_out(user, await auth_users.overrides(self.db, user_id))

    async def create_user(self, body: t.CreateUserRequest) -> t.UserOut:
        problem = password_problem(body.password, self.config.password_min_length)
        if problem:
            raise ApiError(422, "weak_password", problem)
        password_hash = await self.hasher.hash(body.password)
        try:
            user = await auth_users.insert(self.db, username=body.username,
                                           display_name=body.display_name, role=body.role,
                                           password_hash=password_hash, now=self.clock.now())
        except UsernameTaken:
            raise ApiError(409, "username_taken", "that username is taken") from None
        return user_out(user, {})

    async def update_user(self, user_id: uuid.UUID, body: t.UpdateUserRequest) -> t.UserOut:
        async with self.db.transaction() as conn:
            await auth_users.lock_setup(conn)  # serialises changes to the set of admins
            user = await auth_users.by_id(conn, user_id)
            if user is None:
                raise ApiError(404, "not_found", "no such user")
            if (user.role == "admin" and body.role not in (None, "admin")
                    and await auth_users.count_admins(conn) <= 1):
                raise ApiError(409, "last_admin", "the last admin cannot be demoted")
            try:
                updated = await auth_users.update(conn, user_id, username=body.username,
                                                  display_name=body.display_name,
                                                  role=body.role, now=self.clock.now())
            except UsernameTaken:
                raise ApiError(409, "username_taken", "that username is taken") from None
        assert updated is not None
        await self._refresh_cached(user_id)
        return user_out(updated, await auth_users.overrides(self.db, user_id))

    async def delete_user(self, user_id: uuid.UUID, actor: Principal, ip: str) -> None:
        async with self.db.transaction() as conn:
            await auth_users.lock_setup(conn)
            user = await auth_users.by_id(conn, user_id)
            if user is None:
                raise ApiError(404, "not_found", "no such user")
            if user.role == "admin" and await auth_users.count_admins(conn) <= 1:
                raise ApiError(409, "last_admin", "the last admin cannot be deleted")
            dead = await auth_sessions.live_hashes_for_user(conn, user_id)
            await auth_users.delete(conn, user_id)
        await self._invalidate(dead)
        await self.event("user_deleted", user_id=user_id, ip=ip, by=actor.user_id)

    async def reset_password(self, user_id: uuid.UUID, body: t.ResetPasswordRequest,
                             actor: Principal, ip: str) -> None:
        problem = password_problem(body.new_password, self.config.password_min_length)
        if problem:
            raise ApiError(422, "weak_password", problem)
        await self._user(user_id)
        new_hash = await self.hasher.hash(body.new_password)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await auth_users.set_password(conn, user_id, new_hash, now)
            dead = await auth_sessions.revoke_user(conn, user_id, now, "password_reset")
        await self._invalidate(dead)
        await self.event("password_reset", user_id=user_id, ip=ip, by=actor.user_id,
                         sessions_revoked=len(dead))

    async def set_overrides(self, user_id: uuid.UUID,
                            body: t.PermissionOverrides) -> t.UserOut:
        bad = rbac.unknown([*body.grant, *body.deny])
        if bad:
            raise ApiError(422, "unknown_permission", f"unknown permissions: {', '.join(bad)}",
                           {"unknown": bad, "known": sorted(rbac.PERMISSIONS)})
        effects = {p: "grant" for p in body.grant}
        effects.update({p: "deny" for p in body.deny})  # DENY wins
        await self._user(user_id)
        async with self.db.transaction() as conn:
            await auth_users.replace_overrides(conn, user_id, effects)
        await self._refresh_cached(user_id)
        return await self.get_user(user_id)

    async def security_events(self, limit: int) -> t.SecurityEventList:
        rows = await auth_events.recent(self.db, limit)
        return t.SecurityEventList(events=[t.SecurityEvent(**{
            f: getattr(r, f) for f in ("id", "at", "kind", "user_id", "device_id", "client_ip",
                                       "details")}) for r in rows])
