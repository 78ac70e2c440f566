"""Route declarations: one decorator carries the path, the msgspec request/response types,
whether the route is public, the permission it needs and its rate limit, so that
authentication, authorisation, body decoding and the OpenAPI document all come from the same
declaration and cannot drift apart.

Routes are authenticated unless declared ``public=True``; a non-public route must name its
permission (``permission="media:stream"``), checked against the caller's effective permissions
(role, overrides and session scope, see ``appliance.auth.rbac``) before the handler runs.

The answers a route can give are derived from the same declaration (:func:`error_answers`):
401/403 from authentication and the permission, 404 from path ids, 400/408/413/415/422 from a
body, 422 from declared query parameters, 429 from a rate limit, 503 from the backing services;
a route adds only what is its own (``errors=``: a 409, a 410...) and, when it answers with
something else than its msgspec response type (a file, a stream), declares those answers
(``answers=``). The OpenAPI document and the schemathesis test read them from there.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
import quart

from appliance.api.errors import ApiError
from appliance.auth import rbac
from appliance.auth.principal import Principal
from appliance.errors import FerrexError, Forbidden, InvalidInput, NotAuthenticated
from sync.errors import ErrorCode

__all__ = [
    "Answer",
    "Param",
    "Principal",
    "RequestContext",
    "RouteSpec",
    "Router",
    "WebsocketSpec",
    "deny_all",
    "error_answers",
    "install",
]

if TYPE_CHECKING:
    from appliance.state import AppState

Handler = Callable[..., Awaitable[Any]]
Authenticator = Callable[[quart.Request, "AppState"], Awaitable[Principal]]
_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


@dataclass
class RequestContext:
    state: AppState
    request_id: str
    principal: Principal | None
    client_ip: str = ""
    """The TCP peer's address (forwarded-for headers are not trusted)."""
    response_headers: dict[str, str] = field(default_factory=dict)
    """Added to the handler's response (e.g. the X-RateLimit-* headers)."""

    def require_principal(self) -> Principal:
        assert self.principal is not None, "only for routes that are not public"
        return self.principal


@dataclass(frozen=True)
class Param:
    """A query or header parameter that a handler reads itself (msgspec decodes only bodies):
    declared so that the document shows it and clients and fuzzers send it."""

    name: str
    schema: dict[str, Any]
    """JSON Schema of the value, with the bounds the handler enforces."""
    description: str
    where: str = "query"
    """``query`` or ``header``."""
    required: bool = False
    status: int | None = 422
    """What a bad value answers (an error envelope); None: a bad value is ignored (a Range
    header that is not one serves the whole file, as RFC 9110 allows)."""


@dataclass(frozen=True)
class Answer:
    """A success answer that is not the route's msgspec response type: a file, a stream, a
    304, or a JSON document of another type."""

    status: int
    description: str
    media_types: tuple[str, ...] = ()
    """Empty: no body (a 304)."""
    body: type | None = None
    """A msgspec type for a JSON body (the schema in the document); None: raw bytes."""
    headers: tuple[str, ...] = ()
    """Headers this answer always carries."""


@dataclass(frozen=True)
class RouteSpec:
    path: str
    method: str
    handler: Handler
    summary: str
    request: type | None
    response: type | None
    public: bool
    status: int
    tags: tuple[str, ...]
    permission: str | None = None
    rate_limit: str | None = None
    """Rate-limit bucket (``login``, ``pin``, ``refresh``, ``setup``) or None."""
    errors: tuple[tuple[int, str], ...] = ()
    """Route-specific error statuses for the OpenAPI document, e.g. ((409, "already claimed"),)."""
    authenticator: Authenticator | None = None
    """Replaces the app's authenticator for this route (a playback ticket in the URL, falling
    back to the bearer token); the permission check is the same."""
    params: tuple[Param, ...] = ()
    answers: tuple[Answer, ...] = ()
    """Success answers when the handler returns a ``quart.Response`` (then ``response`` is
    None, or describes the main answer)."""
    backing: bool = True
    """Whether the route needs Postgres/Redis (and so can answer 503 while they are down)."""

    @property
    def openapi_path(self) -> str:
        return _CONVERTER.sub(r"{\2}", self.path)

    @property
    def path_params(self) -> list[tuple[str, str]]:
        return [(name, conv or "string") for conv, name in _CONVERTER.findall(self.path)]


