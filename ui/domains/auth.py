"""AuthDomain: which server, who is logged in, tokens, PIN trust, and the server link.

It owns the API client's lifecycle (created for a chosen server, given tokens on login, closed
on switching server) and the connection to the server's event stream, which is also how the
player notices that it went offline or came back.
"""

from __future__ import annotations

import logging
import platform
import socket
from dataclasses import dataclass
from typing import ClassVar

import trio

from sync.auth_types import DeviceInfo, TokenPair
from sync.client_errors import ApiError, AuthExpired, FerrexClientError, ServerUnreachable
from sync.connection import normalize_url
from ui.domains.core import CrossDomainEvent, Domain, DomainContext, DomainMessage, DomainName
from ui.domains.events import (
    AuthFailed,
    ConnectivityChanged,
    LoggedIn,
    LoggedOut,
    PinSet,
    ServerChosen,
    ServerEventReceived,
)
from ui.net.client import ApiClient
from ui.net.credentials import StoredTokens

log = logging.getLogger(__name__)
RECONNECT_MIN_S = 1.0
RECONNECT_MAX_S = 30.0


class AuthMessage(DomainMessage):
    domain: ClassVar[DomainName] = DomainName.AUTH


@dataclass(frozen=True)
class ChooseServer(AuthMessage):
    url: str


@dataclass(frozen=True)
class ClaimServer(AuthMessage):
    username: str
    password: str
    display_name: str = ""


@dataclass(frozen=True)
class PasswordLogin(AuthMessage):
    username: str
    password: str


@dataclass(frozen=True)
class PinLogin(AuthMessage):
    username: str
    pin: str


@dataclass(frozen=True)
class RestoreSession(AuthMessage):
    """At start: the last server and user, from the replica at once, then connect."""


@dataclass(frozen=True)
class SetPin(AuthMessage):
    pin: str


@dataclass(frozen=True)
class ChangePassword(AuthMessage):
    current: str
    new: str


@dataclass(frozen=True)
class Logout(AuthMessage):
    pass


def device_info(device_id: str) -> DeviceInfo:
    name = (socket.gethostname() or "desktop")[:60]
    return DeviceInfo(
        id=device_id,
        name=f"Ferrex Player on {name}",
        platform=(platform.system() or "unknown").lower()[:50],
    )


