"""Where playback progress goes: a ``ProgressSink``. The player's is the WebSocket
(``WsProgressSink``: trio-websocket, ``ws://`` or ``wss://``, one connection, each heartbeat
answered by an ``ack``); ``RestProgressSink``
is the plain ``PUT .../progress``; ``Queued`` puts either in front of an offline queue, so a
heartbeat the server could not take is kept and sent (oldest first) once it answers again.
The server keeps the newest ``client_ts``, so a late, queued heartbeat never overwrites newer
progress.

The offline queue is an injectable ``OfflineQueue``: the sync layer's durable action queue plugs
in there; ``MemoryQueue`` keeps them for the life of the process.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Protocol, Self
from urllib.parse import urlsplit

import msgspec
import trio
import trio_websocket

from sync.client_errors import ApiError, FerrexClientError, ServerError
from sync.connection import ServerConnection
from sync.media_types import ProgressIn, WsAck, WsError, WsEvent, WsHeartbeat
from ui.playback.client import StreamingClient

log = logging.getLogger(__name__)
BeatEvent = Literal["tick", "pause", "seek", "stop", "start"]


class SinkUnavailable(Exception):
    """The heartbeat did not reach the server; queue it."""


class ProgressSink(Protocol):
    async def send(self, beat: WsHeartbeat) -> bool:
        """Deliver one heartbeat; True if the server stored it (False: a newer one won).
        Raises ``SinkUnavailable`` when the server cannot be reached, an ``ApiError`` when it
        refused the heartbeat (sending it again would not help)."""
        ...

    async def aclose(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None: ...


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
        self.replica.record_progress(
            beat.item_id, beat.position_s, beat.duration_s, beat.completed, beat.client_ts
        )

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
        body = ProgressIn(
            position_s=beat.position_s,
            duration_s=beat.duration_s,
            client_ts=beat.client_ts,
            completed=beat.completed,
            device_id=self.client.device_id,
        )
        try:
            update = await self.client.put_progress(beat.item_id, body)
        except ServerError as exc:
            raise SinkUnavailable(str(exc)) from exc
        except ApiError:
            raise
        except FerrexClientError as exc:  # unreachable, or an answer it could not read
            raise SinkUnavailable(str(exc)) from exc
        return update.applied

    async def aclose(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


_ServerMessage = WsAck | WsError | WsEvent
_decode = msgspec.json.Decoder(_ServerMessage).decode


class WsRefused(ApiError):
    """The server answered a heartbeat with an ``error`` message."""


class WsProgressSink:
    """A WebSocket client (trio-websocket) to ``/api/v1/ws`` on a :class:`ServerConnection`:
    its ``ws://``/``wss://`` URL, its TLS trust and its current access token (a handshake
    refused with 401 refreshes the session once, single-flight with every other caller, and
    tries again). Connects on the first heartbeat and again after a drop; events the server
    pushes meanwhile (scan progress, ``watch.changed``) go to ``on_event``.

    Use it as ``async with``: the connection's reader task lives in the sink's nursery, and
    leaving the block closes the WebSocket on every path (a close frame, then the socket)."""

    def __init__(
        self,
        connection: ServerConnection,
        *,
        timeout_s: float = 5.0,
        on_event: Callable[[WsEvent], None] | None = None,
    ) -> None:
        self.connection = connection
        self.url = connection.ws_url()
        parts = urlsplit(self.url)
        default = 443 if parts.scheme == "wss" else 80
        self._address = (parts.hostname or "localhost", parts.port or default)
        self._host_header = parts.netloc
        self._target = parts.path
        self.timeout_s = timeout_s
        self.on_event = on_event
        self._nursery_manager: AbstractAsyncContextManager[trio.Nursery] | None = None
        self._nursery: trio.Nursery | None = None
        self._ws: trio_websocket.WebSocketConnection | None = None
        self._lock = trio.Lock()
        self._counter = 0

    async def __aenter__(self) -> Self:
        manager = trio.open_nursery()
        self._nursery = await manager.__aenter__()
        self._nursery_manager = manager
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        manager, self._nursery_manager = self._nursery_manager, None
        try:
            with trio.CancelScope(shield=True):  # a cancelled player still says goodbye
                await self.aclose()
        finally:
            self._nursery = None
        assert manager is not None
        return bool(await manager.__aexit__(kind, exc, tb))

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._ws.closed is None

    async def _connect(self) -> trio_websocket.WebSocketConnection:
        if self._nursery is None:
            raise RuntimeError("WsProgressSink is used outside its 'async with' block")
        for attempt in (1, 2):
            used = self.connection.access_token
            stream = await self._open_stream()
            try:
                ws: trio_websocket.WebSocketConnection = await self._nursery.start(
                    self._host, stream, used
                )
                return ws
            except Exception as exc:
                rejected = _leaf(exc)
                if rejected is exc and not isinstance(exc, trio_websocket.ConnectionRejected):
                    raise
                if not isinstance(rejected, trio_websocket.ConnectionRejected):
                    raise rejected from exc
                if rejected.status_code == 401 and attempt == 1 and self.connection.refresh_token:
                    await self.connection.refresh(stale=used)
                    continue
                # kept in the offline queue: delivered once the session works again
                raise SinkUnavailable(
                    f"WebSocket refused: HTTP {rejected.status_code}"
                ) from rejected
        raise AssertionError("unreachable")  # pragma: no cover

    async def _host(
        self,
        stream: trio.SocketStream | trio.SSLStream[trio.SocketStream],
        token: str | None,
        *,
        task_status: trio.TaskStatus[trio_websocket.WebSocketConnection] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Hosts one WebSocket and its reader task. trio-websocket raises a refused handshake
        (or a later protocol failure) out of the reader task: before the WebSocket is open
        that goes to ``_connect`` (``nursery.start``); after, it ends only this connection
        (the next heartbeat connects again), never the sink's nursery."""
        opened: trio_websocket.WebSocketConnection | None = None
        try:
            async with trio.open_nursery() as inner:
                opened = await trio_websocket.wrap_client_stream(
                    inner,
                    stream,
                    self._host_header,
                    self._target,
                    extra_headers=[(b"authorization", f"Bearer {token}".encode())],
                    message_queue_size=64,
                )
                task_status.started(opened)
        except Exception as exc:
            if opened is None:
                raise
            log.info("progress WebSocket %s ended: %r", self.url, _leaf(exc))
        finally:
            if opened is not None and self._ws is opened:
                self._ws = None

    async def _open_stream(self) -> trio.SocketStream | trio.SSLStream[trio.SocketStream]:
        """TCP, and for ``wss://`` TLS verified against the connection's trust, handshaken here:
        a certificate the player does not trust fails at once with the reason (inside
        trio-websocket it would only show as a handshake that never finishes)."""
        host, port = self._address
        stream = await trio.open_tcp_stream(host, port)
        if not self.url.startswith("wss:"):
            return stream
        secure = trio.SSLStream(
            stream, self.connection.ssl_context, server_hostname=host, https_compatible=True
        )
        try:
            await secure.do_handshake()
        except trio.BrokenResourceError as exc:
            await stream.aclose()
            raise SinkUnavailable(f"WebSocket {self.url}: TLS: {exc.__cause__ or exc}") from exc
        return secure

    async def _drop(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await ws.aclose()

    async def send(self, beat: WsHeartbeat) -> bool:
        async with self._lock:
            try:
                with trio.fail_after(self.timeout_s):
                    if not self.connected:
                        await self._drop()
                        self._ws = await self._connect()
                    assert self._ws is not None
                    self._counter += 1
                    beat_id = f"hb{self._counter}"
                    beat = msgspec.structs.replace(beat, id=beat_id)
                    await self._ws.send_message(msgspec.json.encode(beat).decode())
                    return await self._await_ack(self._ws, beat_id)
            except ApiError as exc:
                if isinstance(exc, WsRefused):
                    raise  # this heartbeat refused; the connection stays
                await self._drop()  # the refresh was refused: the session is over
                raise SinkUnavailable(f"WebSocket {self.url}: {exc}") from exc
            except FerrexClientError as exc:  # the refresh could not reach the server
                await self._drop()
                raise SinkUnavailable(f"WebSocket {self.url}: {exc}") from exc
            except (
                OSError,
                trio.TooSlowError,
                trio.BrokenResourceError,
                trio.ClosedResourceError,
                trio_websocket.HandshakeError,
                trio_websocket.ConnectionClosed,
            ) as exc:
                await self._drop()
                raise SinkUnavailable(f"WebSocket {self.url}: {exc!r}") from exc

    async def _await_ack(self, ws: trio_websocket.WebSocketConnection, beat_id: str) -> bool:
        while True:
            message = _decode(await ws.get_message())
            if isinstance(message, WsAck) and message.id == beat_id:
                return message.applied
            if isinstance(message, WsError):
                raise WsRefused(422, message.code, message.message)
            if isinstance(message, WsEvent) and self.on_event is not None:
                self.on_event(message)

    async def aclose(self) -> None:
        async with self._lock:
            await self._drop()


def _leaf(exc: BaseException) -> BaseException:
    """The one exception inside nested single-member groups (trio's nurseries wrap them)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


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
            except ApiError as exc:
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
        except ApiError as exc:
            self.last_error = str(exc)
            self.stats.rejected += 1
            return False
        self.stats.sent += 1
        return applied

    async def aclose(self) -> None:
        await self.sink.aclose()

    async def __aenter__(self) -> Self:
        await self.sink.__aenter__()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return await self.sink.__aexit__(kind, exc, tb)


def heartbeat(
    item_id: uuid.UUID,
    position_s: float,
    duration_s: float | None,
    event: BeatEvent,
    *,
    completed: bool = False,
) -> WsHeartbeat:
    return WsHeartbeat(
        item_id=item_id,
        position_s=max(0.0, position_s),
        client_ts=datetime.now(UTC),
        duration_s=duration_s,
        completed=completed,
        event=event,
    )
