"""ImageService: posters for the demand plan, from memory, disk or the appliance, decoded off the
UI thread.

The grid replaces the wanted set whenever its visible range changes (:meth:`set_demand`, safe to
call from Qt callbacks under qtrio: it only records the set and wakes the workers through the trio
token). Workers take the highest-priority wanted image (Visible > Preload > Background), each in
its own cancel scope: an image that is no longer wanted when the plan changes has its download or
decode cancelled at once. Results wait in a ready list the grid drains into its upload budget.

Caches: decoded RGBA in a memory LRU bounded by bytes (keyed by image and size, so a re-demanded
poster is ready without any work) and the server's encoded variant on disk (keyed by image and
standard width).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import trio

from sync.contract import standard_image_width
from ui.grid import residency
from ui.grid.demand import Priority
from ui.images.decode import DecodeError, decode_to
from ui.images.disk import DiskCache
from ui.images.lru import ByteLRU
from ui.images.types import RGBA, PosterRequest, ReadyPoster

log = logging.getLogger(__name__)

MEMORY_BYTES = 16 * 1024 * 1024
"""Decoded posters kept in memory beyond the atlas (which holds the visible rows and those
around them): a screen's worth at 1080p, so scrolling back a little needs no decode. Was
256 MB, then 24: see the player-memory bench."""
DISK_BYTES = 1024 * 1024 * 1024
FETCHERS = 6
DECODE_THREADS = 2
TIMEOUT_S = 15.0


@dataclass
class ServiceStats:
    fetched: int = 0
    disk_hits: int = 0
    memory_hits: int = 0
    decoded: int = 0
    cancelled: int = 0
    failed: int = 0


class ImageService:
    def __init__(
        self,
        base_url: str,
        token: Callable[[], str | None],
        cache_dir: Path,
        *,
        memory_bytes: int = MEMORY_BYTES,
        disk_bytes: int = DISK_BYTES,
        fetchers: int = FETCHERS,
        decode_threads: int = DECODE_THREADS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.disk = DiskCache(cache_dir, disk_bytes)
        self.memory: ByteLRU[tuple[str, int, int], RGBA] = ByteLRU(
            memory_bytes, lambda a: int(a.nbytes)
        )
        self._fetchers = fetchers
        self._decode_limiter = trio.CapacityLimiter(decode_threads)
        self._transport = transport
        self._wanted: OrderedDict[str, PosterRequest] = OrderedDict()
        self._inflight: dict[str, trio.CancelScope] = {}
        self._ready: OrderedDict[str, tuple[Priority, ReadyPoster]] = OrderedDict()
        self._failed: set[tuple[str, int]] = set()
        self._wake = trio.Event()
        self._token_trio: trio.lowlevel.TrioToken | None = None
        self.stats = ServiceStats()
        residency.track_cache(self)  # decoded posters dropped while playing

    # the grid's side (UI thread) ----------------------------------------------------------------
    def set_demand(self, wanted: Sequence[PosterRequest]) -> None:
        fresh: OrderedDict[str, PosterRequest] = OrderedDict()
        for request in sorted(wanted, key=lambda r: r.priority):  # stable: plan order kept
            if request.image_id in fresh:
                continue
            cached = self.memory.get(self._key(request))
            if cached is not None:
                self.stats.memory_hits += 1
                self._ready[request.image_id] = (
                    request.priority,
                    ReadyPoster(request.image_id, cached),
                )
                continue
            fresh[request.image_id] = request
        self._wanted = fresh
        wanted_ids = {r.image_id for r in wanted}
        for image_id in list(self._ready):
            if image_id not in wanted_ids:
                del self._ready[image_id]
        for image_id, scope in list(self._inflight.items()):
            if image_id not in fresh:
                scope.cancel()
        self._poke()

    def release_memory(self) -> int:
        """Drop every decoded poster held in memory (the LRU and the ready list), e.g. while the
        grid is off screen for playback; the disk cache keeps the encoded ones. Returns the bytes
        dropped."""
        dropped = self.memory.clear()
        self._ready.clear()
        return dropped

    def take_ready(self, limit: int) -> list[ReadyPoster]:
        order = sorted(self._ready.items(), key=lambda kv: kv[1][0])[:limit]
        for image_id, _ in order:
            del self._ready[image_id]
        return [ready for _, (_, ready) in order]

    @property
    def pending(self) -> int:
        return len(self._wanted) + len(self._inflight)

    def _poke(self) -> None:
        if self._token_trio is None:
            return
        try:
            self._token_trio.run_sync_soon(self._wake.set)
        except trio.RunFinishedError:
            pass

    @staticmethod
    def _key(request: PosterRequest) -> tuple[str, int, int]:
        return (request.image_id, request.width, request.height)

    # the trio side ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Serve until cancelled (run it in the player's nursery)."""
        self._token_trio = trio.lowlevel.current_trio_token()
        async with httpx.AsyncClient(
            base_url=self.base_url, transport=self._transport, timeout=TIMEOUT_S
        ) as client:
            async with trio.open_nursery() as nursery:
                for _ in range(self._fetchers):
                    nursery.start_soon(self._worker, client)

    def _next(self) -> PosterRequest | None:
        for image_id, request in self._wanted.items():
            if image_id not in self._inflight:
                return request
        return None

    async def _worker(self, client: httpx.AsyncClient) -> None:
        while True:
            request = self._next()
            if request is None:
                self._wake = trio.Event() if self._wake.is_set() else self._wake
                await self._wake.wait()
                continue
            with trio.CancelScope() as scope:
                self._inflight[request.image_id] = scope
                try:
                    await self._load(client, request)
                finally:
                    del self._inflight[request.image_id]
                    self._wanted.pop(request.image_id, None)
            if scope.cancelled_caught:
                self.stats.cancelled += 1

    async def _load(self, client: httpx.AsyncClient, request: PosterRequest) -> None:
        width = standard_image_width(request.width)
        if (request.image_id, width) in self._failed:
            return
        data = await trio.to_thread.run_sync(
            self.disk.read, request.image_id, width, limiter=self._decode_limiter
        )
        if data is not None:
            self.stats.disk_hits += 1
        else:
            data = await self._fetch(client, request.image_id, width)
            if data is None:
                return
            await trio.to_thread.run_sync(
                self.disk.write, request.image_id, width, data, limiter=self._decode_limiter
            )
        try:
            rgba = await trio.to_thread.run_sync(
                decode_to, data, request.width, request.height, limiter=self._decode_limiter
            )
        except DecodeError as exc:
            log.warning("image %s: %s", request.image_id, exc)
            self._failed.add((request.image_id, width))
            self.stats.failed += 1
            return
        self.stats.decoded += 1
        self.memory.put(self._key(request), rgba)
        if request.image_id in self._wanted:
            current = self._wanted[request.image_id]
            self._ready[request.image_id] = (current.priority, ReadyPoster(request.image_id, rgba))

    async def _fetch(self, client: httpx.AsyncClient, image_id: str, width: int) -> bytes | None:
        headers = {"Accept": "image/webp,image/jpeg"}
        token = self._token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = await client.get(
                f"/api/v1/images/{image_id}", params={"w": width}, headers=headers
            )
        except httpx.HTTPError as exc:
            # offline or the appliance is restarting: the placeholder stays; a later plan retries
            log.info("image %s: %s", image_id, exc)
            self.stats.failed += 1
            return None
        if response.status_code != 200:
            log.info("image %s: HTTP %s", image_id, response.status_code)
            if response.status_code == 404:
                self._failed.add((image_id, width))
            self.stats.failed += 1
            return None
        self.stats.fetched += 1
        return response.content
