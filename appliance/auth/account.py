"""The caller's own account: who am I, log out, set this device's PIN, change the password."""

from __future__ import annotations

import uuid

from appliance.auth.core import AuthCore
from appliance.auth.passwords import password_problem, pin_problem
from appliance.auth.principal import Principal
from appliance.auth.views import device_out, user_summary
from appliance.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated
from store import auth_devices, auth_sessions, auth_users
from sync import auth_types as t
from sync.errors import ErrorCode


class OwnAccount(AuthCore):
    async def me(self, principal: Principal) -> t.Me:
        user = await self._user(uuid.UUID(principal.user_id))
        assert principal.device_id is not None and principal.session_id is not None
        device = await auth_devices.by_id(self.db, principal.device_id)
        if device is None:
            raise NotAuthenticated(ErrorCode.INVALID_TOKEN, "session expired or revoked")
        return t.Me(
            user=user_summary(user),
            scope=principal.scope,  # type: ignore[arg-type]
            permissions=sorted(principal.permissions),
            session_id=principal.session_id,
            device=device_out(device),
        )

    async def logout(self, principal: Principal) -> None:
        assert principal.family_id is not None
        dead = await auth_sessions.revoke_family(
            self.db, principal.family_id, self.clock.now(), "logout"
        )
        await self._invalidate(dead)

    async def set_pin(self, principal: Principal, pin: str) -> t.DeviceOut:
        problem = pin_problem(pin)
        if problem:
            raise InvalidInput(ErrorCode.WEAK_PIN, problem)
        assert principal.device_id is not None
        device = await auth_devices.set_pin(
            self.db, principal.device_id, await self.hasher.hash(pin)
        )
        if device is None:
            raise Conflict(ErrorCode.DEVICE_REVOKED, "this device was revoked")
        return device_out(device)

    async def change_password(
        self, principal: Principal, body: t.ChangePasswordRequest, ip: str
    ) -> None:
        now = self.clock.now()
        user = await self._user(uuid.UUID(principal.user_id))
        if not await self._check_password(user, user.username, body.current_password, ip):
            raise Forbidden(ErrorCode.WRONG_PASSWORD, "the current password is wrong")
        problem = password_problem(body.new_password, self.config.password_min_length)
        if problem:
            raise InvalidInput(ErrorCode.WEAK_PASSWORD, problem)
        new_hash = await self.hasher.hash(body.new_password)
        async with self.db.transaction() as conn:
            await auth_users.set_password(conn, user.id, new_hash, now)
            dead = await auth_sessions.revoke_user(
                conn, user.id, now, "password_changed", keep_family=principal.family_id
            )
        await self._invalidate(dead)
        await self.event(
            "password_changed",
            user_id=user.id,
            device_id=principal.device_id,
            ip=ip,
            sessions_revoked=len(dead),
        )
