"""No input answers 500 (issue 20, items 9-13): the rules live at the boundary, in the wire types
and the query-string/header parsers, so these tests derive their cases from the API's own
declarations and stay true for routes added later.

* The OpenAPI document (built from the route declarations) must bound every field of every
  request body: text without NUL and with a maximum length, integers inside int4, numbers finite
  and bounded, lists bounded.
* Over HTTP, against the real app on a real Postgres: every text field with a NUL, every integer
  at 2^63 and one past its maximum, every number at 1e308, bodies that are not JSON objects, the
  wrong content type, malformed path parameters; then the cases the issue found by hand (query
  numbers, forged cursors, Range digits, a 500 KB search, ``?w=-1``, an empty ``watched`` body).
Each must be a 4xx with the error envelope, and nothing may be logged as "unhandled error".
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from appliance import __version__
from appliance.api import cursors, openapi
from appliance.api.app import all_routers
from appliance.api.routing import RouteSpec
from appliance.metadata import images
from appliance.redis_client import RedisClient
from store import metadata
from store.db import Database
from store.sql import sql
from sync.media_types import WsClientMessage
from tests.authkit import LOCAL, Harness, Reply
from tests.mediakit import Catalogue, movie_rows, seed

SPECS: list[RouteSpec] = [spec for router in all_routers() for spec in router.routes]
DOCUMENT = openapi.build(SPECS, __version__)
COMPONENTS: dict[str, Any] = DOCUMENT["components"]["schemas"]
INT4_MAX = 2**31 - 1
NUMBER_LIMIT = 1e15
BODY_ROUTES = [s for s in SPECS if s.request is not None]
PARAM_ROUTES = [s for s in SPECS if s.path_params]


def _id(spec: RouteSpec) -> str:
    return f"{spec.method} {spec.openapi_path}"


# --- walking the schemas ----------------------------------------------------------------------


def resolve(schema: dict[str, Any], components: dict[str, Any] = COMPONENTS) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:  # X | None: the non-null branch
        branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
        if len(branches) == 1:
            return resolve(branches[0], components)
    return schema


Path_ = tuple[str | int, ...]


def leaves(
    schema: dict[str, Any], path: Path_ = (), components: dict[str, Any] = COMPONENTS
) -> Iterator[tuple[Path_, dict[str, Any]]]:
    """Every value a client writes: (path, schema) for objects' properties, arrays' items."""
    schema = resolve(schema, components)
    if "anyOf" in schema:  # a tagged union (the WebSocket's messages): each branch
        for branch in schema["anyOf"]:
            yield from leaves(branch, path, components)
        return
    kind = schema.get("type")
    if kind == "object" and "properties" in schema:
        for name, prop in schema["properties"].items():
            yield from leaves(prop, (*path, name), components)
    elif kind == "array":
        yield path, schema
        yield from leaves(schema["items"], (*path, 0), components)
    else:
        yield path, schema


def valid(schema: dict[str, Any]) -> Any:
    """A small valid value of ``schema`` (only required properties of objects)."""
    schema = resolve(schema)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: valid(props[name]) for name in schema.get("required", [])}
    if kind == "array":
        return [valid(schema["items"]) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "uuid":
            return str(uuid.uuid4())
        if fmt == "date-time":
            return "2026-01-02T03:04:05Z"
        if fmt == "date":
            return "2026-01-02"
        text = "abcd"[: schema.get("maxLength", 4)].ljust(schema.get("minLength", 0), "x")
        assert re.search(schema.get("pattern", ""), text), schema
        return text
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        value = max(low, 1) if "exclusiveMinimum" not in schema else low + 1
        return min(value, schema.get("maximum", value))
    if kind == "boolean":
        return False
    raise AssertionError(f"no valid value for {schema}")


def with_value(body: Any, schema: dict[str, Any], path: Path_, value: Any) -> Any:
    """``body`` with ``value`` at ``path`` (creating optional objects and lists on the way)."""
    if not path:
        return value
    schema = resolve(schema)
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        child = schema["items"]
        return [with_value(valid(child), child, rest, value)]
    child = schema["properties"][head]
    inner = body.get(head) if isinstance(body, dict) else None
    inner = inner if inner is not None else valid(child)
    return {**body, head: with_value(inner, child, rest, value)}


def json_path(path: Path_) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def bad_values(schema: dict[str, Any]) -> list[tuple[str, Any]]:
    """Values a careless or hostile client sends for a leaf of this schema."""
    kind = schema.get("type")
    if kind == "string" or "enum" in schema:
        out: list[tuple[str, Any]] = [("nul", "ab\x00cd")]
        if "maxLength" in schema:
            out.append(("too long", "x" * (schema["maxLength"] + 1)))
        return out
    if kind == "integer":
        return [
            ("2^63", 2**63),
            ("-2^63-1", -(2**63) - 1),
            ("3e9", 3_000_000_000),
            ("max+1", schema["maximum"] + 1),
            ("min-1", schema["minimum"] - 1),
        ]
    if kind == "number":
        return [("1e308", 1e308), ("-1e308", -1e308)]
    if kind == "array" and "maxItems" in schema:
        return [("too many", [valid(schema["items"])] * (schema["maxItems"] + 1))]
    return []


# --- the rule, read from the document ---------------------------------------------------------


def _unbounded(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if "enum" in schema or "const" in schema:
        return None
    if kind == "string":
        if schema.get("format") in ("uuid", "date-time", "date"):
            return None  # parsed strictly by msgspec
        if "maxLength" not in schema:
            return "text without maxLength"
        if re.search(schema.get("pattern", ""), "a\x00b"):
            return "text that may hold NUL"
    if kind == "integer" and not (
        -INT4_MAX - 1 <= schema.get("minimum", -(2**63))
        and schema.get("maximum", 2**63) <= INT4_MAX
    ):
        return "integer beyond int4"
    low = schema.get("minimum", schema.get("exclusiveMinimum", -1e308))
    high = schema.get("maximum", schema.get("exclusiveMaximum", 1e308))
    if kind == "number" and not -NUMBER_LIMIT <= low <= high <= NUMBER_LIMIT:
        return "number without finite bounds"
    if kind == "array" and "maxItems" not in schema:
        return "list without maxItems"
    if kind == "object" and "properties" not in schema:
        return "free-form object"
    return None


def test_every_client_written_field_is_bounded_by_its_wire_type() -> None:
    """The one rule at the boundary: a new request type with an unbounded field fails here."""
    ws_schemas, ws_components = msgspec.json.schema_components(
        [WsClientMessage], ref_template="#/components/schemas/{name}"
    )
    found = []
    for spec in BODY_ROUTES:
        assert spec.request is not None
        schema = {"$ref": f"#/components/schemas/{spec.request.__name__}"}
        for path, leaf in leaves(schema):
            problem = _unbounded(resolve(leaf))
            if problem:
                found.append(f"{_id(spec)} {json_path(path)}: {problem}")
    for path, leaf in leaves(ws_schemas[0], (), ws_components):
        problem = _unbounded(resolve(leaf, ws_components))
        if problem:
            found.append(f"WebSocket {json_path(path)}: {problem}")
    assert not found, "\n".join(found)


# --- over HTTP --------------------------------------------------------------------------------

ADD_FILE = sql(
    """
    INSERT INTO media_files (library_id, path, folder, size_bytes, mtime_ns, media_info, present,
                             item_id)
    VALUES ($1, $2, $3, $4, 1, '{}'::jsonb, true, $5) RETURNING id
    """
)


class Env:
    def __init__(
        self,
        h: Harness,
        token: str,
        cat: Catalogue,
        file_id: uuid.UUID,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        self.h, self.token, self.cat, self.file_id, self.caplog = h, token, cat, file_id, caplog

    async def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        all_headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        kwargs: dict[str, Any] = {"headers": all_headers, "scope_base": {"client": LOCAL}}
        if json_body is not None:
            kwargs["json"] = json_body
        if data is not None:
            kwargs["data"] = data
        response = await self.h.client.open(path, method=method, **kwargs)
        raw = await response.get_data()
        try:
            body = json.loads(raw) if response.content_type == "application/json" else None
        except ValueError:
            body = None
        return Reply(response.status_code, body, response.headers)

    def refused(self, reply: Reply, what: str) -> None:
        """A 4xx with the error envelope, and no unhandled error behind it."""
        assert 400 <= reply.status < 500, (what, reply.status, reply.body)
        assert isinstance(reply.body, dict) and set(reply.body) == {"error"}, (what, reply.body)
        assert {"code", "message", "request_id"} <= set(reply.body["error"]), (what, reply.body)
        self.no_unhandled_errors()

    def no_unhandled_errors(self) -> None:
        unhandled = [r for r in self.caplog.records if r.getMessage() == "unhandled error"]
        assert not unhandled, [r.exc_info for r in unhandled][:1]


@pytest.fixture
async def env(
    db: Database, redis: RedisClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Env]:
    caplog.set_level(logging.ERROR, logger="ferrex.api")
    h = Harness(db, redis, tmp_path / "data")
    h.state.config.media.peak_hours = ""
    await h.claim()
    token = await h.token()
    root = tmp_path / "films"
    root.mkdir()
    cat = await seed(db, movie_rows(8), root=str(root))
    movie = root / "Heat.mkv"
    movie.write_bytes(os.urandom(5000))
    file_id = await db.fetchval(
        ADD_FILE, cat.library_id, str(movie), str(root), 5000, cat.rows[0].id
    )
    yield Env(h, token, cat, file_id, caplog)


def _url(spec: RouteSpec, **overrides: str) -> str:
    url = spec.path
    for name, conv in spec.path_params:
        value = overrides.get(name) or {"uuid": str(uuid.uuid4()), "int": "0"}.get(conv, "0" * 64)
        url = re.sub(rf"<(?:\w+:)?{name}>", value, url)
    return url


@pytest.mark.parametrize("spec", BODY_ROUTES, ids=_id)
async def test_every_body_field_refuses_nul_overflow_and_excess(env: Env, spec: RouteSpec) -> None:
    assert spec.request is not None
    schema = {"$ref": f"#/components/schemas/{spec.request.__name__}"}
    base = valid(schema)
    msgspec.convert(base, spec.request)  # the generated body is valid as it stands
    url = _url(spec)
    tried = 0
    for path, leaf in leaves(schema):
        for label, value in bad_values(resolve(leaf)):
            body = with_value(base, schema, path, value)
            reply = await env.send(spec.method, url, json_body=body)
            what = f"{json_path(path)} = {label}"
            env.refused(reply, what)
            assert reply.status == 422 and reply.body["error"]["code"] == "invalid_body", what
            assert f"`{json_path(path)}`" in reply.body["error"]["message"], (what, reply.body)
            tried += 1
    assert tried or spec.request.__name__ == "ScanRequest", "nothing to try: a new field kind?"


@pytest.mark.parametrize("spec", BODY_ROUTES, ids=_id)
async def test_bodies_that_are_not_json_objects_are_refused(env: Env, spec: RouteSpec) -> None:
    url = _url(spec)
    for data, content_type in (
        (b"[]", "application/json"),
        (b"12", "application/json"),
        (b'"text"', "application/json"),
        (b"null", "application/json"),
        (b"{", "application/json"),
        (b"\xff\xfe{}", "application/json"),
        (b'{"a": "\\ud800"}', "application/json"),
        (b"{}", "text/plain"),
        (b"{}", "application/x-www-form-urlencoded"),
        (b"{}" * 10, "application/json"),
    ):
        env.refused(
            await env.send(spec.method, url, data=data, headers={"Content-Type": content_type}),
            repr(data),
        )


@pytest.mark.parametrize("spec", PARAM_ROUTES, ids=_id)
async def test_malformed_path_parameters_are_404(env: Env, spec: RouteSpec) -> None:
    for name, _ in spec.path_params:
        for bad in (
            "not-an-id",
            "-1",
            "9" * 5000,
            "%00",
            "0" * 63 + "%00",
            str(uuid.uuid4()) + "0",
        ):
            reply = await env.send(
                spec.method, _url(spec, **{name: bad}), json_body={} if spec.request else None
            )
            env.refused(reply, f"{name}={bad[:20]}")
            assert reply.status in (404, 405), (name, bad[:20], reply.status)


# --- the cases the issue found ----------------------------------------------------------------

QUERY = "/api/v1/media/query"


async def test_media_query_numbers_out_of_range_are_422(env: Env) -> None:
    for body in (
        {"year_min": 3_000_000_000},
        {"year_max": -3_000_000_000},
        {"runtime_max": 2**40},
        {"min_height": 2**63 - 1},
        {"rating_min": 1e308},
        {"rating_max": -1e308},
        {"offset": 2**31},
        {"limit": 2**63},
        {"year_min": 10_000},
        {"min_height": -1},
    ):
        reply = await env.send("POST", QUERY, json_body=body)
        env.refused(reply, str(body))
        assert reply.status == 422, body
    within = await env.send(
        "POST",
        QUERY,
        json_body={
            "year_min": 0,
            "year_max": 9999,
            "rating_min": 0,
            "rating_max": 10,
            "min_height": 2160,
            "runtime_max": 600,
        },
    )
    assert within.status == 200, within.body


async def test_nul_in_every_text_filter_of_the_query_is_422(env: Env) -> None:
    for body in ({"search": "mat\x00rix"}, {"genres": ["Dra\x00ma"]}, {"search": "\x00\x00\x00"}):
        reply = await env.send("POST", QUERY, json_body=body)
        env.refused(reply, repr(body))
        assert (reply.status, reply.body["error"]["code"]) == (422, "invalid_body")


async def test_a_huge_search_is_refused_fast_and_not_echoed(env: Env) -> None:
    started = time.perf_counter()
    reply = await env.send("POST", QUERY, json_body={"search": "matrix " * 70_000})
    elapsed = time.perf_counter() - started
    env.refused(reply, "500 KB search")
    assert reply.status == 422 and elapsed < 1.0, elapsed
    assert len(json.dumps(reply.body)) < 1000
    for body in ({"sort_by": "x" * 500_000}, {"x" * 500_000: 1}, {"kinds": ["y" * 500_000]}):
        reply = await env.send("POST", QUERY, json_body=body)  # msgspec quotes these values
        env.refused(reply, "a huge enum value or field name")
        assert len(json.dumps(reply.body)) < 1000
    longest = "m" * 200  # the longest search allowed: echoed at most in part
    accepted = await env.send("POST", QUERY, json_body={"search": longest})
    assert accepted.status == 200, accepted.body
    assert all(len(item["detail"]) < 120 for item in accepted.body["cost"]["items"])


def _cursor(parts: list[Any]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(parts)).decode().rstrip("=")


async def test_forged_and_tampered_cursors_are_422_invalid_cursor(env: Env) -> None:
    first = await env.send("POST", QUERY, json_body={"sort_by": "year", "limit": 2})
    cursor = first.body["next_cursor"]
    assert cursor
    page = await env.send(
        "POST", QUERY, json_body={"sort_by": "year", "limit": 2, "cursor": cursor}
    )
    assert page.status == 200 and page.body["items"], page.body
    item = str(env.cat.rows[0].id)
    forged = [
        _cursor(["year", "asc", "abc", item]),  # right shape, wrong value type
        _cursor(["year", "asc", "9" * 30, item]),
        _cursor(["date_added", "asc", "yesterday", item]),
        _cursor(["title", "asc", "a\x00", item]),
        _cursor(["year", "asc", "1999", "not-a-uuid"]),
        _cursor(["year", "asc", 1999, item]),
        cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"),  # tampered
        "x" * 5000,
        "\x00",
        ".",
    ]
    for n, bad in enumerate(forged):
        sort = "date_added" if n == 2 else "title" if n == 3 else "year"
        reply = await env.send(
            "POST", QUERY, json_body={"sort_by": sort, "limit": 2, "cursor": bad}
        )
        env.refused(reply, bad[:40])
        assert reply.status in (400, 422), bad[:40]
        if len(bad) <= 1000 and "\x00" not in bad:
            assert reply.body["error"]["code"] == "invalid_cursor", (bad[:40], reply.body)
    # Signed with the server's own key but with a position of the wrong type: still refused
    # before SQL (the signature is not the only check).
    key = cursors.cursor_key(env.h.state)
    for sort, position in (
        ("year", "abc"),
        ("year", "99999999999"),
        ("rating", "nan"),
        ("release_date", "2024-13-45"),
        ("date_added", "yesterday"),
        ("title", "a\x00b"),
    ):
        signed = cursors.encode(key, sort, "asc", position, env.cat.rows[0].id)
        reply = await env.send("POST", QUERY, json_body={"sort_by": sort, "cursor": signed})
        env.refused(reply, f"{sort} {position!r}")
        assert reply.body["error"]["code"] == "invalid_cursor", (sort, position, reply.body)


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_cursors_the_server_issues_are_accepted_for_every_sort(env: Env, order: str) -> None:
    item = env.cat.rows[1].id
    await env.send("POST", f"/api/v1/media/items/{item}/watched", json_body={})
    for sort in (
        "title",
        "year",
        "release_date",
        "date_added",
        "rating",
        "runtime",
        "last_watched",
    ):
        seen: list[str] = []
        body: dict[str, Any] = {"sort_by": sort, "sort_order": order, "limit": 3}
        while True:
            reply = await env.send("POST", QUERY, json_body=body)
            assert reply.status == 200, (sort, reply.body)
            seen += [i["id"] for i in reply.body["items"]]
            if not reply.body["next_cursor"]:
                break
            body["cursor"] = reply.body["next_cursor"]
        assert len(seen) == len(set(seen)) == reply.body["total"], sort


async def test_range_headers_with_huge_numbers_are_answered(env: Env) -> None:
    url = f"/api/v1/stream/{env.file_id}"
    for header, status in (
        (f"bytes=0-{'9' * 5000}", 206),
        (f"bytes={'9' * 5000}-", 416),
        (f"bytes=-{'9' * 5000}", 206),
        (f"bytes={'0' * 5000}1-9", 206),
        ("bytes=0-99999999999999999999999", 206),
        ("bytes=٣-٩", 200),
        ("bytes=0-1,5-9", 200),
        ("bytes=5-1", 200),
        ("bytes=x-y", 200),
        ("items=0-1", 200),
        ("bytes=" + "-" * 5000, 200),
    ):
        reply = await env.send("GET", url, headers={"Range": header})
        assert reply.status == status, (header[:30], reply.status, reply.body)
        if status == 416:
            env.refused(reply, header[:30])
    env.no_unhandled_errors()


async def test_if_range_garbage_serves_the_whole_file(env: Env) -> None:
    url = f"/api/v1/stream/{env.file_id}"
    for value in (
        "Mon, 99 Foo 99999999999 99:99:99 GMT",
        "x" * 5000,
        "Sat, 01 Jan 10000 00:00:00 GMT",
        "Mon, 01 Jan 1990 25:61:61 +9999",
        ", , ,",
    ):
        reply = await env.send("GET", url, headers={"Range": "bytes=0-9", "If-Range": value})
        assert reply.status == 200, (value[:30], reply.status)
    env.no_unhandled_errors()


async def test_image_width_must_be_a_supported_positive_width(env: Env, tmp_path: Path) -> None:
    jpeg = tmp_path / "poster.jpg"
    from PIL import Image

    Image.new("RGB", (400, 600), (200, 30, 30)).save(jpeg, "JPEG")
    store = images.store_for(env.h.state.db, env.h.state.data_dir)
    original, _ = await store.inspect_file(jpeg)
    async with env.h.state.db.transaction() as conn:
        await metadata.save_image(
            conn,
            original.image_id,
            str(jpeg),
            None,
            original.width,
            original.height,
            original.format,
            original.color,
            original.blurhash,
        )
    url = f"/api/v1/images/{original.image_id}"
    for w in ("-1", "0", "99999", "9" * 5000, "1e3", "%2092", "%D9%A3", "92.0", "", "%00"):
        reply = await env.send("GET", f"{url}?w={w}")
        env.refused(reply, f"w={w[:10]}")
        assert (reply.status, reply.body["error"]["code"]) == (422, "invalid_width"), w[:10]
    for fmt in ("png", "\x00", "x" * 5000):
        reply = await env.send("GET", f"{url}?format={fmt}")
        env.refused(reply, f"format={fmt[:10]}")
    assert (await env.send("GET", f"{url}?w=92")).status == 200
    assert (await env.send("GET", f"{url}?w=5000")).status == 200
    assert (await env.send("GET", url)).status == 200


def _bad_arguments(schema: dict[str, Any]) -> list[str]:
    """Values outside a declared query/header parameter's schema, as they travel in a URL."""
    if "enum" in schema:
        return ["bogus", "%00", "x" * 5000]
    if schema.get("format") == "uuid":
        return ["not-a-uuid", "%00", "9" * 5000]
    if schema.get("type") == "integer":
        return [
            "x",
            "1.5",
            "%00",
            "9" * 5000,
            str(schema["maximum"] + 1),
            str(schema["minimum"] - 1),
            "%201",
            "%D9%A3",
        ]
    if schema.get("type") == "string" and "maxLength" in schema:
        return ["a%00b", "x" * (schema["maxLength"] + 1)]
    return ["%00", "x" * 5000]


