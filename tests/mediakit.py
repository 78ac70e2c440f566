"""Seeding the media index directly (no scan) for the media API tests and the bench: a library,
items with metadata, files with media info, and the matching plain-Python rows from which the
tests compute their expectations independently of the SQL."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec

from store import libraries
from store.db import Database
from store.sql import sql

INSERT_ITEMS = sql(
    """
    INSERT INTO media_items (id, library_id, kind, parent_id, identity_key, title, sort_title,
                             original_title, year, release_date, rating, runtime_minutes, genres,
                             season_number, added_at, present)
    SELECT id, lib, kind, parent, ikey, title, stitle, otitle, year, rdate, rating, runtime,
           coalesce(string_to_array(nullif(g, ''), '|'), '{}'), season, added, present
    FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::text[],
                $7::text[], $8::text[], $9::integer[], $10::date[], $11::real[],
                $12::integer[], $13::text[], $14::integer[], $16::timestamptz[],
                $17::boolean[], $15::text[])
         AS u(id, lib, kind, parent, ikey, title, stitle, otitle, year, rdate, rating, runtime,
              g, season, added, present, unused)
    """
)
SET_EPISODES = sql(
    """
    UPDATE media_items m SET episode_numbers = ARRAY[e.n]
    FROM unnest($1::uuid[], $2::integer[]) AS e(id, n) WHERE m.id = e.id
    """
)
PG_TITLE_MATCHES = sql(
    """
    SELECT t.id FROM unnest($2::uuid[], $3::text[], $4::text[]) AS t(id, title, original_title)
    WHERE $1::text <% t.title OR $1::text <% t.original_title
       OR strpos(lower(t.title), lower($1::text)) > 0
    """
)
INSERT_FILES = sql(
    """
    INSERT INTO media_files (id, library_id, path, folder, size_bytes, mtime_ns, item_id,
                             media_info, extra_kind, present)
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::bigint[],
                         $6::bigint[], $7::uuid[], $8::jsonb[], $9::text[], $10::boolean[])
    """
)

WORDS = [
    "Heat",
    "Alien",
    "Arrival",
    "Jaws",
    "Vertigo",
    "Psycho",
    "Amadeus",
    "Rocky",
    "Fargo",
    "Gravity",
    "Inception",
    "Memento",
    "Casablanca",
    "Titanic",
    "Gladiator",
    "Braveheart",
    "Interstellar",
    "Whiplash",
    "Parasite",
    "Oldboy",
    "Drive",
    "Tenet",
    "Dune",
    "Up",
    "Coco",
    "Frozen",
    "Cars",
    "Brave",
    "Soul",
    "Luca",
]
GENRES = ["Action", "Drama", "Comedy", "Sci-Fi", "Horror", "Romance", "Thriller", "Animation"]
HEIGHTS = [480, 720, 1080, 2160]
HDRS = ["SDR", "SDR", "HDR10", "DolbyVision", "HLG"]


@dataclass
class Row:
    id: uuid.UUID
    kind: str
    title: str
    sort_title: str
    original_title: str | None
    year: int | None
    release_date: date | None
    rating: float | None
    runtime_minutes: int | None
    genres: list[str]
    added_at: datetime
    present: bool = True
    parent_id: uuid.UUID | None = None
    season_number: int | None = None
    episode: int | None = None
    height: int | None = None
    hdr: str | None = None
    file_id: uuid.UUID | None = None


@dataclass
class Catalogue:
    library_id: uuid.UUID
    rows: list[Row] = field(default_factory=list)

    def by_title(self, title: str) -> Row:
        return next(r for r in self.rows if r.title == title)


def movie_rows(n: int, seed: int = 7) -> list[Row]:
    rnd = random.Random(seed)
    base = datetime(2024, 1, 1, tzinfo=UTC)
    rows = []
    fixed = [
        ("The Matrix", "matrix, the", None),
        ("The Matrix Reloaded", "matrix reloaded", None),
        ("Amélie", "amelie", "Le Fabuleux Destin d'Amélie Poulain"),
    ]
    for i in range(n):
        if i < len(fixed):
            title, sort_title, original = fixed[i]
        else:
            word = WORDS[i % len(WORDS)]
            title = word if i < len(WORDS) else f"{word} {i // len(WORDS) + 1}"
            sort_title, original = title.lower(), None
        year = None if i % 17 == 5 else 1950 + rnd.randrange(75)
        release = (
            None
            if year is None or i % 5 == 0
            else date(year, 1 + rnd.randrange(12), 1 + rnd.randrange(28))
        )
        rows.append(
            Row(
                id=uuid.UUID(int=rnd.getrandbits(128)),
                kind="movie",
                title=title,
                sort_title=sort_title,
                original_title=original,
                year=year,
                release_date=release,
                rating=None if i % 11 == 3 else round(rnd.uniform(1, 10), 1),
                runtime_minutes=None if i % 13 == 4 else 70 + rnd.randrange(110),
                genres=sorted(rnd.sample(GENRES, rnd.randrange(4))),
                added_at=base + timedelta(minutes=rnd.randrange(10**6)),
                present=i % 29 != 7,
                height=HEIGHTS[i % 4],
                hdr=HDRS[i % 5],
                file_id=uuid.UUID(int=rnd.getrandbits(128)),
            )
        )
    return rows


async def pg_title_matches(
    db: Database, search: str, titles: Mapping[uuid.UUID, tuple[str, str | None]]
) -> set[uuid.UUID]:
    """The ids whose titles the server's fuzzy search should find, as Postgres itself decides:
    pg_trgm's ``<%`` (word similarity at its default threshold) against the title or the
    original title, or the text a case-insensitive substring of the title. The tests' oracle
    for search: Postgres, not a Python copy of the replica's own algorithm (issue #16)."""
    ids = list(titles)
    rows = await db.fetch(
        PG_TITLE_MATCHES,
        search.strip(),
        ids,
        [titles[i][0] for i in ids],
        [titles[i][1] for i in ids],
    )
    return {r["id"] for r in rows}


