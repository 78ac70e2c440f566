"""The OpenAPI 3.1 document, generated from the route declarations and their msgspec types.

Each operation lists exactly the answers its route can give (``routing.error_answers`` and the
route's declared success answers), so that a client (or schemathesis' status-code, content-type
and header conformance checks) can rely on it: nothing promised that cannot happen, nothing
answered that is not listed."""

from __future__ import annotations

from typing import Any

import msgspec

from appliance.api.routing import Answer, RouteSpec, body_optional, error_answers
from sync.api_types import ErrorEnvelope

_PARAM_SCHEMA = {
    "int": {"type": "integer", "minimum": 0},
    "uuid": {"type": "string", "format": "uuid"},
    "string": {"type": "string"},
    "path": {"type": "string"},
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
    }


_RATE_HEADERS = {
    "X-RateLimit-Limit": "attempts allowed per window",
    "X-RateLimit-Remaining": "attempts left in the window",
    "X-RateLimit-Reset": "seconds until the oldest counted attempt leaves the window",
}


def _headers(names: dict[str, str]) -> dict[str, Any]:
    return {
        name: {"description": text, "schema": {"type": "integer"}} for name, text in names.items()
    }


_ANSWER_HEADERS = {
    "Content-Range": ("the range sent and the file's size", {"type": "string"}),
    "ETag": ("validator of this representation", {"type": "string"}),
    "Accept-Ranges": ("bytes", {"type": "string"}),
    "Repr-Digest": (
        "SHA-256 of the whole file (RFC 9530), sha-256=:base64:, in a 206 too",
        {"type": "string", "pattern": "^sha-256=:[A-Za-z0-9+/]{43}=:$"},
    ),
    "Content-Disposition": ("attachment; filename*=UTF-8''NAME", {"type": "string"}),
}


def _success(spec: RouteSpec, schema_of: dict[Any, Any]) -> dict[str, Any]:
    """The route's success answers: its msgspec response type, its declared answers, or (a
    handler that returns nothing) an empty 204, or the declared status when that is not 200."""
    responses: dict[str, Any] = {}
    if spec.response is not None:
        responses[str(spec.status)] = {
            "description": "OK",
            "content": {"application/json": {"schema": schema_of[spec.response]}},
        }
    for answer in spec.answers:
        responses[str(answer.status)] = _answer(answer, schema_of)
    if not responses:
        responses["204" if spec.status == 200 else str(spec.status)] = {"description": "OK"}
    return responses


def _answer(answer: Answer, schema_of: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"description": answer.description}
    if answer.media_types:
        schema = (
            schema_of[answer.body]
            if answer.body is not None
            else {"type": "string", "format": "binary"}
        )
        out["content"] = {media: {"schema": schema} for media in answer.media_types}
    if answer.headers:
        out["headers"] = {
            name: {
                "description": _ANSWER_HEADERS[name][0],
                "required": True,
                "schema": _ANSWER_HEADERS[name][1],
            }
            for name in answer.headers
        }
    return out


def _parameters(spec: RouteSpec) -> list[dict[str, Any]]:
    path = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _PARAM_SCHEMA.get(conv, {"type": "string"}),
        }
        for name, conv in spec.path_params
    ]
    declared = [
        {
            "name": p.name,
            "in": p.where,
            "required": p.required,
            "description": p.description,
            "schema": p.schema,
        }
        for p in spec.params
    ]
    return path + declared


def build(specs: list[RouteSpec], version: str) -> dict[str, Any]:
    types: list[Any] = [ErrorEnvelope]
    for spec in specs:
        types += [t for t in (spec.request, spec.response) if t is not None]
        types += [a.body for a in spec.answers if a.body is not None]
    types = list(dict.fromkeys(types))
    schemas, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}"
    )
    schema_of = dict(zip(types, schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for spec in specs:
        responses = _success(spec, schema_of)
        for status, text in error_answers(spec).items():
            responses[str(status)] = _error(text)
        if "401" in responses:  # the app's error handler adds it to every 401 it answers
            responses["401"]["headers"] = {
                "WWW-Authenticate": {
                    "description": "Bearer",
                    "required": True,
                    "schema": {"type": "string"},
                }
            }
        if spec.rate_limit is not None:
            success = next(iter(responses.values()))  # the first entry is the success answer
            success["headers"] = _headers(_RATE_HEADERS)
            responses["429"]["headers"] = _headers(
                {**_RATE_HEADERS, "Retry-After": "seconds to wait before retrying"}
            )
        operation: dict[str, Any] = {
            "summary": spec.summary,
            "operationId": f"{spec.method.lower()}_{spec.handler.__name__}",
            "tags": list(spec.tags),
            "responses": responses,
        }
        if spec.path_params or spec.params:
            operation["parameters"] = _parameters(spec)
        if spec.request is not None:
            operation["requestBody"] = {
                "required": not body_optional(spec.request),
                "content": {"application/json": {"schema": schema_of[spec.request]}},
            }
        operation["security"] = [] if spec.public else [{"bearer": []}]
        if spec.permission is not None:
            operation["x-permission"] = spec.permission
        if spec.rate_limit is not None:
            operation["x-rate-limit"] = spec.rate_limit
        paths.setdefault(spec.openapi_path, {})[spec.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Ferrex appliance API", "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
