"""Run inside the test's "player" network namespace by tests/test_discovery.py (never on the host's
network): ``browse`` prints the player browser's list as one JSON line each time it changes;
``claim URL`` claims an appliance from that namespace, as a player on the LAN would."""

from __future__ import annotations

import json
import sys
import urllib.request

from sync.discovery import FoundServer
from ui.net.discovery import DiscoveryBrowser


def _line(found: list[FoundServer]) -> str:
    return json.dumps([{"name": f.name, "server_id": f.server_id, "version": f.version,
                        "claimed": f.claimed, "url": f.url, "api_path": f.api_path}
                       for f in found])


def browse() -> None:
    with DiscoveryBrowser() as browser:
        print(_line([]), flush=True)
        while True:  # until the test kills this process
            browser.changed.wait()
            browser.changed.clear()
            print(_line(browser.snapshot()), flush=True)


def claim(url: str) -> None:
    body = json.dumps({"username": "owner", "password": "correct horse battery"}).encode()
    request = urllib.request.Request(url + "/api/v1/setup/claim", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        print(response.status)


if __name__ == "__main__":
    if sys.argv[1] == "browse":
        browse()
    else:
        claim(sys.argv[2])
