"""The appliance announces itself on the LAN (mDNS / DNS-SD, ``_ferrex._tcp``), so a player
lists it without the user typing an address. ``ferrex.local`` alone announced nothing.

python-zeroconf runs on a plain asyncio loop in a thread of its own; the trio side only calls
it through ``trio.to_thread`` (registering probes the name for ~1-2 s). The TXT
record (``sync.discovery``) says whether the appliance is claimed and is updated when the first
admin is created (the ``setup.claimed`` bus event); on shutdown the service is unregistered,
which sends goodbye packets so players drop it at once instead of after the record's TTL.

Nothing is announced when the API listens on loopback only: no one on the LAN could connect.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import trio

from appliance import __version__
from appliance.config import DiscoverySection
from appliance.events import InProcEventBus
from sync.discovery import SERVICE_TYPE, Announcement, instance_name

if TYPE_CHECKING:
    from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

log = logging.getLogger(__name__)
T = TypeVar("T")
CALL_TIMEOUT = 20.0
ADDRESS_CHECK_SECONDS = 30.0
CLAIMED_EVENT = "setup.claimed"


def announced_addresses(host: str) -> list[str] | None:
    """The addresses to announce for a listen host: None for a loopback-only bind (announce
    nothing), every non-loopback address of the machine for a wildcard bind, else the host."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:  # a name: announce what it resolves to
        try:
            ip = ipaddress.ip_address(socket.gethostbyname(host))
        except (OSError, ValueError):
            return []  # not resolvable now: perhaps later
    if ip.is_loopback:
        return None
    if not ip.is_unspecified:
        return [str(ip)]
    import ifaddr

    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for address in adapter.ips:
            if isinstance(address.ip, str):  # IPv4
                text = address.ip
            elif ip.version == 6:  # IPv6 ("::" binds both families)
                text = address.ip[0]
            else:
                continue
            if not ipaddress.ip_address(text).is_loopback and text not in found:
                found.append(text)
    return found


def default_name() -> str:
    """The instance name when ``discovery.name`` is empty: this machine's host name."""
    return socket.gethostname().split(".")[0] or "ferrex"