async def seed(
    db: Database,
    rows: list[Row],
    root: str = "/srv/media/films",
    kind: str = "movies",
    name: str = "Films",
) -> Catalogue:
    library = await libraries.create(db, name, kind, [root])
    await insert_rows(db, library.id, rows, root)
    return Catalogue(library.id, rows)


async def insert_rows(db: Database, library_id: uuid.UUID, rows: list[Row], root: str) -> None:
    cols: list[list[Any]] = [[] for _ in range(17)]
    for r in rows:
        for col, value in zip(
            cols,
            (
                r.id,
                library_id,
                r.kind,
                r.parent_id,
                f"{r.kind}:{r.id}",
                r.title,
                r.sort_title,
                r.original_title,
                r.year,
                r.release_date,
                r.rating,
                r.runtime_minutes,
                "|".join(r.genres),
                r.season_number,
                None,
                r.added_at,
                r.present,
            ),
            strict=True,
        ):
            col.append(value)
    await db.execute(INSERT_ITEMS, *cols)
    episodes = [(r.id, r.episode) for r in rows if r.episode is not None]
    if episodes:
        await db.execute(SET_EPISODES, [e[0] for e in episodes], [e[1] for e in episodes])
    files = [r for r in rows if r.file_id is not None]
    info = [
        msgspec.json.encode(
            {
                "container": "matroska,webm",
                "duration_s": 60.0,
                "video": {"codec": "hevc", "height": r.height, "hdr": r.hdr},
            }
        ).decode()
        for r in files
    ]
    await db.execute(
        INSERT_FILES,
        [r.file_id for r in files],
        [library_id] * len(files),
        [f"{root}/{r.title}/{r.title}.mkv" for r in files],
        [f"{root}/{r.title}" for r in files],
        [1000] * len(files),
        [1] * len(files),
        [r.id for r in files],
        info,
        [None] * len(files),
        [r.present for r in files],
    )
