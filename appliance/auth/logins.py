"""First-run claim and the logins: password, PIN on a trusted device, refresh rotation (a
reused refresh token revokes its whole login)."""

from __future__ import annotations

import hmac
import logging
import uuid
from datetime import datetime

from appliance.auth import keys, network, tokens
from appliance.auth.core import AuthCore, invalid_credentials, refuse_nul
from appliance.auth.lockout import Locked as LockedOut
from appliance.auth.passwords import password_problem
from appliance.auth.views import device_out, user_out, user_summary
from appliance.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated
from store import auth_devices, auth_sessions, auth_users
from store.auth_devices import DeviceRow, PinCounters
from store.auth_users import UserRow
from store.db import Connection
from sync import auth_types as t
from sync.errors import ErrorCode

log = logging.getLogger(__name__)


class Logins(AuthCore):
    async def _issue(
        self,
        conn: Connection,
        user: UserRow,
        device: DeviceRow,
        scope: str,
        now: datetime,
        family_id: uuid.UUID | None = None,
        generation: int = 0,
        device_key: str | None = None,
    ) -> t.TokenPair:
        if family_id is None:
            family_id = uuid.uuid4()
            await auth_sessions.create_family(
                conn,
                family_id=family_id,
                user_id=user.id,
                device_id=device.id,
                scope=scope,
                now=now,
            )
        refresh = tokens.new_token(tokens.REFRESH_PREFIX)
        await auth_sessions.add_refresh_token(
            conn,
            token_hash=self._hash(refresh),
            family_id=family_id,
            generation=generation,
            now=now,
            expires_at=now + self.refresh_lifetime,
        )
        access = tokens.new_token(tokens.SESSION_PREFIX)
        session_id = uuid.uuid4()
        await auth_sessions.add_session(
            conn,
            session_id=session_id,
            token_hash=self._hash(access),
            user_id=user.id,
            device_id=device.id,
            family_id=family_id,
            scope=scope,
            now=now,
            expires_at=now + self.session_lifetime,
        )
        return t.TokenPair(
            access_token=access,
            refresh_token=refresh,
            expires_in=int(self.session_lifetime.total_seconds()),
            refresh_expires_in=int(self.refresh_lifetime.total_seconds()),
            scope=scope,  # type: ignore[arg-type]
            session_id=session_id,
            user=user_summary(user),
            device=device_out(device),
            device_key=device_key,
        )

    async def _trusted_device(self, user: UserRow | None, body: t.LoginRequest) -> DeviceRow | None:
        """The trusted device that ``body.device_key`` proves, or None. The client id alone is
        client-chosen and guessable; the key is 256 random bits the server handed this device
        at its last password login, stored only as an HMAC. Unknown users take the same steps."""
        if body.device_key is None or not tokens.well_formed(body.device_key, tokens.DEVICE_PREFIX):
            return None
        device = await auth_devices.by_client_id(
            self.db, user.id if user else uuid.UUID(int=0), body.device.id
        )
        if device is None or device.state != "trusted" or device.pin_locked:
            return None
        stored = await auth_devices.key_hash(self.db, device.id)
        if stored is None or not hmac.compare_digest(stored, self._hash(body.device_key)):
            return None
        return device

    # -- first run ------------------------------------------------------------------------------

    async def setup_status(self, ip: str) -> t.SetupStatus:
        return t.SetupStatus(
            claimed=await auth_users.count_admins(self.db) > 0, local_client=network.is_local(ip)
        )

    async def claim(self, body: t.SetupClaimRequest, ip: str) -> t.UserOut:
        if await auth_users.count_admins(self.db) > 0:
            raise Conflict(ErrorCode.ALREADY_CLAIMED, "this appliance already has an admin")
        now = self.clock.now()
        if not network.is_local(ip) and not (
            body.setup_token
            and keys.check_setup_token(self.data_dir, self._key, body.setup_token, now)
        ):
            await self.event("setup_refused", ip=ip)
            raise Forbidden(
                ErrorCode.SETUP_NOT_ALLOWED,
                "claim this appliance from the local network, or with a token from "
                "`ferrex-appliance setup-token`",
            )
        problem = password_problem(body.password, self.config.password_min_length)
        if problem:
            raise InvalidInput(ErrorCode.WEAK_PASSWORD, problem)
        password_hash = await self.hasher.hash(body.password)
        async with self.db.transaction() as conn:
            await auth_users.lock_setup(conn)
            if await auth_users.count_admins(conn) > 0:
                raise Conflict(ErrorCode.ALREADY_CLAIMED, "this appliance already has an admin")
            user = await auth_users.insert(
                conn,
                username=body.username,
                display_name=body.display_name,
                role="admin",
                password_hash=password_hash,
                now=now,
            )
        keys.discard_setup_token(self.data_dir)
        await self.event(
            "setup_claimed",
            user_id=user.id,
            ip=ip,
            via="setup_token" if not network.is_local(ip) else "local_network",
        )
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
                    PinCounters(trusted.id), lambda: self.hasher.verify(stored, body.password)
                )
            except LockedOut:
                pass  # locked or busy meanwhile: the account's own rules decide below
            else:
                ok = outcome.ok
                if outcome.newly_locked:
                    await self.event(
                        "device_locked",
                        user_id=user.id,
                        device_id=trusted.id,
                        ip=ip,
                        failures=outcome.failures,
                        via="password",
                    )
        if ok is None:
            ok = await self._check_password(user, body.username, body.password, ip)
        if not ok or user is None:
            raise invalid_credentials()
        now = self.clock.now()
        if self.hasher.needs_rehash(user.password_hash):
            new_hash = await self.hasher.hash(body.password)
            await auth_users.rehash(self.db, user.id, new_hash, user.password_hash)
            log.info(
                "password re-hashed with current argon2 parameters", extra={"user_id": str(user.id)}
            )
        device_key = tokens.new_token(tokens.DEVICE_PREFIX)
        async with self.db.transaction() as conn:
            device = await auth_devices.register(
                conn,
                user_id=user.id,
                client_id=body.device.id,
                name=body.device.name,
                platform=body.device.platform,
                now=now,
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
            self.db, user.id if user else uuid.UUID(int=0), body.device_id
        )
        if user is None or device is None:
            await self.hasher.verify(None, body.pin)  # same time as a wrong PIN
            raise invalid_credentials()
        if device.state != "trusted":
            raise Forbidden(
                ErrorCode.DEVICE_NOT_TRUSTED,
                "this device has no PIN; log in with the password and set one",
            )
        if device.pin_locked:
            raise self._device_locked()
        pin_hash = device.pin_hash
        try:
            outcome = await self.pin_lockout.check(
                PinCounters(device.id), lambda: self.hasher.verify(pin_hash, body.pin)
            )
        except LockedOut:
            raise self._device_locked() from None
        if not outcome.ok:
            if outcome.newly_locked:
                await self.event(
                    "device_locked",
                    user_id=user.id,
                    device_id=device.id,
                    ip=ip,
                    failures=outcome.failures,
                )
            error = invalid_credentials()
            error.details = {
                "attempts_left": max(0, self.config.max_failed_pins - outcome.failures)
            }
            raise error
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await auth_devices.touch(conn, device.id, now)
            return await self._issue(conn, user, device, "playback", now)

    async def refresh(self, body: t.RefreshRequest, ip: str) -> t.TokenPair:
        invalid = NotAuthenticated(
            ErrorCode.INVALID_REFRESH_TOKEN,
            "refresh token unknown, expired or revoked; log in again",
        )
        if not tokens.well_formed(body.refresh_token, tokens.REFRESH_PREFIX):
            raise invalid
        token_hash = self._hash(body.refresh_token)
        now = self.clock.now()
        row = await auth_sessions.refresh_lookup(self.db, token_hash)
        if row is None:
            raise invalid
        if row.rotated_at is not None:
            await self._reuse(row.family_id, row.user_id, row.device_id, row.generation, ip, now)
        if (
            row.family_revoked_at is not None
            or row.device_state == "revoked"
            or row.expires_at <= now
        ):
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
                pair = await self._issue(
                    conn,
                    user,
                    device,
                    row.scope,
                    now,
                    family_id=row.family_id,
                    generation=generation + 1,
                )
        if pair is None:  # a concurrent request rotated it first: the same token used twice
            await self._reuse(row.family_id, row.user_id, row.device_id, row.generation, ip, now)
        await self._invalidate(dead)
        assert pair is not None
        return pair

    async def _reuse(
        self,
        family_id: uuid.UUID,
        user_id: uuid.UUID,
        device_id: uuid.UUID,
        generation: int,
        ip: str,
        now: datetime,
    ) -> None:
        """A rotated refresh token came back: someone holds a copy. Kill the whole family."""
        dead = await auth_sessions.revoke_family(self.db, family_id, now, "refresh_reuse")
        await self._invalidate(dead)
        await self.event(
            "refresh_token_reuse",
            user_id=user_id,
            device_id=device_id,
            ip=ip,
            family_id=str(family_id),
            generation=generation,
            sessions_revoked=len(dead),
        )
        raise NotAuthenticated(
            ErrorCode.REFRESH_TOKEN_REUSED,
            "this refresh token was already used; the login was revoked",
        )
