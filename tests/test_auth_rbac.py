"""Every route is public on purpose or guarded by its declared permission; plus the RBAC and PIN
rules in isolation."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.api.routing import Router, RouteSpec
from appliance.auth import rbac
from appliance.auth.passwords import pin_problem
from appliance.auth.principal import Principal
from appliance.redis_client import RedisClient
from store.db import Database
from tests.authkit import Harness

# The only routes that may be reached without a session. Anything else must answer 401 without a
# token and 403 with a token that lacks the route's permission.
PUBLIC = {
    ("GET", "/health"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/setup"),
    ("POST", "/api/v1/setup/claim"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/pin/login"),
    ("POST", "/api/v1/auth/refresh"),
}
_FILL = {"uuid": lambda: str(uuid.uuid4()), "int": lambda: "1"}


def concrete(spec: RouteSpec) -> str:
    path = spec.path
    for name, converter in spec.path_params:
        token = f"<{converter}:{name}>" if f"<{converter}:{name}>" in path else f"<{name}>"
        path = path.replace(token, _FILL.get(converter, lambda: "x")())
    return path


@pytest.fixture
async def h(db: Database, redis: RedisClient, tmp_path: Path) -> AsyncIterator[Harness]:
    yield Harness(db, redis, tmp_path)


async def test_every_route_is_public_by_list_or_refuses_the_unauthorised(h: Harness) -> None:
    specs: list[RouteSpec] = h.app.config["FERREX_ROUTES"]
    registered = {
        (m, r.rule)
        for r in h.app.url_map.iter_rules()
        if not r.websocket
        for m in r.methods or ()
        if m not in ("HEAD", "OPTIONS")
    }
    assert registered == {(s.method, s.path) for s in specs}, "every rule comes from a spec"
    public = {(s.method, s.path) for s in specs if s.public}
    assert public == PUBLIC, "a new public route must be added to the list on purpose"

    await h.claim()
    admin = await h.token(device="admin")
    me = (await h.call("GET", "/api/v1/auth/me", token=admin)).body
    # A user with every permission denied, and the admin's own PIN (playback) session.
    nobody = await h.create_user(admin, "nobody", role="admin")
    await h.call(
        "PUT",
        f"/api/v1/users/{nobody['id']}/permissions",
        {"deny": sorted(rbac.PERMISSIONS)},
        token=admin,
    )
    nobody_token = await h.token("nobody", "user password 1", device="n")
    await h.call("PUT", "/api/v1/auth/pin", {"pin": "4071"}, token=admin)
    playback = (await h.pin_login("admin", "admin", "4071")).body["access_token"]
    # An admin whose overrides deny exactly the permission under test.
    probe_user = await h.create_user(admin, "probe", role="admin")
    probe_token = await h.token("probe", "user password 1", device="p")

    checked = 0
    for spec in specs:
        if spec.public:
            continue
        assert spec.permission in rbac.PERMISSIONS, spec.path
        path = concrete(spec)
        reply = await h.call(spec.method, path)
        assert (reply.status, reply.code) == (401, "unauthorized"), (spec.method, path)
        reply = await h.call(spec.method, path, token=nobody_token)
        assert (reply.status, reply.code) == (403, "forbidden"), (spec.method, path)
        await h.call(
            "PUT",
            f"/api/v1/users/{probe_user['id']}/permissions",
            {"deny": [spec.permission]},
            token=admin,
        )
        reply = await h.call(spec.method, path, token=probe_token)
        assert reply.status == 403, (spec.method, path, reply.body)
        assert reply.body["error"]["details"] == {"permission": spec.permission}
        if spec.permission not in rbac.PLAYBACK:
            reply = await h.call(spec.method, path, token=playback)
            assert reply.status == 403, (spec.method, path, "playback scope")
        checked += 1
    assert checked >= 15
    assert me["user"]["role"] == "admin"


def test_a_protected_route_must_declare_a_known_permission() -> None:
    router = Router()

    async def handler(ctx: object) -> None:
        return None

    with pytest.raises(ValueError, match="permission"):
        router.route("/x", summary="x")(handler)
    with pytest.raises(ValueError, match="permission"):
        router.route("/x", summary="x", permission="media:fly")(handler)
    with pytest.raises(ValueError, match="public"):
        router.route("/x", summary="x", public=True, permission="media:browse")(handler)


def test_roles_overrides_and_scope() -> None:
    assert {p.split(":")[0] for p in rbac.PERMISSIONS} == set(rbac.CATEGORIES)
    assert rbac.effective("admin") == frozenset(rbac.PERMISSIONS)
    assert "media:download" in rbac.effective("user")
    assert "media:download" not in rbac.effective("guest")
    assert "libraries:scan" in rbac.effective("guest", grants=["libraries:scan"])
    assert "libraries:scan" not in rbac.effective(
        "admin", grants=["libraries:scan"], denies=["libraries:scan"]
    )
    playback = rbac.effective("admin", grants=list(rbac.PERMISSIONS), scope="playback")
    assert playback <= rbac.PLAYBACK and not playback & rbac.ADMIN
    assert rbac.ADMIN >= {"users:manage", "server:update_settings", "libraries:scan"}
    sneaky = Principal(
        "u", "u", role="admin", scope="playback", permissions=frozenset(rbac.PERMISSIONS)
    )
    assert not sneaky.can("users:manage") and sneaky.can("media:stream")


@pytest.mark.parametrize(
    ("pin", "ok"),
    [
        ("4071", True),
        ("2580", True),
        ("19830412", True),
        ("1212", True),
        ("0000", False),
        ("99999999", False),
        ("1234", False),
        ("3456789", False),
        ("4321", False),
        ("9876", False),
        ("8901", False),
        ("1098", False),
        ("123", False),
        ("123456789", False),
        ("12 4", False),
        ("", False),
        ("\uff14\uff10\uff17\uff11", False),
    ],
)
def test_pin_rules(pin: str, ok: bool) -> None:
    assert (pin_problem(pin) is None) is ok


async def test_openapi_documents_permissions_rate_limits_and_errors(h: Harness) -> None:
    doc = (await h.call("GET", "/api/v1/openapi.json")).body
    operations = [
        (path, method, op) for path, ops in doc["paths"].items() for method, op in ops.items()
    ]
    for path, method, op in operations:
        if op["security"]:
            assert op["x-permission"] in rbac.PERMISSIONS, (path, method)
            assert {"401", "403"} <= set(op["responses"])
        else:
            assert "x-permission" not in op
    login = doc["paths"]["/api/v1/auth/login"]["post"]
    assert login["x-rate-limit"] == "login"
    assert "Retry-After" in login["responses"]["429"]["headers"]
    assert "X-RateLimit-Remaining" in login["responses"]["200"]["headers"]
    assert {"401", "423", "429"} <= set(login["responses"])
    assert "409" in doc["paths"]["/api/v1/setup/claim"]["post"]["responses"]
    assert "TokenPair" in doc["components"]["schemas"]
