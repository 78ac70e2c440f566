-- The sync feed's media_files trigger (0007) logs each item once per transaction.
--
-- What 0007 cost a scan (bench/scan.py --sync-triggers on,off): IndexUpsert logged every new
-- item twice in one transaction, once when inserted and again when its files were linked to it
-- (59,654 change-log rows for the 30,252 items of the 30k-file bench tree), and the triggers
-- added about 30 % to Postgres's CPU time for the full scan.
--
-- sync_order_lock() now also remembers, for the rest of the transaction, the last sequence
-- number drawn before this transaction got the lock: under the lock nobody else draws and
-- everyone who drew before has ended, so every change numbered above it is this transaction's
-- own. The media_files trigger skips items the transaction has logged already. The feed serves
-- an item's current state when it is read, so one row per item and transaction says everything
-- the second one did. Locking and ordering are exactly as in 0007: the lock is taken first,
-- before anything is drawn, and held until the transaction ends.

CREATE OR REPLACE FUNCTION sync_order_lock() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7378986397938651137);  -- 0x6666_7273_796e_6301 'ffrsync'
    IF coalesce(current_setting('ferrex.sync_logged_after', true), '') = '' THEN
        -- Under the lock nobody else draws, and whoever drew before has ended: every number
        -- above this one is ours. Local to the transaction (and to a savepoint rolled back).
        PERFORM set_config('ferrex.sync_logged_after',
                           (SELECT (CASE WHEN is_called THEN last_value ELSE last_value - 1 END)::text
                            FROM sync_seq), true);
    END IF;
END $$;

-- media files: only changes the detail view shows (presence, analysis, which item)
CREATE OR REPLACE FUNCTION sync_log_files() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
    libs uuid[];
BEGIN
    PERFORM sync_order_lock();
    IF TG_OP = 'DELETE' THEN
        SELECT array_agg(i.id), array_agg(i.library_id) INTO ids, libs
        FROM (SELECT DISTINCT item_id FROM old_rows WHERE item_id IS NOT NULL) o
        JOIN media_items i ON i.id = o.item_id;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(i.id), array_agg(i.library_id) INTO ids, libs
        FROM (SELECT DISTINCT item_id FROM new_rows WHERE item_id IS NOT NULL) n
        JOIN media_items i ON i.id = n.item_id;
    ELSE
        SELECT array_agg(i.id), array_agg(i.library_id) INTO ids, libs
        FROM (SELECT DISTINCT unnest(ARRAY[o.item_id, n.item_id]) AS item_id
              FROM new_rows n JOIN old_rows o USING (id)
              WHERE (n.item_id, n.present, n.media_info, n.size_bytes, n.version, n.part,
                     n.extra_kind, n.path)
                    IS DISTINCT FROM
                    (o.item_id, o.present, o.media_info, o.size_bytes, o.version, o.part,
                     o.extra_kind, o.path)) c
        JOIN media_items i ON i.id = c.item_id;
    END IF;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    -- EXECUTE: planned for the actual bound, an index range over this transaction's own rows
    EXECUTE $q$
        INSERT INTO sync_changes (seq, entity, entity_id, library_id)
        SELECT nextval('sync_seq'), 'item', c.id, c.library_id
        FROM unnest($1::uuid[], $2::uuid[]) AS c(id, library_id)
        WHERE NOT EXISTS (SELECT 1 FROM sync_changes s
                          WHERE s.seq > $3 AND s.entity = 'item' AND s.entity_id = c.id)
    $q$ USING ids, libs, current_setting('ferrex.sync_logged_after')::bigint;
    RETURN NULL;
END $$;
