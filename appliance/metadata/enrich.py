"""MetadataEnrich, item stage: providers in order for items that exist.

IndexUpsert queues ``metadata_enrich {"item_ids": [...]}`` (P3, behind all scanning work) for new
items and for items that no provider has described yet. For each item:

1. local NFO (``movie.nfo``/``<file>.nfo``, ``tvshow.nfo``, ``season.nfo``, ``<episode>.nfo``);
2. TMDB, when a key is configured (see :mod:`appliance.metadata.tmdb`): fills what the NFO
   left empty (an NFO value wins); seasons and episodes come from ``tv/{id}/season/{n}``;
3. nothing: the parsed title/year stay, ``metadata_source`` stays NULL, and the item is tried
   again when a later scan indexes it. Never fails the scan.

Fields named in ``media_items.locked_fields`` (local edits) are never overwritten. The job then
queues ImageFetch for the same items.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

import httpx
import msgspec
import trio

from appliance import titles
from appliance.config import Config
from appliance.metadata import local, nfo, tmdb
from appliance.metadata.tmdb import TmdbClient, TmdbError, TmdbSettings
from appliance.orchestration.dispatcher import JobContext
from store import metadata, queue
from store.db import Connection, Database
from store.metadata import Fields, ItemForMetadata, Person
from store.paths import from_db
from store.queue import NewJob, Priority

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetadataSettings:
    data_dir: Path
    image_cache_bytes: int = 2 << 30
    images: bool = True
    frame_grabs: bool = True
    tmdb: TmdbSettings | None = None


def settings_from_config(config: Config, data_dir: Path) -> MetadataSettings:
    meta = config.metadata
    tmdb = None
    if meta.tmdb_api_key:
        tmdb = TmdbSettings(
            api_key=meta.tmdb_api_key,
            base_url=meta.tmdb_base_url,
            language=meta.language,
            region=meta.region,
            timeout_seconds=meta.tmdb_timeout_seconds,
            cache_days=meta.cache_days,
        )
    return MetadataSettings(
        data_dir=data_dir,
        image_cache_bytes=meta.image_cache_mb << 20,
        frame_grabs=meta.frame_grabs,
        tmdb=tmdb,
    )


def sources_for(row: ItemForMetadata) -> local.LocalSources:
    """Blocking: the NFO files and artwork next to an item's files."""
    roots = [from_db(r) for r in row.roots]
    kind = row.kind
    if kind == "movie" and row.file_path:
        return local.for_movie(Path(from_db(row.file_path)), roots)
    if kind == "episode" and row.file_path:
        return local.for_episode(Path(from_db(row.file_path)))
    if kind == "series" and row.grandchild_file_path:
        return local.for_series(local.series_folder(Path(from_db(row.grandchild_file_path)), roots))
    if kind == "season" and row.child_file_path:
        episode = Path(from_db(row.child_file_path))
        series = local.series_folder(episode, roots)
        return local.for_season(series, episode.parent, row.season_number or 0)
    return local.LocalSources()


def fields_from_nfo(found: nfo.Nfo, kind: str) -> Fields:
    f = Fields(external_ids=dict(found.ids))
    if found.url_only:
        return f
    f.title = found.title
    f.original_title = found.original_title
    if kind in ("movie", "series"):
        sort_source = found.sort_title or found.title
        f.sort_title = titles.sort_title(sort_source) if sort_source else None
    f.year = found.year
    f.overview = found.plot
    f.tagline = found.tagline
    f.genres = found.genres
    f.studios = found.studios
    f.rating = found.rating
    f.ratings = {("nfo" if k == "default" else k): v for k, v in found.ratings.items()}
    f.mpaa = found.mpaa
    f.runtime_minutes = found.runtime_minutes
    f.release_date = found.premiered
    f.collection = found.collection
    f.people = [Person(a.name, "actor", a.role, a.thumb) for a in found.actors]
    f.people += [Person(d, "director") for d in found.directors]
    return f


