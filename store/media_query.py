"""SQL of the media API: the media query, details, watch state, and files for streaming.

The media query is one statement per (sort key, direction): every filter is a parameter that is
NULL when unused (``$n IS NULL OR ...``), so each statement can be PREPAREd at test time like any
other, and cursor pagination is keyset pagination on ``(sort key, id)``. Sort keys never are NULL
(missing values sort as the lowest), so the keyset comparison is a plain row comparison.

Speed (issue 6, 30k items): the statements run with custom plans forced, so the planner sees the
parameter values and folds every unused filter away; what remains is specialised per filter set
by the planner, not by formatting SQL at request time. Each sort key has an index on
``(key, id)`` over present items (migration 0008), so a page walks an index and stops after the
limit; resolution/HDR filters read a summary kept on the item (0008); fuzzy search is
``<%`` / ``ILIKE`` only, both served by the trigram indexes. The total count is the one part that
can have to visit every match: totals by kind and library (also "unwatched" among them) read a
tally kept by triggers (migration 0010), watch-status totals start from the user's watch rows,
and :mod:`store.media_totals` remembers the others until a change that can alter them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store.db import Connection, Database, Record
from store.library_access import GET as VISIBLE
from store.media_totals import Totals, totals_for
from store.sql import Sql, sql
from store.sync_feed import series_sql

# Sort key expression and its SQL type (the cursor carries the key as text, cast back here).
# Migration 0008 indexes each of these (but last_watched) exactly as written here: change both.
# A year make_date() cannot take (0, or beyond 9999) counts as no year rather than failing.
SORT_KEYS: dict[str, tuple[str, str]] = {
    "title": ("i.sort_title", "text"),
    "year": ("coalesce(i.year, 0)", "integer"),
    "release_date": ("coalesce(i.release_date, i.air_date, "
                     "CASE WHEN i.year BETWEEN 1 AND 9999 THEN make_date(i.year, 1, 1) END, "
                     "DATE '0001-01-01')", "date"),
    "date_added": ("i.added_at", "timestamptz"),
    "rating": ("coalesce(i.rating, -1)", "real"),
    "runtime": ("coalesce(i.runtime_minutes, -1)", "integer"),
    "last_watched": ("coalesce(ws.last_played_at, TIMESTAMPTZ '1970-01-01 00:00:00+00')",
                     "timestamptz"),
}

_ITEM_COLUMNS = f"""
    i.id, i.library_id, i.kind, i.parent_id, i.title, i.original_title, i.sort_title, i.year,
    i.release_date, i.air_date, i.season_number, i.episode_numbers, i.rating, i.runtime_minutes,
    i.genres, i.added_at,
    {series_sql("i")[0]} AS series_item_id, {series_sql("i")[1]} AS series_title,
    ws.position_s, ws.duration_s, ws.completed, ws.play_count, ws.last_played_at, ws.client_ts
