"""Route declarations: one decorator carries the path, the msgspec request/response types,
whether the route is public, the permission it needs and its rate limit, so that
authentication, authorisation, body decoding and the OpenAPI document all come from the same
declaration and cannot drift apart.

Routes are authenticated unless declared ``public=True``; a non-public route must name its
permission (``permission="media:stream"``), checked against the caller's effective permissions
(role, overrides and session scope, see ``appliance.auth.rbac``) before the handler runs.
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

__all__ = ["Principal", "RequestContext", "RouteSpec", "Router", "WebsocketSpec", "deny_all",
           "install"]

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

    def websocket(self, path: str, *, summary: str, permission: str,
                  tags: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
        if permission not in rbac.PERMISSIONS:
            raise ValueError(f"{path}: a websocket must declare a known permission")

        def decorate(handler: Handler) -> Handler:
            self.websockets.append(
                WebsocketSpec(self.prefix + path, handler, summary, permission, tags))
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
    ) -> Callable[[Handler], Handler]:
        if public and permission is not None:
            raise ValueError(f"{path}: a public route has no permission")
        if not public and permission not in rbac.PERMISSIONS:
            raise ValueError(f"{path}: a non-public route must declare a known permission, "
                             f"got {permission!r}")

        def decorate(handler: Handler) -> Handler:
            self.routes.append(
                RouteSpec(
                    self.prefix + path, method.upper(), handler, summary, request, response,
                    public, status, tags, permission, rate_limit,
                    tuple(sorted((errors or {}).items())), authenticator,
                )
            )
            return handler

        return decorate


def body_optional(request: type) -> bool:
    """Whether every field of the request type has a default: then an empty body (none at all,
    as ``curl -X POST`` sends) means "all defaults" rather than 422."""
    fields = getattr(request, "__struct_fields__", None)
    defaults = getattr(request, "__struct_defaults__", ())
    return fields is not None and len(defaults) == len(fields)


def _decode_body(spec: RouteSpec, raw: bytes, content_type: str) -> Any:
    assert spec.request is not None
    if content_type.split(";")[0].strip().lower() not in ("application/json", ""):
        raise ApiError(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                       "request body must be application/json")
    if not raw.strip():
        raw = b"{}" if body_optional(spec.request) else b"null"
    try:
        return msgspec.json.decode(raw, type=spec.request)
    except msgspec.ValidationError as exc:
        raise InvalidInput(ErrorCode.INVALID_BODY, f"request body: {_brief(str(exc))}") from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, ErrorCode.MALFORMED_JSON,
                       f"request body is not valid JSON: {_brief(str(exc))}") from None


def _brief(message: str, limit: int = 300) -> str:
    """msgspec quotes a bad enum value or unknown field name whole: the middle of a long
    message goes, so an answer never echoes client input at length (the field's path, at the
    end, stays)."""
    if len(message) <= limit:
        return message
    return f"{message[:limit // 2]}...{message[-limit // 2:]}"


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
        raise Forbidden(ErrorCode.FORBIDDEN, f"permission {spec.permission} required{hint}",
                       {"permission": spec.permission})


def make_view(spec: RouteSpec, state: AppState) -> Callable[..., Awaitable[quart.Response]]:
    async def view(**path_params: Any) -> quart.Response:
        request = quart.request
        principal = None
        if not spec.public:
            principal = await (spec.authenticator or state.authenticator)(request, state)
            authorise(spec, principal)
        client = request.scope.get("client")
        ctx = RequestContext(state, quart.g.request_id, principal,
                             client_ip=str(client[0]) if client else "")
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


def make_websocket_view(spec: WebsocketSpec,
                        state: AppState) -> Callable[..., Awaitable[quart.Response | None]]:
    async def view(**path_params: Any) -> quart.Response | None:
        socket = quart.websocket
        # The same bearer token as HTTP, in the handshake's Authorization header.
        principal = await state.authenticator(socket, state)  # type: ignore[arg-type]
        if not principal.can(spec.permission):
            raise Forbidden(ErrorCode.FORBIDDEN, f"permission {spec.permission} required",
                           {"permission": spec.permission})
        client = socket.scope.get("client")
        ctx = RequestContext(state, getattr(quart.g, "request_id", ""), principal,
                             client_ip=str(client[0]) if client else "")
        await spec.handler(ctx, **path_params)
        return None

    view.__name__ = f"ws_{spec.handler.__name__}"
    return view


def install(app: quart.Quart, routers: list[Router], state: AppState) -> list[RouteSpec]:
    specs = [spec for router in routers for spec in router.routes]
    for spec in specs:
        view = make_view(spec, state)
        app.add_url_rule(spec.path, endpoint=view.__name__ + spec.path, view_func=view,
                         methods=[spec.method])
    for ws in (w for router in routers for w in router.websockets):
        ws_view = make_websocket_view(ws, state)
        app.add_websocket(ws.path, endpoint=ws_view.__name__ + ws.path, view_func=ws_view)
    return specs


async def deny_all(request: quart.Request, state: AppState) -> Principal:
    """The authenticator until accounts exist: nothing but public routes can be reached."""
    raise NotAuthenticated(ErrorCode.UNAUTHORIZED, "authentication required")
