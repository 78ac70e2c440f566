-- Media API (issue 6): fuzzy title search, per-user watch state.
-- Uses the metadata columns of 0005 (genres, rating, runtime_minutes, original_title,
-- release_date).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX media_items_title_trgm ON media_items USING gin (title gin_trgm_ops);
CREATE INDEX media_items_original_title_trgm ON media_items
    USING gin (original_title gin_trgm_ops) WHERE original_title IS NOT NULL;
CREATE INDEX media_items_added ON media_items (added_at DESC) WHERE present;

-- One row per (user, item) once the user has played, or marked, the item.
-- client_ts is the player's clock when the state was recorded: an update only wins when it is
-- newer than the stored one, so progress recorded offline and sent later never overwrites newer
-- progress from another device.
CREATE TABLE watch_state (
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item_id        uuid NOT NULL REFERENCES media_items (id) ON DELETE CASCADE,
    position_s     double precision NOT NULL DEFAULT 0 CHECK (position_s >= 0),
    duration_s     double precision CHECK (duration_s > 0),
    completed      boolean NOT NULL DEFAULT false,
    play_count     integer NOT NULL DEFAULT 0 CHECK (play_count >= 0),
    last_played_at timestamptz,
    client_ts      timestamptz NOT NULL,
    device_id      text,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, item_id)
);
CREATE INDEX watch_state_recent ON watch_state (user_id, last_played_at DESC);