"""

# $1 user, $2 kinds, $3 libraries, $4 genres, $5 all genres?, $6/$7 year, $8/$9 rating,
# $10/$11 runtime, $12 min height, $13 hdr formats, $14 search, $15 watch status.
# Resolution and HDR read the item's summary of its present files (0008), which answers exactly
# "some present file is at least this tall" / "some present file has one of these formats".
# Search: word similarity on either title, or the text as a substring of the title; ILIKE (with
# the text's wildcards escaped) rather than strpos() so the trigram index serves every branch.
# The watch-status tests are strict in ws (NULL when there is no row) so that for "watched" and
# "in progress" the planner turns the outer join into an inner one and starts from watch_state.
_ITEM_FILTERS = r"""
    i.present
    AND ($2::text[] IS NULL OR i.kind = ANY($2::text[]))
    AND ($3::uuid[] IS NULL OR i.library_id = ANY($3::uuid[]))
    AND ($4::text[] IS NULL OR CASE WHEN $5::boolean THEN i.genres @> $4::text[]
                                    ELSE i.genres && $4::text[] END)
    AND ($6::integer IS NULL OR i.year >= $6::integer)
    AND ($7::integer IS NULL OR i.year <= $7::integer)
    AND ($8::real IS NULL OR i.rating >= $8::real)
    AND ($9::real IS NULL OR i.rating <= $9::real)
    AND ($10::integer IS NULL OR i.runtime_minutes >= $10::integer)
    AND ($11::integer IS NULL OR i.runtime_minutes <= $11::integer)
    AND ($12::integer IS NULL OR i.max_height >= $12::integer)
    AND ($13::text[] IS NULL OR i.hdr_formats && $13::text[])
    AND ($14::text IS NULL OR $14::text <% i.title OR $14::text <% i.original_title
         OR i.title ILIKE ('%' || replace(replace(replace($14::text, '\', '\\'), '%', '\%'),
                                          '_', '\_') || '%'))
"""
_UNWATCHED = "(ws.item_id IS NULL OR (NOT ws.completed AND ws.position_s = 0))"
_FILTERS = _ITEM_FILTERS + f"""
    AND ($15::text IS NULL
         OR ($15::text = 'watched' AND ws.completed)
         OR ($15::text = 'in_progress' AND NOT ws.completed AND ws.position_s > 0)
         OR ($15::text = 'unwatched' AND {_UNWATCHED}))
"""
_FROM = """
    FROM media_items i
    LEFT JOIN watch_state ws ON ws.item_id = i.id AND ws.user_id = $1::uuid
"""


# The change log's high-water mark (as store.sync_feed.HIGH_WATER): every change that can alter
# a total (items, files, watch state) raises it in the writer's own transaction.
_HIGH_WATER = """(SELECT greatest((SELECT max(seq) FROM sync_changes),
                         (SELECT pruned_through FROM sync_retention)))"""


def _query_statement(key: str, kind: str, desc: bool) -> Sql:
    op, order = ("<", "DESC") if desc else (">", "ASC")
    # $16 cursor key (text), $17 cursor id, $18 limit, $19 offset
    return sql(
        f"""
        SELECT {_ITEM_COLUMNS}, ({key})::text AS sort_key, {_HIGH_WATER} AS high_water
        {_FROM}
        WHERE {_FILTERS}
          AND ($16::text IS NULL OR ({key}, i.id) {op} ($16::text::{kind}, $17::uuid))
        ORDER BY {key} {order}, i.id {order}
        LIMIT $18::integer OFFSET $19::integer
        """
    )


QUERIES: dict[tuple[str, bool], Sql] = {
    (name, desc): _query_statement(key, kind, desc)
    for name, (key, kind) in SORT_KEYS.items() for desc in (False, True)
}
COUNT = sql(f"SELECT count(*) AS total, {_HIGH_WATER} AS high_water {_FROM} WHERE {_FILTERS}")

# Totals that need no walk over the matches (migration 0010's tally of present items per library
# and kind), for filters on kind and library alone. $1 kinds, $2 libraries.
_TALLY = """(SELECT coalesce(sum(c.present), 0) FROM media_item_counts c
             WHERE ($1::text[] IS NULL OR c.kind = ANY($1::text[]))
               AND ($2::uuid[] IS NULL OR c.library_id = ANY($2::uuid[])))"""
TALLY = sql(f"SELECT {_TALLY}::bigint AS total, {_HIGH_WATER} AS high_water")
# Matches among the user's watch rows: the rows first (a tenth of the library here), each
# looking its item up by key. Left to itself the planner hashes the watch rows and walks every
# present item (4.5 ms at 30k items); the lateral subquery with OFFSET 0 cannot be flattened,
# so it stays a lookup per watch row. The watch_state key (user, item) makes this a count of
# distinct items.
def _watched_matches(user: str, watch_test: str, item_filters: str) -> str:
    return f"""(SELECT count(*) FROM watch_state ws
                CROSS JOIN LATERAL (SELECT 1 FROM media_items i
                                    WHERE i.id = ws.item_id AND {item_filters} OFFSET 0) m
                WHERE ws.user_id = {user}::uuid AND {watch_test})"""


_SCOPE_FILTERS = """i.present AND ($1::text[] IS NULL OR i.kind = ANY($1::text[]))
                    AND ($2::uuid[] IS NULL OR i.library_id = ANY($2::uuid[]))"""
_SEEN = f"NOT {_UNWATCHED}"
# "Unwatched" = every match less the matches the user has a watch row for that is not
# "unwatched". $3 user.
UNWATCHED_TALLY = sql(
    f"SELECT ({_TALLY} - {_watched_matches('$3', _SEEN, _SCOPE_FILTERS)})::bigint AS total, "
    f"{_HIGH_WATER} AS high_water"
)
# The same for any other filters: the matches (no watch-status test, so the join to watch_state
# is removed) less the user's seen ones among them. $1..$14 as in _FILTERS.
UNWATCHED_COUNT = sql(
    f"""
    SELECT ((SELECT count(*) {_FROM} WHERE {_ITEM_FILTERS})
            - {_watched_matches('$1', _SEEN, _ITEM_FILTERS)})::bigint AS total,
           {_HIGH_WATER} AS high_water
    """
)
# "Watched" and "in progress" can only match items the user has a watch row for.
_STARTED = """CASE $15::text WHEN 'watched' THEN ws.completed
                             ELSE NOT ws.completed AND ws.position_s > 0 END"""
WATCHED_COUNT = sql(
    f"SELECT {_watched_matches('$1', _STARTED, _ITEM_FILTERS)}::bigint AS total, "
    f"{_HIGH_WATER} AS high_water"
)
# Whether a change logged after a total was counted (seq in ($1, $2]) can alter it: a change to
# an item (its files, presence, fields) or library within the total's libraries ($3, NULL for
# all), or, for a watch-status filter, a change to that user's watch state ($4, NULL without
# one). Items never move between libraries (the upsert's key is (library, identity)), so the
# library logged with an item's change is the only one it can touch. Access changes narrow
# library_ids, which is part of the cache key. If rows after $1 were pruned, nobody can tell.
CHANGED_SINCE = sql(
    """
    SELECT (SELECT pruned_through FROM sync_retention) > $1::bigint
        OR EXISTS (
            SELECT 1 FROM sync_changes c
            WHERE c.seq > $1::bigint AND c.seq <= $2::bigint
              AND CASE c.entity
                  WHEN 'watch' THEN $4::uuid IS NOT NULL
                                    AND (c.user_id IS NULL OR c.user_id = $4::uuid)
                  WHEN 'access' THEN false
                  ELSE $3::uuid[] IS NULL OR c.library_id IS NULL
                       OR c.library_id = ANY($3::uuid[])
                  END)
    """
)
# Past this many logged changes, recounting is cheaper than looking through them (a scan logs
# thousands; an irrelevant watch heartbeat or a change in another library logs one).
CHANGED_SINCE_MAX = 2000


@dataclass(frozen=True)
class Filters:
    user_id: uuid.UUID
    kinds: list[str] | None = None
    library_ids: list[uuid.UUID] | None = None
    genres: list[str] | None = None
    all_genres: bool = False
    year_min: int | None = None
    year_max: int | None = None
    rating_min: float | None = None
    rating_max: float | None = None
    runtime_min: int | None = None
    runtime_max: int | None = None
    min_height: int | None = None
    hdr: list[str] | None = None
    search: str | None = None
    watch_status: str | None = None

    def args(self) -> tuple[Any, ...]:
        return (self.user_id, self.kinds, self.library_ids, self.genres, self.all_genres,
                self.year_min, self.year_max, self.rating_min, self.rating_max,
                self.runtime_min, self.runtime_max, self.min_height, self.hdr, self.search,
                self.watch_status)

    def total_key(self) -> tuple[Any, ...]:
        """What the total depends on: the filters, and the user only through watch status (so
        every user browsing a library shares one cached total)."""
        user = self.user_id if self.watch_status is not None else None
        return tuple(tuple(a) if isinstance(a, list) else a for a in (user, *self.args()[1:]))

    def scope_only(self) -> bool:
        """Only kind and library (and watch status) narrow the matches: the tally answers."""
        return (self.genres, self.year_min, self.year_max, self.rating_min, self.rating_max,
                self.runtime_min, self.runtime_max, self.min_height, self.hdr,
                self.search) == (None,) * 10

    def total_statement(self) -> tuple[Sql, tuple[Any, ...], bool]:
        """The statement that counts the matches, its arguments, and whether it is cheap (the
        tally alone: cheaper than asking whether a cached total still holds; "unwatched" also
        walks the user's watch rows, a few ms for thousands of them)."""
        if self.watch_status is None and self.scope_only():
            return TALLY, (self.kinds, self.library_ids), True
        if self.watch_status == "unwatched":
            if self.scope_only():
                return UNWATCHED_TALLY, (self.kinds, self.library_ids, self.user_id), False
            return UNWATCHED_COUNT, self.args()[:14], False
        if self.watch_status in ("watched", "in_progress"):
            return WATCHED_COUNT, self.args(), False
        return COUNT, self.args(), False


# The statements are prepared (asyncpg caches them); a generic plan for "$n IS NULL OR ..."
# filters cannot know which filters are off and is often much worse than a custom one. JIT off:
# a count over a big library crosses jit_above_cost, and compiling costs far more (hundreds of
# ms) than the few ms the count runs. Both settings last until the transaction ends.
PLANNER_SETTINGS = sql(
    "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
    "set_config('jit', 'off', true)"
)


async def query(db: Database, filters: Filters, sort: str, desc: bool, limit: int,
                offset: int, after: tuple[str, uuid.UUID] | None,
                with_total: bool = False) -> tuple[list[Record], int | None]:
    """One page (and the total count of matches, without the cursor, when asked).

    The whole exchange is one hop to the asyncio side and one transaction (custom plans are a
    transaction-local setting). The total costs nothing when the first page is empty; else it
    comes from the cache when the change log has not moved since it was counted (the page
    statement reads the high-water mark in its own snapshot), or has moved only by changes that
    cannot alter it (watch state of other users, other libraries); else it is read from the
    tally or counted, in the same transaction.
    """
    return await db.run_asyncio(
        lambda conn: _page(conn, totals_for(db), filters, sort, desc, limit, offset, after,
                           with_total))


async def query_visible(db: Database, viewer_id: uuid.UUID,
                        make_filters: Callable[[list[uuid.UUID] | None], Filters], sort: str,
                        desc: bool, limit: int, offset: int,
                        after: tuple[str, uuid.UUID] | None,
                        with_total: bool = False) -> tuple[list[Record], int | None]:
    """As :func:`query`, with the filters made from the libraries ``viewer_id`` may see
    (``users.library_ids``, read in the same hop and transaction: a separate lookup cost a hop
    and a pool round trip of its own, about 2 ms of a 4 ms request)."""
    totals = totals_for(db)

    async def run(conn: Any) -> tuple[list[Record], int | None]:
        ids = await conn.fetchval(VISIBLE.text, viewer_id)
        filters = make_filters(None if ids is None else list(ids))
        return await _page(conn, totals, filters, sort, desc, limit, offset, after, with_total)

    return await db.run_asyncio(run)


async def _page(conn: Any, totals: Totals, filters: Filters, sort: str, desc: bool, limit: int,
                offset: int, after: tuple[str, uuid.UUID] | None,
                with_total: bool) -> tuple[list[Record], int | None]:
    key, after_id = after if after is not None else (None, None)
    statement = QUERIES[(sort, desc)]
    args = (*filters.args(), key, after_id, limit, offset)
    total_key = filters.total_key()
    total_sql, total_args, cheap = filters.total_statement()
    async with conn.transaction():
        await conn.fetchval(PLANNER_SETTINGS.text)
        rows: list[Record] = await conn.fetch(statement.text, *args)
        if not with_total:
            return rows, None
        if not rows and offset == 0 and after is None:
            return rows, 0
        if rows:
            high_water = rows[0]["high_water"]
            known = totals.get(total_key)
            if known is not None and high_water is not None:
                mark, total = known
                if mark == high_water:
                    return rows, total
                if (not cheap and mark < high_water <= mark + CHANGED_SINCE_MAX
                        and not await conn.fetchval(
                            CHANGED_SINCE.text, mark, high_water, filters.library_ids,
                            filters.user_id if filters.watch_status else None)):
                    totals.put(total_key, high_water, total)
                    return rows, total
        counted = await conn.fetchrow(total_sql.text, *total_args)
    totals.put(total_key, counted["high_water"], counted["total"])
    return rows, int(counted["total"])


async def count(db: Database, filters: Filters) -> int:
    """The total, always counted (the cache is :func:`query`'s business)."""
    total_sql, total_args, _ = filters.total_statement()
    async with db.transaction() as conn:
        await conn.fetchval(PLANNER_SETTINGS)
        row = await conn.fetchrow(total_sql, *total_args)
    assert row is not None
    return int(row["total"])


# --- details ----------------------------------------------------------------------------------

ITEM = sql(
    f"""
    SELECT {_ITEM_COLUMNS}, i.overview, i.tagline, i.studios, i.mpaa, i.edition,
           i.external_ids::text AS external_ids, i.present
    {_FROM}
    WHERE i.id = $2
    """
)
CHILDREN = sql(
    f"""
    SELECT {_ITEM_COLUMNS}
    {_FROM}
    WHERE i.parent_id = $2 AND i.present
    ORDER BY i.season_number NULLS LAST, i.episode_numbers NULLS LAST, i.sort_title, i.id
    """
)
ITEM_FILES = sql(
    """
    SELECT f.id, f.library_id, f.path, f.size_bytes, f.version, f.part, f.extra_kind,
           f.media_info::text AS media_info, f.analysis_error, f.present,
           f.parsed->>'edition' AS edition
    FROM media_files f
    WHERE f.item_id = $1
    ORDER BY f.extra_kind NULLS FIRST, f.version NULLS FIRST, f.part NULLS FIRST, f.path
    """
)
ITEM_PEOPLE = sql(
    """
    SELECT p.id, p.name, ip.kind, ip.role, p.image_id
    FROM item_people ip JOIN people p ON p.id = ip.person_id
    WHERE ip.item_id = $1
    ORDER BY ip.kind, ip.ord, p.name
    """
)
ITEM_IMAGES = sql("SELECT kind, image_id FROM item_images WHERE item_id = $1 ORDER BY kind")
CONTINUE_WATCHING = sql(
    f"""
    SELECT {_ITEM_COLUMNS}
    {_FROM}
    WHERE ws.user_id = $1::uuid AND NOT ws.completed AND ws.position_s > 0 AND i.present
      AND i.kind IN ('movie', 'episode')
      AND ($2::uuid IS NULL OR i.library_id = $2::uuid)
    ORDER BY ws.last_played_at DESC NULLS LAST, i.id
    LIMIT $3
    """
)
# The next-episode rule (sync/episode_order.py, which the replica follows in Python): the
# running order of a series' episodes and the "follows" test, as SQL over aliases of
# media_items. Text in the key compares by code point ("C"), uuid by bytes, as in Python.
def _episode_key(e: str) -> str:
    return (f"(coalesce({e}.season_number, -1), coalesce({e}.episode_numbers[1], 2147483647), "
            f"coalesce({e}.episode_numbers[cardinality({e}.episode_numbers)], 2147483647), "
            f"coalesce({e}.air_date, DATE '0001-01-01'), {e}.sort_title COLLATE \"C\", {e}.id)")


def _follows(b: str, a: str) -> str:
    return f"""({_episode_key(b)} > {_episode_key(a)}
        AND (coalesce({b}.season_number, -1) = 0) = (coalesce({a}.season_number, -1) = 0)
        AND NOT (coalesce({b}.season_number, -1) = coalesce({a}.season_number, -1)
                 AND coalesce(cardinality({b}.episode_numbers), 0) > 0
                 AND coalesce(cardinality({a}.episode_numbers), 0) > 0
                 AND {b}.episode_numbers[1]
                     <= {a}.episode_numbers[cardinality({a}.episode_numbers)]))"""


# For each series the user has completed an episode of: the first present episode following
# the last one completed (most recently played) that is not completed itself.
NEXT_UP = sql(
    f"""
    WITH last_done AS (
        SELECT DISTINCT ON (season.parent_id) season.parent_id AS series_id,
               ws.last_played_at, e.id AS done_id
        FROM watch_state ws
        JOIN media_items e ON e.id = ws.item_id AND e.kind = 'episode'
        JOIN media_items season ON season.id = e.parent_id
        WHERE ws.user_id = $1::uuid AND ws.completed AND season.parent_id IS NOT NULL
          AND ($2::uuid IS NULL OR e.library_id = $2::uuid)
        ORDER BY season.parent_id, ws.last_played_at DESC NULLS LAST, {_episode_key('e')} DESC
    )
    SELECT {_ITEM_COLUMNS}, ld.series_id
    FROM last_done ld
    JOIN media_items cur ON cur.id = ld.done_id
    CROSS JOIN LATERAL (
        SELECT e.id FROM media_items e
        JOIN media_items season ON season.id = e.parent_id
        LEFT JOIN watch_state w2 ON w2.item_id = e.id AND w2.user_id = $1::uuid
        WHERE season.parent_id = ld.series_id AND e.present AND e.kind = 'episode'
          AND NOT coalesce(w2.completed, false) AND {_follows('e', 'cur')}
        ORDER BY {_episode_key('e')}
        LIMIT 1
    ) nxt
    JOIN media_items i ON i.id = nxt.id
    LEFT JOIN watch_state ws ON ws.item_id = i.id AND ws.user_id = $1::uuid
    ORDER BY ld.last_played_at DESC NULLS LAST, ld.series_id
    LIMIT $3
    """
)
# The episode after $2 in its series (watched or not), for "play next". $1 user.
NEXT_EPISODE = sql(
    f"""
    SELECT {_ITEM_COLUMNS}
    FROM media_items cur
    JOIN media_items cur_season ON cur_season.id = cur.parent_id
    CROSS JOIN LATERAL (
        SELECT e.id FROM media_items e
        JOIN media_items season ON season.id = e.parent_id
        WHERE season.parent_id = cur_season.parent_id AND e.present AND e.kind = 'episode'
          AND {_follows('e', 'cur')}
        ORDER BY {_episode_key('e')}
        LIMIT 1
    ) nxt
    JOIN media_items i ON i.id = nxt.id
    LEFT JOIN watch_state ws ON ws.item_id = i.id AND ws.user_id = $1::uuid
    WHERE cur.id = $2 AND cur.kind = 'episode'
    """
)
RECENTLY_ADDED = sql(
    f"""
    SELECT {_ITEM_COLUMNS}
    {_FROM}
    WHERE i.present AND i.kind IN ('movie', 'series', 'episode')
      AND ($2::uuid IS NULL OR i.library_id = $2::uuid)
    ORDER BY i.added_at DESC, i.id
    LIMIT $3
    """
)


async def item(db: Database, user_id: uuid.UUID, item_id: uuid.UUID) -> Record | None:
    return await db.fetchrow(ITEM, user_id, item_id)


async def children(db: Database, user_id: uuid.UUID, item_id: uuid.UUID) -> list[Record]:
    return await db.fetch(CHILDREN, user_id, item_id)


async def item_files(db: Database, item_id: uuid.UUID) -> list[Record]:
    return await db.fetch(ITEM_FILES, item_id)


async def item_people(db: Database, item_id: uuid.UUID) -> list[Record]:
    return await db.fetch(ITEM_PEOPLE, item_id)


async def item_images(db: Database, item_id: uuid.UUID) -> list[Record]:
    return await db.fetch(ITEM_IMAGES, item_id)


async def continue_watching(db: Database, user_id: uuid.UUID, library_id: uuid.UUID | None,
                            limit: int) -> list[Record]:
    return await db.fetch(CONTINUE_WATCHING, user_id, library_id, limit)


async def next_up(db: Database, user_id: uuid.UUID, library_id: uuid.UUID | None,
                  limit: int) -> list[Record]:
    return await db.fetch(NEXT_UP, user_id, library_id, limit)


async def next_episode(db: Database, user_id: uuid.UUID, item_id: uuid.UUID) -> Record | None:
    """What plays after episode ``item_id`` (sync/episode_order.py); None after the last one,
    or for anything but an episode."""
    return await db.fetchrow(NEXT_EPISODE, user_id, item_id)


async def recently_added(db: Database, user_id: uuid.UUID, library_id: uuid.UUID | None,
                         limit: int) -> list[Record]:
    return await db.fetch(RECENTLY_ADDED, user_id, library_id, limit)


# --- watch state ------------------------------------------------------------------------------

_STATE_COLUMNS = ("item_id, position_s, duration_s, completed, play_count, last_played_at, "
                  "client_ts, device_id")
# Newest client timestamp wins: the upsert changes nothing when the stored state is newer, and
# then returns nothing. play_count counts transitions to completed.
SAVE_PROGRESS = sql(
    f"""
    INSERT INTO watch_state AS w (user_id, item_id, position_s, duration_s, completed,
                                  play_count, last_played_at, client_ts, device_id)
    VALUES ($1, $2, $3, $4, $5, CASE WHEN $5 THEN 1 ELSE 0 END, $6, $6, $7)
    ON CONFLICT (user_id, item_id) DO UPDATE SET
        position_s = EXCLUDED.position_s,
        duration_s = coalesce(EXCLUDED.duration_s, w.duration_s),
        completed = EXCLUDED.completed,
        play_count = w.play_count + CASE WHEN EXCLUDED.completed AND NOT w.completed
                                         THEN 1 ELSE 0 END,
        last_played_at = EXCLUDED.last_played_at,
        client_ts = EXCLUDED.client_ts,
        device_id = EXCLUDED.device_id,
        updated_at = now()
    WHERE w.client_ts < EXCLUDED.client_ts
    RETURNING {_STATE_COLUMNS}
    """
)
# Mark watched / unwatched / clear progress: explicit user actions, also newest-wins.
SET_STATE = sql(
    f"""
    INSERT INTO watch_state AS w (user_id, item_id, position_s, completed, play_count,
                                  last_played_at, client_ts, device_id)
    VALUES ($1, $2, 0, $3, CASE WHEN $3 THEN 1 ELSE 0 END,
            CASE WHEN $3 THEN $4::timestamptz END, $4, $5)
    ON CONFLICT (user_id, item_id) DO UPDATE SET
        position_s = 0,
        completed = CASE WHEN $6 THEN w.completed ELSE EXCLUDED.completed END,
        play_count = w.play_count + CASE WHEN EXCLUDED.completed AND NOT w.completed
                                         AND NOT $6 THEN 1 ELSE 0 END,
        last_played_at = CASE WHEN EXCLUDED.completed AND NOT $6 THEN EXCLUDED.client_ts
                              ELSE w.last_played_at END,
        client_ts = EXCLUDED.client_ts,
        device_id = EXCLUDED.device_id,
        updated_at = now()
    WHERE w.client_ts < EXCLUDED.client_ts
    RETURNING {_STATE_COLUMNS}
    """
)
GET_STATE = sql(
    f"SELECT {_STATE_COLUMNS} FROM watch_state WHERE user_id = $1 AND item_id = $2"
)
# Episodes (and seasons) below an item, for marking a whole series or season.
PLAYABLE_BELOW = sql(
    """
    WITH RECURSIVE tree AS (
        SELECT id, kind FROM media_items WHERE id = $1
        UNION ALL
        SELECT m.id, m.kind FROM media_items m JOIN tree t ON m.parent_id = t.id
    )
    SELECT id FROM tree WHERE kind IN ('movie', 'episode')
    """
)


async def save_progress(db: Database, user_id: uuid.UUID, item_id: uuid.UUID, position_s: float,
                        duration_s: float | None, completed: bool, client_ts: datetime,
                        device_id: str | None) -> Record | None:
    """None when the stored state is newer (the update lost)."""
    return await db.fetchrow(SAVE_PROGRESS, user_id, item_id, position_s, duration_s, completed,
                             client_ts, device_id)


async def set_state(conn: Connection, user_id: uuid.UUID, item_id: uuid.UUID, completed: bool,
                    client_ts: datetime, device_id: str | None,
                    clear_only: bool) -> Record | None:
    return await conn.fetchrow(SET_STATE, user_id, item_id, completed, client_ts, device_id,
                               clear_only)


async def get_state(db: Database, user_id: uuid.UUID, item_id: uuid.UUID) -> Record | None:
    return await db.fetchrow(GET_STATE, user_id, item_id)


async def playable_below(db: Database | Connection, item_id: uuid.UUID) -> list[uuid.UUID]:
    return [r["id"] for r in await db.fetch(PLAYABLE_BELOW, item_id)]


# --- streaming --------------------------------------------------------------------------------

STREAM_FILE = sql(
    """
    SELECT f.id, f.library_id, f.path, f.size_bytes, f.mtime_ns, f.present, f.item_id,
           f.media_info -> 'subtitles' AS subtitles, f.media_info ->> 'container' AS container,
           l.roots
    FROM media_files f JOIN libraries l ON l.id = f.library_id
    WHERE f.id = $1
      AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = $2
                      AND u.library_ids IS NOT NULL AND f.library_id <> ALL(u.library_ids))
    """
)


async def stream_file(db: Database, file_id: uuid.UUID, user_id: uuid.UUID) -> Record | None:
    """The file, if ``user_id`` may see its library (users.library_ids; every range request of
    a stream asks, so access is decided in the same round trip)."""
    return await db.fetchrow(STREAM_FILE, file_id, user_id)
TICKET_LOGIN = sql(
    """
    SELECT u.role, f.scope,
           COALESCE(array_agg(o.permission) FILTER (WHERE o.effect = 'grant'), '{}') AS grants,
           COALESCE(array_agg(o.permission) FILTER (WHERE o.effect = 'deny'), '{}') AS denies
    FROM refresh_families f
    JOIN devices d ON d.id = f.device_id
    JOIN users u ON u.id = f.user_id
    LEFT JOIN user_permission_overrides o ON o.user_id = u.id
    WHERE f.id = $1 AND f.user_id = $2 AND f.revoked_at IS NULL AND d.state <> 'revoked'
    GROUP BY u.id, f.id
    """
)


async def ticket_login(db: Database, family_id: uuid.UUID,
                       user_id: uuid.UUID) -> Record | None:
    """(role, scope, grants, denies) of the login a playback ticket came from, as they are now;
    None once that login or its device is revoked. Asked on every request of a ticket, so a
    DENY or a revocation ends its streams at once, not when the ticket expires."""
    return await db.fetchrow(TICKET_LOGIN, family_id, user_id)