class AuthDomain(Domain):
    name = DomainName.AUTH

    def __init__(self, ctx: DomainContext) -> None:
        super().__init__(ctx)
        self.server_url: str | None = None
        self.username: str | None = None
        self.claimed: bool | None = None
        self._link: trio.CancelScope | None = None
        self._announced = False  # the first connectivity state is always announced
        # one auth action at a time: a second Connect must not close the client the first uses
        self._busy = trio.Lock()

    # --- helpers --------------------------------------------------------------------------

    async def _new_client(self, url: str) -> ApiClient:
        services = self.ctx.services
        if self._link is not None:
            self._link.cancel()
            self._link = None
        if services.api is not None:
            await services.api.aclose()
        services.api = ApiClient(
            url, device_id=services.local.device_id, on_tokens=self._save_tokens
        )
        self.server_url = services.api.base_url
        return services.api

    async def _save_tokens(self, pair: TokenPair) -> None:
        store = self.ctx.services.credentials
        if store is not None and self.server_url:
            key = pair.device_key  # only password logins hand out a new one
            if key is None:
                key = await store.device_key(self.server_url, pair.user.username)
            await store.save(
                self.server_url,
                pair.user.username,
                StoredTokens(
                    access_token=pair.access_token,
                    refresh_token=pair.refresh_token,
                    scope=pair.scope,
                    device_key=key or "",
                ),
            )

    async def _device_key(self, username: str) -> str | None:
        store = self.ctx.services.credentials
        if store is None or not self.server_url:
            return None
        return await store.device_key(self.server_url, username)

    async def _set_online(self, online: bool, reason: str = "") -> None:
        if self.ctx.services.online != online or not self._announced:
            self._announced = True
            self.ctx.services.online = online
            await self.ctx.emit(ConnectivityChanged(online=online, reason=reason))

    async def _logged_in(self, pair: TokenPair | None) -> None:
        services = self.ctx.services
        api = services.api
        assert api is not None and self.server_url is not None
        services.me = await api.me()
        self.username = services.me.user.username
        services.local.remember_user(
            self.server_url,
            self.username,
            services.me.user.display_name,
            trusted=services.me.device.state == "trusted",
        )
        services.save_local()
        await self._set_online(True)
        await self.ctx.emit(LoggedIn(username=self.username, me=services.me))
        self._start_link()

    def _start_link(self) -> None:
        if self._link is not None:
            self._link.cancel()
        scope = trio.CancelScope()
        self._link = scope

        async def link() -> None:
            with scope:
                await self._event_loop()

        self.ctx.spawn(link, "server link")

    async def _event_loop(self) -> None:
        """Follow the server's events; reconnect with backoff; say when online/offline."""
        delay = RECONNECT_MIN_S
        since: int | None = None
        while True:
            api = self.ctx.services.api
            if api is None:
                return
            try:
                async for event in api.events(since):
                    if event.seq is not None:
                        since = event.seq
                    delay = RECONNECT_MIN_S
                    await self._set_online(True)
                    await self.ctx.emit(ServerEventReceived(type=event.type, data=event.data))
            except ServerUnreachable as exc:
                await self._set_online(False, exc.reason)
            except AuthExpired:  # the connection's refresh did not help: the login is over
                await self.ctx.emit(LoggedOut(reason="session ended"))
                return
            except FerrexClientError as exc:
                await self._set_online(False, exc.message)
            await trio.sleep(delay)
            delay = min(RECONNECT_MAX_S, delay * 2)
            if not self.ctx.services.online:
                try:
                    await api.health()
                    await self._set_online(True)
                except ServerUnreachable:
                    pass

    async def _fail(self, action: str, exc: Exception, pin: bool = False) -> None:
        if isinstance(exc, ApiError):
            text = exc.user_message(pin=pin)
        elif isinstance(exc, ServerUnreachable):
            text = f"Cannot reach the server ({exc.reason})."
            await self._set_online(False, exc.reason)
        else:
            text = str(exc)
        await self.ctx.emit(AuthFailed(text=text, action=action))

    # --- messages -------------------------------------------------------------------------

    async def handle(self, message: DomainMessage) -> None:
        async with self._busy:
            await self._handle(message)

    async def _handle(self, message: DomainMessage) -> None:
        services = self.ctx.services
        match message:
            case ChooseServer(url=url):
                try:
                    url = normalize_url(url)
                except ValueError as exc:
                    await self.ctx.emit(AuthFailed(text=str(exc), action="connect"))
                    return
                client = await self._new_client(url)
                try:
                    setup = await client.setup_status()
                    health = await client.health()
                except FerrexClientError as exc:
                    await self._fail("connect", exc)
                    await self.ctx.emit(ServerChosen(url=url, reachable=False))
                    return
                self.claimed = setup.claimed
                services.local.remember_server(url, health.get("server_id"))
                services.save_local()
                await self._set_online(True)
                await self.ctx.emit(
                    ServerChosen(
                        url=url,
                        reachable=True,
                        claimed=setup.claimed,
                        local_client=setup.local_client,
                    )
                )
            case ClaimServer(username=username, password=password, display_name=display):
                api = services.api
                if api is None:
                    return
                try:
                    await api.claim(username, password, display)
                    self.claimed = True
                    pair = await api.login(
                        username, password, device_info(services.local.device_id)
                    )
                    await self._logged_in(pair)
                except FerrexClientError as exc:
                    await self._fail("claim", exc)
            case PasswordLogin(username=username, password=password):
                api = services.api
                if api is None:
                    return
                try:
                    pair = await api.login(
                        username.strip(),
                        password,
                        device_info(services.local.device_id),
                        await self._device_key(username.strip()),
                    )
                    await self._logged_in(pair)
                except FerrexClientError as exc:
                    await self._fail("login", exc)
            case PinLogin(username=username, pin=pin):
                api = services.api
                if api is None:
                    return
                try:
                    pair = await api.pin_login(username, services.local.device_id, pin)
                    await self._logged_in(pair)
                except FerrexClientError as exc:
                    await self._fail("pin", exc, pin=True)
            case SetPin(pin=pin):
                if services.api is None or services.me is None:
                    return
                try:
                    await services.api.set_pin(pin)
                    services.me = await services.api.me()
                    assert self.server_url is not None
                    services.local.remember_user(
                        self.server_url, services.me.user.username, trusted=True
                    )
                    services.save_local()
                    await self.ctx.emit(PinSet(username=services.me.user.username))
                    await self.ctx.notice(
                        "PIN saved: this device is now trusted.", source=self.name
                    )
                except FerrexClientError as exc:
                    await self._fail("set_pin", exc)
            case ChangePassword(current=current, new=new):
                if services.api is None:
                    return
                try:
                    await services.api.change_password(current, new)
                    await self.ctx.notice(
                        "Password changed. Other sessions were logged out.", source=self.name
                    )
                except FerrexClientError as exc:
                    await self._fail("password", exc)
            case Logout():
                await self._logout()
            case RestoreSession():
                await self._restore()
            case _:
                raise TypeError(f"AuthDomain cannot handle {type(message).__name__}")

    async def _logout(self) -> None:
        services = self.ctx.services
        if self._link is not None:
            self._link.cancel()
            self._link = None
        username = services.me.user.username if services.me else self.username
        if services.api is not None:
            try:
                await services.api.logout()
            except FerrexClientError as exc:
                log.info("logout on the server failed (%s); forgetting tokens anyway", exc)
        if services.credentials is not None and self.server_url and username:
            await services.credentials.forget_session(self.server_url, username)
        services.me = None
        await self.ctx.emit(LoggedOut(reason="logged out"))

    async def _restore(self) -> None:
        """Last server and user: show the replica at once, then connect with stored tokens."""
        services = self.ctx.services
        url = services.local.last_server
        entry = services.local.server(url) if url else None
        if url is None or entry is None:
            await self.ctx.emit(ServerChosen(url="", reachable=False, claimed=True))
            return
        client = await self._new_client(url)
        user = entry.last_user
        stored = (
            await services.credentials.load(url, user)
            if user and services.credentials is not None
            else None
        )
        if user and stored is not None and stored.has_session:
            self.username = user
            client.access_token = stored.access_token
            client.refresh_token = stored.refresh_token
            # browse from the replica at once, whatever the network does
            await self.ctx.emit(LoggedIn(username=user, me=None, offline=True))
            try:
                services.me = await client.me()
                await self._logged_in(None)
                return
            except ServerUnreachable as exc:
                await self._set_online(False, exc.reason)
                self._start_link()  # keeps trying; LoggedIn follows when the server is back
                return
            except ApiError:
                if services.credentials is not None:
                    await services.credentials.forget_session(url, user)
        # no usable session: the login screen for this server
        try:
            setup = await client.setup_status()
            await self._set_online(True)
            await self.ctx.emit(
                ServerChosen(
                    url=url, reachable=True, claimed=setup.claimed, local_client=setup.local_client
                )
            )
        except FerrexClientError as exc:
            await self._set_online(False, str(exc))
            await self.ctx.emit(ServerChosen(url=url, reachable=False))

    async def on_event(self, event: CrossDomainEvent) -> None:
        services = self.ctx.services
        if (
            isinstance(event, ConnectivityChanged)
            and event.online
            and services.me is None
            and self.username
            and services.api is not None
            and services.api.refresh_token
        ):
            # came back online after an offline start: finish the login quietly
            try:
                await self._logged_in(None)
            except FerrexClientError as exc:
                log.info("reconnect login failed: %s", exc)
