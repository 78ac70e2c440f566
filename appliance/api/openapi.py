"""The OpenAPI 3.1 document, generated from the route declarations and their msgspec types."""

from __future__ import annotations

from typing import Any

import msgspec

from appliance.api.routing import RouteSpec, body_optional
from sync.api_types import ErrorEnvelope

_PARAM_SCHEMA = {
    "int": {"type": "integer"},
    "uuid": {"type": "string", "format": "uuid"},
    "string": {"type": "string"},
    "path": {"type": "string"},
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}
        },
    }


_RATE_HEADERS = {
    "X-RateLimit-Limit": "attempts allowed per window",
    "X-RateLimit-Remaining": "attempts left in the window",
    "X-RateLimit-Reset": "seconds until the oldest counted attempt leaves the window",
}


def _headers(names: dict[str, str]) -> dict[str, Any]:
    return {name: {"description": text, "schema": {"type": "integer"}}
            for name, text in names.items()}


def build(specs: list[RouteSpec], version: str) -> dict[str, Any]:
    types: list[Any] = [ErrorEnvelope]
    for spec in specs:
        types += [t for t in (spec.request, spec.response) if t is not None]
    schemas, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}"
    )
    schema_of = dict(zip(types, schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for spec in specs:
        responses: dict[str, Any] = {}
        if spec.response is not None:
            responses[str(spec.status)] = {
                "description": "OK",
                "content": {"application/json": {"schema": schema_of[spec.response]}},
            }
        else:
            responses["204" if spec.status == 200 else str(spec.status)] = {"description": "OK"}
        if spec.request is not None:
            responses["400"] = _error("malformed JSON")
            responses["422"] = _error("body does not match the schema")
        if not spec.public:
            responses["401"] = _error("no valid session token")
            responses["403"] = _error(f"the caller lacks permission {spec.permission}")
        for status, text in spec.errors:
            responses[str(status)] = _error(text)
        if spec.rate_limit is not None:
            success = next(iter(responses.values()))  # the first entry is the success answer
            success["headers"] = _headers(_RATE_HEADERS)
            responses["429"] = _error(f"rate limit ({spec.rate_limit}) exceeded")
            responses["429"]["headers"] = _headers(
                {**_RATE_HEADERS, "Retry-After": "seconds to wait before retrying"}
            )
        responses["503"] = _error("a backing service (Postgres/Redis) is unavailable")
        operation: dict[str, Any] = {
            "summary": spec.summary,
            "operationId": f"{spec.method.lower()}_{spec.handler.__name__}",
            "tags": list(spec.tags),
            "responses": responses,
        }
        if spec.path_params:
            operation["parameters"] = [
                {"name": name, "in": "path", "required": True,
                 "schema": _PARAM_SCHEMA.get(conv, {"type": "string"})}
                for name, conv in spec.path_params
            ]
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
