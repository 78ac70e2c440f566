"""``GET /health``: public, cheap, and never hangs (each probe has a one-second deadline)."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable

import msgspec
import quart
import trio

from appliance import __version__
from appliance.api.routing import Answer, RequestContext, Router
from appliance.state import AppState
from store.gate import Unavailable
from sync.api_types import ErrorDetail, Health, ServiceHealth
from sync.errors import ErrorCode

router = Router()
PROBE_TIMEOUT = 1.0


async def _probe(
    name: str, state: AppState, call: Callable[[], Awaitable[object]]
) -> ServiceHealth:
    supervisor = state.supervisors.get(name)
    embedded = supervisor is not None
    restarts = supervisor.restarts if supervisor else 0
    started = time.perf_counter()
    try:
        with trio.fail_after(PROBE_TIMEOUT):
            await call()
    except Unavailable as exc:
        return ServiceHealth(ok=False, embedded=embedded, error=exc.reason, restarts=restarts)
    except trio.TooSlowError:
        return ServiceHealth(ok=False, embedded=embedded, error="timed out", restarts=restarts)
    except Exception as exc:  # a probe must report, never raise
        return ServiceHealth(ok=False, embedded=embedded, error=str(exc), restarts=restarts)
    latency = round((time.perf_counter() - started) * 1000, 2)
    return ServiceHealth(ok=True, embedded=embedded, latency_ms=latency, restarts=restarts)


async def check(state: AppState) -> Health:
    results: dict[str, ServiceHealth] = {}

    async def run(name: str, call: Callable[[], Awaitable[object]]) -> None:
        results[name] = await _probe(name, state, call)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run, "postgres", state.db.ping)
        nursery.start_soon(run, "redis", state.redis.ping)
    try:
        stat = os.statvfs(state.data_dir)
        disk_free = stat.f_bavail * stat.f_frsize
    except OSError:
        disk_free = -1
    # Without Postgres nothing works (503). Without Redis the appliance still serves: sessions
    # are checked in Postgres and rate limits kept in this process, so it is degraded (200).
    degraded: list[str] = []
    if results["postgres"].ok and not results["redis"].ok:
        status = "degraded"
        degraded = ["redis: session cache bypassed, rate limits kept in this process"]
    else:
        status = "ok" if results["postgres"].ok else "unavailable"
    return Health(
        status=status,
        degraded=degraded,
        version=__version__,
        server_id=state.server_id,
        uptime_s=round(time.monotonic() - state.started_at, 3),
        postgres=results["postgres"],
        redis=results["redis"],
        disk_free_bytes=disk_free,
    )


@router.route(
    "/health",
    summary="Liveness and readiness of the appliance",
    response=Health,
    public=True,
    tags=("server",),
    backing=False,
    answers=(
        Answer(
            503,
            "not ready: Postgres is unreachable (the same report, with error)",
            ("application/json",),
            body=Health,
        ),
    ),
)
async def health(ctx: RequestContext) -> quart.Response:
    report = await check(ctx.state)
    status = 503 if report.status == "unavailable" else 200
    if status == 503:
        down = [n for n, s in (("postgres", report.postgres), ("redis", report.redis)) if not s.ok]
        report.error = ErrorDetail(
            code=ErrorCode.UNAVAILABLE,
            message=f"unavailable: {', '.join(down)}",
            request_id=ctx.request_id,
        )
    return quart.Response(
        msgspec.json.encode(report), status=status, content_type="application/json"
    )
