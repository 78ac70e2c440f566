"""The home screen's rows: continue watching, next up (the next-episode rule in SQL, as
``sync/episode_order.py`` states it), recently added; and the episode that plays next."""

from __future__ import annotations

import uuid

from store.db import Database
from store.media_browse import _FROM, _ITEM_COLUMNS, ItemRow
from store.sql import sql

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
    return (
        f"(coalesce({e}.season_number, -1), coalesce({e}.episode_numbers[1], 2147483647), "
        f"coalesce({e}.episode_numbers[cardinality({e}.episode_numbers)], 2147483647), "
        f"coalesce({e}.air_date, DATE '0001-01-01'), {e}.sort_title COLLATE \"C\", {e}.id)"
    )


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
        ORDER BY season.parent_id, ws.last_played_at DESC NULLS LAST, {_episode_key("e")} DESC
    )
    SELECT {_ITEM_COLUMNS}, ld.series_id
    FROM last_done ld
    JOIN media_items cur ON cur.id = ld.done_id
    CROSS JOIN LATERAL (
        SELECT e.id FROM media_items e
        JOIN media_items season ON season.id = e.parent_id
        LEFT JOIN watch_state w2 ON w2.item_id = e.id AND w2.user_id = $1::uuid
        WHERE season.parent_id = ld.series_id AND e.present AND e.kind = 'episode'
          AND NOT coalesce(w2.completed, false) AND {_follows("e", "cur")}
        ORDER BY {_episode_key("e")}
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
          AND {_follows("e", "cur")}
        ORDER BY {_episode_key("e")}
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


async def continue_watching(
    db: Database, user_id: uuid.UUID, library_id: uuid.UUID | None, limit: int
) -> list[ItemRow]:
    return [ItemRow(**r) for r in await db.fetch(CONTINUE_WATCHING, user_id, library_id, limit)]


async def next_up(
    db: Database, user_id: uuid.UUID, library_id: uuid.UUID | None, limit: int
) -> list[ItemRow]:
    return [ItemRow(**r) for r in await db.fetch(NEXT_UP, user_id, library_id, limit)]


async def next_episode(db: Database, user_id: uuid.UUID, item_id: uuid.UUID) -> ItemRow | None:
    """What plays after episode ``item_id`` (sync/episode_order.py); None after the last one,
    or for anything but an episode."""
    row = await db.fetchrow(NEXT_EPISODE, user_id, item_id)
    return None if row is None else ItemRow(**row)


async def recently_added(
    db: Database, user_id: uuid.UUID, library_id: uuid.UUID | None, limit: int
) -> list[ItemRow]:
    return [ItemRow(**r) for r in await db.fetch(RECENTLY_ADDED, user_id, library_id, limit)]
