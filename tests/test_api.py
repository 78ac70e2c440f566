"""The API skeleton in-process, on the real Postgres and Redis of the test session."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from quart_trio import QuartTrio

from appliance.api.app import create_app
from appliance.api.routing import RequestContext, Router, deny_all
from appliance.config import Config
from appliance.redis_client import RedisClient
from appliance.state import AppState
from store.db import Database

probe = Router("/api/v1/test")


class Echo(msgspec.Struct):
    name: str
    count: int = 1


@probe.route("/echo", "POST", summary="echo", request=Echo, response=Echo, public=True)
async def echo(ctx: RequestContext, body: Echo) -> Echo:
    return Echo(body.name.upper(), body.count + 1)


@probe.route("/private", summary="needs a user", response=Echo, permission="media:browse")
async def private(ctx: RequestContext) -> Echo:
    return Echo("secret")


@probe.route("/boom", summary="fails", public=True)
async def boom(ctx: RequestContext) -> None:
    raise RuntimeError("kaboom with secret detail")


@probe.route("/db", summary="uses postgres", public=True)
async def uses_db(ctx: RequestContext) -> None:
    await ctx.state.db.ping()


@pytest.fixture
async def state(db: Database, redis: RedisClient, tmp_path: Path) -> AsyncIterator[AppState]:
    yield AppState(
        config=Config(),
        data_dir=tmp_path,
        db=db,
        redis=redis,
        pg_gate=db.gate,
        redis_gate=redis.gate,
        authenticator=deny_all,
        server_id="test-server",
    )


@pytest.fixture
def app(state: AppState) -> QuartTrio:
    return create_app(state, extra_routers=[probe])


def assert_envelope(body: Any, status_code: str) -> dict[str, Any]:
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert error["code"] == status_code
    assert error["message"]
    assert error["request_id"]
    return error


async def test_health_ok_reports_versions_and_services(app: QuartTrio) -> None:
    response = await app.test_client().get("/health")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["status"] == "ok"
    assert body["server_id"] == "test-server"
    assert body["postgres"]["ok"] and body["redis"]["ok"]
    assert body["postgres"]["latency_ms"] >= 0
    assert body["error"] is None


async def test_health_is_degraded_but_200_when_only_redis_is_down(
    app: QuartTrio, state: AppState
) -> None:
    """Without Redis the API keeps working (auth from Postgres, per-process rate limits)."""
    state.redis_gate.close("redis exited with status -9, restarting")
    response = await app.test_client().get("/health")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["status"] == "degraded"
    assert body["redis"] == {
        "ok": False,
        "embedded": False,
        "latency_ms": None,
        "error": "redis exited with status -9, restarting",
        "restarts": 0,
    }
    assert body["postgres"]["ok"] is True
    assert body["degraded"] and "redis" in body["degraded"][0]
    assert body["error"] is None


async def test_health_is_503_with_envelope_when_postgres_is_down(
    app: QuartTrio, state: AppState
) -> None:
    state.pg_gate.close("postgres exited with status -9, restarting")
    response = await app.test_client().get("/health")
    assert response.status_code == 503
    body = await response.get_json()
    assert body["status"] == "unavailable"
    assert body["postgres"]["ok"] is False
    assert body["redis"]["ok"] is True
    assert body["error"]["code"] == "unavailable"
    assert "postgres" in body["error"]["message"]


async def test_requests_needing_a_down_service_get_503_fast(
    app: QuartTrio, state: AppState
) -> None:
    state.pg_gate.close("postgres exited with status -9, restarting")
    response = await app.test_client().get("/api/v1/test/db")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    error = assert_envelope(await response.get_json(), "unavailable")
    assert error["details"] == {"service": "postgres"}


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [("GET", "/api/v1/nope", 404, "not_found"), ("DELETE", "/health", 405, "method_not_allowed")],
)
async def test_routing_errors_use_the_envelope(
    app: QuartTrio, method: str, path: str, status: int, code: str
) -> None:
    response = await app.test_client().open(path, method=method)
    assert response.status_code == status
    assert_envelope(await response.get_json(), code)


async def test_body_is_decoded_into_the_declared_type(app: QuartTrio) -> None:
    response = await app.test_client().post("/api/v1/test/echo", json={"name": "neo"})
    assert response.status_code == 200
    assert await response.get_json() == {"name": "NEO", "count": 2}


@pytest.mark.parametrize(
    ("data", "status", "code", "needle"),
    [
        (b'{"name": ', 400, "malformed_json", "not valid JSON"),
        (b'{"count": 2}', 422, "invalid_body", "name"),
        (b'{"name": "x", "count": "two"}', 422, "invalid_body", "count"),
    ],
)
async def test_bad_bodies_are_clear_errors(
    app: QuartTrio, data: bytes, status: int, code: str, needle: str
) -> None:
    response = await app.test_client().post(
        "/api/v1/test/echo", data=data, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status
    assert needle in assert_envelope(await response.get_json(), code)["message"]


async def test_oversized_and_non_json_bodies(app: QuartTrio) -> None:
    client = app.test_client()
    response = await client.post(
        "/api/v1/test/echo",
        data=b"name=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    response = await client.post(
        "/api/v1/test/echo", data=b"x" * (2 << 20), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert_envelope(await response.get_json(), "payload_too_large")


async def test_routes_are_authenticated_unless_declared_public(app: QuartTrio) -> None:
    response = await app.test_client().get("/api/v1/test/private")
    assert response.status_code == 401
    assert_envelope(await response.get_json(), "unauthorized")


async def test_unhandled_error_is_500_without_leaking_details(app: QuartTrio) -> None:
    response = await app.test_client().get("/api/v1/test/boom")
    assert response.status_code == 500
    error = assert_envelope(await response.get_json(), "internal_error")
    assert "kaboom" not in error["message"]


async def test_request_id_is_echoed_or_assigned(app: QuartTrio) -> None:
    client = app.test_client()
    response = await client.get("/health", headers={"X-Request-Id": "abc-123"})
    assert response.headers["X-Request-Id"] == "abc-123"
    response = await client.get("/api/v1/nope", headers={"X-Request-Id": "bad id; drop <script>"})
    assigned = response.headers["X-Request-Id"]
    assert assigned and assigned != "bad id; drop <script>"
    assert (await response.get_json())["error"]["request_id"] == assigned


async def test_openapi_lists_every_route_with_its_types(app: QuartTrio) -> None:
    response = await app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = await response.get_json()
    rules = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS") and rule.endpoint != "static" and not rule.websocket
    }
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    assert rules == documented
    sockets = {rule.rule for rule in app.url_map.iter_rules() if rule.websocket}
    assert sockets == set(doc["x-websockets"]), "WebSockets are documented as x-websockets"
    echo_op = doc["paths"]["/api/v1/test/echo"]["post"]
    assert echo_op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Echo"
    }
    assert doc["components"]["schemas"]["Echo"]["required"] == ["name"]
    assert doc["paths"]["/api/v1/test/private"]["get"]["security"] == [{"bearer": []}]
    assert doc["paths"]["/api/v1/test/private"]["get"]["x-permission"] == "media:browse"
    assert doc["paths"]["/health"]["get"]["security"] == []
    assert "Health" in doc["components"]["schemas"]
