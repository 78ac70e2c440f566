"""The image cache: content-addressed originals, resized variants, LRU eviction.

* An original is known by the sha256 of its bytes (its ``image_id``). Local artwork is read where
  it lies (``images.source_path``) and never copied; downloaded or generated images (TMDB, frame
  grabs) are written once to ``<data>/images/originals/ab/<sha256>``.
* Variants are produced on demand (and a few ahead of time by ImageFetch) at fixed widths, WebP or
  JPEG, into ``<data>/images/variants/ab/<sha256>-w<width>.<ext>``. Many concurrent requests for
  the same missing variant produce it once: the first does the work, the others wait for it.
* Decoding and resizing run in worker threads (Pillow), at most ``workers`` at a time.
* When the variants' total size passes ``limit_bytes``, the least recently used are deleted.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import trio
from PIL import Image, UnidentifiedImageError

from appliance.metadata import blurhash
from store import metadata
from store.db import Database
from sync.contract import IMAGE_WIDTHS

log = logging.getLogger(__name__)

WIDTHS = IMAGE_WIDTHS  # the player asks for the same ones (sync.contract)
MAX_REQUESTED_WIDTH = 7680
"""The widest ``?w=`` a client may ask for (an 8K screen); it gets WIDTHS[-1] or the original,
whichever is narrower. 0, negative or wider is 422 (a typo, not a wish for the original)."""
AHEAD = {"poster": (342,), "backdrop": (780,), "thumb": (300,), "logo": (), "banner": ()}
MAX_SOURCE_BYTES = 50 << 20
Image.MAX_IMAGE_PIXELS = 80_000_000  # refuse decompression bombs rather than eat the Pi's RAM


class ImageError(Exception):
    """The bytes are not an image we can read."""


@dataclass(frozen=True)
class Original:
    image_id: str
    width: int
    height: int
    format: str
    color: str
    blurhash: str


def pick_width(requested: int | None, original_width: int) -> int:
    """The nearest standard width at or above ``requested``, never wider than the original."""
    if requested is None or requested <= 0:
        requested = original_width
    for width in WIDTHS:
        if width >= requested:
            return min(width, original_width)
    return min(WIDTHS[-1], original_width)


def inspect(data: bytes) -> Original:
    """Blocking: identify, verify and summarise an image (dominant colour for the placeholder)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = (im.format or "").lower()
            width, height = im.size
            im.draft("RGB", (64, 64))  # JPEG: decode at reduced scale, cheap
            rgb = im.convert("RGB")
            small = rgb.resize((1, 1), Image.Resampling.BOX)
            r, g, b = small.getpixel((0, 0))  # type: ignore[misc]
            scale = 32 / max(width, height)
            thumb = rgb.resize(
                (max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.BOX
            )
            raw = thumb.tobytes()
            hash_ = blurhash.encode(
                list(zip(raw[0::3], raw[1::3], raw[2::3], strict=True)), thumb.width, thumb.height
            )
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"not a readable image: {exc}") from None
    if fmt not in ("jpeg", "png", "webp", "gif", "bmp"):
        raise ImageError(f"unsupported image format {fmt!r}")
    return Original(
        hashlib.sha256(data).hexdigest(), width, height, fmt, f"#{r:02x}{g:02x}{b:02x}", hash_
    )


def render(data: bytes, width: int, fmt: str, quality: int = 82) -> bytes:
    """Blocking: a ``width``-wide variant of ``data`` as WebP or JPEG."""
    with Image.open(io.BytesIO(data)) as im:
        height = max(1, round(im.height * width / im.width))
        im.draft("RGB", (width, height))
        has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
        frame = im.convert("RGBA" if has_alpha and fmt == "webp" else "RGB")
        if frame.width != width:
            frame = frame.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        out = io.BytesIO()
        if fmt == "webp":
            frame.save(out, "WEBP", quality=quality, method=4)
        else:
            frame.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
        return out.getvalue()


