"""Async client of the appliance's HTTP API (auth, libraries, users, media, scans, events), on trio.

httpx runs on trio through anyio, so the client lives in the same structured-concurrency world as
the UI (trio in Qt's guest mode): a request is a task in a nursery, cancelling its scope (leaving a
screen, logging out) cancels the request, and no thread ever blocks the UI.

The client refreshes its session once on a 401 and hands new tokens to ``on_tokens`` (which stores
them in the credential store), because refresh tokens are single-use: a rotated one that is not
saved at once would log the user out on the next start.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx
import msgspec
import trio

from sync.auth_types import (
    ChangePasswordRequest,
    CreateUserRequest,
    DeviceInfo,
    DeviceList,
    LoginRequest,
    Me,
    PinLoginRequest,
    RefreshRequest,
    SessionList,
    SetPinRequest,
    SetupClaimRequest,
    SetupStatus,
    TokenPair,
    UpdateUserRequest,
    UserList,
    UserOut,
)
from sync.library_types import LibraryIn, LibraryList, LibraryOut, LibraryPatch, ScanList, ScanOut
from sync.media_types import ItemDetails, ItemList, QueryResult, WatchUpdates
from sync.query import MediaQuery
from sync.server_settings_types import ServerSettingsOut
from ui.net.errors import ApiError, Offline

T = TypeVar("T")
API = "/api/v1"
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 20.0


class ServerEvent(msgspec.Struct, kw_only=True):
    """One server-sent event: ``scan.progress``, ``library.changed``, ``watch.changed``, ..."""

    seq: int | None
    type: str
    data: dict[str, Any]


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


def _error_from(response: httpx.Response) -> ApiError:
    retry = response.headers.get("Retry-After")
    retry_after = float(retry) if retry and retry.replace(".", "", 1).isdigit() else None
    try:
        body = response.json()
        error = body["error"]
        return ApiError(response.status_code, str(error["code"]), str(error["message"]),
                        error.get("details"), retry_after)
    except (ValueError, KeyError, TypeError):
        return ApiError(response.status_code, f"http_{response.status_code}",
                        response.reason_phrase or "error", None, retry_after)


class ApiClient:
    """One server, one user's tokens. Close it with ``aclose`` (or ``async with``)."""

    def __init__(self, base_url: str, *, access_token: str | None = None,
                 refresh_token: str | None = None, device_id: str | None = None,
                 on_tokens: Callable[[TokenPair], Awaitable[None] | None] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = normalize_url(base_url)
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.device_id = device_id
        self.on_tokens = on_tokens
        self._refresh_lock = trio.Lock()
        self._http = httpx.AsyncClient(
            base_url=self.base_url, transport=transport,
            timeout=httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
            headers={"User-Agent": "ferrex-player"},
        )

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- plumbing -------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"} if self.access_token else {}

    async def _send(self, method: str, path: str, body: object,
                    params: dict[str, str] | None) -> httpx.Response:
        content = msgspec.json.encode(body) if body is not None else None
        headers = self._headers()
        if content is not None:
            headers["Content-Type"] = "application/json"
        try:
            return await self._http.request(
                method, path, content=content, params=params, headers=headers)
        except (httpx.TransportError, OSError) as exc:
            raise Offline(self.base_url, type(exc).__name__ + (f": {exc}" if str(exc) else ""))\
                from exc

    async def request(self, method: str, path: str, body: object = None, *,
                      params: dict[str, str] | None = None,
                      retry_auth: bool = True) -> httpx.Response:
        response = await self._send(method, API + path, body, params)
        if (response.status_code == 401 and retry_auth and self.refresh_token
                and not path.startswith("/auth/")):
            await self.refresh()
            response = await self._send(method, API + path, body, params)
        if response.status_code >= 400:
            raise _error_from(response)
        return response

    async def call(self, method: str, path: str, kind: type[T], body: object = None, *,
                   params: dict[str, str] | None = None) -> T:
        response = await self.request(method, path, body, params=params)
        return msgspec.json.decode(response.content, type=kind)

    async def _tokens(self, pair: TokenPair) -> TokenPair:
        self.access_token = pair.access_token
        self.refresh_token = pair.refresh_token
        if self.on_tokens is not None:
            result = self.on_tokens(pair)
            if result is not None:
                await result
        return pair

    # --- public ---------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        response = await self._send("GET", "/health", None, None)
        out: dict[str, Any] = response.json()
        return out

    async def setup_status(self) -> SetupStatus:
        return await self.call("GET", "/setup", SetupStatus)

    async def claim(self, username: str, password: str, display_name: str = "") -> None:
        await self.request("POST", "/setup/claim", SetupClaimRequest(
            username=username, password=password, display_name=display_name))

    # --- auth -----------------------------------------------------------------------------

    async def login(self, username: str, password: str, device: DeviceInfo,
                    device_key: str | None = None) -> TokenPair:
        """``device_key``: the one this device got at its last password login, if any."""
        self.device_id = device.id
        pair = await self.call("POST", "/auth/login", TokenPair, LoginRequest(
            username=username, password=password, device=device, device_key=device_key))
        return await self._tokens(pair)

    async def pin_login(self, username: str, device_id: str, pin: str) -> TokenPair:
        pair = await self.call("POST", "/auth/pin/login", TokenPair, PinLoginRequest(
            username=username, device_id=device_id, pin=pin))
        return await self._tokens(pair)

    async def refresh(self) -> str:
        """A fresh access token. Refresh tokens are single-use and a reused one ends the login,
        so concurrent callers (a request, the sync client) share one refresh: whoever waited
        for the lock gets the token the first one obtained."""
        stale = self.refresh_token
        async with self._refresh_lock:
            if self.refresh_token != stale and self.access_token:
                return self.access_token
            if not self.refresh_token:
                raise ApiError(401, "invalid_refresh_token", "no refresh token")
            pair = await self.call("POST", "/auth/refresh", TokenPair, RefreshRequest(
                refresh_token=self.refresh_token, device_id=self.device_id))
            await self._tokens(pair)
            return pair.access_token

    async def logout(self) -> None:
        try:
            await self.request("POST", "/auth/logout", retry_auth=False)
        finally:
            self.access_token = self.refresh_token = None

    async def me(self) -> Me:
        return await self.call("GET", "/auth/me", Me)

    async def set_pin(self, pin: str) -> None:
        await self.request("PUT", "/auth/pin", SetPinRequest(pin=pin))

    async def change_password(self, current: str, new: str) -> None:
        await self.request("POST", "/auth/password", ChangePasswordRequest(
            current_password=current, new_password=new))

    async def devices(self) -> DeviceList:
        return await self.call("GET", "/auth/devices", DeviceList)

    async def revoke_device(self, device_id: uuid.UUID) -> None:
        await self.request("DELETE", f"/auth/devices/{device_id}")

    async def sessions(self) -> SessionList:
        return await self.call("GET", "/auth/sessions", SessionList)

    # --- users (admin) --------------------------------------------------------------------

    async def users(self) -> UserList:
        return await self.call("GET", "/users", UserList)

    async def create_user(self, body: CreateUserRequest) -> UserOut:
        return await self.call("POST", "/users", UserOut, body)

    async def update_user(self, user_id: uuid.UUID, body: UpdateUserRequest) -> UserOut:
        return await self.call("PATCH", f"/users/{user_id}", UserOut, body)

    async def delete_user(self, user_id: uuid.UUID) -> None:
        await self.request("DELETE", f"/users/{user_id}")

    # --- server settings (admin) ----------------------------------------------------------

    async def server_settings(self) -> ServerSettingsOut:
        return await self.call("GET", "/server/settings", ServerSettingsOut)

    async def update_server_settings(self, changes: dict[str, Any]) -> ServerSettingsOut:
        return await self.call("PATCH", "/server/settings", ServerSettingsOut, changes)

    # --- libraries and scans --------------------------------------------------------------

    async def libraries(self) -> LibraryList:
        return await self.call("GET", "/libraries", LibraryList)

    async def create_library(self, body: LibraryIn) -> LibraryOut:
        return await self.call("POST", "/libraries", LibraryOut, body)

    async def update_library(self, library_id: uuid.UUID, body: LibraryPatch) -> LibraryOut:
        return await self.call("PATCH", f"/libraries/{library_id}", LibraryOut, body)

    async def delete_library(self, library_id: uuid.UUID) -> None:
        await self.request("DELETE", f"/libraries/{library_id}")

    async def start_scan(self, library_id: uuid.UUID, force: bool = False) -> ScanOut:
        return await self.call("POST", f"/libraries/{library_id}/scan", ScanOut,
                               {"force": force})

    async def scans(self) -> ScanList:
        return await self.call("GET", "/scans", ScanList)

    async def library_scans(self, library_id: uuid.UUID) -> ScanList:
        return await self.call("GET", f"/libraries/{library_id}/scans", ScanList)

    # --- media ----------------------------------------------------------------------------

    async def query(self, q: MediaQuery) -> QueryResult:
        return await self.call("POST", "/media/query", QueryResult, q)

    async def item(self, item_id: uuid.UUID) -> ItemDetails:
        return await self.call("GET", f"/media/items/{item_id}", ItemDetails)

    async def _row(self, path: str, library_id: uuid.UUID | None) -> ItemList:
        params = {"library_id": str(library_id)} if library_id else None
        return await self.call("GET", path, ItemList, params=params)

    async def continue_watching(self, library_id: uuid.UUID | None = None) -> ItemList:
        return await self._row("/media/continue-watching", library_id)

    async def next_up(self, library_id: uuid.UUID | None = None) -> ItemList:
        return await self._row("/media/next-up", library_id)

    async def recently_added(self, library_id: uuid.UUID | None = None) -> ItemList:
        return await self._row("/media/recently-added", library_id)

    async def mark(self, item_id: uuid.UUID, watched: bool) -> WatchUpdates:
        action = "watched" if watched else "unwatched"
        return await self.call("POST", f"/media/items/{item_id}/{action}", WatchUpdates,
                               {"device_id": self.device_id} if self.device_id else {})

    async def image(self, image_id: str, width: int) -> bytes:
        response = await self.request("GET", f"/images/{image_id}",
                                      params={"w": str(width), "format": "jpeg"})
        return response.content

    # --- events ---------------------------------------------------------------------------

    async def events(self, since: int | None = None) -> AsyncIterator[ServerEvent]:
        """Server-sent events until cancelled or the connection drops (then Offline)."""
        headers = self._headers()
        if since is not None:
            headers["Last-Event-ID"] = str(since)
        try:
            async with self._http.stream(
                    "GET", API + "/events", headers=headers,
                    timeout=httpx.Timeout(None, connect=CONNECT_TIMEOUT_S)) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise _error_from(response)
                fields: dict[str, str] = {}
                async for line in response.aiter_lines():
                    if line == "":
                        if "event" in fields:
                            seq = fields.get("id")
                            yield ServerEvent(
                                seq=int(seq) if seq and seq.isdigit() else None,
                                type=fields["event"],
                                data=msgspec.json.decode(fields.get("data") or "{}"))
                        fields = {}
                    elif not line.startswith(":"):
                        name, _, value = line.partition(":")
                        fields[name] = value[1:] if value.startswith(" ") else value
        except (httpx.TransportError, OSError) as exc:
            raise Offline(self.base_url, f"event stream: {type(exc).__name__}") from exc
