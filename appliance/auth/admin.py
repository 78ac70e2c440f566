"""Administration: devices and sessions (own, or any user's for admins), users, permission
overrides, and the security event trail."""

from __future__ import annotations

import uuid

from appliance.auth import rbac
from appliance.auth.core import AuthCore
from appliance.auth.passwords import password_problem
from appliance.auth.principal import Principal
from appliance.auth.views import device_out, user_out
from appliance.errors import Conflict, InvalidInput, NotFound
from store import auth_devices, auth_events, auth_sessions, auth_users
from store.auth_users import UsernameTaken
from sync import auth_types as t
from sync.errors import ErrorCode


class Administration(AuthCore):
    # -- devices and sessions (own, or any user's for admins) -----------------------------------

    async def list_devices(self, user_id: uuid.UUID) -> t.DeviceList:
        await self._user(user_id)
        return t.DeviceList(
            devices=[device_out(d) for d in await auth_devices.list_for_user(self.db, user_id)]
        )

    async def revoke_device(
        self, user_id: uuid.UUID, device_id: uuid.UUID, actor: Principal, ip: str
    ) -> None:
        device = await auth_devices.by_id(self.db, device_id)
        if device is None or device.user_id != user_id:
            raise NotFound(ErrorCode.NOT_FOUND, "no such device")
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await auth_devices.revoke(conn, device_id, now)
            dead = await auth_sessions.revoke_device(conn, device_id, now, "device_revoked")
        await self._invalidate(dead)
        await self.event(
            "device_revoked",
            user_id=user_id,
            device_id=device_id,
            ip=ip,
            by=actor.user_id,
            sessions_revoked=len(dead),
        )

    async def list_sessions(self, user_id: uuid.UUID, current: uuid.UUID | None) -> t.SessionList:
        await self._user(user_id)
        rows = await auth_sessions.list_for_user(self.db, user_id, self.clock.now())
        return t.SessionList(
            sessions=[
                t.SessionOut(
                    id=r.id,
                    device_id=r.device_id,
                    device_name=r.device_name,
                    scope=r.scope,  # type: ignore[arg-type]
                    created_at=r.created_at,
                    expires_at=r.expires_at,
                    current=r.id == current,
                )
                for r in rows
            ]
        )

    async def revoke_session(self, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
        found = await auth_sessions.session_by_id(self.db, session_id)
        if found is None or found[0] != user_id:
            raise NotFound(ErrorCode.NOT_FOUND, "no such session")
        dead = await auth_sessions.revoke_family(self.db, found[1], self.clock.now(), "revoked")
        await self._invalidate(dead)

    async def list_users(self) -> t.UserList:
        users = await auth_users.list_all(self.db)
        return t.UserList(
            users=[user_out(u, await auth_users.overrides(self.db, u.id)) for u in users]
        )

    async def get_user(self, user_id: uuid.UUID) -> t.UserOut:
        user = await self._user(user_id)
        return user_out(user, await auth_users.overrides(self.db, user_id))

    async def create_user(self, body: t.CreateUserRequest) -> t.UserOut:
        problem = password_problem(body.password, self.config.password_min_length)
        if problem:
            raise InvalidInput(ErrorCode.WEAK_PASSWORD, problem)
        password_hash = await self.hasher.hash(body.password)
        try:
            user = await auth_users.insert(
                self.db,
                username=body.username,
                display_name=body.display_name,
                role=body.role,
                password_hash=password_hash,
                now=self.clock.now(),
            )
        except UsernameTaken:
            raise Conflict(ErrorCode.USERNAME_TAKEN, "that username is taken") from None
        return user_out(user, {})

    async def update_user(self, user_id: uuid.UUID, body: t.UpdateUserRequest) -> t.UserOut:
        async with self.db.transaction() as conn:
            await auth_users.lock_setup(conn)  # serialises changes to the set of admins
            user = await auth_users.by_id(conn, user_id)
            if user is None:
                raise NotFound(ErrorCode.NOT_FOUND, "no such user")
            if (
                user.role == "admin"
                and body.role not in (None, "admin")
                and await auth_users.count_admins(conn) <= 1
            ):
                raise Conflict(ErrorCode.LAST_ADMIN, "the last admin cannot be demoted")
            try:
                updated = await auth_users.update(
                    conn,
                    user_id,
                    username=body.username,
                    display_name=body.display_name,
                    role=body.role,
                    now=self.clock.now(),
                )
            except UsernameTaken:
                raise Conflict(ErrorCode.USERNAME_TAKEN, "that username is taken") from None
        assert updated is not None
        await self._refresh_cached(user_id)
        return user_out(updated, await auth_users.overrides(self.db, user_id))

    async def delete_user(self, user_id: uuid.UUID, actor: Principal, ip: str) -> None:
        async with self.db.transaction() as conn:
            await auth_users.lock_setup(conn)
            user = await auth_users.by_id(conn, user_id)
            if user is None:
                raise NotFound(ErrorCode.NOT_FOUND, "no such user")
            if user.role == "admin" and await auth_users.count_admins(conn) <= 1:
                raise Conflict(ErrorCode.LAST_ADMIN, "the last admin cannot be deleted")
            dead = await auth_sessions.live_hashes_for_user(conn, user_id)
            await auth_users.delete(conn, user_id)
        await self._invalidate(dead)
        await self.event("user_deleted", user_id=user_id, ip=ip, by=actor.user_id)

    async def reset_password(
        self, user_id: uuid.UUID, body: t.ResetPasswordRequest, actor: Principal, ip: str
    ) -> None:
        problem = password_problem(body.new_password, self.config.password_min_length)
        if problem:
            raise InvalidInput(ErrorCode.WEAK_PASSWORD, problem)
        await self._user(user_id)
        new_hash = await self.hasher.hash(body.new_password)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await auth_users.set_password(conn, user_id, new_hash, now)
            dead = await auth_sessions.revoke_user(conn, user_id, now, "password_reset")
        await self._invalidate(dead)
        await self.event(
            "password_reset", user_id=user_id, ip=ip, by=actor.user_id, sessions_revoked=len(dead)
        )

    async def set_overrides(self, user_id: uuid.UUID, body: t.PermissionOverrides) -> t.UserOut:
        bad = rbac.unknown([*body.grant, *body.deny])
        if bad:
            raise InvalidInput(
                ErrorCode.UNKNOWN_PERMISSION,
                f"unknown permissions: {', '.join(bad)}",
                {"unknown": bad, "known": sorted(rbac.PERMISSIONS)},
            )
        effects = {p: "grant" for p in body.grant}
        effects.update({p: "deny" for p in body.deny})  # DENY wins
        await self._user(user_id)
        async with self.db.transaction() as conn:
            await auth_users.replace_overrides(conn, user_id, effects)
        await self._refresh_cached(user_id)
        return await self.get_user(user_id)

    async def security_events(self, limit: int) -> t.SecurityEventList:
        rows = await auth_events.recent(self.db, limit)
        return t.SecurityEventList(
            events=[
                t.SecurityEvent(
                    **{
                        f: getattr(r, f)
                        for f in (
                            "id",
                            "at",
                            "kind",
                            "user_id",
                            "device_id",
                            "client_ip",
                            "details",
                        )
                    }
                )
                for r in rows
            ]
        )
