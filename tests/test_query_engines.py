"""The two query engines on one library: the server's SQL (``store/media_query.py``) and the
player's replica (``sync/replica_read.py``, filled from the server's real snapshot feed) must give
the same answers to the same browse, search, "next episode" and "Next Up" questions.

The library is generated from a seed: films (``tests.mediakit``) and shows with specials, multi-
episode files, a repeated episode, a date-based show, missing episodes and a user's watch history
with ties. Fuzzy search is also checked against Postgres itself (pg_trgm's ``<%`` and
``word_similarity()`` on the same titles, not a Python copy of the rule); "next episode" against
hand-written cases.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from appliance import syncfeed
from store import media_query as mq
from store.db import Database
from store.sql import sql
from sync import episode_order
from sync.feed_types import Frame, FrameReader
from sync.query import MediaQuery, MediaQueryBuilder, SortBy, SortOrder, WatchStatus
from sync.replica import Replica
from sync.word_similarity import word_similarity
from tests.mediakit import Row, insert_rows, movie_rows, pg_title_matches, seed

ADD_USER = sql(
    """
    INSERT INTO users (id, username, role, password_hash, created_at, updated_at)
    VALUES ($1, $2, 'user', 'x', now(), now())
    """
)
SET_EPISODE = sql(
    "UPDATE media_items SET episode_numbers = $2::integer[], air_date = $3 WHERE id = $1"
)
PG_WORD_SIMILARITY = sql("SELECT word_similarity($1::text, $2::text)::float8")
T0 = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)


@dataclass
class Episode:
    row: Row
    numbers: list[int]
    air_date: date | None


@dataclass
class Library:
    user: uuid.UUID
    titles: dict[uuid.UUID, tuple[str, str | None]]
    episodes: list[Episode]


def _shows(rnd: random.Random, added: datetime) -> tuple[list[Row], list[Episode]]:
    rows: list[Row] = []
    episodes: list[Episode] = []

    def item(
        kind: str,
        title: str,
        parent: uuid.UUID | None = None,
        season: int | None = None,
        present: bool = True,
    ) -> Row:
        row = Row(
            id=uuid.UUID(int=rnd.getrandbits(128)),
            kind=kind,
            title=title,
            sort_title=title.lower(),
            original_title=None,
            year=2000 + rnd.randrange(20),
            release_date=None,
            rating=None,
            runtime_minutes=45,
            genres=["Drama"],
            added_at=added + timedelta(minutes=rnd.randrange(10**5)),
            present=present,
            parent_id=parent,
            season_number=season,
        )
        rows.append(row)
        return row

    def episode(
        season: Row, numbers: list[int], air: date | None = None, present: bool = True
    ) -> None:
        label = "-".join(f"E{n:02d}" for n in numbers) or f"{air}"
        row = item("episode", f"{label}", season.id, season.season_number, present)
        row.sort_title = f"{numbers[0] if numbers else 0:05d}"
        episodes.append(Episode(row, numbers, air))

    for n, name in enumerate(["Night Shift", "Nightfall", "Dark Harbour", "The Wire Cutters"]):
        show = item("series", name)
        seasons = ([0] if rnd.random() < 0.7 else []) + list(range(1, 2 + rnd.randrange(3)))
        for s in seasons:
            season = item("season", "Specials" if s == 0 else f"Season {s}", show.id, s)
            number = 1
            for _ in range(2 + rnd.randrange(5)):
                roll = rnd.random()
                if roll < 0.15:  # a two-episode file
                    episode(season, [number, number + 1])
                    if rnd.random() < 0.5:  # and the second one again on its own
                        episode(season, [number + 1])
                    number += 2
                elif roll < 0.22:  # a gap
                    number += 1
                else:
                    episode(season, [number], present=rnd.random() > 0.1)
                    number += 1
        if n == 3:  # date-based: the season is the year, episodes have no numbers
            season = item("season", "Season 2021", show.id, 2021)
            for day in rnd.sample(range(1, 28), 4):
                episode(season, [], date(2021, 5, day))
    return rows, episodes


async def _generate(db: Database, seed_value: int) -> Library:
    rnd = random.Random(f"shows {seed_value}")  # not movie_rows' stream (same ids)
    films = movie_rows(90, seed_value)
    cat = await seed(db, films)
    show_rows, episodes = _shows(rnd, datetime(2025, 1, 1, tzinfo=UTC))
    shows = await seed(db, [], root="/srv/media/shows", kind="series", name="Shows")
    await insert_rows(db, shows.library_id, show_rows, "/srv/media/shows")
    for e in episodes:
        await db.execute(SET_EPISODE, e.row.id, e.numbers, e.air_date)
    user = uuid.uuid4()
    await db.execute(ADD_USER, user, f"viewer{seed_value}")
    # Watch history: some episodes completed (a few played at the same instant), some started;
    # some films too.
    present = [e for e in episodes if e.row.present]
    for k, e in enumerate(rnd.sample(present, len(present) // 2)):
        at = T0 - timedelta(hours=rnd.choice([0, 1, 1, 2, 3, 5, 8, 13]) + k % 2)
        completed = rnd.random() < 0.75
        await mq.save_progress(
            db, user, e.row.id, 2700.0 if completed else 600.0, 2700.0, completed, at, "tv"
        )
    for k, film in enumerate(r for r in films if r.present):
        if k % 4 == 0:
            await mq.save_progress(
                db, user, film.id, 300.0 * (k % 3), 6000.0, k % 8 == 0, T0 - timedelta(days=k), "tv"
            )
    titles = {r.id: (r.title, r.original_title) for r in [*cat.rows, *show_rows] if r.present}
    return Library(user, titles, episodes)


async def _replica(db: Database, user: uuid.UUID, path: Path) -> Replica:
    reader = FrameReader()
    batches: list[list[Frame]] = []
    async for chunk in syncfeed.snapshot(db, user, "server-x"):
        batches += list(reader.feed(chunk))
    reader.close()
    replica = Replica.open(path)
    replica.apply_snapshot(batches)
    return replica


@pytest.fixture(params=[3, 11, 2026])
async def engines(
    request: pytest.FixtureRequest, db: Database, tmp_path: Path
) -> AsyncIterator[tuple[Library, Replica]]:
    library = await _generate(db, request.param)
    replica = await _replica(db, library.user, tmp_path / "replica")
    yield library, replica
    replica.close()


def _filters(q: MediaQuery, user: uuid.UUID) -> mq.Filters:
    return mq.Filters(
        user_id=user,
        kinds=list(q.kinds) or None,
        library_ids=list(q.library_ids) or None,
        genres=q.genres or None,
        all_genres=q.genre_match == "all",
        year_min=q.year_min,
        year_max=q.year_max,
        rating_min=q.rating_min,
        rating_max=q.rating_max,
        runtime_min=q.runtime_min,
        runtime_max=q.runtime_max,
        min_height=q.min_height,
        hdr=list(q.hdr) or None,
        search=q.search,
        watch_status=q.watch_status,
    )


async def _sql(db: Database, q: MediaQuery, user: uuid.UUID) -> tuple[list[uuid.UUID], int]:
    rows, total = await mq.query(
        db,
        _filters(q, user),
        q.sort_by.value,
        q.sort_order is SortOrder.DESC,
        q.limit,
        q.offset,
        None,
        with_total=True,
    )
    assert total is not None
    return [r.id for r in rows], total


SEARCHES = [
    "matrix",
    "matrx",
    "fabuleux",
    "night",
    "nigth shift",
    "harbor",
    "wire",
    "the",
    "arival",
    "interstelar",
    "gravty",
    "heat 2",
    "par",
    "e01",
]
QUERIES = [
    MediaQueryBuilder(),
    MediaQueryBuilder().movies_only().genres("Action", "Drama"),
    MediaQueryBuilder().genres("Drama", "Comedy", match="all"),
    MediaQueryBuilder().year_range(1980, 2000).sort_by(SortBy.YEAR, SortOrder.DESC),
    MediaQueryBuilder().rating_range(6.5, None).runtime_range(None, 130),
    MediaQueryBuilder().min_height(1080).hdr(),
    MediaQueryBuilder().episodes_only().watch_status(WatchStatus.WATCHED),
    MediaQueryBuilder().watch_status(WatchStatus.IN_PROGRESS),
    MediaQueryBuilder().watch_status(WatchStatus.UNWATCHED).kinds("movie", "episode"),
    *(MediaQueryBuilder().search(text) for text in SEARCHES),
]


async def test_browse_and_search_answer_alike(
    db: Database, engines: tuple[Library, Replica]
) -> None:
    library, replica = engines
    for builder in QUERIES:
        q = builder.limit(500).build()
        ids, total = await _sql(db, q, library.user)
        local, local_total = replica.query(q)
        assert (total, set(ids)) == (local_total, {c.id for c in local}), q
        if q.search is not None:  # and both are what Postgres' own <% says of the titles
            assert set(ids) == await pg_title_matches(db, q.search, library.titles), q.search


async def test_next_episode_answers_alike(db: Database, engines: tuple[Library, Replica]) -> None:
    library, replica = engines
    answered = 0
    for e in library.episodes:
        if not e.row.present:
            continue
        row = await mq.next_episode(db, library.user, e.row.id)
        local = replica.next_episode(e.row.id)
        assert (row.id if row else None) == (local.id if local else None), e
        answered += row is not None
    assert answered > 10


async def test_next_up_answers_alike(db: Database, engines: tuple[Library, Replica]) -> None:
    library, replica = engines
    rows = await mq.next_up(db, library.user, None, 50)
    assert [r.id for r in rows] == [c.id for c in replica.next_up(50)]
    assert rows, "the generated history has series in progress"


async def test_the_replica_word_similarity_is_pg_trgm(db: Database) -> None:
    """The replica's word similarity (``sync/word_similarity.py``) computes what Postgres'
    ``word_similarity()`` computes, beyond the generated library's titles."""
    texts = [
        "The Matrix",
        "The Matrix Reloaded",
        "Le Fabuleux Destin d'Amélie Poulain",
        "Night Shift",
        "Nightfall",
        "two words",
        "Interstellar 2",
        "Heat",
        "Parasite",
    ]
    for query in [*SEARCHES, "word", "amelie", "destin", "reloaded matrix"]:
        for text in texts:
            pg = await db.fetchval(PG_WORD_SIMILARITY, query, text)
            mine = word_similarity(query.lower(), text.lower())
            assert mine == pytest.approx(pg, abs=1e-6), (query, text)


