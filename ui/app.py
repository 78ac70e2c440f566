"""``ferrex-player``: the desktop app. PyQt6 owns the thread's loop; trio runs as its guest.

Start-up order: settings and the last server/user are read from the player data dir, the window
shows, and the Auth domain restores the session: the local replica is browseable at once, and
the connection is made (or retried, with an offline banner) in the background.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import trio
from PyQt6.QtWidgets import QApplication

from sync.player_paths import data_dir, replica_dir
from sync.replica import Replica
from ui.domains.auth import ChooseServer, RestoreSession
from ui.domains.core import CrossDomainEvent, DomainRegistry
from ui.domains.player import PlayerStarted
from ui.domains.registry import build_registry
from ui.domains.services import Services
from ui.net.credentials import CredentialStore
from ui.qt_trio import run as run_guest
from ui.screens.window import MainWindow
from ui.settings.store import SettingsStore

log = logging.getLogger(__name__)


def make_services(directory: Path) -> Services:
    """Settings, remembered servers and the replica, all from the player data dir. The replica
    is opened here, before any network, so the last library is browseable at once."""
    store = SettingsStore(directory)
    return Services(
        store=store,
        local=store.load_state(),
        settings=store.load_settings(),
        credentials=CredentialStore(directory),
        replica=Replica.open(replica_dir(directory)),
    )


async def app_main(window: MainWindow, registry: DomainRegistry, server: str | None) -> None:
    """Everything asynchronous the app does, in one nursery that ends with the window."""
    async with trio.open_nursery() as nursery:
        await nursery.start(registry.run)
        closed = trio.Event()
        window.on_close.append(closed.set)
        registry.post(ChooseServer(server) if server else RestoreSession())
        await closed.wait()
        nursery.cancel_scope.cancel()
    await close_services(registry.services)


def start_discovery() -> object | None:
    """Browse the LAN for appliances for the connect screen; None when it cannot (no
    multicast-capable interface): the typed address still works."""
    from ui.net.discovery import DiscoveryBrowser

    browser = DiscoveryBrowser()
    try:
        browser.start()
    except OSError as exc:
        log.warning("not looking for appliances on the network: %s", exc)
        browser.close()
        return None
    return browser


def release_for_playback(event: CrossDomainEvent) -> None:
    """Playback is the most memory the player ever holds (the decoder's frames, libav): when it
    starts, the GL views now off screen give back their atlases and the image service its
    decoded posters (``ui.grid.residency``); they come back on the next draw."""
    if isinstance(event, PlayerStarted):
        from ui.grid import residency

        residency.release_offscreen()


async def close_services(services: Services) -> None:
    if services.discovery is not None:
        await trio.to_thread.run_sync(services.discovery.close)
        services.discovery = None
    if services.api is not None:
        with trio.CancelScope(shield=True), trio.move_on_after(2):
            await services.api.aclose()
    if services.replica is not None:
        services.replica.close()
        services.replica = None


def run(args: list[str]) -> int:
    from ui.headless import build_parser

    options = build_parser().parse_args(args)  # [--server URL] [--data-dir DIR] [gui]
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from ui.playback.wayland import without_client_frame

    without_client_frame()  # the video's controls on Wayland (see there)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Ferrex")
    services = make_services(options.data_dir or data_dir())
    services.discovery = start_discovery()
    registry = build_registry(services)
    window = MainWindow(registry)
    registry.listen(release_for_playback)  # after the window's: the player is on screen by then
    window.show()
    run_guest(app, lambda: app_main(window, registry, options.server))
    return 0
