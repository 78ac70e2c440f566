"""ASGI middleware: bounded request bodies, and keep-alive that survives an early answer.

Hypercorn 0.18 (h11, trio worker) loses a keep-alive connection when the app answers before it
has read the request body, which ours does whenever it refuses a request (401/403 are decided
before the body is read, 413 on the declared length). The connection's reader task hands body
chunks to the app through a queue of ``max_app_queue_size`` (10) and the decision to reuse or
close the connection is taken *inside the app's final send*. So (a) once quart-trio has stopped
consuming, the reader blocks for ever on the full queue, and (b) quart-trio cancels its own
request nursery as soon as it sees the ``http.disconnect`` hypercorn queues in that same final
send, which cancels hypercorn's ``_close()`` half-way: the socket is neither closed nor recycled,
and the client's next request on it is never read. docs/upstream/hypercorn-keepalive.md has the
details and a 30-line reproducer.

What this layer does for every HTTP request:

* An answer that starts before the body has ended first reads the rest of a body that fits the
  upload limit (within ``DRAIN_SECONDS``), so the connection is reused as usual. A larger or
  slower body gets ``Connection: close``; the rest of it is read and dropped for a bounded while
  (so the client, which writes the whole body before reading, gets to see the answer instead of
  a reset) and the connection is then closed.
* The final send runs shielded (bounded by ``FINAL_SEND_SECONDS``) while the body is consumed
  beside it, so neither (a) nor (b) can strand the connection.
* The body as a whole must arrive within ``body_timeout`` seconds of the request head
  (``server.body_timeout_seconds``): a client trickling one byte a second gets 408 and a closed
  connection instead of holding a connection for ever. Hypercorn's own idle timer
  (``keep_alive_timeout``) already bounds the time until the head is complete.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio
from hypercorn.typing import (
    ASGIReceiveCallable,
    ASGIReceiveEvent,
    ASGISendCallable,
    ASGISendEvent,
    HTTPResponseBodyEvent,
    Scope,
)

AsgiApp = Callable[[Scope, ASGIReceiveCallable, ASGISendCallable], Awaitable[None]]

DRAIN_SECONDS = 2.0
"""How long an early answer waits for the rest of a body that fits the upload limit."""
LINGER_BYTES = 16 << 20
"""After an answer with ``Connection: close``: body bytes read and dropped before closing."""
LINGER_SECONDS = 5.0
FINAL_SEND_SECONDS = 10.0
"""Bound on the shielded last send (hypercorn writes, then recycles or closes the socket)."""


def _declared_length(scope: Scope) -> int | None:
    if scope["type"] != "http":
        return None
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class _Exchange:
    """One request's body as seen through the middleware: what arrived, whether it ended."""

    def __init__(
        self,
        receive: ASGIReceiveCallable,
        send: ASGISendCallable,
        *,
        declared: int | None,
        drain_limit: int,
        body_timeout: float,
    ) -> None:
        self._receive = receive
        self._send = send
        self.declared = declared
        self.drain_limit = drain_limit
        self.deadline = trio.current_time() + body_timeout
        self.ended = trio.Event()  # the last body chunk (or a disconnect) was taken
        self.received = 0
        self.disconnected = False
        self.timed_out = False
        self.started = False
        self.closing = False

    def _track(self, message: ASGIReceiveEvent) -> None:
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if not message.get("more_body", False):
                self.ended.set()
        elif message["type"] == "http.disconnect":
            self.disconnected = True
            self.ended.set()

    async def _next(self) -> ASGIReceiveEvent:
        message = await self._receive()
        self._track(message)
        return message

    async def receive(self) -> ASGIReceiveEvent:
        """The app's ``receive``: past the body deadline it reads as a disconnect (quart then
        cancels the handler) and the middleware answers 408."""
        if self.ended.is_set():
            return await self._next()
        with trio.move_on_at(self.deadline):
            return await self._next()
        self.timed_out = True  # the body did not end: the answer closes the connection
        return {"type": "http.disconnect"}

    async def _pull(self, limit: int) -> None:
        """Read and drop body chunks until the body ends or ``limit`` more bytes came. The app may
        be reading beside us (quart-trio does, in a task of its own), so the end is the shared
        event, not our own last read."""
        start = self.received
        async with trio.open_nursery() as nursery:

            async def pull() -> None:
                while not self.ended.is_set() and self.received - start <= limit:
                    await self._next()
                nursery.cancel_scope.cancel()

            nursery.start_soon(pull)
            await self.ended.wait()
            nursery.cancel_scope.cancel()

    async def _discard_until_disconnect(self) -> None:
        while not self.disconnected:
            await self._next()

    async def send(self, message: ASGISendEvent) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            start = message
            if not self.ended.is_set():
                await self._drain_small()
            if not self.ended.is_set():
                self.closing = True
                start = {
                    "type": "http.response.start",
                    "status": start["status"],
                    "headers": [*start["headers"], (b"connection", b"close")],
                    "trailers": start.get("trailers", False),
                }
            await self._send(start)
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            await self._finish(message)
        else:
            await self._send(message)

    async def _drain_small(self) -> None:
        if self.declared is not None and self.declared - self.received > self.drain_limit:
            return
        with trio.move_on_at(min(self.deadline, trio.current_time() + DRAIN_SECONDS)):
            await self._pull(self.drain_limit)

    async def _finish(self, last: HTTPResponseBodyEvent) -> None:
        if self.closing and not self.ended.is_set() and not self.timed_out:
            # The client writes its whole body before it reads: let it, up to a bound, so that
            # it sees this answer rather than a reset.
            await self._send(
                {"type": "http.response.body", "body": last["body"], "more_body": True}
            )
            last = {"type": "http.response.body", "body": b"", "more_body": False}
            with trio.move_on_after(LINGER_SECONDS):
                await self._pull(LINGER_BYTES)
        with trio.CancelScope(shield=True, deadline=trio.current_time() + FINAL_SEND_SECONDS):
            async with trio.open_nursery() as nursery:
                if not self.ended.is_set():
                    nursery.start_soon(self._discard_until_disconnect)
                await self._send(last)
                nursery.cancel_scope.cancel()


class RequestBodyGuard:
    """Wraps the app's ASGI callable (``app.asgi_app``); see the module docstring."""

    def __init__(
        self, app: AsgiApp, *, drain_limit: int, body_timeout: float, timeout_body: bytes
    ) -> None:
        self.app = app
        self.drain_limit = drain_limit
        self.body_timeout = body_timeout
        self.timeout_body = timeout_body

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(
            receive,
            send,
            declared=_declared_length(scope),
            drain_limit=self.drain_limit,
            body_timeout=self.body_timeout,
        )
        await self.app(scope, exchange.receive, exchange.send)
        if exchange.timed_out and not exchange.started:
            await exchange.send(
                {
                    "type": "http.response.start",
                    "status": 408,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(self.timeout_body)).encode()),
                    ],
                    "trailers": False,
                }
            )
            await exchange.send(
                {"type": "http.response.body", "body": self.timeout_body, "more_body": False}
            )