def read_nfo(paths: list[Path]) -> nfo.Nfo | None:
    """Blocking: the first NFO that says something; a URL-only one if that is all there is."""
    url_only: nfo.Nfo | None = None
    for path in paths:
        found = nfo.read(path)
        if found is None:
            continue
        if not found.url_only:
            if url_only is not None:
                for k, v in url_only.ids.items():
                    found.ids.setdefault(k, v)
            return found
        url_only = url_only or found
    return url_only


@dataclass
class Result:
    item_id: uuid.UUID
    fields: Fields
    source: str | None
    error: str | None
    locked: list[str]
    images: dict[str, str] = dataclass_field(default_factory=dict)  # kind -> remote URL
    local_art: bool = False
    """Artwork lies next to the item's files (ImageFetch has something to read)."""


def _local(row: ItemForMetadata) -> Result:
    """Blocking: the NFO provider for one item, and whether local artwork lies there."""
    result = Result(row.id, Fields(), None, None, list(row.locked_fields or []))
    try:
        sources = sources_for(row)
        result.local_art = bool(sources.art)
        found = read_nfo(sources.nfo)
    except Exception as exc:  # a provider's bug must not fail the whole batch
        log.exception("NFO provider failed", extra={"item": str(row.id)})
        result.error = f"nfo: {type(exc).__name__}: {exc}"
        return result
    if found is not None:
        result.fields = fields_from_nfo(found, row.kind)
        # A URL-only NFO gives ids; the item counts as described once a provider fills fields
        result.source = None if found.url_only else "nfo"
    return result


def merge(first: Fields, second: Fields) -> Fields:
    """``first`` wins wherever it has a value (local files before TMDB)."""
    merged = Fields()
    for name in vars(merged):
        a, b = getattr(first, name), getattr(second, name)
        if name in ("ratings", "external_ids"):
            setattr(merged, name, {**b, **a})
        else:
            setattr(merged, name, a if a not in (None, [], {}) else b)
    return merged


def _ids(text: str | None) -> dict[str, Any]:
    return msgspec.json.decode(text) if text else {}


async def _tmdb_id(client: TmdbClient, row: ItemForMetadata, local_fields: Fields) -> int | None:
    kind = "movie" if row.kind == "movie" else "tv"
    identified = _ids(row.identified)
    if identified.get("provider") == "tmdb" and identified.get("id"):
        return int(identified["id"])
    ids = {**_ids(row.external_ids), **local_fields.external_ids}
    if str(ids.get("tmdb", "")).isdigit():
        return int(ids["tmdb"])
    if ids.get("imdb"):
        found = await client.find_imdb(str(ids["imdb"]), kind)
        if found is not None:
            return found
    title = local_fields.title or row.title
    year = local_fields.year or row.year
    matches = await client.search(kind, title, year)
    if matches and matches[0].score >= tmdb.MATCH_THRESHOLD:
        return matches[0].tmdb_id
    return None


async def _remote(
    client: TmdbClient, row: ItemForMetadata, local_fields: Fields, series_ids: dict[uuid.UUID, int]
) -> tmdb.Described | None:
    base = await client.image_base()
    kind = row.kind
    if kind in ("movie", "series"):
        tmdb_id = await _tmdb_id(client, row, local_fields)
        if tmdb_id is None:
            return None
        details = await client.details("movie" if kind == "movie" else "tv", tmdb_id)
        if details is None:
            return None
        described = tmdb.fields_from_details(
            details, "movie" if kind == "movie" else "tv", client.settings.region, base
        )
        if kind == "series":
            series_ids[row.id] = tmdb_id
        return described
    # seasons and episodes: through their series' TMDB id (this batch or stored earlier)
    owner = row.parent_id if kind == "season" else row.grandparent_id
    stored = _ids(row.parent_ids if kind == "season" else row.grandparent_ids)
    series_id = (series_ids.get(owner) if owner is not None else None) or (
        int(stored["tmdb"]) if str(stored.get("tmdb", "")).isdigit() else None
    )
    if series_id is None or row.season_number is None:
        return None
    season = await client.season(series_id, row.season_number)
    if season is None:
        return None
    if kind == "season":
        return tmdb.fields_from_season(season, base)
    return tmdb.fields_from_episode(season, list(row.episode_numbers or []), base)


