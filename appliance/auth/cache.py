"""Redis cache of validated sessions: token HMAC -> who the session belongs to.

A hit saves the authenticator its Postgres query. Correctness never depends on the cache:

* revocation (logout, device revoke, password change, role change) deletes the entries and leaves
  a short-lived tombstone, and ``put`` refuses to write over a tombstone, so a request that read
  Postgres just before the revocation cannot re-cache the dead session;
* if the delete fails because Redis is down, the hashes are remembered and the cache is bypassed
  until they have been deleted;
* every entry also carries its expiry and is checked against the clock.
"""

from __future__ import annotations

import hmac
import logging

import msgspec

from appliance.redis_client import RedisClient
from store.gate import Unavailable

log = logging.getLogger(__name__)
TOMBSTONE_SECONDS = 30
_PUT = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""
_INVALIDATE = """
for i = 1, #KEYS, 2 do
  redis.call('DEL', KEYS[i])
  redis.call('SET', KEYS[i + 1], '1', 'EX', ARGV[1])
end
return 1
"""


class CachedSession(msgspec.Struct, array_like=True):
    token_hash: bytes
    session_id: str
    user_id: str
    username: str
    role: str
    scope: str
    device_id: str
    family_id: str
    expires_at: float
    grants: list[str]
    denies: list[str]


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(CachedSession)


def _keys(token_hash: bytes) -> tuple[str, str]:
    hexed = token_hash.hex()
    return f"ferrex:sess:{hexed}", f"ferrex:sess-dead:{hexed}"


class SessionCache:
    def __init__(self, redis: RedisClient, ttl_seconds: int) -> None:
        self._redis = redis
        self.ttl = ttl_seconds
        self._pending: set[bytes] = set()
        self.hits = 0
        self.misses = 0

    async def _flush_pending(self) -> bool:
        if self._pending:
            todo = set(self._pending)
            await self._delete(todo)
            self._pending -= todo
        return True

    async def _delete(self, hashes: set[bytes]) -> None:
        keys = [k for h in sorted(hashes) for k in _keys(h)]
        await self._redis.execute("EVAL", _INVALIDATE, len(keys), *keys, TOMBSTONE_SECONDS)

    async def get(self, token_hash: bytes, now: float) -> CachedSession | None:
        if self.ttl <= 0:
            return None
        try:
            await self._flush_pending()
            raw = await self._redis.execute("GET", _keys(token_hash)[0])
        except Unavailable:
            return None
        if raw is None:
            self.misses += 1
            return None
        try:
            entry = _decoder.decode(raw)
        except msgspec.DecodeError:
            return None
        if not hmac.compare_digest(entry.token_hash, token_hash) or entry.expires_at <= now:
            return None
        self.hits += 1
        return entry

    async def put(self, entry: CachedSession, now: float) -> None:
        ttl = min(self.ttl, int(entry.expires_at - now))
        if ttl <= 0 or self._pending:
            return
        key, tomb = _keys(entry.token_hash)
        try:
            await self._redis.execute("EVAL", _PUT, 2, key, tomb, _encoder.encode(entry), ttl)
        except Unavailable:
            pass

    async def invalidate(self, hashes: list[bytes]) -> None:
        if not hashes:
            return
        try:
            await self._delete(set(hashes))
        except Unavailable:
            log.warning(
                "redis unavailable: session cache bypassed until invalidation is done",
                extra={"sessions": len(hashes)},
            )
            self._pending.update(hashes)
