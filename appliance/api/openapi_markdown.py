"""docs/api.md, rendered from the OpenAPI document the appliance serves.

    python -m appliance.api.openapi_markdown > docs/api.md

The document is taken from an app built exactly as ``serve`` builds it (every router, the
WebSocket list), over a state that is never connected: building the app reads only the route
declarations and their msgspec types. So the Markdown cannot drift from ``/api/v1/openapi.json``;
tests/test_api_docs.py regenerates it and fails when the committed file is stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from appliance.api.app import create_app
from appliance.api.routing import deny_all
from appliance.config import Config
from appliance.redis_client import RedisClient
from appliance.state import AppState
from store.db import Database
from store.gate import ServiceGate

COMMAND = "python -m appliance.api.openapi_markdown > docs/api.md"
_METHOD_ORDER = ("get", "head", "post", "put", "patch", "delete")


def served_document() -> dict[str, Any]:
    """The OpenAPI document as ``GET /api/v1/openapi.json`` answers it."""
    pg_gate, redis_gate = ServiceGate("postgres"), ServiceGate("redis")
    state = AppState(
        config=Config(),
        data_dir=Path("/nonexistent"),
        db=Database(None, pg_gate, command_timeout=1.0),
        redis=RedisClient("redis://localhost:1", redis_gate),  # from_url does not connect
        pg_gate=pg_gate,
        redis_gate=redis_gate,
        authenticator=deny_all,
    )
    document: dict[str, Any] = create_app(state).config["FERREX_OPENAPI"]
    return document


def anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation (the dots of
    ``sync.media_types.PersonOut``) dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def type_of(schema: dict[str, Any]) -> str:
    """A schema in one short line: `Name` links, `list[...]`, `A | B`, enums as literals."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{anchor(name)})"
    if "anyOf" in schema or "oneOf" in schema:
        return " \\| ".join(type_of(s) for s in schema.get("anyOf", schema.get("oneOf", [])))
    if "enum" in schema:
        return " \\| ".join(f"`{v!r}`" if isinstance(v, str) else f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']!r}`"
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        return " \\| ".join(kind)
    if kind == "array":
        return f"list[{type_of(schema.get('items', {}))}]"
    if kind == "object" and "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        return f"dict[str, {type_of(extra) if isinstance(extra, dict) else 'any'}]"
    if "format" in schema:
        return f"{kind} ({schema['format']})"
    return str(kind)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _operation(method: str, path: str, op: dict[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", "", _cell(op.get("summary", "")), ""]
    facts = []
    if not op.get("security"):
        facts.append("public")
    if "x-permission" in op:
        facts.append(f"permission `{op['x-permission']}`")
    if "x-rate-limit" in op:
        facts.append(f"rate limit `{op['x-rate-limit']}`")
    params = [f"`{p['name']}` ({type_of(p.get('schema', {}))})" for p in op.get("parameters", [])]
    if params:
        facts.append("path: " + ", ".join(params))
    body = op.get("requestBody")
    if body:
        schema = body["content"]["application/json"]["schema"]
        facts.append(f"body{'' if body.get('required') else ' (optional)'}: {type_of(schema)}")
    if facts:
        lines += ["- " + fact for fact in facts] + [""]
    lines += ["| status | meaning | body |", "| --- | --- | --- |"]
    for status, answer in op["responses"].items():
        content = answer.get("content", {})
        body_type = ", ".join(
            f"{type_of(c['schema'])}" + ("" if kind == "application/json" else f" ({kind})")
            for kind, c in content.items()
            if "schema" in c
        ) or ", ".join(content)
        lines.append(f"| {status} | {_cell(answer.get('description', ''))} | {body_type} |")
    return [*lines, ""]


def _schema(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"### {name}", ""]
    if schema.get("description"):
        lines += [_cell(schema["description"]), ""]
    properties = schema.get("properties")
    if not properties:
        return [*lines, f"{type_of(schema)}", ""]
    required = set(schema.get("required", []))
    lines += ["| field | type | required |", "| --- | --- | --- |"]
    for field, spec in properties.items():
        lines.append(f"| `{field}` | {type_of(spec)} | {'yes' if field in required else ''} |")
    return [*lines, ""]


def render(document: dict[str, Any]) -> str:
    """Markdown for people: operations grouped by tag in declaration order, then the types."""
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, methods in document["paths"].items():
        for method in sorted(methods, key=_METHOD_ORDER.index):
            op = methods[method]
            by_tag.setdefault((op.get("tags") or ["other"])[0], []).append((method, path, op))
    out = [
        "# HTTP API",
        "",
        f"<!-- Generated from the OpenAPI document; do not edit. Regenerate: {COMMAND} -->",
        "",
        f"Generated from the OpenAPI {document['openapi']} document the appliance serves at",
        "`GET /api/v1/openapi.json` (the source of truth; `x-permission` names the permission a",
        "route needs). Every error is the JSON envelope",
        '`{"error": {"code", "message", "request_id", "details"}}`',
        "([ErrorEnvelope](#errorenvelope)). Behaviour behind the routes: [media.md](media.md)",
        "(queries, watch state, streaming, the sync feed), [auth.md](auth.md),",
        "[library.md](library.md).",
        "",
        "Routes: " + ", ".join(f"[{tag}](#{anchor(tag)})" for tag in by_tag) + ".",
        "",
    ]
    for tag, operations in by_tag.items():
        out += [f"## {tag}", ""]
        for method, path, op in operations:
            out += _operation(method, path, op)
    sockets = document.get("x-websockets", {})
    if sockets:
        out += ["## WebSockets", ""]
        for path, socket in sockets.items():
            out += [
                f"### `{path}`",
                "",
                _cell(socket.get("summary", "")),
                "",
                f"- permission `{socket.get('x-permission')}`; the bearer token goes in the "
                "handshake's `Authorization` header",
                "",
            ]
    out += ["## Types", ""]
    for name, schema in document["components"]["schemas"].items():
        out += _schema(name, schema)
    return "\n".join(out).rstrip("\n") + "\n"


def main() -> int:
    sys.stdout.write(render(served_document()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
