"""MetadataDomain: poster and backdrop images, fetched once, kept in memory and on disk.

Images are content-addressed on the server (the id is a hash of the original), so a cached file
never goes stale and the disk cache needs no revalidation: that is what makes posters appear
offline. Fetches are deduplicated (a poster shown in three rows is requested once) and bounded
(at most :data:`CONCURRENT_FETCHES` at a time) so a fast scroll cannot flood the appliance.
"""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import trio

from sync.client_errors import FerrexClientError
from ui.domains.core import Domain, DomainContext, DomainMessage, DomainName
from ui.domains.events import ImageReady, PosterResolved

log = logging.getLogger(__name__)
CONCURRENT_FETCHES = 6
MEMORY_ITEMS = 400


class MetadataMessage(DomainMessage):
    domain: ClassVar[DomainName] = DomainName.METADATA


@dataclass(frozen=True)
class FetchImage(MetadataMessage):
    image_id: str
    width: int = 342


@dataclass(frozen=True)
class ResolvePoster(MetadataMessage):
    """A card from the server has no poster id: look it up in the item's details."""

    item_id: uuid.UUID


class MetadataDomain(Domain):
    name = DomainName.METADATA

    def __init__(self, ctx: DomainContext) -> None:
        super().__init__(ctx)
        self._memory: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._inflight: set[tuple[str, int]] = set()
        self._posters: dict[uuid.UUID, str | None] = {}
        self._limit = trio.CapacityLimiter(CONCURRENT_FETCHES)

    def _disk(self, image_id: str, width: int) -> Path | None:
        store = self.ctx.services.store
        if store is None or not all(c in "0123456789abcdef" for c in image_id):
            return None
        return store.directory / "images" / image_id[:2] / f"{image_id}-{width}.jpg"

    def _remember(self, key: tuple[str, int], data: bytes) -> None:
        self._memory[key] = data
        self._memory.move_to_end(key)
        while len(self._memory) > MEMORY_ITEMS:
            self._memory.popitem(last=False)

    async def _fetch(self, image_id: str, width: int) -> None:
        key = (image_id, width)
        if key in self._memory:
            await self.ctx.emit(ImageReady(image_id=image_id, width=width, data=self._memory[key]))
            return
        if key in self._inflight:
            return
        self._inflight.add(key)
        try:
            path = self._disk(image_id, width)
            data: bytes | None = None
            if path is not None:
                try:
                    data = await trio.Path(path).read_bytes()
                except OSError:
                    data = None
            api = self.ctx.services.api
            if data is None and api is not None:
                async with self._limit:
                    try:
                        data = await api.image(image_id, width)
                    except FerrexClientError as exc:
                        log.debug("image %s: %s", image_id, exc)
                        return
                if path is not None:
                    await trio.Path(path.parent).mkdir(parents=True, exist_ok=True)
                    await trio.Path(path).write_bytes(data)
            if data is None:
                return
            self._remember(key, data)
            await self.ctx.emit(ImageReady(image_id=image_id, width=width, data=data))
        finally:
            self._inflight.discard(key)

    async def handle(self, message: DomainMessage) -> None:
        match message:
            case FetchImage(image_id=image_id, width=width):
                await self._fetch(image_id, width)
            case ResolvePoster(item_id=item_id):
                if item_id not in self._posters:
                    api = self.ctx.services.api
                    if api is None:
                        return
                    try:
                        async with self._limit:
                            details = await api.item(item_id)
                    except FerrexClientError:
                        return
                    kinds = {i.kind: i.image_id for i in details.images}
                    self._posters[item_id] = kinds.get("poster") or kinds.get("thumb")
                await self.ctx.emit(
                    PosterResolved(item_id=item_id, image_id=self._posters[item_id])
                )
            case _:
                raise TypeError(f"MetadataDomain cannot handle {type(message).__name__}")