PARAMETER_ROUTES = [s for s in SPECS if s.params]


@pytest.mark.parametrize("spec", PARAMETER_ROUTES, ids=_id)
async def test_every_declared_query_and_header_parameter_refuses_bad_values(
    env: Env, spec: RouteSpec
) -> None:
    """Query and header parameters are read outside msgspec; those a route declares (and so the
    OpenAPI document shows) get values outside their schema: a 4xx with the envelope, or for
    a parameter declared as ignored when bad (a Range header), a normal answer; never a 500."""
    env.h.state.config.metadata.tmdb_api_key = "k" * 32
    env.h.state.config.metadata.tmdb_base_url = "http://127.0.0.1:9"  # refused at once
    ids = {
        "item_id": str(env.cat.rows[0].id),
        "file_id": str(env.file_id),
        "library_id": str(env.cat.library_id),
        "index": "0",
        "image_id": "0" * 64,
    }
    url = _url(spec, **{name: ids.get(name, "") for name, _ in spec.path_params})
    for param in spec.params:
        for bad in _bad_arguments(param.schema):
            if param.where == "header":
                reply = await env.send(spec.method, url, headers={param.name: bad})
            else:
                reply = await env.send(spec.method, f"{url}?{param.name}={bad}")
            what = f"{param.name}={bad[:20]}"
            if param.status is None:
                assert reply.status < 500, (what, reply.status)
                env.no_unhandled_errors()
            else:
                env.refused(reply, what)


