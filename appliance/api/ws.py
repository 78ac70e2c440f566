"""``/api/v1/ws``: the player's WebSocket.

Player → server: ``{"type": "progress", "item_id", "position_s", "client_ts", ...}`` heartbeats
(every 10 s while playing and on pause/seek/stop), answered by ``{"type": "ack", "applied",
"state"}`` (``applied`` false: a newer state from another device was already stored, newest
``client_ts`` wins); ``{"type": "ping"}`` → ``ack``.

Server → player: ``{"type": "event", "seq", "event", "data"}`` for the bus events the user may
see (scan progress and library changes of the libraries they may see, job internals only for
library managers: :class:`appliance.access.EventFilter`) and ``watch.changed`` of the same user
made on another device (never another user's, never the device's own). Malformed messages
get ``{"type": "error"}`` and the socket stays open. Authentication is the handshake's bearer
token (401/403 before accepting).
"""

from __future__ import annotations

import uuid

import msgspec
import quart
import trio

from appliance.access import EventFilter
from appliance.api.media import record_progress
from appliance.api.routing import RequestContext, Router
from appliance.api.stopping import unless_stopping
from appliance.errors import FerrexError
from appliance.events import Event
from sync.errors import ErrorCode
from sync.media_types import (
    ProgressIn,
    WsAck,
    WsClientMessage,
    WsError,
    WsEvent,
    WsHeartbeat,
)

router = Router("/api/v1")
_decoder = msgspec.json.Decoder(WsClientMessage)


def visible(event: Event, user_id: str, device_id: str | None) -> bool:
    owner = event.data.get("user_id")
    if owner is None:
        return True
    return bool(
        owner == user_id and (device_id is None or event.data.get("device_id") != device_id)
    )


@router.websocket(
    "/ws",
    summary="Progress heartbeats in, server events out (JSON messages)",
    permission="sync:read",
    tags=("events", "media"),
)
async def player_socket(ctx: RequestContext) -> None:
    socket = quart.websocket
    principal = ctx.require_principal()
    user_id = principal.user_id
    device = str(principal.device_id) if principal.device_id else None
    allowed = EventFilter(ctx.state, user_id, principal.can("libraries:manage"))
    await allowed.load()
    await socket.accept()
    send_lock = trio.Lock()

    async def send(message: msgspec.Struct) -> None:
        async with send_lock:
            await socket.send(msgspec.json.encode(message).decode())

    async def forward_events() -> None:
        async with ctx.state.bus.subscribe() as live:
            async for event in live:
                if visible(event, user_id, device) and await allowed.allows(event.type, event.data):
                    await send(WsEvent(seq=event.seq, event=event.type, data=event.data))

    async def heartbeat(msg: WsHeartbeat) -> None:
        if not principal.can("sync:write"):
            await send(WsError(code=ErrorCode.FORBIDDEN, message="permission sync:write required"))
            return
        body = ProgressIn(
            position_s=msg.position_s,
            duration_s=msg.duration_s,
            client_ts=msg.client_ts,
            completed=msg.completed,
        )
        try:
            update = await record_progress(ctx.state, uuid.UUID(user_id), msg.item_id, body, device)
        except FerrexError as exc:
            await send(WsError(code=exc.code, message=exc.message))
            return
        await send(
            WsAck(id=msg.id, item_id=msg.item_id, applied=update.applied, state=update.state)
        )

    async with trio.open_nursery() as nursery:
        nursery.start_soon(forward_events)
        try:
            while True:
                raw = await unless_stopping(ctx.state.stopping, socket.receive)
                if raw is None:  # the appliance is stopping: 1012 tells the player to reconnect
                    await socket.close(1012, "server restarting")
                    return
                try:
                    msg = _decoder.decode(raw)
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    await send(WsError(code=ErrorCode.INVALID_MESSAGE, message=str(exc)))
                    continue
                if isinstance(msg, WsHeartbeat):
                    await heartbeat(msg)
                else:
                    await send(WsAck(id=msg.id))
        finally:
            nursery.cancel_scope.cancel()
