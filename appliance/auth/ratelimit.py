"""Sliding-window rate limits for the unauthenticated auth routes (login, PIN, refresh, setup).

Each attempt is checked against two windows, one per client IP and one per device id, so that
neither rotating device ids from one address nor one device from many addresses gets around the
limit. The windows live in Redis (a sorted set of attempt times per key, updated by one Lua
script, so the check-and-add is atomic); when Redis is unavailable the same algorithm runs in this
process, which still stops brute force against this appliance (it is a single process).
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from collections import deque
from dataclasses import dataclass

from appliance.auth.clock import Clock
from appliance.config import AuthSection
from appliance.redis_client import RedisClient
from store.gate import Unavailable

log = logging.getLogger(__name__)
ACTIONS = ("login", "pin", "refresh", "setup")

# KEYS: the windows to check. ARGV: now (ms), window (ms), limit, a unique member.
# Adds the attempt to every window only if all of them have room. Returns
# {allowed, highest count, ms until the fullest window's oldest attempt expires}.
_SCRIPT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local fullest, reset = 0, 0
for _, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= fullest then
    fullest = count
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if oldest[2] then reset = tonumber(oldest[2]) + window - now else reset = window end
  end
end
if fullest >= limit then
  return {0, fullest, reset}
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
end
if fullest == 0 then reset = window end
return {1, fullest + 1, reset}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    """Seconds until the oldest attempt counted leaves the window."""

    def headers(self) -> dict[str, str]:
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_s),
        }
        if not self.allowed:
            out["Retry-After"] = str(max(1, self.reset_s))
        return out


class LocalWindows:
    """The same sliding windows in process memory: the fallback while Redis is down."""

    MAX_KEYS = 50_000

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}

    def hit(
        self, keys: list[str], now: float, window: float, limit: int
    ) -> tuple[bool, int, float]:
        if len(self._hits) > self.MAX_KEYS:
            self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - window}
        fullest, reset = 0, window
        for key in keys:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= fullest:
                fullest = len(hits)
                reset = hits[0] + window - now if hits else window
        if fullest >= limit:
            return False, fullest, reset
        for key in keys:
            self._hits[key].append(now)
        return True, fullest + 1, reset if fullest else window


def _key_part(value: str) -> str:
    # Client-chosen strings (device ids) become fixed-size keys.
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


class RateLimiter:
    def __init__(self, redis: RedisClient, config: AuthSection, clock: Clock) -> None:
        self._redis = redis
        self._clock = clock
        self._limits = {
            action: (
                getattr(config, f"{action}_limit"),
                getattr(config, f"{action}_window_seconds"),
            )
            for action in ACTIONS
        }
        self.local = LocalWindows()
        self.using_fallback = False

    def limit(self, action: str) -> tuple[int, int]:
        return self._limits[action]

    async def hit(self, action: str, client_ip: str, device_id: str | None) -> Decision:
        limit, window = self._limits[action]
        keys = [f"ferrex:rl:{action}:ip:{_key_part(client_ip)}"]
        if device_id:
            keys.append(f"ferrex:rl:{action}:dev:{_key_part(device_id)}")
        now = self._clock.now().timestamp()
        try:
            allowed, count, reset_ms = await self._redis.execute(
                "EVAL",
                _SCRIPT,
                len(keys),
                *keys,
                int(now * 1000),
                window * 1000,
                limit,
                f"{int(now * 1000)}-{secrets.token_hex(4)}",
            )
            reset = reset_ms / 1000
            if self.using_fallback:
                log.info("rate limits back in redis")
                self.using_fallback = False
        except Unavailable:
            if not self.using_fallback:
                log.warning("redis unavailable: rate limits fall back to this process")
                self.using_fallback = True
            ok, count, reset = self.local.hit(keys, now, window, limit)
            allowed = int(ok)
        return Decision(bool(allowed), limit, max(0, limit - int(count)), max(0, math.ceil(reset)))