@dataclass(frozen=True)
class WebsocketSpec:
    """An authenticated WebSocket endpoint: the handler gets the RequestContext once the
    caller is authenticated and authorised (before the handshake is accepted)."""

    path: str
    handler: Handler
    summary: str
    permission: str
    tags: tuple[str, ...] = ()


@dataclass
class Router:
    prefix: str = ""
    routes: list[RouteSpec] = field(default_factory=list)
    websockets: list[WebsocketSpec] = field(default_factory=list)

    def websocket(
        self, path: str, *, summary: str, permission: str, tags: tuple[str, ...] = ()
    ) -> Callable[[Handler], Handler]:
        if permission not in rbac.PERMISSIONS:
            raise ValueError(f"{path}: a websocket must declare a known permission")

        def decorate(handler: Handler) -> Handler:
            self.websockets.append(
                WebsocketSpec(self.prefix + path, handler, summary, permission, tags)
            )
            return handler

        return decorate

    def route(
        self,
        path: str,
        method: str = "GET",
        *,
        summary: str,
        request: type | None = None,
        response: type | None = None,
        public: bool = False,
        status: int = 200,
        tags: tuple[str, ...] = (),
        permission: str | None = None,
        rate_limit: str | None = None,
        errors: dict[int, str] | None = None,
        authenticator: Authenticator | None = None,
        params: tuple[Param, ...] = (),
        answers: tuple[Answer, ...] = (),
        backing: bool = True,
    ) -> Callable[[Handler], Handler]:
        if public and permission is not None:
            raise ValueError(f"{path}: a public route has no permission")
        if not public and permission not in rbac.PERMISSIONS:
            raise ValueError(
                f"{path}: a non-public route must declare a known permission, got {permission!r}"
            )

        def decorate(handler: Handler) -> Handler:
            self.routes.append(
                RouteSpec(
                    self.prefix + path,
                    method.upper(),
                    handler,
                    summary,
                    request,
                    response,
                    public,
                    status,
                    tags,
                    permission,
                    rate_limit,
                    tuple(sorted((errors or {}).items())),
                    authenticator,
                    params,
                    answers,
                    backing,
                )
            )
            return handler

        return decorate


def error_answers(spec: RouteSpec) -> dict[int, str]:
    """Every error status the route can answer (with the error envelope) and why: those that
    follow from its declaration, then its own ``errors``."""
    reasons: list[tuple[int, str]] = []
    if spec.request is not None:
        reasons += [
            (400, "the body is not valid JSON"),
            (408, "the body did not arrive within server.body_timeout_seconds"),
            (413, "the body is over the upload limit (1 MiB)"),
            (415, "the body is not application/json"),
            (422, "the body does not match the schema"),
        ]
    if not spec.public:
        reasons.append((401, "no valid session token"))
    if spec.permission is not None:
        reasons.append((403, f"the caller lacks permission {spec.permission}"))
    if spec.path_params:
        reasons.append((404, "the path names nothing (that the caller may see)"))
    reasons += [
        (p.status, f"{p.name}: not a valid value") for p in spec.params if p.status is not None
    ]
    if spec.rate_limit is not None:
        reasons.append((429, f"rate limit ({spec.rate_limit}) exceeded"))
    if spec.backing:
        reasons.append((503, "a backing service (Postgres/Redis) is unavailable"))
    answers: dict[int, list[str]] = {status: [text] for status, text in spec.errors}
    for status, text in reasons:  # a route's own 404/503 wording says it more precisely
        if status not in answers or status not in (404, 503):
            answers.setdefault(status, []).append(text)
    return {status: "; or ".join(texts) for status, texts in sorted(answers.items())}


def body_optional(request: type) -> bool:
    """Whether every field of the request type has a default: then an empty body (none at all,
    as ``curl -X POST`` sends) means "all defaults" rather than 422."""
    fields = getattr(request, "__struct_fields__", None)
    defaults = getattr(request, "__struct_defaults__", ())
    return fields is not None and len(defaults) == len(fields)


def _decode_body(spec: RouteSpec, raw: bytes, content_type: str) -> Any:
    assert spec.request is not None
    if content_type.split(";")[0].strip().lower() not in ("application/json", ""):
        raise ApiError(
            415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, "request body must be application/json"
        )
    if not raw.strip():
        raw = b"{}" if body_optional(spec.request) else b"null"
    try:
        return msgspec.json.decode(raw, type=spec.request)
    except msgspec.ValidationError as exc:
        raise InvalidInput(ErrorCode.INVALID_BODY, f"request body: {_brief(str(exc))}") from None
    except msgspec.DecodeError as exc:
        raise ApiError(
            400, ErrorCode.MALFORMED_JSON, f"request body is not valid JSON: {_brief(str(exc))}"
        ) from None


