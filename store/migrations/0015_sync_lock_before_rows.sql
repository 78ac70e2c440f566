-- The sync feed's ordering lock is taken before a statement locks any row (issue 19, item 2).
--
-- 0007's triggers are AFTER ... FOR EACH STATEMENT: a statement first inserted, updated or deleted
-- its rows (locking them), and only then did its trigger wait for the ordering lock. Two writers
-- could therefore each hold what the other waited for: a MetadataEnrich had updated an item (row
-- lock held) and waited for the lock, while the FolderScan holding the lock went on to update
-- that same item (its summary, presence or a linked extra) and waited for the row: "deadlock
-- detected", and one job rolled back and retried.
--
-- Now every table whose changes the feed logs also has a BEFORE ... FOR EACH STATEMENT trigger
-- that takes the lock (sync_order_lock(): re-entrant within the transaction, recording where its
-- sequence numbers start, as in 0009). A writer's first statement on those tables waits for the
-- lock while it holds no row of them, and keeps the lock until it commits, so every row lock on
-- them is taken under the lock: one global order, lock first, then rows. Nothing else changes:
-- those statements took the lock anyway (each sync_log_* function starts with it), only earlier.

CREATE FUNCTION sync_lock_first() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_order_lock();
    RETURN NULL;
END $$;

DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT DISTINCT tgrelid::regclass FROM pg_trigger
             WHERE NOT tgisinternal AND tgname LIKE 'sync\_%' ORDER BY 1
    LOOP
        EXECUTE format('CREATE TRIGGER sync_0_lock_first BEFORE INSERT OR UPDATE OR DELETE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION sync_lock_first()', t);
    END LOOP;
END $$;
