"""MediaDomain: the home rows, the item being looked at, and watch marks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import ClassVar

from sync.client_errors import ApiError, FerrexClientError, ServerUnreachable
from ui.domains import catalog
from ui.domains.core import CrossDomainEvent, Domain, DomainContext, DomainMessage, DomainName
from ui.domains.events import (
    DetailLoaded,
    HomeLoaded,
    LibrariesChanged,
    LoggedOut,
    ReplicaUpdated,
    ServerEventReceived,
    WatchChanged,
)
from ui.domains.views import DetailView, LibraryView


class MediaMessage(DomainMessage):
    domain: ClassVar[DomainName] = DomainName.MEDIA


@dataclass(frozen=True)
class LoadHome(MediaMessage):
    pass


@dataclass(frozen=True)
class OpenItem(MediaMessage):
    item_id: uuid.UUID


@dataclass(frozen=True)
class MarkWatched(MediaMessage):
    item_id: uuid.UUID
    watched: bool = True


class MediaDomain(Domain):
    name = DomainName.MEDIA

    def __init__(self, ctx: DomainContext) -> None:
        super().__init__(ctx)
        self.libraries: tuple[LibraryView, ...] = ()
        self.rows: tuple[tuple[str, tuple[object, ...]], ...] = ()
        self.detail: DetailView | None = None

    async def _home(self) -> None:
        try:
            rows = await catalog.home_rows(self.ctx.services, list(self.libraries))
        except ServerUnreachable:
            rows = []
        event = HomeLoaded(
            rows=tuple((title, tuple(cards)) for title, cards in rows), libraries=self.libraries
        )
        self.rows = event.rows
        await self.ctx.emit(event)

    async def _open(self, item_id: uuid.UUID) -> None:
        try:
            self.detail = await catalog.detail(self.ctx.services, item_id)
        except ServerUnreachable:
            await self.ctx.notice(
                "Offline: this item is not in the local copy.", "error", self.name
            )
            return
        except ApiError as exc:
            await self.ctx.notice(exc.message, "error", self.name)
            return
        await self.ctx.emit(DetailLoaded(detail=self.detail))

    async def _refresh_detail(self, item_id: uuid.UUID) -> None:
        try:
            self.detail = await catalog.detail(self.ctx.services, item_id)
        except FerrexClientError:
            return
        await self.ctx.emit(DetailLoaded(detail=self.detail, refresh=True))

    async def handle(self, message: DomainMessage) -> None:
        match message:
            case LoadHome():
                await self._home()
            case OpenItem(item_id=item_id):
                await self._open(item_id)
            case MarkWatched(item_id=item_id, watched=watched):
                services = self.ctx.services
                if services.replica is not None:
                    # local first: shown at once, queued, delivered by the next sync
                    services.replica.mark(item_id, watched, device_id=services.local.device_id)
                    if services.online:
                        from ui.domains.library import SyncNow

                        self.ctx.post(SyncNow())
                    else:
                        await self.ctx.notice(
                            "Marked on this device; it syncs when the server is back.",
                            source=self.name,
                        )
                elif services.api is not None and services.online:
                    try:
                        await services.api.mark(item_id, watched)
                    except FerrexClientError as exc:
                        await self.ctx.notice(f"Could not mark it: {exc}", "error", self.name)
                        return
                else:
                    await self.ctx.notice(
                        "Offline: watch marks need the server.", "error", self.name
                    )
                    return
                await self.ctx.emit(WatchChanged(item_id=item_id, watched=watched))
                if self.detail is not None and self.detail.id == item_id:
                    await self._open(item_id)
                await self._home()
            case _:
                raise TypeError(f"MediaDomain cannot handle {type(message).__name__}")

    async def on_event(self, event: CrossDomainEvent) -> None:
        match event:
            case LibrariesChanged(libraries=libraries):
                self.libraries = libraries
                await self._home()
            case ServerEventReceived(type="watch.changed" | "library.changed" | "scan.completed"):
                if not catalog.replica_ready(self.ctx.services):  # else ReplicaUpdated follows
                    await self._home()
            case ReplicaUpdated():
                await self._home()
                if self.detail is not None:
                    await self._refresh_detail(self.detail.id)
            case WatchChanged(item_id=item_id, watched=watched) if (
                self.detail is not None
                and self.detail.id == item_id
                and self.detail.watched != watched
            ):
                # e.g. the film just played to its end: the details it goes back to say
                # Watched now; the replica's next sync (ReplicaUpdated) refreshes them fully
                self.detail = replace(self.detail, watched=watched, position_s=0.0)
                await self.ctx.emit(DetailLoaded(detail=self.detail, refresh=True))
            case LoggedOut():
                self.libraries, self.rows, self.detail = (), (), None
