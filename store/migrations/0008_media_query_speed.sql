-- Media query speed (issue 6: p50 <= 20 ms on a 30k-item library).
--
-- 1. A summary of an item's present files on the item itself (tallest video, set of HDR
--    formats), so the resolution and HDR filters are plain column tests instead of an EXISTS over
--    media_files per candidate item. Kept by statement-level triggers on media_files, so every
--    writer (scan, analysis, relinking, deletes) keeps it right without knowing about it.
--    Players do not show these columns: the file changes they derive from are logged to the sync
--    feed by 0007's media_files triggers already, and 0007's media_items trigger compares an
--    explicit column list that does not include them, so refreshing them logs nothing extra.
-- 2. One btree per sort key, (key, id) over present items, so a page is a walk down an index
--    that stops after LIMIT rows instead of a sort of every match. The expressions are exactly
--    store.media_query.SORT_KEYS (the planner matches them structurally).

ALTER TABLE media_items
    ADD COLUMN max_height  integer,                      -- tallest video of a present file
    ADD COLUMN hdr_formats text[] NOT NULL DEFAULT '{}';  -- distinct video.hdr of present files

-- Recomputes the summary of the given items from their present files; writes only rows whose
-- summary changed. Never raises on odd media_info (a non-numeric or absurd height is ignored or
-- clamped): an error here would abort the scan or analysis that wrote the file.
CREATE FUNCTION refresh_item_media_summary(item_ids uuid[]) RETURNS void LANGUAGE sql AS $$
    UPDATE media_items i
    SET max_height = s.max_height, hdr_formats = s.hdr_formats
    FROM (
        SELECT x.id,
               least(greatest(max(CASE WHEN jsonb_typeof(f.media_info -> 'video' -> 'height')
                                            = 'number'
                                       THEN (f.media_info -> 'video' ->> 'height')::numeric
                                  END), 0), 2147483647)::integer AS max_height,
               coalesce(array_agg(DISTINCT f.media_info -> 'video' ->> 'hdr')
                        FILTER (WHERE f.media_info -> 'video' ->> 'hdr' IS NOT NULL),
                        '{}') AS hdr_formats
        FROM unnest(item_ids) AS x(id)
        LEFT JOIN media_files f ON f.item_id = x.id AND f.present
        GROUP BY x.id
    ) s
    WHERE i.id = s.id
      AND (i.max_height, i.hdr_formats) IS DISTINCT FROM (s.max_height, s.hdr_formats)
$$;

-- Only files that are present, analysed and linked count, before or after the change: a scan
-- that inserts, parses or links unanalysed files costs a pass over the transition tables (no
-- join, no update).
CREATE FUNCTION upkeep_item_media_summary() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM refresh_item_media_summary(ARRAY(
            SELECT DISTINCT n.item_id FROM new_rows n
            WHERE n.item_id IS NOT NULL AND n.present AND n.media_info IS NOT NULL));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM refresh_item_media_summary(ARRAY(
            SELECT DISTINCT o.item_id FROM old_rows o
            WHERE o.item_id IS NOT NULL AND o.present AND o.media_info IS NOT NULL));
    ELSIF EXISTS (SELECT 1 FROM old_rows o
                  WHERE o.item_id IS NOT NULL AND o.present AND o.media_info IS NOT NULL)
          OR EXISTS (SELECT 1 FROM new_rows n
                     WHERE n.item_id IS NOT NULL AND n.present AND n.media_info IS NOT NULL) THEN
        PERFORM refresh_item_media_summary(ARRAY(
            SELECT DISTINCT x.item_id
            FROM new_rows n JOIN old_rows o USING (id)
            CROSS JOIN LATERAL unnest(ARRAY[o.item_id, n.item_id]) AS x(item_id)
            WHERE x.item_id IS NOT NULL
              AND (n.item_id, n.present, n.media_info)
                  IS DISTINCT FROM (o.item_id, o.present, o.media_info)
              AND ((o.present AND o.media_info IS NOT NULL)
                   OR (n.present AND n.media_info IS NOT NULL))));
    END IF;
    RETURN NULL;
END $$;

-- Triggers fire in name order: these run after 0007's sync_files_* triggers, so the sync order
-- lock is already held. That serialises writers of media_files up to their commit, so the
-- summary is aggregated from a snapshot that sees every other committed file change (two
-- concurrent writers to files of one item cannot each miss the other's change), and row locks
-- on media_items are only taken under that lock (no lock-order inversion between writers).
CREATE TRIGGER upkeep_item_media_summary_insert AFTER INSERT ON media_files
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION upkeep_item_media_summary();
CREATE TRIGGER upkeep_item_media_summary_update AFTER UPDATE ON media_files
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION upkeep_item_media_summary();
CREATE TRIGGER upkeep_item_media_summary_delete AFTER DELETE ON media_files
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION upkeep_item_media_summary();

SELECT refresh_item_media_summary(ARRAY(
    SELECT DISTINCT item_id FROM media_files
    WHERE item_id IS NOT NULL AND present AND media_info IS NOT NULL));

-- Sort keys (store.media_query.SORT_KEYS), each with the id as tie-breaker; scanned backwards for
-- descending pages. "Last watched" is the user's watch state: its index is on watch_state, so
-- "in progress, last watched first" walks that user's rows instead of joining every item.
CREATE INDEX media_items_sort_title ON media_items (sort_title, id) WHERE present;
CREATE INDEX media_items_sort_year ON media_items ((coalesce(year, 0)), id) WHERE present;
CREATE INDEX media_items_sort_release ON media_items (
    (coalesce(release_date, air_date,
              CASE WHEN year BETWEEN 1 AND 9999 THEN make_date(year, 1, 1) END,
              DATE '0001-01-01')), id) WHERE present;
CREATE INDEX media_items_sort_added ON media_items (added_at, id) WHERE present;
DROP INDEX media_items_added;  -- (added_at DESC) WHERE present: the one above serves it too
CREATE INDEX media_items_sort_rating ON media_items ((coalesce(rating, -1)), id) WHERE present;
CREATE INDEX media_items_sort_runtime ON media_items ((coalesce(runtime_minutes, -1)), id)
    WHERE present;
CREATE INDEX watch_state_last_watched ON watch_state (
    user_id, (coalesce(last_played_at, TIMESTAMPTZ '1970-01-01 00:00:00+00')), item_id);

-- Counting "all movies" (of some libraries) reads this narrow index alone instead of the table
-- (the id is there because the query's join to watch_state names it, even when that join is
-- removed for lack of a watch-status filter).
CREATE INDEX media_items_present_kind ON media_items (kind, library_id) INCLUDE (id)
    WHERE present;
