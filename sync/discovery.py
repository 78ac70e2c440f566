"""The LAN discovery contract: what an appliance announces over mDNS / DNS-SD and how a player
reads it back.

Both sides import this module (the appliance's announcer in ``appliance.discovery``, the player's
browser in ``ui.net.discovery``), so the service type and the TXT keys are written in one place.
Standard library and msgspec only: zeroconf itself is imported by the two sides, not here.

One service instance per appliance, ``<name>._ferrex._tcp.local.``, on the port the API listens
on, with these TXT keys (DNS-SD keeps TXT values short; all of ours are):

``id``       the server id (``store.server_state.ensure_server_id``): stable across restarts and
             address changes, so a player recognises an appliance it used before
``version``  the appliance's version
``claimed``  ``true`` once it has an admin, ``false`` while anyone on the LAN may claim it
``api``      the API's base path (``/api/v1``)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

import msgspec

SERVICE_TYPE = "_ferrex._tcp.local."
API_PATH = "/api/v1"
TXT_VERSION = "txtvers"  # the version of this TXT layout (RFC 6763 section 6.7)
LAYOUT = "1"


class Announcement(msgspec.Struct, frozen=True, kw_only=True):
    """What an appliance says about itself; the TXT record is made from it."""

    name: str
    server_id: str
    version: str
    claimed: bool
    api_path: str = API_PATH

    def txt(self) -> dict[str, str]:
        return {
            TXT_VERSION: LAYOUT,
            "id": self.server_id,
            "version": self.version,
            "claimed": "true" if self.claimed else "false",
            "api": self.api_path,
        }


class FoundServer(msgspec.Struct, frozen=True, kw_only=True):
    """An appliance a player found on the LAN."""

    name: str
    server_id: str
    version: str
    claimed: bool
    addresses: tuple[str, ...]
    port: int
    api_path: str = API_PATH

    @property
    def url(self) -> str:
        """The base URL a player connects to: the first IPv4 address (a link-local IPv6 one
        needs a scope id that URLs carry badly), else the first address."""
        v4 = [a for a in self.addresses if ipaddress.ip_address(a).version == 4]
        host = (v4 or list(self.addresses) or ["localhost"])[0]
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"


def instance_name(name: str) -> str:
    """The DNS-SD instance label for ``name``: at most 63 bytes, no dots (a dot would start
    another label)."""
    label = name.replace(".", "-").strip() or "ferrex"
    while len(label.encode("utf-8")) > 63:
        label = label[:-1]
    return label


def _text(value: bytes | None) -> str:
    return value.decode("utf-8", "replace") if value is not None else ""


def parse(
    instance: str, properties: Mapping[bytes, bytes | None], addresses: list[str], port: int
) -> FoundServer | None:
    """A found service as a FoundServer; None when it is not one of ours (no server id)."""
    props = {k.decode("utf-8", "replace"): _text(v) for k, v in properties.items()}
    if not props.get("id"):
        return None
    name = instance.removesuffix("." + SERVICE_TYPE)
    return FoundServer(
        name=name,
        server_id=props["id"],
        version=props.get("version", ""),
        claimed=props.get("claimed") == "true",
        addresses=tuple(addresses),
        port=port,
        api_path=props.get("api") or API_PATH,
    )
