"""Watch actions made on this device, kept in the replica until the server has them.

Every progress update and watched/unwatched mark goes through this queue, online or not: it is
written to LMDB in the same transaction that shows it in the local watch state, so a player
killed right after (even with SIGKILL) still has it, and the UI never waits for the network.
``SyncClient.flush_offline_actions`` replays the queue in order and removes an action only once
the server acknowledged it. Replaying twice is harmless: the server keeps the state with the
newest ``client_ts`` (an update that lost is acknowledged with ``applied=false``), and so does
the local overlay here, so both sides converge on the same state whatever the order of arrival.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from sync.contract import reaches_completion
from sync.media_types import WatchStateOut


class ProgressAction(msgspec.Struct, tag="progress", kw_only=True):
    item_id: uuid.UUID
    position_s: float
    duration_s: float | None = None
    completed: bool = False
    client_ts: datetime
    device_id: str | None = None


class MarkAction(msgspec.Struct, tag="mark", kw_only=True):
    """Watched or unwatched; on a series or season it covers every episode below it."""

    item_id: uuid.UUID
    watched: bool
    client_ts: datetime
    device_id: str | None = None


Action = ProgressAction | MarkAction


class QueuedAction(msgspec.Struct, kw_only=True):
    seq: int
    action: Action


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Action)


def encode(action: Action) -> bytes:
    return _encoder.encode(action)


def decode(raw: bytes | memoryview) -> Action:
    result: Action = _decoder.decode(raw)
    return result


def _newer(prev: WatchStateOut | None, ts: datetime) -> bool:
    return prev is None or prev.client_ts is None or prev.client_ts < ts


def after_progress(prev: WatchStateOut | None, a: ProgressAction) -> WatchStateOut | None:
    """The state the server will store for this update, or None when ``prev`` is newer."""
    if not _newer(prev, a.client_ts):
        return None
    # the server's rule, from the one place both sides read it
    completed = a.completed or reaches_completion(a.position_s, a.duration_s)
    was_completed = prev.completed if prev is not None else False
    plays = prev.play_count if prev is not None else 0
    return WatchStateOut(
        position_s=a.position_s,
        duration_s=a.duration_s
        if a.duration_s is not None
        else (prev.duration_s if prev is not None else None),
        completed=completed,
        play_count=plays + (1 if completed and not was_completed else 0),
        last_played_at=a.client_ts,
        client_ts=a.client_ts,
    )


def after_mark(
    prev: WatchStateOut | None, watched: bool, client_ts: datetime
) -> WatchStateOut | None:
    """The state after a watched/unwatched mark of one playable item (None: ``prev`` is newer)."""
    if not _newer(prev, client_ts):
        return None
    was_completed = prev.completed if prev is not None else False
    plays = prev.play_count if prev is not None else 0
    last = prev.last_played_at if prev is not None else None
    return WatchStateOut(
        position_s=0.0,
        duration_s=prev.duration_s if prev is not None else None,
        completed=watched,
        play_count=plays + (1 if watched and not was_completed else 0),
        last_played_at=client_ts if watched else last,
        client_ts=client_ts,
    )
