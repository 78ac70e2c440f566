"""The OpenAPI 3.1 document, generated from the route declarations and their msgspec types."""

from __future__ import annotations

from typing import Any

import msgspec

from appliance.api.errors import http_code_name
from appliance.api.routing import RouteSpec
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
            responses["401"] = _error(http_code_name(401))
            responses["403"] = _error(http_code_name(403))
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
                "required": True,
                "content": {"application/json": {"schema": schema_of[spec.request]}},
            }
        operation["security"] = [] if spec.public else [{"bearer": []}]
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
