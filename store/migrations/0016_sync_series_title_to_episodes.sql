-- A series' title reaches its seasons' and episodes' records (issue 21, item 3).
--
-- Feed records of seasons and episodes carry their series' title (sync.feed_types.ItemRecord
-- series_title), so every view can say "Show · S01E02 · Title". 0007 logs a change of the series
-- itself only; a renamed series (TMDB's title replacing the folder's, an edit in the API) would
-- leave its episodes' records, stored ones (0011) and the players' replicas, with the old name.
-- Now a series whose title changes also logs its seasons and episodes: the feed serves them again
-- (their stored records are retired by the newer sequence) in the same transaction's order.

CREATE FUNCTION sync_log_series_children() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_order_lock();
    WITH renamed AS (
        SELECT n.id FROM new_rows n JOIN old_rows o USING (id)
        WHERE n.kind = 'series' AND n.title IS DISTINCT FROM o.title
    ), seasons AS (
        SELECT s.id, s.library_id FROM media_items s JOIN renamed r ON s.parent_id = r.id
    ), episodes AS (
        SELECT e.id, e.library_id FROM media_items e JOIN seasons s ON e.parent_id = s.id
    )
    INSERT INTO sync_changes (seq, entity, entity_id, library_id)
    SELECT nextval('sync_seq'), 'item', c.id, c.library_id
    FROM (SELECT id, library_id FROM seasons UNION ALL SELECT id, library_id FROM episodes) c;
    RETURN NULL;
END $$;

CREATE TRIGGER sync_items_series_title AFTER UPDATE ON media_items
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_log_series_children();