async def test_query_string_arguments_are_parsed_strictly(env: Env) -> None:
    item = env.cat.rows[0].id
    cases = [
        f"/api/v1/media/continue-watching?library_id={bad}" for bad in ("x", "\x00", "9" * 5000)
    ]
    cases += [f"/api/v1/sync/changes?since={bad}" for bad in ("-1", "9" * 5000, "2" * 30, "\x00")]
    cases += [f"/api/v1/sync/changes?since=0&limit={bad}" for bad in ("0", "9" * 5000)]
    cases += [
        f"/api/v1/metadata/items/{item}/identify?year={bad}" for bad in ("9" * 5000, "99999", "-5")
    ]
    cases += [
        f"/api/v1/stream/{env.file_id}?ticket={bad}"
        for bad in ("\x00", "fxt1." + "A" * 5000 + ".B", "x" * 5000)
    ]
    cases += [f"/api/v1/events?since={bad}" for bad in ("9" * 5000, "x", "-1")]
    cases += [
        f"/api/v1/stream/{env.file_id}/subtitles/0?format={bad}" for bad in ("\x00", "x" * 5000)
    ]
    for url in cases:
        env.refused(await env.send("GET", url), url[:80])
    env.h.state.config.metadata.tmdb_api_key = "k" * 32
    env.h.state.config.metadata.tmdb_base_url = "http://127.0.0.1:9"  # refused at once
    for query in ("a\x00b", "x" * 5000):
        reply = await env.send("GET", f"/api/v1/metadata/items/{item}/identify?query={query}")
        env.refused(reply, f"identify query {query[:10]!r}")
        assert reply.status == 422


