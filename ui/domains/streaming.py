"""StreamingDomain: asks the server for what a play needs (file, tracks, HDR format, resume
position, a playback ticket) and announces it; it knows the REST API, not GStreamer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar

from sync.client_errors import FerrexClientError, ServerUnreachable
from ui.domains.core import CrossDomainEvent, Domain, DomainContext, DomainMessage, DomainName
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

    async def handle(self, message: DomainMessage) -> None:
        if not isinstance(message, RequestStream):
            raise TypeError(f"StreamingDomain cannot handle {type(message).__name__}")
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
