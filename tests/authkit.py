"""Helpers for the auth tests: an in-process app with a real AuthService on the session's
Postgres and Redis, a manual clock, cheap Argon2 parameters, and a small HTTP client."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quart_trio import QuartTrio

from appliance.api.app import create_app
from appliance.api.routing import Router, deny_all
from appliance.auth.clock import ManualClock
from appliance.auth.service import AuthService
from appliance.config import AuthSection, Config
from appliance.redis_client import RedisClient
from appliance.state import AppState
from store.db import Database

LOCAL = ("192.168.1.20", 50000)
REMOTE = ("203.0.113.7", 50000)
ADMIN_PASSWORD = "correct horse battery"
# Cheap hashing so the suite stays fast; limits high so only the rate-limit tests hit them.
FAST = dict(
    argon2_memory_kib=1024,
    argon2_time_cost=1,
    argon2_parallelism=1,
    login_limit=1000,
    pin_limit=1000,
    refresh_limit=1000,
    setup_limit=1000,
)


def auth_config(**overrides: Any) -> AuthSection:
    return AuthSection(**{**FAST, **overrides})


@dataclass
class Reply:
    status: int
    body: Any
    headers: Any

    @property
    def code(self) -> str | None:
        if isinstance(self.body, dict) and "error" in self.body:
            return str(self.body["error"]["code"])
        return None


class Harness:
    def __init__(
        self,
        db: Database,
        redis: RedisClient,
        data_dir: Path,
        auth: AuthSection | None = None,
        extra_routers: list[Router] | None = None,
        key: bytes = b"k" * 32,
    ) -> None:
        self.clock = ManualClock()
        config = Config(auth=auth or auth_config())
        self.state = AppState(
            config=config,
            data_dir=data_dir,
            db=db,
            redis=redis,
            pg_gate=db.gate,
            redis_gate=redis.gate,
            authenticator=deny_all,
            server_id="test-server",
        )
        self.service = AuthService(db, redis, config.auth, key, data_dir, clock=self.clock)
        self.service.attach(self.state)
        self.app: QuartTrio = create_app(self.state, extra_routers=extra_routers)
        self.client = self.app.test_client()

    async def call(
        self,
        method: str,
        path: str,
        json: Any = None,
        token: str | None = None,
        client: tuple[str, int] = LOCAL,
    ) -> Reply:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kwargs: dict[str, Any] = {"headers": headers, "scope_base": {"client": client}}
        if json is not None:
            kwargs["json"] = json
        response = await self.client.open(path, method=method, **kwargs)
        body = await response.get_json() if response.content_type == "application/json" else None
        return Reply(response.status_code, body, response.headers)

    async def claim(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> Reply:
        reply = await self.call(
            "POST", "/api/v1/setup/claim", {"username": username, "password": password}
        )
        assert reply.status == 201, reply.body
        return reply

    async def login(
        self,
        username: str = "admin",
        password: str = ADMIN_PASSWORD,
        device: str = "tv-1",
        client: tuple[str, int] = LOCAL,
    ) -> Reply:
        return await self.call(
            "POST",
            "/api/v1/auth/login",
            {
                "username": username,
                "password": password,
                "device": {"id": device, "name": f"{device} name", "platform": "linux"},
            },
            client=client,
        )

    async def token(
        self, username: str = "admin", password: str = ADMIN_PASSWORD, device: str = "tv-1"
    ) -> str:
        reply = await self.login(username, password, device)
        assert reply.status == 200, reply.body
        return str(reply.body["access_token"])

    async def admin_token(self, device: str = "admin-laptop") -> str:
        """Claim the appliance (the first admin) and log her in from ``device``."""
        await self.claim()
        return await self.token(device=device)

    async def pin_login(self, username: str, device: str, pin: str) -> Reply:
        return await self.call(
            "POST",
            "/api/v1/auth/pin/login",
            {"username": username, "device_id": device, "pin": pin},
        )

    async def create_user(
        self, admin_token: str, username: str, role: str = "user", password: str = "user password 1"
    ) -> dict[str, Any]:
        reply = await self.call(
            "POST",
            "/api/v1/users",
            {
                "username": username,
                "password": password,
                "role": role,
            },
            token=admin_token,
        )
        assert reply.status == 201, reply.body
        return dict(reply.body)
