"""The player finds appliances on the LAN (issue 17, item 4): mDNS / DNS-SD, ``_ferrex._tcp``.

The end-to-end test builds a LAN of its own: two network namespaces joined by a veth pair with
multicast on, the appliances in one, the player's browser in the other. Nothing is sent on the
host's network (no interface of the host is touched; the namespaces go at the end).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from appliance import config as config_mod
from appliance.discovery import announced_addresses
from sync.discovery import Announcement, FoundServer, instance_name, parse
from tests.helpers import REPO, short_tempdir


def test_loopback_listen_is_not_announced() -> None:
    """An appliance kept on this machine (listen 127.0.0.1) must not advertise itself."""
    assert announced_addresses("127.0.0.1") is None
    assert announced_addresses("::1") is None
    assert announced_addresses("192.168.1.20") == ["192.168.1.20"]
    every = announced_addresses("0.0.0.0")
    assert every is not None and "127.0.0.1" not in every


def test_txt_record_round_trip() -> None:
    """What the announcer writes is what the player reads: id, version, claimed, api path."""
    sent = Announcement(name="living-room", server_id="abc-123", version="0.1.0", claimed=False)
    raw = {k.encode(): v.encode() for k, v in sent.txt().items()}
    found = parse("living-room._ferrex._tcp.local.", raw, ["fe80::1", "10.0.0.5"], 8420)
    assert found == FoundServer(
        name="living-room",
        server_id="abc-123",
        version="0.1.0",
        claimed=False,
        addresses=("fe80::1", "10.0.0.5"),
        port=8420,
    )
    assert found.url == "http://10.0.0.5:8420"
    assert parse("x._ferrex._tcp.local.", {b"version": b"1"}, [], 1) is None  # not ours
    assert instance_name("nas.home.lan") == "nas-home-lan"


def test_discover_command_is_in_the_players_help(capsys: pytest.CaptureFixture[str]) -> None:
    from ui.main import main

    assert main(["--help"]) == 0
    assert "    discover " in capsys.readouterr().out
    assert main(["discover", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--timeout SECONDS" in out and "--json" in out


def test_config_has_discovery_section() -> None:
    config = config_mod.Config()
    assert config.discovery.enabled and config.discovery.name == ""
    assert "[discovery]" in config_mod.render(config)


class FakeBrowser:
    """Stands in for ui.net.discovery.DiscoveryBrowser: what the LAN test checks for real."""

    def __init__(self) -> None:
        self.found: list[FoundServer] = []

    def snapshot(self) -> list[FoundServer]:
        return list(self.found)


def test_connect_screen_lists_found_appliances(qtbot: QtBot) -> None:
    """The connect screen shows what the browser found (unclaimed badge included), follows the
    list, connects to a picked one, and still takes a typed address."""
    from PyQt6.QtWidgets import QListWidgetItem

    from ui.domains.auth import ChooseServer
    from ui.domains.core import DomainMessage
    from ui.domains.registry import build_registry
    from ui.domains.services import Services
    from ui.screens.auth import ConnectScreen

    source = FakeBrowser()
    screen = ConnectScreen(build_registry(Services(discovery=source)))
    qtbot.addWidget(screen)
    posted: list[DomainMessage] = []
    screen.post = posted.append  # type: ignore[method-assign,assignment]
    screen.show()

    def row(i: int) -> QListWidgetItem:
        item = screen.found.item(i)
        assert item is not None
        return item

    assert screen.found.isVisible()
    assert row(0).text() == "Looking for appliances…"
    source.found = [
        FoundServer(
            name="attic-pi",
            server_id="1",
            version="0.2.0",
            claimed=False,
            addresses=("10.0.0.7",),
            port=8420,
        ),
        FoundServer(
            name="nas",
            server_id="2",
            version="0.2.0",
            claimed=True,
            addresses=("10.0.0.9",),
            port=9000,
        ),
    ]
    qtbot.waitUntil(lambda: screen.found.count() == 2, timeout=3000)
    texts = [row(i).text() for i in range(2)]
    assert texts[0].startswith("attic-pi   10.0.0.7:8420   v0.2.0") and "not set up" in texts[0]
    assert texts[1] == "nas   10.0.0.9:9000   v0.2.0"
    screen._use_found(row(1))
    assert posted == [ChooseServer("http://10.0.0.9:9000")]
    source.found = source.found[:1]  # nas said goodbye
    qtbot.waitUntil(lambda: screen.found.count() == 1, timeout=3000)
    screen.url.setEditText("http://192.168.1.4:8420")
    screen.connect()
    assert posted[-1] == ChooseServer("http://192.168.1.4:8420")
    # without a browser (it could not start) the list is hidden; the address field remains
    bare = ConnectScreen(build_registry(Services()))
    qtbot.addWidget(bare)
    bare.show()
    assert not bare.found.isVisible() and bare.url.isVisible()


# --- two appliances on a LAN of the test's own ------------------------------------------------

SUBNET = "10.231.77"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


@pytest.fixture
def lan() -> Iterator[tuple[str, str]]:
    """Namespaces (appliances, player) joined by a veth pair, multicast routed over it."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 (scripts/deps.sh --test installs it)")
    tag = f"{os.getpid()}"
    server_ns, player_ns = f"fxd-srv-{tag}", f"fxd-ply-{tag}"
    _ip("netns", "add", server_ns)
    try:
        _ip("netns", "add", player_ns)
        # made inside the server namespace, one end moved to the player's: no host interface
        _ip(
            "-n",
            server_ns,
            "link",
            "add",
            "fxd0",
            "type",
            "veth",
            "peer",
            "name",
            "fxd1",
            "netns",
            player_ns,
        )
        for ns, dev, host in ((server_ns, "fxd0", 1), (player_ns, "fxd1", 2)):
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "addr", "add", f"{SUBNET}.{host}/24", "dev", dev)
            _ip("-n", ns, "link", "set", "dev", dev, "multicast", "on")
            _ip("-n", ns, "link", "set", "dev", dev, "up")
            _ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", dev)
        yield server_ns, player_ns
    finally:
        for ns in (player_ns, server_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


def _in_ns(ns: str, *argv: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERREX_")}
    env.update(kwargs.pop("env", {}))
    env["PYTHONPATH"] = str(REPO)
    return subprocess.Popen(
        ["ip", "netns", "exec", ns, sys.executable, *argv], cwd=REPO, env=env, **kwargs
    )


class Browser:
    """The player's browser in the player namespace; ``until`` waits for a list it likes."""

    def __init__(self, ns: str) -> None:
        self.proc = _in_ns(
            ns,
            str(REPO / "tests" / "discovery_probe.py"),
            "browse",
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.lists: queue.Queue[list[dict[str, Any]]] = queue.Queue()
        self.last: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lists.put(json.loads(line))

    def until(self, want: Any, timeout: float) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            by_name = {f["name"]: f for f in self.last}
            if want(by_name):
                return by_name
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"player saw {self.last}")
            try:
                self.last = self.lists.get(timeout=left)
            except queue.Empty:
                pass


@pytest.mark.slow
def test_player_finds_two_appliances_follows_claim_and_goodbye(lan: tuple[str, str]) -> None:
    server_ns, player_ns = lan
    root = short_tempdir("fxdisc-")
    appliances: dict[str, subprocess.Popen[bytes]] = {}
    logs: dict[str, Path] = {}
    browser = Browser(player_ns)
    try:
        for name in ("alpha", "beta"):
            logs[name] = root / f"{name}.log"
            with logs[name].open("wb") as out:
                appliances[name] = _in_ns(
                    server_ns,
                    "-m",
                    "appliance.cli",
                    "serve",
                    "--data-dir",
                    str(root / name),
                    "--listen",
                    "0.0.0.0:0",
                    env={
                        "FERREX_DISCOVERY_NAME": name,
                        "FERREX_LOG_LEVEL": "info",
                        "FERREX_SCAN_ANALYZE": "false",
                    },
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )

        def both_unclaimed(seen: dict[str, dict[str, Any]]) -> bool:
            return {"alpha", "beta"} <= seen.keys() and not any(
                seen[n]["claimed"] for n in ("alpha", "beta")
            )

        try:
            seen = browser.until(both_unclaimed, timeout=90)
        except AssertionError:
            raise AssertionError("\n".join(p.read_text() for p in logs.values())) from None
        ids = {n: seen[n]["server_id"] for n in ("alpha", "beta")}
        assert len(set(ids.values())) == 2 and all(len(i) == 36 for i in ids.values())
        for entry in seen.values():
            assert entry["api_path"] == "/api/v1" and entry["version"]
            assert entry["url"].startswith(f"http://{SUBNET}.1:")

        # the player claims alpha over the LAN at the URL it found: its TXT record follows
        claim = _in_ns(
            player_ns,
            str(REPO / "tests" / "discovery_probe.py"),
            "claim",
            seen["alpha"]["url"],
            stdout=subprocess.PIPE,
        )
        assert claim.communicate(timeout=30)[0].strip() == b"201"
        seen = browser.until(lambda s: s.get("alpha", {}).get("claimed") is True, timeout=15)
        assert seen["beta"]["claimed"] is False
        assert seen["alpha"]["server_id"] == ids["alpha"]

        # beta stops: its goodbye removes it at once (not after the record's 75-120 s TTL)
        appliances["beta"].terminate()
        assert appliances["beta"].wait(timeout=30) == 0, logs["beta"].read_text()[-3000:]
        stopped = time.monotonic()
        seen = browser.until(lambda s: "beta" not in s, timeout=10)
        assert time.monotonic() - stopped < 10
        assert seen["alpha"]["claimed"] is True

        # the CLI, in the player's namespace, lists the one left
        cli = _in_ns(
            player_ns,
            "-c",
            "import sys; from ui.main import main; sys.exit(main())",
            "discover",
            "--json",
            "--timeout",
            "2",
            stdout=subprocess.PIPE,
        )
        listed = json.loads(cli.communicate(timeout=30)[0])
        assert [(f["name"], f["server_id"], f["claimed"]) for f in listed] == [
            ("alpha", ids["alpha"], True)
        ]
        assert listed[0]["url"] == seen["alpha"]["url"]
    finally:
        browser.proc.kill()
        browser.proc.wait()
        for proc in appliances.values():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_announcement_follows_a_new_address(lan: tuple[str, str]) -> None:
    """A Pi whose Wi-Fi comes up after the appliance, or whose DHCP address changes: the
    announcement follows the machine's addresses (re-registered with the new ones)."""
    server_ns, player_ns = lan
    _ip("-n", server_ns, "addr", "flush", "dev", "fxd0")  # up, but no address yet
    browser = Browser(player_ns)
    announcer = _in_ns(
        server_ns,
        str(REPO / "tests" / "discovery_probe.py"),
        "announce",
        "late",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(2)  # several address checks with none to announce
        assert announcer.poll() is None
        while not browser.lists.empty():
            browser.last = browser.lists.get_nowait()
        assert all(f["name"] != "late" for f in browser.last)  # nothing to announce yet
        _ip("-n", server_ns, "addr", "add", f"{SUBNET}.1/24", "dev", "fxd0")
        seen = browser.until(lambda s: "late" in s, timeout=15)
        assert seen["late"]["addresses"] == [f"{SUBNET}.1"]
        _ip("-n", server_ns, "addr", "add", f"{SUBNET}.9/24", "dev", "fxd0")
        seen = browser.until(
            lambda s: s.get("late", {}).get("addresses") == [f"{SUBNET}.1", f"{SUBNET}.9"],
            timeout=15,
        )
    finally:
        announcer.terminate()
        stderr = announcer.communicate(timeout=20)[1]
        browser.proc.kill()
        browser.proc.wait()
    assert b"Traceback" not in stderr or b"KeyboardInterrupt" in stderr, stderr.decode()
