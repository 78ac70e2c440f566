"""PlayerDomain: one playback at a time. ``Play`` asks the Streaming domain for stream info;
when it is ready, the domain builds the engine (with the sink the player screen registered in
``services.extra["video_sink"]``, else playbin's own), the progress sink (the WebSocket, with
the replica's durable offline queue behind it when there is one) and a ``PlaybackSession``,
runs it in the registry's nursery and announces it, so the screen can show ``PlayerView``."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import trio

from ui.domains.core import CrossDomainEvent, Domain, DomainContext, DomainMessage, DomainName
from ui.domains.events import WatchChanged
from ui.domains.streaming import RequestStream, StreamFailed, StreamReady
from ui.playback.engine import Engine
from ui.playback.gst import Gst
from ui.playback.progress import (
    MemoryQueue,
    OfflineQueue,
    Queued,
    ReplicaQueue,
    WsProgressSink,
)
from ui.playback.session import PlaybackSession, SeekSteps, Status


class PlayerMessage(DomainMessage):
    domain: ClassVar[DomainName] = DomainName.PLAYER


@dataclass(frozen=True)
class Play(PlayerMessage):
    item_id: uuid.UUID
    from_start: bool = False
    file_id: uuid.UUID | None = None
    """The version to play; None: the server's first file (``ui.playback.versions``)."""


@dataclass(frozen=True)
class StopPlayback(PlayerMessage):
    pass


@dataclass(frozen=True)
class PlayerStarted(CrossDomainEvent):
    session: PlaybackSession
    sink: Gst.Element | None


@dataclass(frozen=True)
class PlayerStopped(CrossDomainEvent):
    item_id: uuid.UUID | None


def play_message(detail: Any, from_start: bool = False, file_id: uuid.UUID | None = None) -> Play:
    """What the detail screen posts for its Play/Resume buttons (``detail.id``, and the
    version chosen there)."""
    return Play(item_id=detail.id, from_start=from_start, file_id=file_id)


def offline_queue(replica: Any) -> OfflineQueue:
    return ReplicaQueue(replica) if replica is not None else MemoryQueue()


class PlayerDomain(Domain):
    name = DomainName.PLAYER

    def __init__(self, ctx: DomainContext) -> None:
        super().__init__(ctx)
        self.session: PlaybackSession | None = None
        self.wanted: uuid.UUID | None = None

    async def handle(self, message: DomainMessage) -> None:
        if isinstance(message, Play):
            await self._stop()
            self.wanted = message.item_id
            self.ctx.post(
                RequestStream(
                    message.item_id, from_start=message.from_start, file_id=message.file_id
                )
            )
        elif isinstance(message, StopPlayback):
            await self._stop()
        else:
            raise TypeError(f"PlayerDomain cannot handle {type(message).__name__}")

    async def on_event(self, event: CrossDomainEvent) -> None:
        if isinstance(event, StreamReady) and event.info.item.id == self.wanted:
            await self._start(event)
        elif isinstance(event, StreamFailed) and event.item_id == self.wanted:
            self.wanted = None

    async def _start(self, event: StreamReady) -> None:
        services = self.ctx.services
        make_sink: Callable[[], Gst.Element] | None = services.extra.get("video_sink")
        sink = make_sink() if make_sink is not None else None
        engine = Engine(video_sink=sink)
        client = event.client
        progress = Queued(WsProgressSink(client.connection), offline_queue(services.replica))
        settings = services.extra.get("seek_steps")
        session = PlaybackSession(
            engine, client, progress, steps=settings if isinstance(settings, SeekSteps) else None
        )
        session.start(event.info)
        self.session = session

        async def run() -> None:
            try:
                # the WebSocket is closed on every way out
                async with progress, trio.open_nursery() as nursery:
                    nursery.start_soon(self._announce_watched, session)
                    await session.run()
                    nursery.cancel_scope.cancel()
            finally:
                with trio.CancelScope(shield=True):
                    await client.aclose()  # borrowed from the app: closes nothing of it
                engine.close()

        self.ctx.spawn(run, "playback")
        await self.ctx.emit(PlayerStarted(session, sink))

    async def _announce_watched(self, session: PlaybackSession) -> None:
        """Each item played to its end is watched (the server marks it from the completed
        heartbeat): say so at once, so the details the player goes back to show it."""
        announced: uuid.UUID | None = None

        def newly_finished(s: Status) -> bool:
            return s.finished and s.item_id is not None and s.item_id != announced

        while True:
            status = await session.wait_for(newly_finished, math.inf)
            announced = status.item_id
            assert announced is not None
            await self.ctx.emit(WatchChanged(item_id=announced, watched=True))

    async def _stop(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            item = session.info.item.id if session.info else None
            await session.close()
            await self.ctx.emit(PlayerStopped(item))
