"""LibraryDomain: the libraries, the one being browsed, the local replica's sync, and (for
admins) library management and scans.

The replica (``sync.replica``) is what the player browses; this domain keeps it in step with
the server: a full sync after login or reconnect (which first delivers the offline queue), then
change pages whenever the server's event stream announces a ``sync``. Scan progress arrives as
server events (``scan.started``, ``scan.progress``, ``scan.completed``) and becomes
:class:`ScanProgress` for the Libraries settings section.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import ClassVar

import trio

from sync.client import SyncClient
from sync.client_errors import ApiError, FerrexClientError, ServerUnreachable
from sync.library_types import LibraryIn, LibraryKind, LibraryOut, LibraryPatch
from ui.domains import catalog
from ui.domains.core import CrossDomainEvent, Domain, DomainContext, DomainMessage, DomainName
from ui.domains.events import (
    ConnectivityChanged,
    LibrariesChanged,
    LibraryOpened,
    LoggedIn,
    LoggedOut,
    ReplicaUpdated,
    ScanProgress,
    ServerEventReceived,
)
from ui.domains.views import LibraryView

log = logging.getLogger(__name__)


class LibraryMessage(DomainMessage):
    domain: ClassVar[DomainName] = DomainName.LIBRARY


@dataclass(frozen=True)
class LoadLibraries(LibraryMessage):
    pass


@dataclass(frozen=True)
class OpenLibrary(LibraryMessage):
    library_id: uuid.UUID
    refresh: bool = False
    """Reload what is shown (after a sync) without navigating to it."""


@dataclass(frozen=True)
class CreateLibrary(LibraryMessage):
    name: str
    kind: LibraryKind
    roots: tuple[str, ...]


@dataclass(frozen=True)
class UpdateLibrary(LibraryMessage):
    library_id: uuid.UUID
    name: str | None = None
    roots: tuple[str, ...] | None = None


@dataclass(frozen=True)
class DeleteLibrary(LibraryMessage):
    library_id: uuid.UUID


@dataclass(frozen=True)
class SyncNow(LibraryMessage):
    """Bring the replica up to date (deliver queued offline actions first)."""

    full: bool = True


@dataclass(frozen=True)
class StartScan(LibraryMessage):
    library_id: uuid.UUID
    force: bool = False


class LibraryDomain(Domain):
    name = DomainName.LIBRARY

    def __init__(self, ctx: DomainContext) -> None:
        super().__init__(ctx)
        self.libraries: list[LibraryView] = []
        self.managed: list[LibraryOut] = []
        self.current: LibraryView | None = None
        self.scans: dict[uuid.UUID, ScanProgress] = {}
        self._syncing = trio.Lock()
        self.last_sync: str = ""

    async def _sync(self, full: bool) -> None:
        services = self.ctx.services
        replica, api = services.replica, services.api
        if replica is None or api is None or not api.access_token:
            return
        async with self._syncing:
            before = replica.cursor
            client = SyncClient(replica, api)  # the app's connection: its tokens, its refresh
            try:
                result = await (
                    client.sync() if full or replica.needs_snapshot else client.pull_changes()
                )
            except FerrexClientError as exc:
                log.info("sync failed: %s", exc)
                self.last_sync = f"failed: {exc}"
                return
            self.last_sync = f"{result.mode} at {result.seq}"
            if result.seq != before or result.changed or result.flushed:
                await self.ctx.emit(ReplicaUpdated(items=replica.count()))

    async def _load(self) -> None:
        services = self.ctx.services
        try:
            self.libraries = await catalog.libraries(services)
            if services.api is not None and services.online and services.can("libraries:manage"):
                self.managed = (await services.api.libraries()).libraries
                if not self.libraries:
                    self.libraries = [
                        LibraryView(id=m.id, name=m.name, kind=m.kind) for m in self.managed
                    ]
        except ServerUnreachable:
            self.libraries = self.libraries or []
        await self.ctx.emit(
            LibrariesChanged(libraries=tuple(self.libraries), managed=tuple(self.managed))
        )

    async def _admin(self, what: str, action: object) -> None:
        try:
            await action  # type: ignore[misc]
        except FerrexClientError as exc:
            text = exc.message if isinstance(exc, ApiError) else f"Server unreachable ({exc})"
            await self.ctx.notice(f"{what} failed: {text}", "error", self.name)
            return
        await self._load()

    async def handle(self, message: DomainMessage) -> None:
        api = self.ctx.services.api
        match message:
            case LoadLibraries():
                await self._load()
            case SyncNow(full=full):
                await self._sync(full)
            case OpenLibrary(library_id=library_id, refresh=refresh):
                library = next((lib for lib in self.libraries if lib.id == library_id), None)
                if library is None:
                    await self._load()
                    library = next((lib for lib in self.libraries if lib.id == library_id), None)
                if library is None:
                    await self.ctx.notice("That library is gone.", "error", self.name)
                    return
                self.current = library
                try:
                    cards, total = await catalog.library_cards(self.ctx.services, library)
                except ServerUnreachable:
                    await self.ctx.notice(
                        "Offline: this library is not in the local copy yet.", "error", self.name
                    )
                    return
                await self.ctx.emit(
                    LibraryOpened(library=library, cards=tuple(cards), total=total, refresh=refresh)
                )
            case CreateLibrary(name=name, kind=kind, roots=roots) if api is not None:
                body = LibraryIn(
                    name=name.strip(), kind=kind, roots=[r.strip() for r in roots if r.strip()]
                )
                await self._admin(f"Adding {name!r}", api.create_library(body))
            case UpdateLibrary(library_id=library_id, name=name, roots=roots) if api is not None:
                patch = LibraryPatch(name=name, roots=list(roots) if roots is not None else None)
                await self._admin("Saving the library", api.update_library(library_id, patch))
            case DeleteLibrary(library_id=library_id) if api is not None:
                await self._admin("Deleting the library", api.delete_library(library_id))
            case StartScan(library_id=library_id, force=force) if api is not None:
                await self._admin("Starting the scan", api.start_scan(library_id, force))
            case CreateLibrary() | UpdateLibrary() | DeleteLibrary() | StartScan():
                await self.ctx.notice("Not connected to a server.", "error", self.name)
            case _:
                raise TypeError(f"LibraryDomain cannot handle {type(message).__name__}")

    async def on_event(self, event: CrossDomainEvent) -> None:
        match event:
            case LoggedIn(me=me):
                await self._load()
                if me is not None:
                    self.ctx.post(SyncNow())
            case ReplicaUpdated():
                await self._load()
                if self.current is not None:
                    self.ctx.post(OpenLibrary(self.current.id, refresh=True))
            case ConnectivityChanged(online=True) if self.ctx.services.me is not None:
                self.ctx.post(SyncNow())
            case ServerEventReceived(type="sync" | "resync" as kind, data=data):
                replica = self.ctx.services.replica
                seq = data.get("seq")
                if replica is not None and (
                    kind == "resync" or not isinstance(seq, int) or seq > replica.cursor
                ):
                    self.ctx.post(SyncNow(full=False))
            case LoggedOut():
                self.libraries, self.managed, self.current = [], [], None
                self.scans.clear()
            case ServerEventReceived(type=kind, data=data) if kind.startswith("scan."):
                raw = data.get("library_id")
                if not raw:
                    return
                library_id = uuid.UUID(str(raw))
                state = {
                    "scan.started": "running",
                    "scan.completed": "completed",
                    "scan.cancelled": "cancelled",
                    "scan.paused": "paused",
                    "scan.resumed": "running",
                }.get(kind, str(data.get("state", "running")))
                previous = self.scans.get(library_id)

                def num(key: str, old: int) -> int:
                    value = data.get(key)
                    return int(value) if isinstance(value, int | float) else old

                progress = ScanProgress(
                    library_id=library_id,
                    state=state,
                    files_found=num("files_found", previous.files_found if previous else 0),
                    folders_walked=num(
                        "folders_walked", previous.folders_walked if previous else 0
                    ),
                    jobs_done=num("jobs_done", previous.jobs_done if previous else 0),
                    jobs_queued=num("jobs_queued", previous.jobs_queued if previous else 0),
                    errors=num("errors", previous.errors if previous else 0),
                    eta_s=float(data["eta_s"])
                    if isinstance(data.get("eta_s"), int | float)
                    else None,
                )
                self.scans[library_id] = progress
                await self.ctx.emit(progress)
            case ServerEventReceived(type=kind) if kind.startswith("library."):
                await self._load()
