"""Builds the quart-trio application: routes, the error envelope, request ids, access logs."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import msgspec
import quart
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from appliance import __version__
from appliance.api import (
    auth,
    downloads,
    events,
    health,
    libraries,
    media,
    metadata,
    openapi,
    server_settings,
    stream,
    sync,
    users,
    ws,
)
from appliance.api.errors import http_code_name, status_of
from appliance.api.request_body import RequestBodyGuard
from appliance.api.routing import Answer, RequestContext, Router, install
from appliance.errors import FerrexError
from appliance.state import AppState
from store.gate import Unavailable
from sync.api_types import ErrorDetail, ErrorEnvelope
from sync.errors import ErrorCode

log = logging.getLogger(f"{__name__}.access")
errors_log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1 << 20
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

meta = Router("/api/v1")


@meta.route(
    "/openapi.json",
    summary="This API's OpenAPI document",
    public=True,
    tags=("meta",),
    backing=False,
    answers=(Answer(200, "OpenAPI 3.1", ("application/json",), body=dict[str, Any]),),
)
async def openapi_document(ctx: RequestContext) -> quart.Response:
    document = quart.current_app.config["FERREX_OPENAPI"]
    return quart.Response(msgspec.json.encode(document), content_type="application/json")


def all_routers() -> list[Router]:
    """Every router of the API; a new feature adds its router here."""
    return [
        health.router,
        meta,
        auth.router,
        users.router,
        libraries.router,
        events.router,
        metadata.router,
        media.router,
        stream.router,
        sync.router,
        ws.router,
        server_settings.router,
        downloads.router,
    ]


def envelope(
    status: int, code: ErrorCode, message: str, details: dict[str, object] | None = None
) -> quart.Response:
    request_id = getattr(quart.g, "request_id", "") if quart.has_request_context() else ""
    body = ErrorEnvelope(
        error=ErrorDetail(code=code, message=message, request_id=request_id, details=details)
    )
    return quart.Response(msgspec.json.encode(body), status=status, content_type="application/json")


def create_app(state: AppState, extra_routers: list[Router] | None = None) -> QuartTrio:
    app = QuartTrio("ferrex", static_folder=None)  # every route comes from a declaration
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.asgi_app = RequestBodyGuard(  # type: ignore[method-assign]
        app.asgi_app,
        drain_limit=MAX_BODY_BYTES,
        body_timeout=state.config.server.body_timeout_seconds,
        timeout_body=msgspec.json.encode(
            ErrorEnvelope(
                error=ErrorDetail(
                    code=ErrorCode.REQUEST_TIMEOUT,
                    message="the request body did not arrive in time",
                    request_id="",
                )
            )
        ),
    )
    specs = install(app, all_routers() + (extra_routers or []), state)
    app.config["FERREX_ROUTES"] = specs
    app.config["FERREX_OPENAPI"] = openapi.build(specs, __version__)
    app.config["FERREX_OPENAPI"]["x-websockets"] = {
        w.path: {
            "summary": w.summary,
            "x-permission": w.permission,
            "tags": list(w.tags),
            "security": [{"bearer": []}],
        }
        for r in all_routers() + (extra_routers or [])
        for w in r.websockets
    }

    @app.before_request
    async def assign_request_id() -> None:
        incoming = quart.request.headers.get("X-Request-Id", "")
        quart.g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex[:16]
        quart.g.started = time.perf_counter()

    @app.after_request
    async def access_log(response: quart.Response) -> quart.Response:
        request_id = getattr(quart.g, "request_id", "")
        response.headers["X-Request-Id"] = request_id
        elapsed = (time.perf_counter() - getattr(quart.g, "started", time.perf_counter())) * 1000
        request = quart.request
        level = (
            logging.DEBUG
            if request.path == "/health" and response.status_code < 500
            else (logging.INFO)
        )
        log.log(
            level,
            "request",
            extra={
                "request_id": request_id,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(elapsed, 2),
                "remote": request.remote_addr,
            },
        )
        return response

    @app.errorhandler(FerrexError)
    async def domain_error(exc: FerrexError) -> quart.Response:
        status = status_of(exc)  # the one table: appliance/api/errors.py
        response = envelope(status, exc.code, exc.message, exc.details)
        response.headers.update(exc.headers)
        if status == 401:
            response.headers.setdefault("WWW-Authenticate", 'Bearer realm="ferrex"')
        return response

    @app.errorhandler(Unavailable)
    async def unavailable(exc: Unavailable) -> quart.Response:
        response = envelope(
            status_of(exc), ErrorCode.UNAVAILABLE, str(exc), {"service": exc.service}
        )
        response.headers["Retry-After"] = "2"
        return response

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> quart.Response:
        status = exc.code or 500
        return envelope(status, http_code_name(status), exc.description or exc.name)

    @app.errorhandler(Exception)
    async def internal_error(exc: Exception) -> quart.Response:
        errors_log.error(
            "unhandled error",
            exc_info=exc,
            extra={"request_id": getattr(quart.g, "request_id", "")},
        )
        return envelope(500, ErrorCode.INTERNAL_ERROR, "internal error; see the appliance log")

    return app