async def test_last_event_id_header_is_parsed_strictly(env: Env) -> None:
    for bad in ("9" * 5000, "x", "-7"):
        env.refused(
            await env.send("GET", "/api/v1/events", headers={"Last-Event-ID": bad}), bad[:10]
        )


async def test_marking_watched_with_no_body_uses_the_defaults(env: Env) -> None:
    item = env.cat.rows[0].id
    for verb in ("watched", "unwatched", "progress/clear"):
        reply = await env.send("POST", f"/api/v1/media/items/{item}/{verb}")
        assert reply.status == 200, (verb, reply.body)
    state = await env.send(
        "POST",
        f"/api/v1/media/items/{item}/watched",
        data=b"",
        headers={"Content-Type": "application/json"},
    )
    assert state.status == 200 and state.body["updates"][0]["state"]["completed"] is True
    required = await env.send("PUT", f"/api/v1/media/items/{item}/progress")
    env.refused(required, "progress without a body")
    assert required.status == 422


async def test_progress_timestamps_and_positions_out_of_range_are_422(env: Env) -> None:
    item = env.cat.rows[0].id
    url = f"/api/v1/media/items/{item}/progress"
    for body in (
        {"position_s": 1, "client_ts": "0001-01-01T00:00:00+14:00"},
        {"position_s": 1, "client_ts": "9999-12-31T23:59:59-14:00"},
        {"position_s": 1e308, "client_ts": "2026-01-01T00:00:00Z"},
        {"position_s": 1, "duration_s": 0, "client_ts": "2026-01-01T00:00:00Z"},
        {"position_s": 1, "client_ts": "2026-01-01T00:00:00"},
    ):
        reply = await env.send("PUT", url, json_body=body)
        env.refused(reply, str(body))
        assert reply.status == 422, body
    for ts in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        reply = await env.send(
            "POST", f"/api/v1/media/items/{item}/watched", json_body={"client_ts": ts}
        )
        env.refused(reply, ts)
    fine = await env.send(
        "PUT",
        url,
        json_body={"position_s": 10, "duration_s": 100, "client_ts": "2026-01-01T00:00:00Z"},
    )
    assert fine.status == 200, fine.body


async def test_websocket_heartbeats_out_of_range_get_an_error_message(env: Env) -> None:
    item = env.cat.rows[0].id
    headers = {"Authorization": f"Bearer {env.token}"}
    async with env.h.client.websocket(
        "/api/v1/ws", headers=headers, scope_base={"client": LOCAL}
    ) as socket:
        for message in (
            {
                "type": "progress",
                "item_id": str(item),
                "position_s": 1e308,
                "client_ts": "2026-01-01T00:00:00Z",
            },
            {
                "type": "progress",
                "item_id": str(item),
                "position_s": 1,
                "client_ts": "0001-01-01T00:00:00+14:00",
            },
            {"type": "ping", "id": "x" * 5000},
            {"type": "ping", "id": "a\x00"},
        ):
            await socket.send(json.dumps(message))
            reply = json.loads(await socket.receive())
            while reply["type"] == "event":
                reply = json.loads(await socket.receive())
            assert reply["type"] == "error", (message, reply)
        await socket.send(json.dumps({"type": "ping", "id": "ok"}))
        reply = json.loads(await socket.receive())
        assert reply == {"type": "ack", "id": "ok", "item_id": None, "applied": True, "state": None}
    env.no_unhandled_errors()