# --- the rule itself, on hand-written cases ---------------------------------------------------


@dataclass(frozen=True)
class Ep:
    season_number: int | None
    episode_numbers: list[int] | None
    air_date: date | None = None
    sort_title: str = ""
    id: uuid.UUID = field(default_factory=uuid.uuid4)


def _ep(season: int | None, *numbers: int, air: date | None = None, n: int = 0) -> Ep:
    return Ep(
        season,
        list(numbers),
        air,
        f"{numbers[0] if numbers else 0:05d}",
        uuid.UUID(int=n or hash((season, numbers, air)) % 2**64),
    )


def test_the_next_episode_rule() -> None:
    s0e1, s0e2 = _ep(0, 1), _ep(0, 2)
    s1e1, s1e2_3, s1e3, s1e4 = _ep(1, 1), _ep(1, 2, 3), _ep(1, 3), _ep(1, 4)
    s2e1 = _ep(2, 1)
    dated_a, dated_b = _ep(2, air=date(2021, 5, 1)), _ep(2, air=date(2021, 5, 8))
    show: list[Any] = [s2e1, s1e4, s0e2, s1e3, s1e2_3, s0e1, s1e1, dated_b, dated_a]

    def nxt(e: Ep) -> Ep | None:
        return episode_order.next_after(e, show)

    assert nxt(s1e1) == s1e2_3, "numbered order within a season"
    assert nxt(s1e2_3) == s1e4, "a lone E03 after an E02-E03 file is skipped"
    assert nxt(s1e4) == s2e1, "then the next season"
    assert nxt(s2e1) == dated_a and nxt(dated_a) == dated_b, "undated numbers: by air date"
    assert nxt(dated_b) is None, "the end of the series"
    assert nxt(s0e1) == s0e2 and nxt(s0e2) is None, "specials keep to themselves"
    assert all(nxt(e) != s0e1 and nxt(e) != s0e2 for e in show if e.season_number != 0), (
        "and never come after a regular episode"
    )
    played: list[tuple[Any, int]] = [(s1e1, 5), (s1e3, 9), (s1e4, 9)]
    assert episode_order.last_completed(played) == s1e4, "same instant: the later episode"
