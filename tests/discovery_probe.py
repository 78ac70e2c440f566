"""Run inside the test's network namespaces by tests/test_discovery.py (never on the host's
network): ``browse`` prints the player browser's list as one JSON line each time it changes;
``claim URL`` claims an appliance from that namespace, as a player on the LAN would;
``announce NAME`` runs the appliance's announcer alone, looking at the addresses twice a second."""

from __future__ import annotations

import json
import sys
import urllib.request

from sync.discovery import FoundServer
from ui.net.discovery import DiscoveryBrowser


def _line(found: list[FoundServer]) -> str:
    return json.dumps(
        [
            {
                "name": f.name,
                "server_id": f.server_id,
                "version": f.version,
                "claimed": f.claimed,
                "url": f.url,
                "api_path": f.api_path,
                "addresses": sorted(f.addresses),
            }
            for f in found
        ]
    )


def browse() -> None:
    with DiscoveryBrowser() as browser:
        print(_line([]), flush=True)
        while True:  # until the test kills this process
            browser.changed.wait()
            browser.changed.clear()
            print(_line(browser.snapshot()), flush=True)


def claim(url: str) -> None:
    body = json.dumps({"username": "owner", "password": "correct horse battery"}).encode()
    request = urllib.request.Request(
        url + "/api/v1/setup/claim",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        print(response.status)


def announce(name: str) -> None:
    import trio

    from appliance import discovery
    from appliance.config import DiscoverySection
    from appliance.events import InProcEventBus

    discovery.ADDRESS_CHECK_SECONDS = 0.5

    async def unclaimed() -> bool:
        return False

    trio.run(
        discovery.announce,
        DiscoverySection(name=name),
        "0.0.0.0",
        8420,
        "00000000-0000-4000-8000-000000000000",
        unclaimed,
        InProcEventBus(),
    )


if __name__ == "__main__":
    if sys.argv[1] == "browse":
        browse()
    elif sys.argv[1] == "announce":
        announce(sys.argv[2])
    else:
        claim(sys.argv[2])
