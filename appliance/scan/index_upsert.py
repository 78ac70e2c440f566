"""IndexUpsert: turn parsed files into items, set-based, one batch per job.

Movies: every version and part of a film (``- 1080p``, ``-cd2``) becomes one movie item.
Series: series → seasons → episodes, created top-down so each level knows its parent's id.
Extras attach to the item they belong to and never become items themselves.
Items are found again by identity (see :mod:`appliance.scan.identity`), never duplicated.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from appliance.metadata.enrich import enrich_jobs
from appliance.orchestration.dispatcher import JobContext
from appliance.scan import identity
from store import media_index, queue
from store import metadata as store_metadata
from store.db import Connection
from store.media_index import ItemRow
from store.queue import NewJob, Priority


def _title(parsed: dict[str, Any]) -> str:
    return parsed.get("title") or "Unknown"


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _season_of(parsed: dict[str, Any]) -> int:
    if parsed.get("season") is not None:
        return int(parsed["season"])
    air = _date(parsed.get("air_date"))
    return air.year if air else 1  # date-based shows: a season per year, like Jellyfin


async def handle(ctx: JobContext, *, images: bool = True, metadata: bool = False) -> None:
    job = ctx.job
    assert job.library_id is not None
    library_id = job.library_id
    rows = await media_index.files_by_id(ctx.db, [uuid.UUID(i) for i in job.payload["file_ids"]])
    files = [(r["id"], msgspec.json.decode(r["parsed"]) if r["parsed"] else None) for r in rows]
    kind = rows[0]["library_kind"] if rows else "movies"

    async def write(conn: Connection) -> None:
        touched: list[uuid.UUID] = []
        new_items = await upsert(conn, library_id, kind, files, touched=touched)
        if metadata:
            # providers for new items and for those nothing described yet (retried each scan);
            # ImageFetch follows the metadata stage
            pending = await store_metadata.needing_metadata(conn, touched)
            await queue.enqueue(conn, enrich_jobs(library_id, pending, job.scan_id))
        elif new_items and images:
            await queue.enqueue(conn, [NewJob(
                "image_fetch", library_id, {"item_ids": [str(i) for i in new_items]},
                Priority.P3, scan_id=job.scan_id,
            )])

    await ctx.commit(write)


async def upsert(
    conn: Connection, library_id: uuid.UUID, library_kind: str,
    files: list[tuple[uuid.UUID, dict[str, Any] | None]],
    touched: list[uuid.UUID] | None = None,
) -> list[uuid.UUID]:
    """Create/revive items for ``files`` and link them; returns the ids of new items
    (and appends every item upserted to ``touched``)."""
    series: dict[str, ItemRow] = {}
    for _, p in files:
        if p and p["kind"] == "episode":
            key = identity.series_key(_title(p), p.get("year"), p.get("ids"))
            series.setdefault(key, ItemRow("series", None, key, _title(p),
                                           identity.sort_title(_title(p)), p.get("year"),
                                           ids=p.get("ids")))
    ids = await media_index.upsert_items(conn, library_id, list(series.values()))

    seasons: dict[str, ItemRow] = {}
    for _, p in files:
        if p and p["kind"] == "episode":
            series_id = ids[identity.series_key(_title(p), p.get("year"), p.get("ids"))][0]
            number = _season_of(p)
            key = identity.season_key(series_id, number)
            name = "Specials" if number == 0 else f"Season {number}"
            seasons.setdefault(key, ItemRow("season", series_id, key, name,
                                            f"{number:04d}", season=number))
    ids |= await media_index.upsert_items(conn, library_id, list(seasons.values()))

    leaves: dict[str, ItemRow] = {}
    leaf_of: dict[uuid.UUID, str] = {}
    for file_id, p in files:
        if not p:
            continue
        if p["kind"] == "movie":
            key = identity.movie_key(_title(p), p.get("year"), p.get("ids"))
            leaves.setdefault(key, ItemRow("movie", None, key, _title(p),
                                           identity.sort_title(_title(p)), p.get("year"),
                                           edition=p.get("edition"), ids=p.get("ids")))
            leaf_of[file_id] = key
        elif p["kind"] == "episode":
            series_id = ids[identity.series_key(_title(p), p.get("year"), p.get("ids"))][0]
            season_id = ids[identity.season_key(series_id, _season_of(p))][0]
            episodes = list(p.get("episodes") or [])
            key = identity.episode_key(season_id, episodes, p.get("air_date"))
            label = (f"Episode {episodes[0]}" if episodes else p.get("air_date") or "Episode")
            leaves.setdefault(key, ItemRow(
                "episode", season_id, key, label, f"{episodes[0] if episodes else 0:05d}",
                season=_season_of(p), episodes=tuple(episodes), air_date=_date(p.get("air_date")),
            ))
            leaf_of[file_id] = key
    ids |= await media_index.upsert_items(conn, library_id, list(leaves.values()))

    links = [(file_id, ids[key][0]) for file_id, key in leaf_of.items()]
    extras = [(file_id, p) for file_id, p in files if p and p["kind"] == "extra"]
    if extras:
        wanted = {file_id: _owner_key(p, library_kind) for file_id, p in extras}
        owners = await media_index.item_ids(conn, library_id, list(set(wanted.values())))
        links += [(file_id, owners[key]) for file_id, key in wanted.items() if key in owners]
    await media_index.link_files(conn, links)
    created = [item_id for item_id, inserted in ids.values() if inserted]
    if touched is not None:
        touched.extend(item_id for item_id, _ in ids.values())
    if created:
        await _link_waiting_extras(conn, library_id, library_kind)
    return created


async def _link_waiting_extras(conn: Connection, library_id: uuid.UUID, library_kind: str) -> None:
    """Extras indexed before the film or show they belong to existed get their owner now."""
    waiting = await media_index.unlinked_extras(conn, library_id)
    if not waiting:
        return
    wanted = {r["id"]: _owner_key(msgspec.json.decode(r["parsed"]), library_kind)
              for r in waiting}
    owners = await media_index.item_ids(conn, library_id, list(set(wanted.values())))
    await media_index.link_files(
        conn, [(file_id, owners[key]) for file_id, key in wanted.items() if key in owners])


def _owner_key(parsed: dict[str, Any], library_kind: str) -> str:
    if library_kind == "series":
        return identity.series_key(_title(parsed), parsed.get("year"), parsed.get("ids"))
    return identity.movie_key(_title(parsed), parsed.get("year"), parsed.get("ids"))
