"""Everything a request handler may reach, built once at start-up."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import quart
import trio

from appliance.config import Config
from appliance.events import InProcEventBus
from appliance.redis_client import RedisClient
from store.db import Database
from store.gate import ServiceGate, Unavailable

if TYPE_CHECKING:
    from appliance.auth.principal import Principal
    from appliance.auth.service import AuthService
    from appliance.scan.service import ScanService
    from appliance.supervisor import Supervisor

Authenticator = Callable[[quart.Request, "AppState"], Awaitable["Principal"]]
# (bucket, client ip, device id or None) -> X-RateLimit-* headers; raises RateLimited (429).
RateLimiter = Callable[[str, str, "str | None"], Awaitable[dict[str, str]]]


@dataclass
class AppState:
    config: Config
    data_dir: Path
    db: Database
    redis: RedisClient
    pg_gate: ServiceGate
    redis_gate: ServiceGate
    authenticator: Authenticator
    server_id: str | None = None
    supervisors: dict[str, Supervisor] = field(default_factory=dict)
    auth: AuthService | None = None
    rate_limiter: RateLimiter | None = None
    bus: InProcEventBus = field(default_factory=InProcEventBus)
    scans: ScanService | None = None
    started_at: float = field(default_factory=time.monotonic)
    stopping: trio.Event = field(default_factory=trio.Event)
    """Set at the start of shutdown: event streams end (appliance.api.stopping)."""

    @property
    def scan_service(self) -> ScanService:
        if self.scans is None:
            raise Unavailable("scanner", "not running")
        return self.scans
