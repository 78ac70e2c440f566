"""Watch state writes and reads: progress (newest client timestamp wins), mark watched or
unwatched, and the playable items below a series or season for marking it whole."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from store.db import Connection, Database, Record
from store.sql import sql
from sync.media_types import WatchStateOut


class WatchStateRow(msgspec.Struct, kw_only=True, frozen=True):
    """A user's stored watch state of one item: what the watch routes answer and the sync
    feed's watch frames carry (:meth:`wire`, the one mapping to the contract)."""

    item_id: uuid.UUID
    position_s: float
    duration_s: float | None
    completed: bool
    play_count: int
    last_played_at: datetime | None
    client_ts: datetime
    device_id: str | None

    def wire(self) -> WatchStateOut:
        return WatchStateOut(
            position_s=self.position_s,
            duration_s=self.duration_s,
            completed=self.completed,
            play_count=self.play_count,
            last_played_at=self.last_played_at,
            client_ts=self.client_ts,
        )


def _state(row: Record | None) -> WatchStateRow | None:
    return None if row is None else WatchStateRow(**row)


_STATE_COLUMNS = (
    "item_id, position_s, duration_s, completed, play_count, last_played_at, client_ts, device_id"
)
# Newest client timestamp wins: the upsert changes nothing when the stored state is newer, and
# then returns nothing. The end of both writes' ON CONFLICT ... SET, so the rule has one text.
_NEWEST_WINS = f"""client_ts = EXCLUDED.client_ts,
        device_id = EXCLUDED.device_id,
        updated_at = now()
    WHERE w.client_ts < EXCLUDED.client_ts
    RETURNING {_STATE_COLUMNS}"""
# Progress from a player. play_count counts transitions to completed.
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
        {_NEWEST_WINS}
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
        {_NEWEST_WINS}
    """
)
GET_STATE = sql(f"SELECT {_STATE_COLUMNS} FROM watch_state WHERE user_id = $1 AND item_id = $2")
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


async def save_progress(
    db: Database,
    user_id: uuid.UUID,
    item_id: uuid.UUID,
    position_s: float,
    duration_s: float | None,
    completed: bool,
    client_ts: datetime,
    device_id: str | None,
) -> WatchStateRow | None:
    """None when the stored state is newer (the update lost)."""
    return _state(
        await db.fetchrow(
            SAVE_PROGRESS, user_id, item_id, position_s, duration_s, completed, client_ts, device_id
        )
    )


async def set_state(
    conn: Connection,
    user_id: uuid.UUID,
    item_id: uuid.UUID,
    completed: bool,
    client_ts: datetime,
    device_id: str | None,
    clear_only: bool,
) -> WatchStateRow | None:
    return _state(
        await conn.fetchrow(
            SET_STATE, user_id, item_id, completed, client_ts, device_id, clear_only
        )
    )


async def get_state(db: Database, user_id: uuid.UUID, item_id: uuid.UUID) -> WatchStateRow | None:
    return _state(await db.fetchrow(GET_STATE, user_id, item_id))


async def playable_below(db: Database | Connection, item_id: uuid.UUID) -> list[uuid.UUID]:
    return [r["id"] for r in await db.fetch(PLAYABLE_BELOW, item_id)]
