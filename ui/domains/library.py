"""LibraryDomain: the libraries, the one being browsed, and (for admins) their management and scans.

Scan progress arrives as server events (``scan.started``, ``scan.progress``, ``scan.completed``)
which this domain turns into :class:`ScanProgress` for the Libraries settings section.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar

from sync.library_types import LibraryIn, LibraryKind, LibraryOut, LibraryPatch
from ui.domains import catalog
from ui.domains.core import CrossDomainEvent, Domain, DomainContext, DomainMessage, DomainName
from ui.domains.events import (
    LibrariesChanged,
    LibraryOpened,
    LoggedIn,
    LoggedOut,
    ReplicaUpdated,
    ScanProgress,
    ServerEventReceived,
)
from ui.domains.views import LibraryView
from ui.net.errors import ApiError, Offline


class LibraryMessage(DomainMessage):
    domain: ClassVar[DomainName] = DomainName.LIBRARY


@dataclass(frozen=True)
class LoadLibraries(LibraryMessage):
    pass


@dataclass(frozen=True)
class OpenLibrary(LibraryMessage):
    library_id: uuid.UUID


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

    async def _load(self) -> None:
        services = self.ctx.services
        try:
            self.libraries = await catalog.libraries(services)
            if services.api is not None and services.online and services.can("libraries:manage"):
                self.managed = (await services.api.libraries()).libraries
                if not self.libraries:
                    self.libraries = [LibraryView(id=m.id, name=m.name, kind=m.kind)
                                      for m in self.managed]
        except Offline:
            self.libraries = self.libraries or []
        await self.ctx.emit(LibrariesChanged(libraries=tuple(self.libraries),
                                             managed=tuple(self.managed)))

    async def _admin(self, what: str, action: object) -> None:
        try:
            await action  # type: ignore[misc]
        except (ApiError, Offline) as exc:
            text = exc.message if isinstance(exc, ApiError) else f"Server unreachable ({exc})"
            await self.ctx.notice(f"{what} failed: {text}", "error", self.name)
            return
        await self._load()

    async def handle(self, message: DomainMessage) -> None:
        api = self.ctx.services.api
        match message:
            case LoadLibraries():
                await self._load()
            case OpenLibrary(library_id=library_id):
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
                except Offline:
                    await self.ctx.notice("Offline: this library is not in the local copy yet.",
                                          "error", self.name)
                    return
                await self.ctx.emit(LibraryOpened(library=library, cards=tuple(cards),
                                                  total=total))
            case CreateLibrary(name=name, kind=kind, roots=roots) if api is not None:
                body = LibraryIn(name=name.strip(), kind=kind,
                                 roots=[r.strip() for r in roots if r.strip()])
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
            case LoggedIn() | ReplicaUpdated():
                await self._load()
            case LoggedOut():
                self.libraries, self.managed, self.current = [], [], None
                self.scans.clear()
            case ServerEventReceived(type=kind, data=data) if kind.startswith("scan."):
                raw = data.get("library_id")
                if not raw:
                    return
                library_id = uuid.UUID(str(raw))
                state = {"scan.started": "running", "scan.completed": "completed",
                         "scan.cancelled": "cancelled", "scan.paused": "paused",
                         "scan.resumed": "running"}.get(kind, str(data.get("state", "running")))
                previous = self.scans.get(library_id)

                def num(key: str, old: int) -> int:
                    value = data.get(key)
                    return int(value) if isinstance(value, int | float) else old

                progress = ScanProgress(
                    library_id=library_id, state=state,
                    files_found=num("files_found", previous.files_found if previous else 0),
                    folders_walked=num("folders_walked",
                                       previous.folders_walked if previous else 0),
                    jobs_done=num("jobs_done", previous.jobs_done if previous else 0),
                    jobs_queued=num("jobs_queued", previous.jobs_queued if previous else 0),
                    errors=num("errors", previous.errors if previous else 0),
                    eta_s=float(data["eta_s"]) if isinstance(data.get("eta_s"), int | float)
                    else None)
                self.scans[library_id] = progress
                await self.ctx.emit(progress)
            case ServerEventReceived(type=kind) if kind.startswith("library."):
                await self._load()
