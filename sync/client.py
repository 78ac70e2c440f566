"""Keeps a :class:`~sync.replica.Replica` in step with the server's change feed, over the
player's one :class:`~sync.connection.ServerConnection` (its tokens, refresh on 401, errors).

``sync()`` first replays the offline action queue (so a snapshot taken next already contains
this device's actions), then takes a snapshot when the replica needs one (new, rebuilt, or
another server or user), else pulls change pages after the replica's cursor until the server
says there is no more; a 410 ``resnapshot_required`` turns into a snapshot.

How a snapshot is applied: while the body streams, a worker thread reads its frame batches
(:class:`~sync.feed_types.FrameReader`), prepares each item (``sync.replica_prepare``: record
and card encoded, facets, search texts) and appends the prepared batches to a spool file next to
the replica (bounded memory, whatever the library size; the preparing overlaps the server's
stream). Only once the body is complete is the spool applied, in ONE write transaction (replace
everything, then the cursor). So the cursor moves only at the end frame, a cut stream or a crash
at any point leaves the previous replica, whole, and no write transaction is ever held open
across a network wait (one held open would block this process's own offline writes). The apply
runs in a trio worker thread so a player's UI thread keeps drawing; LMDB readers are never
blocked.
"""

from __future__ import annotations

import logging
import queue
import struct
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import httpx
import msgspec
import trio

from sync.client_errors import ApiError, ProtocolError, ResnapshotRequired
from sync.connection import ServerConnection, health_of
from sync.feed_types import FRAMES_CONTENT_TYPE, EndFrame, Frame, FrameError, FrameReader
from sync.media_types import MarkIn, ProgressIn
from sync.offline_queue import MarkAction, ProgressAction, QueuedAction
from sync.replica import Replica
from sync.replica_gc import gc_paused
from sync.replica_prepare import PreparedBatch, prepare_batch
from sync.replica_read import ReplicaDamaged

log = logging.getLogger(__name__)
PAGE_LIMIT = 1000
SPOOL_CHUNK = 1 << 20
READ_TIMEOUT_S = 60.0


@dataclass
class SyncResult:
    mode: str  # "snapshot" or "changes"
    seq: int
    pages: int = 0
    changed: int = 0  # frames applied (upserts, tombstones, watch states)
    flushed: int = 0  # offline actions the server acknowledged
    seconds: float = 0.0