async def describe(
    rows: list[ItemForMetadata],
    settings: MetadataSettings | None = None,
    db: Database | None = None,
) -> list[Result]:
    def local_all() -> list[Result]:
        return [_local(r) for r in rows]

    results = await trio.to_thread.run_sync(local_all)
    if settings is None or settings.tmdb is None or db is None or not rows:
        return results
    by_id = {r.item_id: r for r in results}
    series_ids: dict[uuid.UUID, int] = {}
    limiter = trio.CapacityLimiter(settings.tmdb.concurrency)
    async with TmdbClient.open_http(settings.tmdb) as http:
        client = TmdbClient(db, http, settings.tmdb)

        async def one(row: ItemForMetadata) -> None:
            result = by_id[row.id]
            async with limiter:
                try:
                    remote = await _remote(client, row, result.fields, series_ids)
                except (httpx.HTTPError, TmdbError) as exc:
                    # retried on a later scan; what the NFO said stays
                    result.error = f"tmdb: {exc}"[:500]
                    log.warning("tmdb failed", extra={"item": str(row.id), "error": str(exc)})
                    return
            if remote is None:
                return
            result.fields = merge(result.fields, remote.fields)
            if remote.tmdb_id is not None:  # the id actually used (an identify choice wins)
                result.fields.external_ids["tmdb"] = str(remote.tmdb_id)
            result.source = "nfo+tmdb" if result.source == "nfo" else "tmdb"
            result.images = remote.images

        # series first: their seasons and episodes need the series' TMDB id
        for stage in (("series",), ("season",), ("movie", "episode")):
            async with trio.open_nursery() as nursery:
                for row in rows:
                    if row.kind in stage:
                        nursery.start_soon(one, row)
    return results


def with_images(
    rows: list[ItemForMetadata], results: list[Result], settings: MetadataSettings, frames: bool
) -> list[str]:
    """The items ImageFetch has work for: local art, remote URLs, or (analysis on, frame grabs
    on) an episode whose thumbnail may be grabbed from its video, or a film whose poster may be
    made from it. An ImageFetch job for items with none of these would cost a claim and a
    commit for nothing."""
    by_id = {r.item_id: r for r in results}
    return [
        str(row.id)
        for row in rows
        if by_id[row.id].local_art
        or by_id[row.id].images
        or (frames and settings.frame_grabs and row.kind in ("episode", "movie"))
    ]


async def handle_items(ctx: JobContext, settings: MetadataSettings, frames: bool = False) -> None:
    job = ctx.job
    ids = [uuid.UUID(i) for i in job.payload["item_ids"]]
    rows = await metadata.items_for_metadata(ctx.db, ids)
    results = await describe(rows, settings, ctx.db)
    wanted = with_images(rows, results, settings, frames) if settings.images else []

    async def write(conn: Connection) -> None:
        await metadata.apply_many(
            conn, [(r.item_id, r.fields, r.source, r.error, r.locked) for r in results]
        )
        if wanted:
            remote = {str(r.item_id): r.images for r in results if r.images}
            await queue.enqueue(
                conn,
                [
                    NewJob(
                        "image_fetch",
                        job.library_id,
                        {"item_ids": wanted, "remote": remote},
                        Priority.P3,
                        scan_id=job.scan_id,
                    )
                ],
            )

    await ctx.commit(write)


def enrich_jobs(
    library_id: uuid.UUID | None,
    item_ids: list[uuid.UUID],
    scan_id: uuid.UUID | None,
    batch: int = 500,
    priority: Priority = Priority.P3,
) -> list[NewJob]:
    return [
        NewJob(
            "metadata_enrich",
            library_id,
            {"item_ids": [str(i) for i in item_ids[n : n + batch]]},
            priority,
            scan_id=scan_id,
        )
        for n in range(0, len(item_ids), batch)
    ]
