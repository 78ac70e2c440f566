"""The player's API client: the appliance's endpoints (auth, libraries, users, media, scans,
events) as methods of the one :class:`~sync.connection.ServerConnection`.

The connection does the plumbing every caller shares: one httpx pool on trio, the error classes
of :mod:`sync.client_errors`, and a single-flight refresh on 401 whose new tokens go to
``on_tokens`` (the credential store) at once. Playback (``ui.playback.client``), the sync feed
(``sync.client``) and the progress WebSocket borrow the same instance, so a refresh made by one
is the token of all.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from sync.auth_types import (
    ChangePasswordRequest,
    CreateUserRequest,
    DeviceInfo,
    DeviceList,
    LoginRequest,
    Me,
    PinLoginRequest,
    SessionList,
    SetPinRequest,
    SetupClaimRequest,
    SetupStatus,
    TokenPair,
    UpdateUserRequest,
    UserList,
    UserOut,
)
from sync.client_errors import ServerUnreachable
from sync.connection import ServerConnection, health_of
from sync.library_types import LibraryIn, LibraryList, LibraryOut, LibraryPatch, ScanList, ScanOut
from sync.media_types import ItemDetails, ItemList, QueryResult, WatchUpdates
from sync.query import MediaQuery
from sync.server_settings_types import ServerSettingsOut


class ServerEvent(msgspec.Struct, kw_only=True):
    """One server-sent event: ``scan.progress``, ``library.changed``, ``watch.changed``, ..."""

    seq: int | None
    type: str
    data: dict[str, Any]


class ApiClient(ServerConnection):
    """One server, one user's tokens. Close it with ``aclose`` (or ``async with``)."""

    # --- public ---------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        return health_of(await self.send("GET", "/health"))

    async def setup_status(self) -> SetupStatus:
        return await self.call("GET", "/setup", SetupStatus)

    async def claim(self, username: str, password: str, display_name: str = "") -> None:
        await self.request(
            "POST",
            "/setup/claim",
            SetupClaimRequest(username=username, password=password, display_name=display_name),
        )

    # --- auth -----------------------------------------------------------------------------

    async def login(
        self, username: str, password: str, device: DeviceInfo, device_key: str | None = None
    ) -> TokenPair:
        """``device_key``: the one this device got at its last password login, if any."""
        self.device_id = device.id
        pair = await self.call(
            "POST",
            "/auth/login",
            TokenPair,
            LoginRequest(
                username=username, password=password, device=device, device_key=device_key
            ),
        )
        return await self.set_tokens(pair)

    async def pin_login(self, username: str, device_id: str, pin: str) -> TokenPair:
        pair = await self.call(
            "POST",
            "/auth/pin/login",
            TokenPair,
            PinLoginRequest(username=username, device_id=device_id, pin=pin),
        )
        return await self.set_tokens(pair)

    async def logout(self) -> None:
        try:
            await self.request("POST", "/auth/logout", retry_auth=False)
        finally:
            self.forget_tokens()

    async def me(self) -> Me:
        return await self.call("GET", "/auth/me", Me)

    async def set_pin(self, pin: str) -> None:
        await self.request("PUT", "/auth/pin", SetPinRequest(pin=pin))

    async def change_password(self, current: str, new: str) -> None:
        await self.request(
            "POST",
            "/auth/password",
            ChangePasswordRequest(current_password=current, new_password=new),
        )

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
        return await self.call("POST", f"/libraries/{library_id}/scan", ScanOut, {"force": force})

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
        return await self.call(
            "POST",
            f"/media/items/{item_id}/{action}",
            WatchUpdates,
            {"device_id": self.device_id} if self.device_id else {},
        )

    async def image(self, image_id: str, width: int) -> bytes:
        response = await self.request(
            "GET", f"/images/{image_id}", params={"w": str(width), "format": "jpeg"}
        )
        return response.content

    # --- events ---------------------------------------------------------------------------

    async def events(self, since: int | None = None) -> AsyncIterator[ServerEvent]:
        """Server-sent events until cancelled or the connection drops (then
        ``ServerUnreachable``); an expired session is refreshed once like any request."""
        headers = {"Last-Event-ID": str(since)} if since is not None else {}
        try:
            async with self.stream(
                "GET", "/events", headers=headers, read_timeout_s=None
            ) as response:
                fields: dict[str, str] = {}
                async for line in response.aiter_lines():
                    if line == "":
                        if "event" in fields:
                            seq = fields.get("id")
                            yield ServerEvent(
                                seq=int(seq) if seq and seq.isdigit() else None,
                                type=fields["event"],
                                data=msgspec.json.decode(fields.get("data") or "{}"),
                            )
                        fields = {}
                    elif not line.startswith(":"):
                        name, _, value = line.partition(":")
                        fields[name] = value[1:] if value.startswith(" ") else value
        except ServerUnreachable as exc:
            raise ServerUnreachable(self.base_url, f"event stream: {exc.reason}") from exc
