"""Where playback progress goes: a ``ProgressSink``. The player's is the WebSocket
(``WsProgressSink``, one connection, each heartbeat answered by an ``ack``); ``RestProgressSink``
is the plain ``PUT .../progress``; ``Queued`` puts either in front of an offline queue, so a
heartbeat the server could not take is kept and sent (oldest first) once it answers again.
The server keeps the newest ``client_ts``, so a late, queued heartbeat never overwrites newer
progress.

The offline queue is an injectable ``OfflineQueue``: the sync layer's durable action queue plugs
in there; ``MemoryQueue`` keeps them for the life of the process.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import msgspec
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Message,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)

from sync.media_types import ProgressIn, WsAck, WsError, WsEvent, WsHeartbeat
from ui.playback.client import ServerError, StreamingClient, Unreachable

BeatEvent = Literal["tick", "pause", "seek", "stop", "start"]


class SinkUnavailable(Exception):
    """The heartbeat did not reach the server; queue it."""


class ProgressSink(Protocol):
    async def send(self, beat: WsHeartbeat) -> bool:
        """Deliver one heartbeat; True if the server stored it (False: a newer one won).
        Raises ``SinkUnavailable`` when the server cannot be reached."""
        ...

    async def aclose(self) -> None: ...


class OfflineQueue(Protocol):
    def put(self, beat: WsHeartbeat) -> None: ...

    def peek(self) -> WsHeartbeat | None: ...

    def pop(self) -> None: ...

    def __len__(self) -> int: ...


class MemoryQueue:
    """Latest heartbeat per item only: older positions of the same item are superseded."""

    def __init__(self) -> None:
        self._beats: deque[WsHeartbeat] = deque()

    def put(self, beat: WsHeartbeat) -> None:
        self._beats = deque(b for b in self._beats if b.item_id != beat.item_id)
        self._beats.append(beat)

    def peek(self) -> WsHeartbeat | None:
        return self._beats[0] if self._beats else None

    def pop(self) -> None:
        self._beats.popleft()

    def __len__(self) -> int:
        return len(self._beats)


class ReplicaQueue:
    """The sync layer's durable queue (``sync.replica.Replica``): a heartbeat that could not be
    sent is written to LMDB with the local watch state, and ``SyncClient`` delivers it (in
    order, once) when the server is back; nothing is flushed from here."""

    def __init__(self, replica: Any) -> None:
        self.replica = replica

    def put(self, beat: WsHeartbeat) -> None:
        self.replica.record_progress(beat.item_id, beat.position_s, beat.duration_s,
                                     beat.completed, beat.client_ts)

    def peek(self) -> WsHeartbeat | None:
        return None

    def pop(self) -> None:
        return None

    def __len__(self) -> int:
        return len(self.replica.pending_actions())


class RestProgressSink:
    def __init__(self, client: StreamingClient) -> None:
        self.client = client

    async def send(self, beat: WsHeartbeat) -> bool:
        body = ProgressIn(position_s=beat.position_s, duration_s=beat.duration_s,
                          client_ts=beat.client_ts, completed=beat.completed,
                          device_id=self.client.device_id)
        try:
            update = await self.client.put_progress(beat.item_id, body)
        except Unreachable as exc:
            raise SinkUnavailable(str(exc)) from exc
        except ServerError as exc:
            if exc.status >= 500:
                raise SinkUnavailable(str(exc)) from exc
            raise
        return update.applied

    async def aclose(self) -> None:
        return None


_ServerMessage = WsAck | WsError | WsEvent
_decode = msgspec.json.Decoder(_ServerMessage).decode


class WsProgressSink:
    """A WebSocket client (wsproto over a trio TCP stream) to ``/api/v1/ws``. Connects on the
    first heartbeat and again after a drop; events the server pushes meanwhile (scan progress,
    ``watch.changed``) go to ``on_event``."""

    def __init__(self, ws_url: str, token: str, *, timeout_s: float = 5.0,
                 on_event: Callable[[WsEvent], None] | None = None) -> None:
        self.url = urlsplit(ws_url)
        if self.url.scheme != "ws":
            raise ValueError(f"{ws_url}: only ws:// is supported (the appliance speaks HTTP)")
        self.token = token
        self.timeout_s = timeout_s
        self.on_event = on_event
        self._stream: trio.SocketStream | None = None
        self._ws: WSConnection | None = None
        self._lock = trio.Lock()
        self._pending: deque[_ServerMessage] = deque()
        self._buffer: list[str] = []
        self._counter = 0

    async def _connect(self) -> None:
        host, port = self.url.hostname or "localhost", self.url.port or 80
        stream = await trio.open_tcp_stream(host, port)
        ws = WSConnection(ConnectionType.CLIENT)
        await stream.send_all(ws.send(Request(
            host=f"{host}:{port}", target=self.url.path or "/",
            extra_headers=[(b"authorization", f"Bearer {self.token}".encode())])))
        self._stream, self._ws = stream, ws
        while True:
            for event in await self._events():
                if isinstance(event, AcceptConnection):
                    return
                if isinstance(event, RejectConnection):
                    await self._drop()
                    raise SinkUnavailable(f"WebSocket refused: HTTP {event.status_code}")

    async def _events(self) -> list[object]:
        assert self._stream is not None and self._ws is not None
        data = await self._stream.receive_some(65536)
        if not data:
            await self._drop()
            raise SinkUnavailable("the server closed the WebSocket")
        self._ws.receive_data(data)
        events: list[object] = []
        for event in self._ws.events():
            if isinstance(event, Ping):
                await self._stream.send_all(self._ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                await self._drop()
                raise SinkUnavailable(f"WebSocket closed ({event.code})")
            elif isinstance(event, TextMessage):
                self._buffer.append(event.data)
                if event.message_finished:
                    self._pending.append(_decode("".join(self._buffer)))
                    self._buffer.clear()
            elif isinstance(event, Message):
                continue
            events.append(event)
        return events

    async def _drop(self) -> None:
        stream, self._stream, self._ws = self._stream, None, None
        if stream is not None:
            with trio.CancelScope(shield=True):
                await stream.aclose()

    async def send(self, beat: WsHeartbeat) -> bool:
        async with self._lock:
            try:
                with trio.fail_after(self.timeout_s):
                    if self._ws is None:
                        await self._connect()
                    assert self._stream is not None and self._ws is not None
                    self._counter += 1
                    beat_id = f"hb{self._counter}"
                    beat = msgspec.structs.replace(beat, id=beat_id)
                    await self._stream.send_all(self._ws.send(TextMessage(
                        msgspec.json.encode(beat).decode())))
                    return await self._await_ack(beat_id)
            except (OSError, trio.TooSlowError, trio.BrokenResourceError,
                    trio.ClosedResourceError) as exc:
                await self._drop()
                raise SinkUnavailable(f"WebSocket {self.url.geturl()}: {exc!r}") from exc

    async def _await_ack(self, beat_id: str) -> bool:
        while True:
            while self._pending:
                message = self._pending.popleft()
                if isinstance(message, WsAck) and message.id == beat_id:
                    return message.applied
                if isinstance(message, WsError):
                    raise ServerError(422, message.code, message.message)
                if isinstance(message, WsEvent) and self.on_event is not None:
                    self.on_event(message)
            await self._events()

    async def aclose(self) -> None:
        async with self._lock:
            if self._ws is not None and self._stream is not None:
                try:
                    with trio.move_on_after(1):
                        await self._stream.send_all(self._ws.send(CloseConnection(code=1000)))
                except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
                    pass
            await self._drop()


@dataclass
class Delivery:
    sent: int = 0
    queued: int = 0
    flushed: int = 0
    rejected: int = 0
    """The server refused it (not queued: it would be refused again)."""


class Queued:
    """A sink with an offline queue in front: what cannot be sent now is kept, and the queue is
    drained (oldest first) before each new heartbeat and by ``flush``."""

    def __init__(self, sink: ProgressSink, queue: OfflineQueue | None = None) -> None:
        self.sink = sink
        self.queue: OfflineQueue = queue if queue is not None else MemoryQueue()
        self.stats = Delivery()
        self.last_error: str | None = None

    async def flush(self) -> bool:
        """Send what is queued; False if the server is still unreachable."""
        while (beat := self.queue.peek()) is not None:
            try:
                await self.sink.send(beat)
            except SinkUnavailable as exc:
                self.last_error = str(exc)
                return False
            except ServerError as exc:
                self.last_error = str(exc)
                self.stats.rejected += 1
            self.queue.pop()
            self.stats.flushed += 1
        return True

    async def send(self, beat: WsHeartbeat) -> bool:
        if not await self.flush():
            self.queue.put(beat)
            self.stats.queued += 1
            return False
        try:
            applied = await self.sink.send(beat)
        except SinkUnavailable as exc:
            self.last_error = str(exc)
            self.queue.put(beat)
            self.stats.queued += 1
            return False
        except ServerError as exc:
            self.last_error = str(exc)
            self.stats.rejected += 1
            return False
        self.stats.sent += 1
        return applied

    async def aclose(self) -> None:
        await self.sink.aclose()


def heartbeat(item_id: uuid.UUID, position_s: float, duration_s: float | None,
              event: BeatEvent, *, completed: bool = False) -> WsHeartbeat:
    return WsHeartbeat(item_id=item_id, position_s=max(0.0, position_s),
                       client_ts=datetime.now(UTC), duration_s=duration_s,
                       completed=completed, event=event)
