"""The OpenAPI document promises what the routes can answer and nothing else (issue 20, item 17):
each operation's responses come from its route's declaration (routing.error_answers and its
declared success answers). Fast: the document is built from the declarations, no server; the
schemathesis test (slow) checks the same promises against a real appliance.
"""

from __future__ import annotations

from typing import Any

import pytest

from appliance import __version__
from appliance.api import openapi
from appliance.api.app import all_routers
from appliance.api.routing import error_answers
from sync.feed_types import FRAMES_CONTENT_TYPE

SPECS = [spec for router in all_routers() for spec in router.routes]
DOCUMENT = openapi.build(SPECS, __version__)
OPERATIONS = [(spec, DOCUMENT["paths"][spec.openapi_path][spec.method.lower()]) for spec in SPECS]


def _name(spec: Any) -> str:
    return f"{spec.method} {spec.openapi_path}"


def test_the_document_answers_200_not_204_or_503() -> None:
    """It was promised as 204/503 while it answers 200 with JSON and needs no service."""
    responses = DOCUMENT["paths"]["/api/v1/openapi.json"]["get"]["responses"]
    assert set(responses) == {"200"}
    assert list(responses["200"]["content"]) == ["application/json"]


def test_streams_and_files_document_their_own_media_types() -> None:
    paths = DOCUMENT["paths"]
    snapshot = paths["/api/v1/sync/snapshot"]["get"]["responses"]
    assert "204" not in snapshot and list(snapshot["200"]["content"]) == [FRAMES_CONTENT_TYPE]
    assert list(paths["/api/v1/sync/changes"]["get"]["responses"]["200"]["content"]) == [
        FRAMES_CONTENT_TYPE
    ]
    assert list(paths["/api/v1/events"]["get"]["responses"]["200"]["content"]) == [
        "text/event-stream"
    ]
    stream = paths["/api/v1/stream/{file_id}"]["get"]["responses"]
    assert {"200", "206", "304", "416"} <= set(stream) and "204" not in stream
    assert "video/x-matroska" in stream["200"]["content"]
    assert stream["206"]["headers"]["Content-Range"]["required"] is True
    image = paths["/api/v1/images/{image_id}"]["get"]["responses"]
    assert set(image["200"]["content"]) == {"image/webp", "image/jpeg"} and "304" in image
    health = paths["/health"]["get"]["responses"]  # its 503 is the same report, not an envelope
    assert (
        health["503"]["content"]["application/json"]["schema"]
        == health["200"]["content"]["application/json"]["schema"]
    )


@pytest.mark.parametrize(("spec", "operation"), OPERATIONS, ids=[_name(s) for s in SPECS])
def test_each_operation_lists_what_its_declaration_implies(spec: Any, operation: Any) -> None:
    codes = set(operation["responses"])
    assert ("404" in codes) == bool(spec.path_params or 404 in dict(spec.errors)), (
        "404 exactly where the path names something (or the route says why)"
    )
    if not spec.public:
        assert {"401", "403"} <= codes
        assert operation["responses"]["401"]["headers"]["WWW-Authenticate"]["required"]
    if spec.request is not None:
        assert {"400", "413", "415", "422"} <= codes
    else:
        own = set(dict(spec.errors)) | {p.status for p in spec.params}
        assert all(int(c) in own for c in {"400", "408", "413", "415"} & codes), (
            "no body, no body errors (unless the route gives one of its own)"
        )
    assert ("429" in codes) == (spec.rate_limit is not None)
    assert ("503" in codes) == (
        spec.backing or 503 in dict(spec.errors) or any(a.status == 503 for a in spec.answers)
    )
    errors = error_answers(spec)
    for code, answer in operation["responses"].items():
        if int(code) >= 400 and int(code) in errors:
            assert answer["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorEnvelope"
            }
    successes = [c for c in codes if int(c) < 400]
    assert successes, "at least one success answer"
    if "204" in successes:
        assert spec.response is None and not spec.answers, (
            "204 only for handlers that return nothing"
        )


def test_query_and_header_arguments_are_documented() -> None:
    def names(path: str) -> set[str]:
        return {p["name"] for p in DOCUMENT["paths"][path]["get"].get("parameters", [])}

    assert {"since", "limit"} <= names("/api/v1/sync/changes")
    assert {"w", "format", "If-None-Match"} <= names("/api/v1/images/{image_id}")
    assert {"ticket", "Range", "If-Range"} <= names("/api/v1/stream/{file_id}")
    assert {"library_id"} <= names("/api/v1/media/next-up")
    assert {"query", "year"} <= names("/api/v1/metadata/items/{item_id}/identify")
    assert {"since", "Last-Event-ID"} <= names("/api/v1/events")
