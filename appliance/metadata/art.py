"""ImageFetch provider: local artwork, a frame grab for episodes without a thumbnail, and a
poster made from a representative frame for films with none (:mod:`.frame_poster`).

Each image is inspected (format, size, dominant colour) and recorded content-addressed; local
files are referenced where they lie. The common variants (poster w342, backdrop w780, thumb w300)
are rendered ahead of time so the first browse does not wait. A corrupt or unreadable image is
recorded in ``image_errors`` and skipped; it never fails the job.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import trio

from appliance.metadata import frame_poster, images
from appliance.metadata.enrich import MetadataSettings, sources_for
from appliance.metadata.images import ImageError, ImageStore, Original
from appliance.metadata.providers import ImageProvider
from appliance.orchestration.dispatcher import JobContext
from store import frame_grabs, metadata
from store.db import Connection
from store.metadata import ItemForMetadata
from store.paths import from_db

log = logging.getLogger(__name__)

PRIMARY = {"movie": "poster", "series": "poster", "season": "poster", "episode": "thumb"}
FRAME_AT = 0.30


async def grab_frame(path: Path, duration_s: float) -> bytes | None:
    """A JPEG frame at 30% of the duration (ffmpeg), or None when ffmpeg cannot make one."""
    return await grab_at(path, duration_s * FRAME_AT)


async def grab_at(path: Path, at: float) -> bytes | None:
    """A JPEG frame at ``at`` seconds (ffmpeg), or None when ffmpeg cannot make one."""
    at = max(0.0, at)
    cmd = [
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        "-ss",
        f"{at:.3f}",
        "-i",
        str(path),
        "-frames:v",
        "1",
        "-vf",
        "scale='min(1280,iw)':-2",
        "-f",
        "image2",
        "-c:v",
        "mjpeg",
        "-q:v",
        "3",
        "pipe:1",
    ]
    try:
        with trio.fail_after(60):
            done = await trio.run_process(
                cmd, capture_stdout=True, capture_stderr=True, check=False
            )
    except (OSError, trio.TooSlowError) as exc:
        log.warning("frame grab failed", extra={"path": str(path), "error": str(exc)})
        return None
    if done.returncode != 0 or not done.stdout:
        return None
    out: bytes = done.stdout
    return out


@dataclass(frozen=True)
class Found:
    item_id: uuid.UUID
    kind: str
    original: Original
    path: str | None  # a local file read where it lies
    source: str  # local, tmdb, frame
    url: str | None = None


Rendered = tuple[str, int, str, int]  # image id, width, format, bytes
MAX_DOWNLOAD_BYTES = 20 << 20


async def download(http: httpx.AsyncClient, url: str, attempts: int = 3) -> bytes:
    for attempt in range(1, attempts + 1):
        try:
            response = await http.get(url)
        except httpx.TransportError:
            if attempt == attempts:
                raise
            await trio.sleep(0.5 * 2 ** (attempt - 1))
            continue
        if response.status_code == 200:
            if len(response.content) > MAX_DOWNLOAD_BYTES:
                raise ImageError("image larger than 20 MiB")
            return response.content
        if (response.status_code == 429 or response.status_code >= 500) and attempt < attempts:
            await trio.sleep(
                min(float(response.headers.get("Retry-After", "0") or 0), 10.0)
                + 0.5 * 2 ** (attempt - 1)
            )
            continue
        response.raise_for_status()
    raise ImageError(f"cannot download {url}")


async def collect(
    store: ImageStore,
    rows: Sequence[ItemForMetadata],
    settings: MetadataSettings,
    remote: Mapping[uuid.UUID, Mapping[str, str]] | None = None,
    has_thumb: Collection[uuid.UUID] = (),
    has_poster: Collection[uuid.UUID] = (),
) -> tuple[list[Found], list[tuple[str, str]]]:
    """Images for ``rows``: local art first, then ``remote`` URLs (TMDB) for kinds with no
    local file, then a frame grab for episodes with neither and none recorded (``has_thumb``:
    an earlier grab, or the one analysis chained), and a poster made from a representative
    frame for films with no poster from anywhere (``has_poster``: one recorded already, of
    any source; see :mod:`appliance.metadata.frame_poster`). Writes nothing to the
    database."""
    found: list[Found] = []
    errors: list[tuple[str, str]] = []
    remote = remote or {}
    http: httpx.AsyncClient | None = None
    try:
        for row in rows:
            sources = await trio.to_thread.run_sync(sources_for, row)
            for kind, path in sources.art.items():
                try:
                    original, _ = await store.inspect_file(path)
                except (ImageError, OSError) as exc:
                    log.warning("image unreadable", extra={"path": str(path), "error": str(exc)})
                    errors.append((str(path), str(exc)))
                    continue
                found.append(Found(row.id, kind, original, str(path), "local"))
            have = {f.kind for f in found if f.item_id == row.id}
            for kind, url in remote.get(row.id, {}).items():
                if kind in have:
                    continue  # local art wins
                if http is None:
                    http = httpx.AsyncClient(timeout=20.0, follow_redirects=True)
                try:
                    original = await store.keep_bytes(await download(http, url))
                except (ImageError, httpx.HTTPError) as exc:
                    log.warning("image download failed", extra={"url": url, "error": str(exc)})
                    errors.append((url, str(exc)))
                    continue
                found.append(Found(row.id, kind, original, None, "tmdb", url))
                have.add(kind)
            # the duration comes from MediaAnalyze; without it no frame is grabbed, not even
            # tried (a spawn per file that is not a readable video would slow big scans down):
            # the analysis that records it queues this episode's grab (scan/frame_chain.py)
            if (
                row.kind == "episode"
                and "thumb" not in have
                and settings.frame_grabs
                and row.file_path
                and row.duration_s
                and row.id not in has_thumb
            ):
                frame = await grab_frame(Path(from_db(row.file_path)), row.duration_s)
                if frame is not None:
                    try:
                        found.append(
                            Found(row.id, "thumb", await store.keep_bytes(frame), None, "frame")
                        )
                    except ImageError as exc:
                        errors.append((from_db(row.file_path), f"frame: {exc}"))
            if (
                row.kind == "movie"
                and "poster" not in have
                and settings.frame_grabs
                and row.file_path
                and row.duration_s
                and row.id not in has_poster
            ):
                poster = await frame_poster.make(Path(from_db(row.file_path)), row.duration_s)
                if poster is not None:
                    try:
                        found.append(
                            Found(row.id, "poster", await store.keep_bytes(poster), None, "frame")
                        )
                    except ImageError as exc:
                        errors.append((from_db(row.file_path), f"frame poster: {exc}"))
    finally:
        if http is not None:
            await http.aclose()
    return found, errors


async def save(
    conn: Connection,
    rows: Sequence[ItemForMetadata],
    found: list[Found],
    errors: list[tuple[str, str]],
    rendered: Sequence[Rendered] = (),
) -> None:
    """One statement per table for the whole batch (not per image: each UPDATE of media_items
    runs its statement triggers, the sync feed's among them); generated images one by one,
    since each may lose to art that came meanwhile."""
    kinds = {r.id: r.kind for r in rows}
    await metadata.save_images(
        conn,
        [
            metadata.ImageRow(
                f.original.image_id,
                f.path,
                f.url,
                f.original.width,
                f.original.height,
                f.original.format,
                f.original.color,
                f.original.blurhash,
            )
            for f in found
        ],
    )
    placeholders: dict[uuid.UUID, dict[str, object]] = {}
    chosen: list[tuple[uuid.UUID, str, str, str]] = []
    for f in found:
        o = f.original
        if f.source == "frame":
            # generated: never over a poster or thumbnail from elsewhere that came meanwhile
            if not await frame_grabs.set_generated(conn, f.item_id, f.kind, o.image_id):
                continue
        else:
            chosen.append((f.item_id, f.kind, o.image_id, f.source))
        if PRIMARY.get(kinds[f.item_id]) == f.kind:
            placeholders[f.item_id] = {
                "color": o.color,
                "blurhash": o.blurhash,
                "image_id": o.image_id,
                "aspect": round(o.width / o.height, 4),
            }
    await metadata.set_item_images(conn, chosen)
    await metadata.set_placeholders(conn, placeholders)
    await metadata.record_image_errors(conn, errors)
    await metadata.add_variants(conn, list(rendered))


def make_provider(settings: MetadataSettings) -> ImageProvider:
    async def provider(ctx: JobContext, item_ids: Sequence[str]) -> None:
        store = images.store_for(ctx.db, settings.data_dir, settings.image_cache_bytes)
        rows = await metadata.items_for_metadata(ctx.db, [uuid.UUID(i) for i in item_ids])
        remote = {uuid.UUID(k): v for k, v in (ctx.job.payload.get("remote") or {}).items()}
        has_thumb = await frame_grabs.with_thumb(
            ctx.db, [r.id for r in rows if r.kind == "episode"]
        )
        has_poster = await frame_grabs.with_poster(
            ctx.db, [r.id for r in rows if r.kind == "movie"]
        )
        found, errors = await collect(store, rows, settings, remote, has_thumb, has_poster)

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
    for f in found:
        original, path = f.original, f.path
        for wanted in images.AHEAD.get(f.kind, ()):
            width = images.pick_width(wanted, original.width)
            try:
                _, size = await store.render_variant(original.image_id, path, width, "webp")
            except (ImageError, OSError) as exc:
                log.warning("variant failed", extra={"image": original.image_id, "error": str(exc)})
                continue
            if size is not None:
                rendered.append((original.image_id, width, "webp", size))
    return rendered
