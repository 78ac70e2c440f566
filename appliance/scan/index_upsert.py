"""Turning parsed files into items, set-based, a batch at a time (FolderScan's item step).

Movies: every version and part of a film (``- 1080p``, ``-cd2``) becomes one movie item.
Series: series → seasons → episodes, created top-down so each level knows its parent's id.
Extras attach to the item they belong to and never become items themselves.
Items are found again by identity (see :mod:`appliance.scan.identity`), never duplicated.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec

from appliance.scan import identity
from store import media_index
from store.db import Connection
from store.media_index import ItemRow


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


@dataclass
class Resolved:
    """Items for a batch of parsed files: ``item_of[i]`` is the item file ``i`` belongs to."""

    item_of: list[uuid.UUID | None]
    created: list[uuid.UUID]
    touched: list[uuid.UUID]
    parents: dict[int, tuple[uuid.UUID, uuid.UUID]] = field(default_factory=dict)
    """File ``i``'s season and series, for episodes: whose NFO and art lie in its folder and
    the one above (FolderScan asks the local providers only for items next to sidecars)."""


def _sorted(rows: dict[str, ItemRow]) -> list[ItemRow]:
    # One lock order for every writer: two jobs upserting overlapping shows never deadlock.
    return [rows[key] for key in sorted(rows)]


@dataclass(slots=True)
class _Episode:
    series_key: str
    season: int
    episodes: tuple[int, ...]
    air_date: str | None
    label: str
    sort_title: str


@dataclass
class Plan:
    """Everything about a batch's items that does not need the database: identity keys,
    titles, sort titles. Built before the write transaction (outside the sync feed's ordering
    lock, which serialises writers), so the transaction only runs statements."""

    series: dict[str, ItemRow]
    movies: dict[str, ItemRow]
    files: list[tuple[str, str] | _Episode | None]
    """Per file: ("movie", key), ("extra", owner key), an episode, or None (no item)."""


def plan(library_kind: str, parsed: list[dict[str, Any] | None]) -> Plan:
    series: dict[str, ItemRow] = {}
    movies: dict[str, ItemRow] = {}
    files: list[tuple[str, str] | _Episode | None] = []
    keys: dict[tuple[str, int | None], str] = {}  # a show's episodes share one normalisation
    for p in parsed:
        kind = p["kind"] if p else None
        if p is None or kind not in ("movie", "episode", "extra"):
            files.append(None)
        elif kind == "extra":
            files.append(("extra", _owner_key(p, library_kind)))
        elif kind == "movie":
            key = identity.movie_key(_title(p), p.get("year"), p.get("ids"))
            if key not in movies:
                movies[key] = ItemRow(
                    "movie",
                    None,
                    key,
                    _title(p),
                    identity.sort_title(_title(p)),
                    p.get("year"),
                    edition=p.get("edition"),
                    ids=p.get("ids"),
                )
            files.append(("movie", key))
        else:
            title, year, ids = _title(p), p.get("year"), p.get("ids")
            if ids:
                key = identity.series_key(title, year, ids)
            else:
                key = keys.get((title, year)) or keys.setdefault(
                    (title, year), identity.series_key(title, year, None)
                )
            if key not in series:
                series[key] = ItemRow(
                    "series", None, key, title, identity.sort_title(title), year, ids=ids
                )
            episodes = tuple(p.get("episodes") or ())
            air_date = p.get("air_date")
            files.append(
                _Episode(
                    key,
                    _season_of(p),
                    episodes,
                    air_date,
                    f"Episode {episodes[0]}" if episodes else air_date or "Episode",
                    f"{episodes[0] if episodes else 0:05d}",
                )
            )
    return Plan(series, movies, files)


async def resolve(
    conn: Connection,
    library_id: uuid.UUID,
    library_kind: str,
    parsed: list[dict[str, Any] | None] | Plan,
    tried: bool = False,
) -> Resolved:
    """Create/revive the items of a batch of parsed files (series → seasons → episodes
    top-down, movies, extras' owners) in a handful of statements; nothing is linked here.
    ``tried``: see :func:`store.media_index.upsert_items`."""
    batch = parsed if isinstance(parsed, Plan) else plan(library_kind, parsed)
    ids = await media_index.upsert_items(conn, library_id, _sorted(batch.series), tried)

    seasons: dict[str, ItemRow] = {}
    season_of: dict[tuple[str, int], uuid.UUID] = {}
    for f in batch.files:
        if isinstance(f, _Episode) and (f.series_key, f.season) not in season_of:
            series_id = ids[f.series_key][0]
            key = identity.season_key(series_id, f.season)
            season_of[(f.series_key, f.season)] = series_id
            if key not in seasons:
                name = "Specials" if f.season == 0 else f"Season {f.season}"
                seasons[key] = ItemRow(
                    "season", series_id, key, name, f"{f.season:04d}", season=f.season
                )
    ids |= await media_index.upsert_items(conn, library_id, _sorted(seasons), tried)

    leaves = dict(batch.movies)
    leaf_of: dict[int, str] = {}
    parents: dict[int, tuple[uuid.UUID, uuid.UUID]] = {}
    extras: dict[int, str] = {}
    for index, f in enumerate(batch.files):
        if f is None:
            continue
        if isinstance(f, _Episode):
            season_id = ids[identity.season_key(season_of[(f.series_key, f.season)], f.season)][0]
            key = identity.episode_key(season_id, list(f.episodes), f.air_date)
            parents[index] = (season_id, season_of[(f.series_key, f.season)])
            if key not in leaves:
                leaves[key] = ItemRow(
                    "episode",
                    season_id,
                    key,
                    f.label,
                    f.sort_title,
                    season=f.season,
                    episodes=f.episodes,
                    air_date=_date(f.air_date),
                )
            leaf_of[index] = key
        elif f[0] == "movie":
            leaf_of[index] = f[1]
        else:
            extras[index] = f[1]
    ids |= await media_index.upsert_items(conn, library_id, _sorted(leaves), tried)

    item_of: list[uuid.UUID | None] = [None] * len(batch.files)
    for index, key in leaf_of.items():
        item_of[index] = ids[key][0]
    if extras:
        owners = await media_index.item_ids(conn, library_id, list(set(extras.values())))
        for index, key in extras.items():
            item_of[index] = owners.get(key)
    return Resolved(
        item_of,
        [item_id for item_id, inserted in ids.values() if inserted],
        [item_id for item_id, _ in ids.values()],
        parents,
    )


async def link_waiting_extras(conn: Connection, library_id: uuid.UUID, library_kind: str) -> None:
    """Extras indexed before the film or show they belong to existed get their owner now."""
    waiting = await media_index.unlinked_extras(conn, library_id)
    if not waiting:
        return
    wanted = {r["id"]: _owner_key(msgspec.json.decode(r["parsed"]), library_kind) for r in waiting}
    owners = await media_index.item_ids(conn, library_id, list(set(wanted.values())))
    await media_index.link_files(
        conn, [(file_id, owners[key]) for file_id, key in wanted.items() if key in owners]
    )


def _owner_key(parsed: dict[str, Any], library_kind: str) -> str:
    if library_kind == "series":
        return identity.series_key(_title(parsed), parsed.get("year"), parsed.get("ids"))
    return identity.movie_key(_title(parsed), parsed.get("year"), parsed.get("ids"))