class SyncClient:
    """One replica kept in step over a borrowed :class:`ServerConnection` (whoever opened the
    connection closes it). Failures raise :mod:`sync.client_errors` classes: ``ServerUnreachable``
    offline, ``AuthExpired`` when the session is over, ``ProtocolError`` for an answer that is
    not sync frames."""

    def __init__(
        self,
        replica: Replica,
        connection: ServerConnection,
        *,
        page_limit: int = PAGE_LIMIT,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.replica = replica
        self.connection = connection
        self.page_limit = page_limit
        self._progress = progress or (lambda _msg: None)

    @property
    def device_id(self) -> str | None:
        return self.connection.device_id

    # --- sync --------------------------------------------------------------------------------

    async def identity(self) -> tuple[str | None, uuid.UUID]:
        """The server's id and the token's user: a replica of another one must be replaced."""
        server_id = health_of(await self.connection.send("GET", "/health")).get("server_id")
        me = await self.connection.request("GET", "/auth/me")
        try:
            return server_id, uuid.UUID(me.json()["user"]["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ProtocolError(f"who am I: unexpected answer ({exc!r})") from exc

    async def sync(self) -> SyncResult:
        started = time.perf_counter()
        flushed = await self.flush_offline_actions()
        server_id, user_id = await self.identity()
        replica = self.replica
        stale = (
            replica.needs_snapshot
            or replica.user_id != user_id
            or (server_id is not None and replica.server_id != server_id)
        )
        result = await self.snapshot() if stale else await self.pull_changes()
        result.flushed = flushed
        result.seconds = time.perf_counter() - started
        return result

    async def snapshot(self) -> SyncResult:
        """Download, prepare and spool at once (a worker thread prepares each batch as it
        arrives: records encoded, facets, search texts), then apply the spool in one
        transaction."""
        self._progress("snapshot: downloading")
        spool_dir = self.replica.path.parent
        spool_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=spool_dir, prefix="snapshot-") as spool:
            size, frames = await self._download_and_prepare(spool)
            self._progress(f"snapshot: {size / 1e6:.1f} MB received, applying")
            spool.seek(0)
            try:
                seq = await trio.to_thread.run_sync(self._apply_spool, spool)
            except ReplicaDamaged:  # found damaged while replacing it: once more, into a new one
                spool.seek(0)
                seq = await trio.to_thread.run_sync(self._apply_spool, spool)
        self._progress(f"snapshot: {frames} frames, at sequence {seq}")
        return SyncResult(mode="snapshot", seq=seq, pages=1, changed=frames)

    async def _download_and_prepare(self, spool: IO[bytes]) -> tuple[int, int]:
        chunks: queue.Queue[bytes | None] = queue.Queue()
        stop = threading.Event()  # the worker failed: stop downloading
        failures: list[Exception] = []
        prepared = [0]

        async def worker() -> None:
            try:
                prepared[0] = await trio.to_thread.run_sync(_prepare_stream, chunks, spool, stop)
            except Exception as exc:  # reported after the download (which may explain it)
                failures.append(exc)

        size = 0
        async with trio.open_nursery() as nursery:
            nursery.start_soon(worker)
            try:
                size = await self._download_snapshot(chunks.put, stop)
            except Exception as exc:
                failures.insert(0, exc)
            finally:
                chunks.put(None)
        if failures:
            raise failures[0]
        return size, prepared[0]

    async def _download_snapshot(self, sink: Callable[[bytes], None], stop: threading.Event) -> int:
        size = 0
        async with self.connection.stream(
            "GET", "/sync/snapshot", read_timeout_s=READ_TIMEOUT_S
        ) as response:
            self._check_type(response)
            async for chunk in response.aiter_bytes(SPOOL_CHUNK):
                if stop.is_set():
                    raise ProtocolError("the snapshot could not be read")
                sink(chunk)
                size += len(chunk)
        return size

    def _apply_spool(self, spool: IO[bytes]) -> int:
        def batches() -> Iterator[PreparedBatch]:
            while header := spool.read(4):
                (length,) = struct.unpack(">I", header)
                yield _prepared_dec.decode(spool.read(length))

        return self.replica.apply_snapshot(batches())

    @staticmethod
    def _check_type(response: httpx.Response) -> None:
        kind = response.headers.get("content-type", "")
        if not kind.startswith(FRAMES_CONTENT_TYPE):
            raise ProtocolError(
                f"the server answered {kind or 'no content type'}, not sync frames "
                "(is this a Ferrex server of this version?)"
            )

    async def pull_changes(self) -> SyncResult:
        """Change pages after the cursor until ``more`` is false (410: a new snapshot)."""
        result = SyncResult(mode="changes", seq=self.replica.cursor)
        while True:
            try:
                response = await self.connection.request(
                    "GET",
                    "/sync/changes",
                    timeout_s=READ_TIMEOUT_S,
                    params={"since": str(self.replica.cursor), "limit": str(self.page_limit)},
                )
            except ResnapshotRequired as exc:
                log.info(
                    "changes after %d are gone (%s); taking a new snapshot",
                    self.replica.cursor,
                    exc.message[:200],
                )
                snap = await self.snapshot()
                snap.pages += result.pages
                snap.changed += result.changed
                return snap
            self._check_type(response)
            frames = _frames_of(response.content)
            try:
                end = await trio.to_thread.run_sync(self.replica.apply_changes, frames)
            except ReplicaDamaged:
                return await self.snapshot()  # into a new environment (see Replica)
            result.pages += 1
            result.changed += len(frames) - 1
            result.seq = end.seq
            if not end.more:
                self._progress(
                    f"changes: {result.changed} in {result.pages} page(s), at sequence {end.seq}"
                )
                return result

    # --- the offline queue ---------------------------------------------------------------------

    async def flush_offline_actions(self) -> int:
        """Replay queued actions in order; each leaves the queue once the server answered it.

        An action the server refuses for good (the item is gone, or is not playable) is dropped
        with a warning: kept, it would block every later action. On a network error or a 5xx the
        rest stays queued for the next attempt (raising ``ServerUnreachable`` or the
        server's error).
        """
        done = 0
        for queued in self.replica.pending_actions():
            try:
                await self._send_action(queued)
            except ApiError as exc:
                if exc.status not in (404, 422):
                    raise
                log.warning(
                    "offline action %d refused by the server, dropped: %s",
                    queued.seq,
                    str(exc)[:300],
                )
                self.replica.acknowledge(queued.seq)
                continue
            self.replica.acknowledge(queued.seq)
            done += 1
        if done:
            self._progress(f"offline: {done} action(s) delivered")
        return done

    async def _send_action(self, queued: QueuedAction) -> httpx.Response:
        action = queued.action
        device = action.device_id or self.device_id
        if isinstance(action, ProgressAction):
            return await self.connection.request(
                "PUT",
                f"/media/items/{action.item_id}/progress",
                ProgressIn(
                    position_s=action.position_s,
                    duration_s=action.duration_s,
                    client_ts=action.client_ts,
                    completed=action.completed,
                    device_id=device,
                ),
            )
        assert isinstance(action, MarkAction)
        verb = "watched" if action.watched else "unwatched"
        return await self.connection.request(
            "POST",
            f"/media/items/{action.item_id}/{verb}",
            MarkIn(client_ts=action.client_ts, device_id=device),
        )

    # --- live updates ---------------------------------------------------------------------------

    async def follow(self, *, stop_after: float | None = None) -> None:
        """Pull changes whenever the server announces new ones (its ``sync`` event, read from
        the server-sent event stream ``/api/v1/events``), until cancelled or ``stop_after``
        seconds. The push only says "changed up to SEQ"; what changed comes from the feed."""
        with trio.move_on_after(stop_after if stop_after is not None else float("inf")):
            async with self.connection.stream("GET", "/events", read_timeout_s=None) as response:
                event = ""
                async for line in response.aiter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:") and event in ("sync", "resync"):
                        seq = _seq_of(line[5:])
                        if event == "resync" or seq is None or seq > self.replica.cursor:
                            await self.pull_changes()
                    elif not line:
                        event = ""


_prepared_enc = msgspec.msgpack.Encoder()
_prepared_dec = msgspec.msgpack.Decoder(PreparedBatch)


def _prepare_stream(
    chunks: queue.Queue[bytes | None], spool: IO[bytes], stop: threading.Event
) -> int:
    """Worker thread: frame batches from the body's chunks, prepared, length-prefixed into the
    spool. Returns the number of frames; raises FrameError on a cut or garbled stream."""
    reader = FrameReader()
    frames = 0
    try:
        while (chunk := chunks.get()) is not None:
            with gc_paused():  # never across the wait for the network
                for batch in reader.feed(chunk):
                    data = _prepared_enc.encode(prepare_batch(batch))
                    spool.write(struct.pack(">I", len(data)) + data)
                    frames += len(batch)
        reader.close()
    except Exception:
        stop.set()
        while chunks.get() is not None:  # let the download finish its last put
            pass
        raise
    return frames


def _frames_of(body: bytes) -> list[Frame]:
    reader = FrameReader()
    frames = [frame for batch in reader.feed(body) for frame in batch]
    reader.close()
    if not frames or not isinstance(frames[-1], EndFrame):
        raise FrameError("a changes page without its end frame")
    return frames


def _seq_of(data: str) -> int | None:
    try:
        value: Any = msgspec.json.decode(data.strip().encode())
        return int(value["seq"])
    except (msgspec.DecodeError, KeyError, TypeError, ValueError):
        return None
