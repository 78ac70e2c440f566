"""``auth``: what authentication costs. Login latency against a bare Argon2id verify, and
requests/s of a cheap authenticated route with the Redis session cache hit vs. missed, against the
same route without authentication.

Everything runs in-process (Quart's ASGI test client, no HTTP socket) on a throwaway Postgres
cluster and redis-server started with the appliance's own code, with the appliance's default
Argon2id parameters (``[auth]`` config). Per round the three request modes run in a rotating order;
ratios are taken per round, then the median.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import trio
import trio_asyncio
from argon2 import PasswordHasher

from appliance.api.app import create_app
from appliance.api.routing import RequestContext, Router, deny_all
from appliance.auth.service import AuthService
from appliance.config import AuthSection, Config
from appliance.embedded_redis import EmbeddedRedis, find_redis_server
from appliance.redis_client import RedisClient
from appliance.state import AppState
from bench.common import (
    BenchError,
    Figure,
    Result,
    _drain,
    _stop,
    median,
    service_account,
    throwaway_postgres,
)
from store.db import Database
from store.gate import ServiceGate
from store.migrate import migrate

PASSWORD = "bench password 1"
CLIENT = {"client": ("192.168.1.10", 40000)}


@dataclass(frozen=True)
class Params:
    rounds: int
    logins: int
    requests: int


class Pong(msgspec.Struct):
    ok: bool = True


def _probe_router() -> Router:
    """The cheapest routes there can be: no I/O in the handler."""
    router = Router("/bench")

    @router.route("/public", summary="bench", response=Pong, public=True)
    async def public(ctx: RequestContext) -> Pong:
        return Pong()

    @router.route("/private", summary="bench", response=Pong, permission="media:browse")
    async def private(ctx: RequestContext) -> Pong:
        return Pong()

    return router


def _app(db: Database, redis: RedisClient, config: AuthSection, data_dir: Path) -> Any:
    state = AppState(
        config=Config(auth=config),
        data_dir=data_dir,
        db=db,
        redis=redis,
        pg_gate=db.gate,
        redis_gate=redis.gate,
        authenticator=deny_all,
    )
    AuthService(db, redis, config, b"b" * 32, data_dir).attach(state)
    return create_app(state, extra_routers=[_probe_router()])


async def _rps(client: Any, path: str, token: str | None, count: int) -> float:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for _ in range(50):  # warm-up
        await client.get(path, headers=headers, scope_base=CLIENT)
    started = time.perf_counter()
    for _ in range(count):
        response = await client.get(path, headers=headers, scope_base=CLIENT)
        if response.status_code != 200:
            raise BenchError(f"{path}: HTTP {response.status_code}")
    return count / (time.perf_counter() - started)


async def _measure(dsn: str, redis_url: str, data_dir: Path, params: Params) -> dict[str, Any]:
    samples: dict[str, list[float]] = {
        k: [] for k in ("login_ms", "argon2_ms", "public_rps", "hit_rps", "miss_rps")
    }
    async with trio_asyncio.open_loop():
        pg_gate, redis_gate = ServiceGate("postgres"), ServiceGate("redis")
        pg_gate.open()
        redis_gate.open()
        db = await Database.connect(dsn, pg_gate, min_size=2, max_size=4)
        redis = RedisClient(redis_url, redis_gate)
        try:
            await migrate(db)
            base = AuthSection(login_limit=10**9, pin_limit=10**9, refresh_limit=10**9)
            cached = _app(db, redis, base, data_dir)
            uncached = _app(
                db, redis, msgspec.structs.replace(base, session_cache_seconds=0), data_dir
            )
            client, miss_client = cached.test_client(), uncached.test_client()
            claim = await client.post(
                "/api/v1/setup/claim",
                json={"username": "admin", "password": PASSWORD},
                scope_base=CLIENT,
            )
            if claim.status_code != 201:
                raise BenchError(f"setup claim: HTTP {claim.status_code}")
            hasher = PasswordHasher(
                time_cost=base.argon2_time_cost,
                memory_cost=base.argon2_memory_kib,
                parallelism=base.argon2_parallelism,
            )
            stored = hasher.hash(PASSWORD)
            token = ""
            for round_no in range(params.rounds):
                for i in range(params.logins):
                    started = time.perf_counter()
                    await trio.to_thread.run_sync(hasher.verify, stored, PASSWORD)
                    samples["argon2_ms"].append((time.perf_counter() - started) * 1000)
                    started = time.perf_counter()
                    response = await client.post(
                        "/api/v1/auth/login",
                        json={
                            "username": "admin",
                            "password": PASSWORD,
                            "device": {
                                "id": f"bench-{i % 4}",
                                "name": "bench",
                                "platform": "linux",
                            },
                        },
                        scope_base=CLIENT,
                    )
                    samples["login_ms"].append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        raise BenchError(f"login: HTTP {response.status_code}")
                    token = (await response.get_json())["access_token"]
                modes = [
                    ("public_rps", client, "/bench/public", None),
                    ("hit_rps", client, "/bench/private", token),
                    ("miss_rps", miss_client, "/bench/private", token),
                ]
                shift = round_no % len(modes)
                for key, which, path, bearer in modes[shift:] + modes[:shift]:
                    samples[key].append(await _rps(which, path, bearer, params.requests))
        finally:
            await redis.close()
            await db.close()
    return samples


def run(params: Params) -> Result:
    logging.getLogger("appliance").setLevel(logging.ERROR)  # security events of the bench logins
    redis_bin = find_redis_server("")
    if redis_bin is None:
        raise BenchError("redis-server not found (apt-get install redis-server)")
    with throwaway_postgres() as postgres:
        redis = EmbeddedRedis(postgres.socket_dir.parent, redis_bin, service_account())
        child = redis.spawn()
        threading.Thread(target=_drain, args=(child,), daemon=True).start()
        try:
            deadline = time.monotonic() + 30
            while not redis.socket.exists():
                if time.monotonic() > deadline or child.popen.poll() is not None:
                    raise BenchError("redis-server did not start: " + " | ".join(child.tail))
                time.sleep(0.05)
            with tempfile.TemporaryDirectory(prefix="fxb") as data_dir:
                samples = trio.run(
                    _measure, postgres.maintenance_dsn, redis.url, Path(data_dir), params
                )
        finally:
            _stop(child)

    per = params.logins
    login_rounds = [
        statistics.median(samples["login_ms"][r * per : (r + 1) * per])
        for r in range(params.rounds)
    ]
    argon_rounds = [
        statistics.median(samples["argon2_ms"][r * per : (r + 1) * per])
        for r in range(params.rounds)
    ]

    def ratio(a: str, b: str) -> float:
        return median([x / y for x, y in zip(samples[a], samples[b], strict=True)])

    config = AuthSection()
    argon = (
        f"Argon2id m={config.argon2_memory_kib // 1024} MiB, t={config.argon2_time_cost}, "
        f"p={config.argon2_parallelism}"
    )
    figures = [
        Figure(f"login: bare {argon} verify (baseline)", median(argon_rounds) / 1000, "s"),
        Figure("login: POST /api/v1/auth/login", median(login_rounds) / 1000, "s"),
        Figure(
            "login / argon2 verify",
            median([a / b for a, b in zip(login_rounds, argon_rounds, strict=True)]),
            "x",
        ),
        Figure("route: public, no auth (baseline)", median(samples["public_rps"]), "qps"),
        Figure("route: authenticated, cache hit", median(samples["hit_rps"]), "qps"),
        Figure("route: authenticated, cache miss (Postgres)", median(samples["miss_rps"]), "qps"),
        Figure("cache hit / public", ratio("hit_rps", "public_rps"), "x"),
        Figure("cache miss / public", ratio("miss_rps", "public_rps"), "x"),
        Figure("cache hit / cache miss", ratio("hit_rps", "miss_rps"), "x"),
    ]
    summary = (
        f"median of {params.rounds} rounds: {params.logins} logins, "
        f"{params.requests} sequential requests per route mode; {argon}"
    )
    return Result("auth", summary, figures, vars(params).copy(), samples)