def _brief(message: str, limit: int = 300) -> str:
    """msgspec quotes a bad enum value or unknown field name whole: the middle of a long
    message goes, so an answer never echoes client input at length (the field's path, at the
    end, stays)."""
    if len(message) <= limit:
        return message
    return f"{message[: limit // 2]}...{message[-limit // 2 :]}"


def _encode(result: Any, status: int) -> quart.Response:
    if isinstance(result, quart.Response):
        return result
    if result is None:
        return quart.Response(b"", status=204 if status == 200 else status)
    return quart.Response(
        msgspec.json.encode(result), status=status, content_type="application/json"
    )


def authorise(spec: RouteSpec, principal: Principal) -> None:
    """403 unless the caller holds the route's permission (scope and DENYs already applied)."""
    assert spec.permission is not None
    if not principal.can(spec.permission):
        hint = " (not available to a PIN session)" if principal.scope != "full" else ""
        raise Forbidden(
            ErrorCode.FORBIDDEN,
            f"permission {spec.permission} required{hint}",
            {"permission": spec.permission},
        )


def make_view(spec: RouteSpec, state: AppState) -> Callable[..., Awaitable[quart.Response]]:
    async def view(**path_params: Any) -> quart.Response:
        request = quart.request
        principal = None
        if not spec.public:
            principal = await (spec.authenticator or state.authenticator)(request, state)
            authorise(spec, principal)
        client = request.scope.get("client")
        ctx = RequestContext(
            state, quart.g.request_id, principal, client_ip=str(client[0]) if client else ""
        )
        kwargs: dict[str, Any] = dict(path_params)
        if spec.request is not None:
            raw = await request.get_data(as_text=False)
            assert isinstance(raw, bytes)
            kwargs["body"] = _decode_body(spec, raw, request.content_type or "")
        if spec.rate_limit is not None and state.rate_limiter is not None:
            device = getattr(kwargs.get("body"), "rate_limit_device", None)
            ctx.response_headers.update(
                await state.rate_limiter(spec.rate_limit, ctx.client_ip, device)
            )
        try:
            result = await spec.handler(ctx, **kwargs)
        except FerrexError as exc:  # a failed login still tells the client its remaining budget
            exc.headers = {**ctx.response_headers, **exc.headers}
            raise
        response = _encode(result, spec.status)
        response.headers.update(ctx.response_headers)
        return response

    view.__name__ = f"{spec.method.lower()}_{spec.handler.__name__}"
    return view


def make_websocket_view(
    spec: WebsocketSpec, state: AppState
) -> Callable[..., Awaitable[quart.Response | None]]:
    async def view(**path_params: Any) -> quart.Response | None:
        socket = quart.websocket
        # The same bearer token as HTTP, in the handshake's Authorization header.
        principal = await state.authenticator(socket, state)  # type: ignore[arg-type]
        if not principal.can(spec.permission):
            raise Forbidden(
                ErrorCode.FORBIDDEN,
                f"permission {spec.permission} required",
                {"permission": spec.permission},
            )
        client = socket.scope.get("client")
        ctx = RequestContext(
            state,
            getattr(quart.g, "request_id", ""),
            principal,
            client_ip=str(client[0]) if client else "",
        )
        await spec.handler(ctx, **path_params)
        return None

    view.__name__ = f"ws_{spec.handler.__name__}"
    return view


def install(app: quart.Quart, routers: list[Router], state: AppState) -> list[RouteSpec]:
    specs = [spec for router in routers for spec in router.routes]
    for spec in specs:
        view = make_view(spec, state)
        app.add_url_rule(
            spec.path, endpoint=view.__name__ + spec.path, view_func=view, methods=[spec.method]
        )
    for ws in (w for router in routers for w in router.websockets):
        ws_view = make_websocket_view(ws, state)
        app.add_websocket(ws.path, endpoint=ws_view.__name__ + ws.path, view_func=ws_view)
    return specs


async def deny_all(request: quart.Request, state: AppState) -> Principal:
    """The authenticator until accounts exist: nothing but public routes can be reached."""
    raise NotAuthenticated(ErrorCode.UNAUTHORIZED, "authentication required")