class ImageStore:
    def __init__(
        self, db: Database, data_dir: Path, *, limit_bytes: int = 2 << 30, workers: int = 2
    ) -> None:
        self.db = db
        self.root = data_dir / "images"
        self.limit_bytes = limit_bytes
        self._limiter = trio.CapacityLimiter(workers)
        self._inflight: dict[tuple[str, int, str], trio.Event] = {}
        self.produced = 0  # variants rendered by this process (tests count it)

    # ---- originals -------------------------------------------------------------------------
    def original_path(self, image_id: str) -> Path:
        return self.root / "originals" / image_id[:2] / image_id

    def variant_path(self, image_id: str, width: int, fmt: str) -> Path:
        ext = "webp" if fmt == "webp" else "jpg"
        return self.root / "variants" / image_id[:2] / f"{image_id}-w{width}.{ext}"

    async def inspect_file(self, path: Path) -> tuple[Original, bytes]:
        def read() -> tuple[Original, bytes]:
            with path.open("rb") as f:
                data = f.read(MAX_SOURCE_BYTES + 1)
            if len(data) > MAX_SOURCE_BYTES:
                raise ImageError("image larger than 50 MiB")
            return inspect(data), data

        async with self._limiter:
            return await trio.to_thread.run_sync(read)

    async def keep_bytes(self, data: bytes) -> Original:
        """Inspect and store bytes that have no local file (downloads, frame grabs)."""

        def work() -> Original:
            original = inspect(data)
            target = self.original_path(original.image_id)
            if not target.exists():
                _write_atomic(target, data)
            return original

        async with self._limiter:
            return await trio.to_thread.run_sync(work)

    async def _source_bytes(self, image_id: str, source_path: str | None) -> bytes:
        def read() -> bytes:
            if source_path:
                try:
                    data = Path(source_path).read_bytes()
                    if hashlib.sha256(data).hexdigest() == image_id:
                        return data
                except OSError:
                    pass
            return self.original_path(image_id).read_bytes()

        return await trio.to_thread.run_sync(read)

    # ---- variants --------------------------------------------------------------------------
    async def variant(self, image_id: str, source_path: str | None, width: int, fmt: str) -> Path:
        """The variant's file, rendering it first if missing (once, however many ask)."""
        path, size = await self.render_variant(image_id, source_path, width, fmt)
        if size is None:
            await metadata.touch_variant(self.db, image_id, width, fmt)
        else:
            await metadata.add_variant(self.db, image_id, width, fmt, size)
            await self.enforce_limit()
        return path

    async def render_variant(
        self, image_id: str, source_path: str | None, width: int, fmt: str
    ) -> tuple[Path, int | None]:
        """Render the variant's file if missing; its size when this call rendered it (the
        caller records it in ``image_variants``), else None."""
        path = self.variant_path(image_id, width, fmt)
        key = (image_id, width, fmt)
        if key not in self._inflight and await trio.to_thread.run_sync(path.exists):
            return path, None  # the common case: already there
        while (pending := self._inflight.get(key)) is not None:
            await pending.wait()
        # claimed before any await, so a request arriving now waits instead of rendering too
        done = self._inflight[key] = trio.Event()
        try:
            if await trio.to_thread.run_sync(path.exists):
                return path, None  # rendered by the request we waited for
            data = await self._source_bytes(image_id, source_path)
            async with self._limiter:
                encoded = await trio.to_thread.run_sync(render, data, width, fmt)
                await trio.to_thread.run_sync(_write_atomic, path, encoded)
            self.produced += 1
        finally:
            del self._inflight[key]
            done.set()
        return path, len(encoded)

    async def enforce_limit(self) -> None:
        total = await metadata.variant_bytes(self.db)
        if total <= self.limit_bytes:
            return
        # free down to 90% so that eviction does not run on every new variant
        victims = await metadata.evict(self.db, total - int(self.limit_bytes * 0.9))
        for v in victims:
            path = self.variant_path(v.image_id, v.width, v.format)
            await trio.to_thread.run_sync(_unlink, path)
        if victims:
            log.info("image cache trimmed", extra={"variants": len(victims)})


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


_stores: dict[Path, ImageStore] = {}


def store_for(db: Database, data_dir: Path, limit_bytes: int = 2 << 30) -> ImageStore:
    """One store per data dir and process, so in-flight renders are shared between requests."""
    existing = _stores.get(data_dir)
    if existing is None or existing.db is not db:
        existing = _stores[data_dir] = ImageStore(db, data_dir, limit_bytes=limit_bytes)
    return existing