class _LoopThread:
    """A plain asyncio loop on a thread of its own for zeroconf. Not ``asyncio.new_event_loop()``:
    trio-asyncio's policy is installed in this process, and its loops cannot live on another
    thread (zeroconf's own loop thread would get one and fail to close)."""

    def __init__(self) -> None:
        self.loop = asyncio.SelectorEventLoop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="zeroconf", daemon=True)
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for it (from a trio worker thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(CALL_TIMEOUT)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(CALL_TIMEOUT)
        if not self._thread.is_alive():
            self.loop.close()


class Announcer:
    """One registered ``_ferrex._tcp`` service for the appliance's life. The blocking methods
    run in trio worker threads; zeroconf itself runs on ``_LoopThread``."""

    def __init__(
        self,
        settings: DiscoverySection,
        addresses: list[str],
        port: int,
        server_id: str,
        claimed: bool,
    ) -> None:
        self.announcement = Announcement(
            name=instance_name(settings.name or default_name()),
            server_id=server_id,
            version=__version__,
            claimed=claimed,
        )
        self.addresses = addresses
        self.port = port
        self._thread: _LoopThread | None = None
        self._zeroconf: AsyncZeroconf | None = None
        self._info: AsyncServiceInfo | None = None

    def _service_info(self, name: str | None = None) -> AsyncServiceInfo:
        from zeroconf.asyncio import AsyncServiceInfo

        a = self.announcement
        host = f"{instance_name(default_name())}-{a.server_id[:8]}.local."
        return AsyncServiceInfo(
            SERVICE_TYPE,
            name or f"{a.name}.{SERVICE_TYPE}",
            port=self.port,
            properties=a.txt(),
            server=host,
            parsed_addresses=self.addresses,
        )

    def start(self) -> None:
        """Register: probes for a name conflict (~1 s), then announces."""
        from zeroconf import IPVersion
        from zeroconf.asyncio import AsyncZeroconf

        v6 = any(ipaddress.ip_address(a).version == 6 for a in self.addresses)
        v4 = any(ipaddress.ip_address(a).version == 4 for a in self.addresses)
        version = IPVersion.All if v4 and v6 else IPVersion.V6Only if v6 else IPVersion.V4Only
        info = self._info = self._service_info()

        async def register() -> AsyncZeroconf:
            zeroconf = AsyncZeroconf(ip_version=version)  # attaches to this running loop
            # allow_name_change: a second appliance with this name becomes "name (2)"
            await (await zeroconf.async_register_service(info, allow_name_change=True))
            return zeroconf

        self._thread = _LoopThread()
        self._zeroconf = self._thread.call(register())
        log.info(
            "announced on the LAN",
            extra={"service": info.name, "addresses": self.addresses, "port": self.port},
        )

    def set_claimed(self, claimed: bool) -> None:
        """Re-announce the TXT record with the new claim state."""
        zeroconf, thread = self._zeroconf, self._thread
        if (
            zeroconf is None
            or thread is None
            or self._info is None
            or claimed == self.announcement.claimed
        ):
            return
        a = self.announcement
        self.announcement = Announcement(
            name=a.name, server_id=a.server_id, version=a.version, claimed=claimed
        )
        info = self._info = self._service_info(self._info.name)  # the name after a conflict

        async def update() -> None:
            await (await zeroconf.async_update_service(info))

        thread.call(update())

    def stop(self) -> None:
        """Unregister (goodbye packets) and close the sockets."""
        zeroconf, thread, info = self._zeroconf, self._thread, self._info
        self._zeroconf = self._thread = None
        if thread is None:
            return

        async def withdraw() -> None:
            if zeroconf is not None:
                try:
                    if info is not None:
                        await (await zeroconf.async_unregister_service(info))
                finally:
                    await zeroconf.async_close()

        try:
            thread.call(withdraw())
        finally:
            thread.close()


def _current_addresses(host: str) -> list[str] | None:
    try:
        return announced_addresses(host)
    except OSError as exc:  # the interface list could not be read: try again later
        log.debug("cannot list this machine's addresses", extra={"error": str(exc)})
        return []


async def announce(
    settings: DiscoverySection,
    listen_host: str,
    port: int,
    server_id: str,
    is_claimed: Callable[[], Awaitable[bool]],
    bus: InProcEventBus,
) -> None:
    """Announce until cancelled, following claims and the machine's addresses; then say goodbye.

    The addresses are looked at again every ``ADDRESS_CHECK_SECONDS``: a Pi on Wi-Fi may get its
    address after the appliance started, or another one from DHCP later; the service is then
    registered again with the new ones. Failing to announce (no multicast-capable interface,
    say) is logged and leaves the appliance serving."""
    if not settings.enabled:
        return
    addresses = _current_addresses(listen_host)
    if addresses is None:
        log.info(
            "not announced on the LAN: the API listens on loopback only",
            extra={"listen": listen_host},
        )
        return
    announcer: Announcer | None = None
    tried: list[str] = []
    async with bus.subscribe(size=16) as events:  # before the first read: no claim missed
        try:
            while True:
                if addresses and set(addresses) != set(tried):
                    tried = addresses
                    if announcer is not None:
                        await trio.to_thread.run_sync(announcer.stop)
                        announcer = None
                    candidate = Announcer(settings, addresses, port, server_id, await is_claimed())
                    try:
                        await trio.to_thread.run_sync(candidate.start)
                        announcer = candidate
                    except Exception as exc:  # OSError from the sockets, zeroconf's errors
                        log.warning("cannot announce on the LAN", extra={"error": str(exc)})
                        await trio.to_thread.run_sync(candidate.stop)
                with trio.move_on_after(ADDRESS_CHECK_SECONDS):
                    async for event in events:
                        if event.type in (CLAIMED_EVENT, "gap") and announcer is not None:
                            claimed = await is_claimed()
                            await trio.to_thread.run_sync(announcer.set_claimed, claimed)
                addresses = _current_addresses(listen_host) or []
        finally:
            if announcer is not None:
                with trio.CancelScope(shield=True):
                    await trio.to_thread.run_sync(announcer.stop)
                    log.info("withdrawn from the LAN")
