"""The player's one connection to a server: httpx on trio, one user's tokens, one error hierarchy.

Everything of the player that talks to the appliance goes through a :class:`ServerConnection`:
the API client (``ui.net.client.ApiClient`` is one, with the endpoints as methods), playback
(``ui.playback.client.StreamingClient`` borrows it), the feed puller (``sync.client.SyncClient``
borrows it) and the progress WebSocket (``ui.playback.progress.WsProgressSink`` takes its URL,
token and TLS settings). So there is one pool of HTTP connections to close, one place that turns
an error answer into an exception (:mod:`sync.client_errors`), and one place that refreshes the
session.

Refresh on 401, once, single-flight. Refresh tokens rotate on every use and the server revokes
the whole login when a rotated one is presented again, so two refreshes must never run in
parallel and a caller must never refresh a token another caller has already replaced: the
refresh runs under a lock; whoever waited for it (or whose 401 answered a token that has
since been replaced) takes the new access token instead of refreshing again, and a refresh that
failed while they waited fails them too. The request is then retried once with the new token.
A refresh token the server refused is remembered and never presented again.

TLS: ``https://`` and ``wss://`` verify against the system's trust store (OpenSSL's default
paths, which honour ``SSL_CERT_FILE``/``SSL_CERT_DIR``) plus ``ca_file`` or
``FERREX_PLAYER_CA_FILE`` (an appliance behind a proxy with its own CA).

httpx runs on trio through anyio, so a request is a task in the caller's nursery: cancelling
its scope (leaving a screen, logging out) cancels the request.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Self, TypeVar

import httpx
import msgspec
import trio

from sync.auth_types import RefreshRequest, TokenPair
from sync.client_errors import (
    ApiError,
    AuthExpired,
    FerrexClientError,
    ProtocolError,
    ServerUnreachable,
    error_from_answer,
)

T = TypeVar("T")
API = "/api/v1"
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 20.0
CA_FILE_ENV = "FERREX_PLAYER_CA_FILE"
NO_REFRESH = frozenset({"/auth/login", "/auth/pin/login", "/auth/refresh", "/auth/logout"})

OnTokens = Callable[[TokenPair], Awaitable[None] | None]


def normalize_url(text: str) -> str:
    """``ferrex.local:8420`` -> ``http://ferrex.local:8420``; refuses what is not a server URL."""
    raw = text.strip()
    if not raw:
        raise ValueError("Enter the server address, e.g. http://ferrex.local:8420")
    if "://" not in raw:
        raw = "http://" + raw
    try:
        url = httpx.URL(raw)
    except httpx.InvalidURL:
        raise ValueError(f"{text.strip()!r} is not an http(s) server address") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"{text.strip()!r} is not an http(s) server address")
    if url.path not in ("", "/") or url.query:
        raise ValueError("Enter only the server address (no path), e.g. http://ferrex.local:8420")
    return str(url.copy_with(path="")).rstrip("/")


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """Verification against the system store (``SSL_CERT_FILE``/``SSL_CERT_DIR`` honoured by
    OpenSSL) plus ``ca_file`` or ``$FERREX_PLAYER_CA_FILE`` when given."""
    context = ssl.create_default_context()
    extra = ca_file or os.environ.get(CA_FILE_ENV)
    if extra:
        context.load_verify_locations(cafile=extra)
    return context


def _reason(exc: BaseException) -> str:
    return type(exc).__name__ + (f": {exc}" if str(exc) else "")


