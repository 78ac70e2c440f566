"""``GET /api/v1/events``: server-sent events (scan progress, library changes).

Resuming: a client sends ``Last-Event-ID`` (browsers do it on reconnect) and gets the events it
missed from the bus's history; if they are no longer there it gets a ``resync`` event and
should refetch what it shows. Subscribing happens before the replay so nothing falls between.

Each event passes :class:`appliance.access.EventFilter` first: another user's events, those of
a library the caller may not see, and job internals (for library managers only) are left out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import quart
import trio

from appliance.access import EventFilter
from appliance.api import params
from appliance.api.routing import Answer, Param, RequestContext, Router
from appliance.api.stopping import unless_stopping
from appliance.events import Event
from sync.errors import ErrorCode

router = Router("/api/v1")
KEEPALIVE_SECONDS = 15.0


def encode(event: Event) -> bytes:
    data = msgspec.json.encode(event.data).decode()
    return f"id: {event.seq}\nevent: {event.type}\ndata: {data}\n\n".encode()


def _since(raw: str | None) -> int | None:
    return params.integer(
        raw or None, "Last-Event-ID (or since)", 0, 2**62, status=400, code=ErrorCode.BAD_REQUEST
    )


_SEQUENCE = {"type": "integer", "minimum": 0, "maximum": 2**62}


@router.route(
    "/events",
    summary="Server-sent events: scan progress, library changes",
    permission="libraries:read",
    tags=("events",),
    answers=(Answer(200, "an endless event stream", ("text/event-stream",)),),
    params=(
        Param("since", _SEQUENCE, "replay the events after this sequence", status=400),
        Param(
            "Last-Event-ID",
            _SEQUENCE,
            "as since; browsers send it when they reconnect",
            where="header",
            status=400,
        ),
    ),
)
async def events(ctx: RequestContext) -> quart.Response:
    request = quart.request
    since = _since(request.headers.get("Last-Event-ID") or request.args.get("since"))
    bus = ctx.state.bus
    principal = ctx.require_principal()
    allowed = EventFilter(ctx.state, principal.user_id, principal.can("libraries:manage"))
    await allowed.load()

    async def visible(event: Event) -> bool:
        return event.type in ("gap", "resync") or await allowed.allows(event.type, event.data)

    async def stream() -> AsyncIterator[bytes]:
        async with bus.subscribe() as live:
            last = since or 0
            if since is not None:
                replay = bus.since(since)
                if replay is None:
                    yield b"event: resync\ndata: {}\n\n"
                else:
                    for event in replay:
                        last = event.seq
                        if await visible(event):
                            yield encode(event)
            yield b": connected\n\n"
            while True:
                with trio.move_on_after(KEEPALIVE_SECONDS) as idle:
                    received = await unless_stopping(ctx.state.stopping, live.receive)
                if idle.cancelled_caught:
                    yield b": keepalive\n\n"
                    continue
                if received is None:
                    return  # the appliance is stopping: end the stream; the client reconnects
                event = received
                if (event.seq > last or event.type == "gap") and await visible(event):
                    last = max(last, event.seq)
                    yield encode(event)

    response = quart.Response(stream(), content_type="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    response.timeout = None
    return response
