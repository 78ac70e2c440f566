"""The authenticator and the rate-limit hook the routes call (see ``appliance.api.routing``):
a bearer token becomes a :class:`Principal`, from the Redis cache or Postgres."""

from __future__ import annotations

import uuid

import quart

from appliance.auth import rbac, tokens
from appliance.auth.cache import CachedSession
from appliance.auth.core import AuthCore
from appliance.auth.principal import Principal
from appliance.errors import NotAuthenticated, RateLimited
from store import auth_sessions
from sync.errors import ErrorCode


class Authenticator(AuthCore):
    async def authenticate(self, request: quart.Request, state: object) -> Principal:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated(ErrorCode.UNAUTHORIZED, "authentication required")
        if not tokens.well_formed(token, tokens.SESSION_PREFIX):
            raise NotAuthenticated(ErrorCode.INVALID_TOKEN, "not a session token")
        token_hash = self._hash(token)
        now = self.clock.now()
        stamp = now.timestamp()
        entry = await self.cache.get(token_hash, stamp)
        if entry is None:
            row = await auth_sessions.principal(self.db, token_hash, now)
            if row is None:
                raise NotAuthenticated(ErrorCode.INVALID_TOKEN, "session expired or revoked")
            entry = CachedSession(
                token_hash=token_hash,
                session_id=str(row.session_id),
                user_id=str(row.user_id),
                username=row.username,
                role=row.role,
                scope=row.scope,
                device_id=str(row.device_id),
                family_id=str(row.family_id),
                expires_at=row.expires_at.timestamp(),
                grants=row.grants,
                denies=row.denies,
            )
            await self.cache.put(entry, stamp)
        return Principal(
            user_id=entry.user_id,
            username=entry.username,
            role=entry.role,
            scope=entry.scope,
            permissions=rbac.effective(entry.role, entry.grants, entry.denies, entry.scope),
            session_id=uuid.UUID(entry.session_id),
            device_id=uuid.UUID(entry.device_id),
            family_id=uuid.UUID(entry.family_id),
        )

    async def rate_limit(self, action: str, ip: str, device_id: str | None) -> dict[str, str]:
        decision = await self.limiter.hit(action, ip, device_id)
        headers = decision.headers()
        if not decision.allowed:
            raise RateLimited(
                ErrorCode.RATE_LIMITED,
                f"too many {action} attempts; retry in {headers['Retry-After']} s",
                {"retry_after_s": int(headers["Retry-After"])},
                headers=headers,
            )
        return headers