class ServerConnection:
    """One server, one user's tokens, one HTTP connection pool. Close it with ``aclose`` or
    ``async with``; a closed connection refuses further calls (``ServerUnreachable``)."""

    def __init__(
        self,
        base_url: str,
        *,
        access_token: str | None = None,
        refresh_token: str | None = None,
        device_id: str | None = None,
        on_tokens: OnTokens | None = None,
        ca_file: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = READ_TIMEOUT_S,
        user_agent: str = "ferrex-player",
    ) -> None:
        self.base_url = normalize_url(base_url)
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.device_id = device_id
        self.on_tokens = on_tokens
        self.ssl_context = tls_context(ca_file)
        self.refreshes = 0
        """Refreshes this connection made (the tests count them)."""
        self._refresh_lock = trio.Lock()
        self._refresh_failed: tuple[int, FerrexClientError] | None = None
        self._refused_refresh: str | None = None
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            verify=self.ssl_context,
            timeout=httpx.Timeout(timeout_s, connect=CONNECT_TIMEOUT_S),
            headers={"User-Agent": user_agent},
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    # --- plumbing -------------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"} if self.access_token else {}

    def ws_url(self, path: str = "/ws") -> str:
        """``ws://`` or ``wss://`` (after ``https://``) URL of an API path."""
        scheme = "wss" if self.base_url.startswith("https:") else "ws"
        return scheme + self.base_url[self.base_url.index(":") :] + API + path

    def url(self, path: str) -> str:
        """Absolute URL of an API path (``/stream/...``)."""
        return self.base_url + API + path

    async def send(
        self,
        method: str,
        url: str,
        *,
        body: object = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> httpx.Response:
        """One HTTP exchange, any status; no network answer -> ``ServerUnreachable``."""
        content = msgspec.json.encode(body) if body is not None else None
        sent = dict(headers or {})
        if content is not None:
            sent["Content-Type"] = "application/json"
        if self._http.is_closed:
            raise ServerUnreachable(self.base_url, "the connection is closed")
        try:
            return await self._http.request(
                method,
                url,
                content=content,
                params=params,
                headers=sent,
                timeout=(
                    httpx.Timeout(timeout_s, connect=CONNECT_TIMEOUT_S)
                    if timeout_s is not None
                    else httpx.USE_CLIENT_DEFAULT
                ),
            )
        except (httpx.TransportError, OSError) as exc:
            raise ServerUnreachable(self.base_url, _reason(exc)) from exc

    def _may_refresh(self, path: str) -> bool:
        """A 401 from a route that takes credentials (login, refresh) is about them, not about an
        expired session; any other 401 is worth one refresh (``/auth/me`` included: a player
        restarted after a day has an expired access token and a valid refresh token)."""
        return bool(self.refresh_token) and path not in NO_REFRESH

    async def request(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        params: dict[str, str] | None = None,
        retry_auth: bool = True,
        timeout_s: float | None = None,
    ) -> httpx.Response:
        """``path`` under ``/api/v1``; a 401 refreshes the session once and retries; an error
        answer raises its :mod:`sync.client_errors` class."""
        used = self.access_token
        response = await self.send(
            method,
            API + path,
            body=body,
            params=params,
            headers=self.auth_headers(),
            timeout_s=timeout_s,
        )
        if response.status_code == 401 and retry_auth and self._may_refresh(path):
            await self.refresh(stale=used)
            response = await self.send(
                method,
                API + path,
                body=body,
                params=params,
                headers=self.auth_headers(),
                timeout_s=timeout_s,
            )
        if response.status_code >= 400:
            raise error_of(response)
        return response

    async def call(
        self,
        method: str,
        path: str,
        kind: type[T],
        body: object = None,
        *,
        params: dict[str, str] | None = None,
    ) -> T:
        response = await self.request(method, path, body, params=params)
        try:
            return msgspec.json.decode(response.content, type=kind)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ProtocolError(f"{method} {path}: unexpected answer ({exc})") from exc

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        read_timeout_s: float | None = READ_TIMEOUT_S,
    ) -> AsyncIterator[httpx.Response]:
        """A streamed answer (a snapshot, server-sent events), with the same 401 refresh and
        error classes as :meth:`request`; a transport failure while it streams is
        ``ServerUnreachable`` too."""
        timeout = httpx.Timeout(read_timeout_s, connect=CONNECT_TIMEOUT_S)
        for attempt in (1, 2):
            used = self.access_token
            if self._http.is_closed:
                raise ServerUnreachable(self.base_url, "the connection is closed")
            try:
                async with self._http.stream(
                    method,
                    API + path,
                    params=params,
                    timeout=timeout,
                    headers={**self.auth_headers(), **(headers or {})},
                ) as response:
                    if response.status_code == 401 and attempt == 1 and self._may_refresh(path):
                        await response.aclose()
                    elif response.status_code >= 400:
                        await response.aread()
                        raise error_of(response)
                    else:
                        yield response
                        return
            except (httpx.TransportError, OSError) as exc:
                raise ServerUnreachable(self.base_url, _reason(exc)) from exc
            await self.refresh(stale=used)
        raise AssertionError("unreachable")  # pragma: no cover

    # --- tokens -----------------------------------------------------------------------------

    async def set_tokens(self, pair: TokenPair) -> TokenPair:
        """Take a new pair and hand it to ``on_tokens`` at once: a rotated refresh token that is
        not saved would log the user out on the next start."""
        self.access_token = pair.access_token
        self.refresh_token = pair.refresh_token
        if self.on_tokens is not None:
            result = self.on_tokens(pair)
            if result is not None:
                await result
        return pair

    async def refresh(self, stale: str | None = None) -> str:
        """A fresh access token, from at most one refresh at a time (see the module's note).

        ``stale``: the access token a 401 answered; if it has been replaced meanwhile, the
        current one is returned without a refresh."""
        flight = self.refreshes
        async with self._refresh_lock:
            if self.refreshes != flight:  # one ran while this caller waited: share its outcome
                failed = self._refresh_failed
                if failed is not None and failed[0] == self.refreshes:
                    raise failed[1]
                if self.access_token:
                    return self.access_token
            elif stale is not None and self.access_token and self.access_token != stale:
                return self.access_token  # replaced since the 401 was answered
            token = self.refresh_token
            if not token or token == self._refused_refresh:
                raise AuthExpired(401, "invalid_refresh_token", "no valid refresh token")
            self.refreshes += 1
            self._refresh_failed = None
            try:
                response = await self.send(
                    "POST",
                    API + "/auth/refresh",
                    body=RefreshRequest(refresh_token=token, device_id=self.device_id),
                )
                if response.status_code >= 400:
                    raise error_of(response)
                pair = msgspec.json.decode(response.content, type=TokenPair)
            except FerrexClientError as exc:
                if isinstance(exc, ApiError) and exc.status in (400, 401, 403, 422):
                    self._refused_refresh = token
                self._refresh_failed = (self.refreshes, exc)
                raise
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                error = ProtocolError(f"refresh: unexpected answer ({exc})")
                self._refresh_failed = (self.refreshes, error)
                raise error from exc
            await self.set_tokens(pair)
            return pair.access_token

    def forget_tokens(self) -> None:
        self.access_token = self.refresh_token = None


def error_of(response: httpx.Response) -> ApiError:
    """The :mod:`sync.client_errors` exception for an error answer (its body already read)."""
    return error_from_answer(
        response.status_code,
        response.content,
        response.reason_phrase or "",
        response.headers.get("Retry-After"),
    )


def health_of(response: httpx.Response) -> dict[str, Any]:
    """``/health``'s JSON object ({} when it sent something else)."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return {}
    try:
        found = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return {}
    return found if isinstance(found, dict) else {}
