"""Keeps a :class:`~sync.replica.Replica` in step with the server's change feed (httpx on trio).

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
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import httpx
import msgspec
import trio

from sync.feed_types import FRAMES_CONTENT_TYPE, EndFrame, Frame, FrameError, FrameReader
from sync.media_types import MarkIn, ProgressIn
from sync.offline_queue import MarkAction, ProgressAction, QueuedAction
from sync.replica import Replica
from sync.replica_gc import gc_paused
from sync.replica_prepare import PreparedBatch, prepare_batch
from sync.replica_read import ReplicaDamaged

log = logging.getLogger(__name__)
API = "/api/v1"
PAGE_LIMIT = 1000
SPOOL_CHUNK = 1 << 20
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0


class SyncError(Exception):
    """The server could not be synced with; the message is one line for a person."""


class Unreachable(SyncError):
    """No answer from the server (offline, down, wrong address)."""


class Unauthorized(SyncError):
    """The token was refused (expired, revoked, or lacks sync permissions)."""


@dataclass
class SyncResult:
    mode: str  # "snapshot" or "changes"
    seq: int
    pages: int = 0
    changed: int = 0  # frames applied (upserts, tombstones, watch states)
    flushed: int = 0  # offline actions the server acknowledged
    seconds: float = 0.0


Refresh = Callable[[], Awaitable[str | None]]


class SyncClient:
    """One server, one user's bearer token, one replica. ``async with`` closes its HTTP client."""

    def __init__(self, replica: Replica, base_url: str, token: str, *,
                 refresh: Refresh | None = None, device_id: str | None = None,
                 page_limit: int = PAGE_LIMIT,
                 progress: Callable[[str], None] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.replica = replica
        self.token = token
        self._refresh = refresh
        self.device_id = device_id
        self.page_limit = page_limit
        self._progress = progress or (lambda _msg: None)
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), transport=transport,
            timeout=httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
            headers={"User-Agent": "ferrex-player-sync"})

    async def __aenter__(self) -> SyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- plumbing ---------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def _request(self, method: str, path: str, *, body: msgspec.Struct | None = None,
                       params: dict[str, str] | None = None) -> httpx.Response:
        for attempt in (1, 2):
            headers = self._headers()
            content = None
            if body is not None:
                content = msgspec.json.encode(body)
                headers["Content-Type"] = "application/json"
            try:
                response = await self._http.request(method, API + path, headers=headers,
                                                    content=content, params=params)
            except (httpx.TransportError, OSError) as exc:
                raise Unreachable(f"{self._http.base_url}: {type(exc).__name__} {exc}") from exc
            if response.status_code == 401 and attempt == 1 and await self._refreshed():
                continue
            return response
        raise AssertionError("unreachable")

    async def _refreshed(self) -> bool:
        if self._refresh is None:
            return False
        token = await self._refresh()
        if not token:
            return False
        self.token = token
        return True

    @staticmethod
    def _fail(response: httpx.Response, what: str) -> SyncError:
        try:
            error = response.json()["error"]
            detail = f"{error['code']}: {error['message']}"
        except (ValueError, KeyError, TypeError):
            detail = response.reason_phrase or "error"
        message = f"{what}: HTTP {response.status_code} {detail}"
        return Unauthorized(message) if response.status_code in (401, 403) else SyncError(message)

    # --- sync --------------------------------------------------------------------------------

    async def identity(self) -> tuple[str | None, uuid.UUID]:
        """The server's id and the token's user: a replica of another one must be replaced."""
        try:
            health = await self._http.get("/health")
        except (httpx.TransportError, OSError) as exc:
            raise Unreachable(f"{self._http.base_url}: {type(exc).__name__} {exc}") from exc
        server_id = None
        if health.headers.get("content-type", "").startswith("application/json"):
            server_id = health.json().get("server_id")
        me = await self._request("GET", "/auth/me")
        if me.status_code != 200:
            raise self._fail(me, "who am I")
        return server_id, uuid.UUID(me.json()["user"]["id"])

    async def sync(self) -> SyncResult:
        started = time.perf_counter()
        flushed = await self.flush_offline_actions()
        server_id, user_id = await self.identity()
        replica = self.replica
        stale = replica.needs_snapshot or replica.user_id != user_id or (
            server_id is not None and replica.server_id != server_id)
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

    async def _download_snapshot(self, sink: Callable[[bytes], None],
                                 stop: threading.Event) -> int:
        size = 0
        for attempt in (1, 2):
            try:
                async with self._http.stream("GET", API + "/sync/snapshot",
                                             headers=self._headers()) as response:
                    if response.status_code == 401 and attempt == 1 and await self._refreshed():
                        continue
                    if response.status_code != 200:
                        await response.aread()
                        raise self._fail(response, "snapshot")
                    self._check_type(response)
                    async for chunk in response.aiter_bytes(SPOOL_CHUNK):
                        if stop.is_set():
                            raise SyncError("the snapshot could not be read")
                        sink(chunk)
                        size += len(chunk)
                    return size
            except (httpx.TransportError, OSError) as exc:
                raise Unreachable(f"snapshot cut: {type(exc).__name__} {exc}") from exc
        raise AssertionError("unreachable")

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
            raise SyncError(f"the server answered {kind or 'no content type'}, not sync frames "
                            "(is this a Ferrex server of this version?)")

    async def pull_changes(self) -> SyncResult:
        """Change pages after the cursor until ``more`` is false (410: a new snapshot)."""
        result = SyncResult(mode="changes", seq=self.replica.cursor)
        while True:
            response = await self._request(
                "GET", "/sync/changes",
                params={"since": str(self.replica.cursor), "limit": str(self.page_limit)})
            if response.status_code == 410:
                log.info("changes after %d are gone (%s); taking a new snapshot",
                         self.replica.cursor, response.text[:200])
                snap = await self.snapshot()
                snap.pages += result.pages
                snap.changed += result.changed
                return snap
            if response.status_code != 200:
                raise self._fail(response, "changes")
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
                self._progress(f"changes: {result.changed} in {result.pages} page(s), at "
                               f"sequence {end.seq}")
                return result

    # --- the offline queue ---------------------------------------------------------------------

    async def flush_offline_actions(self) -> int:
        """Replay queued actions in order; each leaves the queue once the server answered it.

        An action the server refuses for good (the item is gone, or is not playable) is dropped
        with a warning: kept, it would block every later action. On a network error or a 5xx the
        rest stays queued for the next attempt (raising :class:`Unreachable` or
        :class:`SyncError`).
        """
        done = 0
        for queued in self.replica.pending_actions():
            response = await self._send_action(queued)
            if response.status_code == 200:
                self.replica.acknowledge(queued.seq)
                done += 1
            elif response.status_code in (404, 422):
                log.warning("offline action %d refused by the server, dropped: %s",
                            queued.seq, response.text[:300])
                self.replica.acknowledge(queued.seq)
            else:
                raise self._fail(response, f"offline action {queued.seq}")
        if done:
            self._progress(f"offline: {done} action(s) delivered")
        return done

    async def _send_action(self, queued: QueuedAction) -> httpx.Response:
        action = queued.action
        device = action.device_id or self.device_id
        if isinstance(action, ProgressAction):
            return await self._request(
                "PUT", f"/media/items/{action.item_id}/progress",
                body=ProgressIn(position_s=action.position_s, duration_s=action.duration_s,
                                client_ts=action.client_ts, completed=action.completed,
                                device_id=device))
        assert isinstance(action, MarkAction)
        verb = "watched" if action.watched else "unwatched"
        return await self._request("POST", f"/media/items/{action.item_id}/{verb}",
                                   body=MarkIn(client_ts=action.client_ts, device_id=device))

    # --- live updates ---------------------------------------------------------------------------

    async def follow(self, *, stop_after: float | None = None) -> None:
        """Pull changes whenever the server announces new ones (its ``sync`` event, read from
        the server-sent event stream ``/api/v1/events``), until cancelled or ``stop_after``
        seconds. The push only says "changed up to SEQ"; what changed comes from the feed."""
        with trio.move_on_after(stop_after if stop_after is not None else float("inf")):
            async with self._http.stream("GET", API + "/events", headers=self._headers(),
                                         timeout=httpx.Timeout(None, connect=5.0)) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise self._fail(response, "events")
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


def _prepare_stream(chunks: queue.Queue[bytes | None], spool: IO[bytes],
                    stop: threading.Event) -> int:
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
