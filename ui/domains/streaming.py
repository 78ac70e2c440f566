"""StreamingDomain: where the bytes come from. It asks the server for what a play needs (file,
tracks, HDR format, resume position, a playback ticket), or finds the downloaded copy on this
device (``ui.playback.local``), and announces it; it knows the REST API, not GStreamer. It also
hosts the downloads (``ui.domains.download_service``): queue a film or an episode, the next
unwatched episodes of a season or a series, remove one, follow a series (smart downloads);
their states go out as ``DownloadsChanged``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar

from sync.client_errors import ApiError, FerrexClientError, ServerUnreachable
from ui.domains.core import CrossDomainEvent, Domain, DomainContext, DomainMessage, DomainName
from ui.domains.download_service import DownloadService
from ui.domains.events import (
    ConnectivityChanged,
    LoggedIn,
    LoggedOut,
    ReplicaUpdated,
    SettingsChanged,
)
from ui.domains.services import Services
from ui.playback.client import StreamInfo, StreamingClient
from ui.playback.local import LocalFirstClient, LocalMedia


class StreamingMessage(DomainMessage):
    domain: ClassVar[DomainName] = DomainName.STREAMING


@dataclass(frozen=True)
class RequestStream(StreamingMessage):
    item_id: uuid.UUID
    from_start: bool = False
    file_id: uuid.UUID | None = None


@dataclass(frozen=True)
class StartDownload(StreamingMessage):
    """Download a film or an episode (queued; the transfer runs in the background)."""

    item_id: uuid.UUID
    title: str = ""
    kind: str = ""


@dataclass(frozen=True)
class DownloadNext(StreamingMessage):
    """Download the next ``count`` unwatched episodes of a season or a series."""

    parent_id: uuid.UUID
    count: int = 3


@dataclass(frozen=True)
class RemoveDownload(StreamingMessage):
    """Stop its transfer, or delete the downloaded copy."""

    item_id: uuid.UUID


@dataclass(frozen=True)
class FollowSeries(StreamingMessage):
    """Smart downloads: keep the next ``keep`` unwatched episodes of the series on this device,
    topped up on each sync; ``keep`` None stops (what is here stays)."""

    series_id: uuid.UUID
    keep: int | None = 3


@dataclass(frozen=True)
class ShowDownloads(StreamingMessage):
    """Announce the downloads now (a screen that wants them at once)."""


@dataclass(frozen=True)
class StreamReady(CrossDomainEvent):
    info: StreamInfo
    client: StreamingClient


@dataclass(frozen=True)
class StreamFailed(CrossDomainEvent):
    item_id: uuid.UUID
    reason: str


def local_media(services: Services) -> LocalMedia | None:
    """The downloads in the player data dir (None where there is none: tests without a
    settings store); the download manager, when it runs, has a say on stale files."""
    if services.store is None:
        return None
    return LocalMedia(services.store.directory, services.replica)


def streaming_client(ctx: DomainContext) -> StreamingClient:
    """Playback's calls on the connection the Auth domain set up (borrowed: its tokens and their
    refresh are every caller's, and nothing is left to close when a request fails); the
    downloaded copy of an item first, when there is one (``ui.playback.local``)."""
    services = ctx.services
    api = services.api
    if api is None or not api.access_token:
        raise ServerUnreachable("", "not signed in to a server")
    media = local_media(services)
    if media is None:
        return StreamingClient(api)
    return LocalFirstClient(api, media, lambda: services.online)


class StreamingDomain(Domain):
    name = DomainName.STREAMING

    def __init__(self, ctx: DomainContext) -> None:
        super().__init__(ctx)
        self.last: StreamInfo | None = None
        self.downloads = DownloadService(ctx)

    async def handle(self, message: DomainMessage) -> None:
        match message:
            case RequestStream():
                await self._stream(message)
            case StartDownload(item_id=item_id, title=title, kind=kind):
                manager = self.downloads.ensure()
                if manager is not None:
                    manager.enqueue(item_id, title, kind)
                    self.downloads.start()
            case DownloadNext(parent_id=parent_id, count=count):
                await self._download_next(parent_id, count)
            case RemoveDownload(item_id=item_id):
                manager = self.downloads.ensure()
                if manager is not None:
                    gone = await manager.remove(item_id)
                    if gone is not None:
                        await self.ctx.notice(f"Removed the download of {gone.title}.")
            case FollowSeries(series_id=series_id, keep=keep):
                self.downloads.follow(series_id, keep)
            case ShowDownloads():
                if self.downloads.ensure() is not None:
                    await self.downloads.publish()
            case _:
                raise TypeError(f"StreamingDomain cannot handle {type(message).__name__}")

    async def _download_next(self, parent_id: uuid.UUID, count: int) -> None:
        manager = self.downloads.ensure()
        if manager is None:
            return
        try:
            ids = await manager.enqueue_next_unwatched(parent_id, count)
        except ServerUnreachable:
            text = "Choosing the next episodes needs the server; try again when it is back."
            await self.ctx.notice(text, "error", self.name)
            return
        except (ApiError, ValueError) as exc:
            text = exc.message if isinstance(exc, ApiError) else str(exc)
            await self.ctx.notice(f"Cannot download: {text}", "error", self.name)
            return
        self.downloads.start()
        text = (
            f"Downloading the next {len(ids)} unwatched episode{'s' if len(ids) != 1 else ''}."
            if ids
            else "Nothing left unwatched to download."
        )
        await self.ctx.notice(text, source=self.name)

    async def on_event(self, event: CrossDomainEvent) -> None:
        match event:
            case LoggedIn(me=me):
                self.downloads.start()
                if me is not None:  # the server is there: judge what is held
                    self.downloads.refresh_soon()
            case ReplicaUpdated() | ConnectivityChanged(online=True):
                # after a sync, or back from a network drop (failed transfers are retried)
                self.downloads.refresh_soon()
            case LoggedOut():
                self.downloads.stop()
            case SettingsChanged(settings=settings, section="downloads"):
                self.downloads.apply_settings(settings)

    async def _stream(self, message: RequestStream) -> None:
        try:
            client = streaming_client(self.ctx)
            info = await client.stream_info(
                message.item_id, message.file_id, from_start=message.from_start
            )
        except FerrexClientError as exc:
            text = (
                exc.message
                if not isinstance(exc, ServerUnreachable)
                else ("The server cannot be reached, and this is not downloaded to this device.")
            )
            await self.ctx.emit(StreamFailed(message.item_id, text))
            await self.ctx.notice(text, "error", DomainName.STREAMING)
            return
        self.last = info
        await self.ctx.emit(StreamReady(info, client))
