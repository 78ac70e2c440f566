"""The appliance's Redis client: redis-py's asyncio client, bridged into trio like asyncpg."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
import redis.exceptions
import trio_asyncio

from store.gate import ServiceGate, Unavailable


class RedisClient:
    def __init__(self, url: str, gate: ServiceGate) -> None:
        self.gate = gate
        self._client = aioredis.Redis.from_url(
            url, socket_timeout=2.0, socket_connect_timeout=2.0, decode_responses=False
        )

    async def execute(self, *args: Any) -> Any:
        """Run one Redis command; Unavailable (→ 503) if Redis is down or restarting."""
        self.gate.check()
        try:
            return await trio_asyncio.aio_as_trio(self._client.execute_command)(*args)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            raise Unavailable("redis", str(exc) or type(exc).__name__) from exc

    async def ping(self) -> bool:
        return bool(await self.execute("PING"))

    async def close(self) -> None:
        await trio_asyncio.aio_as_trio(self._client.aclose)()
