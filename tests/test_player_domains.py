"""The player's domains without a window: routing, broadcasts, handlers, the decision engine."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
import trio

from sync.query import MediaQuery, MediaQueryBuilder, WatchStatus
from ui.domains.core import (
    ALL_DOMAINS,
    CrossDomainEvent,
    Domain,
    DomainMessage,
    DomainName,
    DomainRegistry,
    Notice,
    UnroutableMessage,
)
from ui.domains.decision import RACE_WINDOW_MS, DecisionEngine, NoSource, Strategy
from ui.domains.events import (
    BannerChanged,
    ConnectivityChanged,
    LoggedIn,
    LoggedOut,
    ScanProgress,
    ScreenChanged,
    ServerChosen,
    ServerEventReceived,
    SettingsChanged,
)
from ui.domains.library import LibraryDomain
from ui.domains.registry import CORE_DOMAINS, PLAYBACK_DOMAINS, build_registry
from ui.domains.services import Services
from ui.domains.settings import SettingsDomain, UpdateSettings
from ui.domains.ui import Back, Navigate, ShowSearch, UiDomain
from ui.settings.store import SettingsStore


def registry_with_log(services: Services | None = None) -> tuple[DomainRegistry, list[object]]:
    registry = build_registry(services or Services())
    seen: list[object] = []
    registry.listen(seen.append)
    return registry, seen


def test_every_domain_is_registered_once() -> None:
    registry = build_registry(Services())
    expected = {d(registry.context).name for d in (*CORE_DOMAINS, *PLAYBACK_DOMAINS)}
    assert registry.names == expected == set(ALL_DOMAINS)
    assert (len(CORE_DOMAINS), len(PLAYBACK_DOMAINS)) == (8, 2)
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(UiDomain)


async def test_message_goes_to_exactly_its_domain() -> None:
    registry, _ = registry_with_log()
    await registry.dispatch(Navigate("settings"))
    await registry.dispatch(UpdateSettings("display", {"spacing": 4}))
    assert registry.handled == {DomainName.UI: 1, DomainName.SETTINGS: 1}
    ui = registry.domain(DomainName.UI)
    assert isinstance(ui, UiDomain) and ui.screen == "settings"


async def test_unroutable_messages_are_refused() -> None:
    class Stray(DomainMessage):
        pass

    @dataclass(frozen=True)
    class ToNowhere(DomainMessage):
        domain: ClassVar[DomainName] = DomainName.PLAYER

    registry = DomainRegistry(Services())
    registry.register(UiDomain)
    with pytest.raises(UnroutableMessage):
        await registry.dispatch(Stray())
    with pytest.raises(UnroutableMessage):
        registry.post(ToNowhere())


async def test_events_reach_every_domain_and_listener() -> None:
    calls: list[tuple[DomainName, str]] = []

    def spy(name: DomainName) -> type[Domain]:
        class Spy(Domain):
            async def handle(self, message: DomainMessage) -> None:
                raise AssertionError("no messages here")

            async def on_event(self, event: CrossDomainEvent) -> None:
                calls.append((self.name, type(event).__name__))

        Spy.name = name
        return Spy

    registry = DomainRegistry(Services())
    for name in (DomainName.AUTH, DomainName.MEDIA, DomainName.SEARCH):
        registry.register(spy(name))
    heard: list[object] = []
    registry.listen(heard.append)
    await registry.broadcast(LoggedOut())
    assert sorted(calls) == [
        (DomainName.AUTH, "LoggedOut"),
        (DomainName.MEDIA, "LoggedOut"),
        (DomainName.SEARCH, "LoggedOut"),
    ]
    assert heard == [LoggedOut()]


async def test_posted_messages_run_and_failures_become_notices() -> None:
    registry, seen = registry_with_log()
    async with trio.open_nursery() as nursery:
        await nursery.start(registry.run)
        registry.post(Navigate("settings"))
        registry.post(Navigate("no-such-screen"))  # handler raises ValueError
        with trio.fail_after(5):
            while not any(isinstance(e, Notice) for e in seen):
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    assert ScreenChanged(screen="settings", previous="connect") in seen
    notice = next(e for e in seen if isinstance(e, Notice))
    assert notice.level == "error" and "no-such-screen" in notice.text


async def test_ui_domain_follows_auth_and_connectivity() -> None:
    registry, seen = registry_with_log()
    ui = registry.domain(DomainName.UI)
    assert isinstance(ui, UiDomain)
    await registry.broadcast(ServerChosen(url="http://x:1", reachable=True, claimed=False))
    assert ui.screen == "setup"
    await registry.broadcast(LoggedIn(username="a", me=None, offline=True))
    assert ui.screen == "home"
    await registry.dispatch(Navigate("settings"))
    await registry.dispatch(ShowSearch(open=True, text="m"))
    await registry.dispatch(Back())  # first Esc closes the search overlay
    assert ui.screen == "settings" and not ui.search_open
    await registry.dispatch(Back())
    assert ui.screen == "home"
    await registry.broadcast(ConnectivityChanged(online=False, reason="refused"))
    banner = [e for e in seen if isinstance(e, BannerChanged)][-1]
    assert banner.text is not None and "Offline" in banner.text
    await registry.broadcast(LoggedOut())
    assert ui.screen == "login"


async def test_settings_domain_validates_persists_and_broadcasts(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    registry, seen = registry_with_log(Services(store=store))
    await registry.dispatch(UpdateSettings("performance", {"max_uploads_per_frame": 12}))
    changed = [e for e in seen if isinstance(e, SettingsChanged)]
    assert changed and changed[-1].settings.performance.max_uploads_per_frame == 12
    assert store.load_settings().performance.max_uploads_per_frame == 12
    await registry.dispatch(UpdateSettings("performance", {"max_uploads_per_frame": 999}))
    settings = registry.domain(DomainName.SETTINGS)
    assert isinstance(settings, SettingsDomain)
    assert settings.sections["performance"].error
    assert "max_uploads_per_frame" in settings.sections["performance"].status
    assert store.load_settings().performance.max_uploads_per_frame == 12  # bad value not saved


async def test_scan_events_become_progress() -> None:
    registry, seen = registry_with_log()
    lib = uuid.uuid4()
    await registry.broadcast(
        ServerEventReceived(
            type="scan.progress",
            data={
                "library_id": str(lib),
                "state": "running",
                "files_found": 7,
                "folders_walked": 3,
                "jobs_done": 4,
                "jobs_queued": 9,
                "eta_s": 2.5,
            },
        )
    )
    await registry.broadcast(
        ServerEventReceived(type="scan.completed", data={"library_id": str(lib), "files_found": 8})
    )
    progress = [e for e in seen if isinstance(e, ScanProgress)]
    assert [(p.state, p.files_found) for p in progress] == [("running", 7), ("completed", 8)]
    library = registry.domain(DomainName.LIBRARY)
    assert isinstance(library, LibraryDomain) and library.scans[lib].jobs_done == 4


# --- decision engine ----------------------------------------------------------------------------


def test_decision_engine_strategies() -> None:
    engine = DecisionEngine()
    simple = MediaQuery(limit=50)
    assert (
        engine.decide(simple, replica_complete=False, replica_items=0, online=True).strategy
        is Strategy.SERVER_ONLY
    )
    assert (
        engine.decide(simple, replica_complete=True, replica_items=1000, online=False).strategy
        is Strategy.CLIENT_ONLY
    )
    with pytest.raises(NoSource):
        engine.decide(simple, replica_complete=False, replica_items=0, online=False)
    race = engine.decide(simple, replica_complete=True, replica_items=30_000, online=True)
    assert race.strategy is Strategy.PARALLEL_RACE
    assert abs(race.client_ms - race.server_ms) <= RACE_WINDOW_MS
    # a huge replica with an expensive filter is far costlier locally than on the server
    heavy = MediaQueryBuilder().search("matrix").watch_status(WatchStatus.WATCHED).build()
    slow_client = engine.decide(heavy, replica_complete=True, replica_items=50_000_000, online=True)
    assert slow_client.strategy is Strategy.SERVER_ONLY
    # the server refuses queries over its complexity budget: answer locally
    over = (
        MediaQueryBuilder()
        .search("matrix")
        .watch_status(WatchStatus.WATCHED)
        .genres("a", "b", "c")
        .build()
    )
    assert (
        engine.decide(over, replica_complete=True, replica_items=100, online=True).strategy
        is Strategy.CLIENT_ONLY
    )


async def test_parallel_race_returns_first_and_cancels_the_other() -> None:
    engine = DecisionEngine()
    q = MediaQuery()
    decision = engine.decide(q, replica_complete=True, replica_items=10, online=True)
    assert decision.strategy is Strategy.PARALLEL_RACE
    cancelled: list[str] = []

    async def slow_server() -> str:
        try:
            await trio.sleep(5)
        except trio.Cancelled:
            cancelled.append("server")
            raise
        return "server"

    async def fast_client() -> str:
        await trio.sleep(0.01)
        return "client"

    with trio.fail_after(2):
        outcome = await engine.execute(
            q, decision, replica_items=10, client=fast_client, server=slow_server
        )
    assert outcome.result == "client" and outcome.winner == "client"
    assert cancelled == ["server"]

    async def broken_client() -> str:
        raise RuntimeError("replica busy")

    async def ok_server() -> str:
        await trio.sleep(0.01)
        return "server"

    outcome = await engine.execute(
        q, decision, replica_items=10, client=broken_client, server=ok_server
    )
    assert outcome.winner == "server"  # one side failing leaves the race to the other
