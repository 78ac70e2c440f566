"""Which client addresses count as "the local network" for the first-run claim.

Only the TCP peer address is used: an X-Forwarded-For header is whatever the client wants it to
be. Behind a reverse proxy every client looks local, so claim the appliance before exposing it.
"""

from __future__ import annotations

import ipaddress

LOCAL_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "127.0.0.0/8",  # loopback
        "10.0.0.0/8",  # private (RFC 1918)
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",  # link-local
        "::1/128",  # loopback
        "fc00::/7",  # unique local addresses (ULA)
        "fe80::/10",  # link-local
    )
)


def is_local(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in LOCAL_NETWORKS)
