"""MetadataEnrich, item stage: providers in order for items that exist.

IndexUpsert queues ``metadata_enrich {"item_ids": [...]}`` (P3, behind all scanning work) for new
items and for items that no provider has described yet. For each item:

1. local NFO (``movie.nfo``/``<file>.nfo``, ``tvshow.nfo``, ``season.nfo``, ``<episode>.nfo``);
2. TMDB, when a key is configured (see :mod:`appliance.metadata.tmdb`) — not wired yet;
3. nothing: the parsed title/year stay, ``metadata_source`` stays NULL, and the item is tried
   again when a later scan indexes it. Never fails the scan.

Fields named in ``media_items.locked_fields`` (local edits) are never overwritten. The job then
queues ImageFetch for the same items.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

import trio

from appliance.metadata import local, nfo
from appliance.orchestration.dispatcher import JobContext
from appliance.scan import identity
from store import metadata, queue
from store.db import Connection, Record
from store.metadata import Fields, Person
from store.paths import from_db
from store.queue import NewJob, Priority

log = logging.getLogger("ferrex.metadata")


@dataclass(frozen=True)
class MetadataSettings:
    data_dir: Path
    image_cache_bytes: int = 2 << 30
    images: bool = True
    frame_grabs: bool = True


def sources_for(row: Record) -> local.LocalSources:
    """Blocking: the NFO files and artwork next to an item's files."""
    roots = [from_db(r) for r in row["roots"]]
    kind = row["kind"]
    if kind == "movie" and row["file_path"]:
        return local.for_movie(Path(from_db(row["file_path"])), roots)
    if kind == "episode" and row["file_path"]:
        return local.for_episode(Path(from_db(row["file_path"])))
    if kind == "series" and row["grandchild_file_path"]:
        return local.for_series(local.series_folder(Path(from_db(row["grandchild_file_path"])),
                                                    roots))
    if kind == "season" and row["child_file_path"]:
        episode = Path(from_db(row["child_file_path"]))
        series = local.series_folder(episode, roots)
        return local.for_season(series, episode.parent, row["season_number"] or 0)
    return local.LocalSources()


def fields_from_nfo(found: nfo.Nfo, kind: str) -> Fields:
    f = Fields(external_ids=dict(found.ids))
    if found.url_only:
        return f
    f.title = found.title
    f.original_title = found.original_title
    if kind in ("movie", "series"):
        sort_source = found.sort_title or found.title
        f.sort_title = identity.sort_title(sort_source) if sort_source else None
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


def _describe(row: Record) -> tuple[Fields, str | None, str | None]:
    """Blocking: provider chain for one item -> (fields, source, error)."""
    try:
        found = read_nfo(sources_for(row).nfo)
    except Exception as exc:  # a provider's bug must not fail the whole batch
        log.exception("NFO provider failed", extra={"item": str(row["id"])})
        return Fields(), None, f"nfo: {type(exc).__name__}: {exc}"
    if found is None:
        return Fields(), None, None
    fields = fields_from_nfo(found, row["kind"])
    # A URL-only NFO gives ids; the item counts as described once a provider fills fields
    return fields, (None if found.url_only else "nfo"), None


async def describe(rows: list[Record]) -> list[tuple[uuid.UUID, Fields, str | None, str | None,
                                                     list[str]]]:
    def work() -> list[tuple[uuid.UUID, Fields, str | None, str | None, list[str]]]:
        return [(r["id"], *_describe(r), list(r["locked_fields"] or [])) for r in rows]

    return await trio.to_thread.run_sync(work)


async def handle_items(ctx: JobContext, settings: MetadataSettings) -> None:
    job = ctx.job
    ids = [uuid.UUID(i) for i in job.payload["item_ids"]]
    rows = await metadata.items_for_metadata(ctx.db, ids)
    results = await describe(rows)

    async def write(conn: Connection) -> None:
        for item_id, fields, source, error, locked in results:
            await metadata.apply(conn, item_id, fields, source, error, locked)
        if settings.images and rows:
            await queue.enqueue(conn, [NewJob(
                "image_fetch", job.library_id, {"item_ids": [str(r["id"]) for r in rows]},
                Priority.P3, scan_id=job.scan_id,
            )])

    await ctx.commit(write)


def enrich_jobs(library_id: uuid.UUID | None, item_ids: list[uuid.UUID],
                scan_id: uuid.UUID | None, batch: int = 50,
                priority: Priority = Priority.P3) -> list[NewJob]:
    return [NewJob("metadata_enrich", library_id,
                   {"item_ids": [str(i) for i in item_ids[n:n + batch]]}, priority,
                   scan_id=scan_id)
            for n in range(0, len(item_ids), batch)]

