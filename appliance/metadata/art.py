"""ImageFetch provider: local artwork, and a frame grab for episodes without a thumbnail.

Each image is inspected (format, size, dominant colour) and recorded content-addressed; local
files are referenced where they lie. The common variants (poster w342, backdrop w780, thumb w300)
are rendered ahead of time so the first browse does not wait. A corrupt or unreadable image is
recorded in ``image_errors`` and skipped; it never fails the job.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from pathlib import Path

import trio

from appliance.metadata import images
from appliance.metadata.enrich import MetadataSettings, sources_for
from appliance.metadata.images import ImageError, ImageStore, Original
from appliance.orchestration.dispatcher import JobContext
from appliance.scan.image_fetch import ImageProvider
from store import metadata
from store.db import Connection, Record
from store.paths import from_db

log = logging.getLogger("ferrex.images")

PRIMARY = {"movie": "poster", "series": "poster", "season": "poster", "episode": "thumb"}
FRAME_AT = 0.30


async def grab_frame(path: Path, duration_s: float) -> bytes | None:
    """A JPEG frame at 30% of the duration (ffmpeg), or None when ffmpeg cannot make one."""
    at = max(0.0, duration_s * FRAME_AT)
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-ss", f"{at:.3f}", "-i", str(path),
           "-frames:v", "1", "-vf", "scale='min(1280,iw)':-2", "-f", "image2", "-c:v", "mjpeg",
           "-q:v", "3", "pipe:1"]
    try:
        with trio.fail_after(60):
            done = await trio.run_process(cmd, capture_stdout=True, capture_stderr=True,
                                          check=False)
    except (OSError, trio.TooSlowError) as exc:
        log.warning("frame grab failed", extra={"path": str(path), "error": str(exc)})
        return None
    if done.returncode != 0 or not done.stdout:
        return None
    out: bytes = done.stdout
    return out


Found = tuple[uuid.UUID, str, Original, str | None, str]
Rendered = tuple[str, int, str, int]  # image id, width, format, bytes


async def collect(store: ImageStore, rows: Sequence[Record], settings: MetadataSettings,
                  ) -> tuple[list[Found], list[tuple[str, str]]]:
    """Images for ``rows`` (reads and inspects files; writes nothing to the database)."""
    found: list[Found] = []
    errors: list[tuple[str, str]] = []
    for row in rows:
        sources = await trio.to_thread.run_sync(sources_for, row)
        for kind, path in sources.art.items():
            try:
                original, _ = await store.inspect_file(path)
            except (ImageError, OSError) as exc:
                log.warning("image unreadable", extra={"path": str(path), "error": str(exc)})
                errors.append((str(path), str(exc)))
                continue
            found.append((row["id"], kind, original, str(path), "local"))
        if (row["kind"] == "episode" and "thumb" not in sources.art and settings.frame_grabs
                and row["file_path"] and row["duration_s"]):
            frame = await grab_frame(Path(from_db(row["file_path"])), row["duration_s"])
            if frame is not None:
                try:
                    found.append((row["id"], "thumb", await store.keep_bytes(frame), None,
                                  "frame"))
                except ImageError as exc:
                    errors.append((from_db(row["file_path"]), f"frame: {exc}"))
    return found, errors


async def save(conn: Connection, rows: Sequence[Record], found: list[Found],
               errors: list[tuple[str, str]], rendered: Sequence[Rendered] = ()) -> None:
    kinds = {r["id"]: r["kind"] for r in rows}
    for item_id, kind, original, path, source in found:
        await metadata.save_image(conn, original.image_id, path, None, original.width,
                                  original.height, original.format, original.color, None)
        await metadata.set_item_image(conn, item_id, kind, original.image_id, source)
        if PRIMARY.get(kinds[item_id]) == kind:
            await metadata.set_placeholder(conn, item_id, {"color": original.color,
                                                           "image_id": original.image_id})
    for source_name, error in errors:
        await metadata.record_image_error(conn, source_name, error)
    for image_id, width, fmt, size in rendered:
        await metadata.add_variant(conn, image_id, width, fmt, size)


def make_provider(settings: MetadataSettings) -> ImageProvider:
    async def provider(ctx: JobContext, item_ids: Sequence[str]) -> None:
        store = images.store_for(ctx.db, settings.data_dir, settings.image_cache_bytes)
        rows = await metadata.items_for_metadata(ctx.db, [uuid.UUID(i) for i in item_ids])
        found, errors = await collect(store, rows, settings)

        rendered = await ahead(store, found)

        async def write(conn: Connection) -> None:
            await save(conn, rows, found, errors, rendered)

        await ctx.commit(write)
        await store.enforce_limit()

    return provider


async def ahead(store: ImageStore, found: list[Found]) -> list[Rendered]:
    """The common variants' files (best effort), rendered before the images are recorded so
    that a finished job means browsable artwork; the caller records them."""
    rendered: list[Rendered] = []
    for _, kind, original, path, _ in found:
        for wanted in images.AHEAD.get(kind, ()):
            width = images.pick_width(wanted, original.width)
            try:
                _, size = await store.render_variant(original.image_id, path, width, "webp")
            except (ImageError, OSError) as exc:
                log.warning("variant failed", extra={"image": original.image_id,
                                                     "error": str(exc)})
                continue
            if size is not None:
                rendered.append((original.image_id, width, "webp", size))
    return rendered
