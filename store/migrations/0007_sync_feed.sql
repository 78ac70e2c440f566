-- Local-first sync (issue 7): a change log of everything a player replicates.
--
-- Triggers on the browse tables write one row per changed entity into sync_changes, in the same
-- transaction as the change, so no writer can forget to log and a rolled-back change logs nothing.
-- Each logging statement first takes one transaction-scoped advisory lock, then draws sequence
-- numbers: a transaction holding sequence N commits before any transaction can draw N+1, so commit
-- order equals sequence order and a reader that has seen N can never later find a smaller number
-- appear (the classic gap problem of sequence-numbered outboxes).
-- Rows name what changed (entity + id), not the new value: the feed reads current state when it
-- serves a page, so several changes of one item reach the player as one up-to-date record.

CREATE SEQUENCE sync_seq AS bigint;

CREATE TABLE sync_changes (
    seq        bigint PRIMARY KEY,
    entity     text NOT NULL CHECK (entity IN ('library', 'item', 'watch', 'access')),
    entity_id  uuid NOT NULL,
    library_id uuid,            -- for access filtering; also kept for deletions
    user_id    uuid,            -- watch changes belong to one user; NULL = everyone's concern
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_changes_at ON sync_changes (at);

-- Which libraries a user may see: NULL = all of them (the default, as in Jellyfin's "enable access
-- to all libraries"); otherwise only those listed. Enforced by the media API, streaming and the
-- sync feed alike.
ALTER TABLE users ADD COLUMN library_ids uuid[];

-- Changes up to pruned_through were deleted: a player behind that must take a new snapshot.
CREATE TABLE sync_retention (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    pruned_through bigint NOT NULL DEFAULT 0
);
INSERT INTO sync_retention DEFAULT VALUES;

CREATE FUNCTION sync_order_lock() RETURNS void LANGUAGE sql AS
$$ SELECT pg_advisory_xact_lock(7378986397938651137) $$;  -- 0x6666_7273_796e_6301 'ffrsync'

-- libraries ------------------------------------------------------------------------------------
CREATE FUNCTION sync_log_libraries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_order_lock();
    IF TG_OP = 'DELETE' THEN
        INSERT INTO sync_changes (seq, entity, entity_id, library_id)
        SELECT nextval('sync_seq'), 'library', o.id, o.id FROM old_rows o;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO sync_changes (seq, entity, entity_id, library_id)
        SELECT nextval('sync_seq'), 'library', n.id, n.id FROM new_rows n;
    ELSE
        INSERT INTO sync_changes (seq, entity, entity_id, library_id)
        SELECT nextval('sync_seq'), 'library', n.id, n.id
        FROM new_rows n JOIN old_rows o USING (id)
        WHERE (n.name, n.kind) IS DISTINCT FROM (o.name, o.kind);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER sync_libraries_insert AFTER INSERT ON libraries
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_log_libraries();
CREATE TRIGGER sync_libraries_update AFTER UPDATE ON libraries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_log_libraries();
CREATE TRIGGER sync_libraries_delete AFTER DELETE ON libraries
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_log_libraries();

-- media_items: only the columns a player shows count as a change -----------------------------
CREATE FUNCTION sync_log_items() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_order_lock();
    IF TG_OP = 'DELETE' THEN
        INSERT INTO sync_changes (seq, entity, entity_id, library_id)
        SELECT nextval('sync_seq'), 'item', o.id, o.library_id FROM old_rows o;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO sync_changes (seq, entity, entity_id, library_id)
        SELECT nextval('sync_seq'), 'item', n.id, n.library_id FROM new_rows n;
    ELSE
        INSERT INTO sync_changes (seq, entity, entity_id, library_id)
        SELECT nextval('sync_seq'), 'item', n.id, n.library_id
        FROM new_rows n JOIN old_rows o USING (id)
        WHERE (n.library_id, n.kind, n.parent_id, n.title, n.original_title, n.sort_title, n.year,
               n.release_date, n.air_date, n.season_number, n.episode_numbers, n.rating,
               n.runtime_minutes, n.genres, n.added_at, n.overview, n.tagline, n.studios, n.mpaa,
               n.placeholder, n.present)
              IS DISTINCT FROM
              (o.library_id, o.kind, o.parent_id, o.title, o.original_title, o.sort_title, o.year,
               o.release_date, o.air_date, o.season_number, o.episode_numbers, o.rating,
               o.runtime_minutes, o.genres, o.added_at, o.overview, o.tagline, o.studios, o.mpaa,
               o.placeholder, o.present);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER sync_items_insert AFTER INSERT ON media_items
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_log_items();
CREATE TRIGGER sync_items_update AFTER UPDATE ON media_items
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_log_items();
CREATE TRIGGER sync_items_delete AFTER DELETE ON media_items
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_log_items();

-- what hangs off an item (files, images, cast) changes the item's record ------------------------
-- Transition rows of these tables carry item_id; the item's library comes from media_items (an
-- item deleted in the same statement already logged its own tombstone).
CREATE FUNCTION sync_log_item_parts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_order_lock();
    IF TG_OP = 'DELETE' THEN
        INSERT INTO sync_changes (seq, entity, entity_id, library_id)
        SELECT nextval('sync_seq'), 'item', i.id, i.library_id
        FROM (SELECT DISTINCT item_id FROM old_rows) o JOIN media_items i ON i.id = o.item_id;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO sync_changes (seq, entity, entity_id, library_id)
        SELECT nextval('sync_seq'), 'item', i.id, i.library_id
        FROM (SELECT DISTINCT item_id FROM new_rows) n JOIN media_items i ON i.id = n.item_id;
    ELSE
        INSERT INTO sync_changes (seq, entity, entity_id, library_id)
        SELECT nextval('sync_seq'), 'item', i.id, i.library_id
        FROM (SELECT item_id FROM old_rows UNION SELECT item_id FROM new_rows) c
        JOIN media_items i ON i.id = c.item_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER sync_item_images_insert AFTER INSERT ON item_images
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_log_item_parts();
CREATE TRIGGER sync_item_images_update AFTER UPDATE ON item_images
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_log_item_parts();
CREATE TRIGGER sync_item_images_delete AFTER DELETE ON item_images
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_log_item_parts();
CREATE TRIGGER sync_item_people_insert AFTER INSERT ON item_people
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_log_item_parts();
CREATE TRIGGER sync_item_people_update AFTER UPDATE ON item_people
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_log_item_parts();
CREATE TRIGGER sync_item_people_delete AFTER DELETE ON item_people
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_log_item_parts();

-- media files: only changes the detail view shows (presence, analysis, which item)
CREATE FUNCTION sync_log_files() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_order_lock();
    IF TG_OP = 'DELETE' THEN
        INSERT INTO sync_changes (seq, entity, entity_id, library_id)
        SELECT nextval('sync_seq'), 'item', i.id, i.library_id
        FROM (SELECT DISTINCT item_id FROM old_rows WHERE item_id IS NOT NULL) o
        JOIN media_items i ON i.id = o.item_id;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO sync_changes (seq, entity, entity_id, library_id)
        SELECT nextval('sync_seq'), 'item', i.id, i.library_id
        FROM (SELECT DISTINCT item_id FROM new_rows WHERE item_id IS NOT NULL) n
        JOIN media_items i ON i.id = n.item_id;
    ELSE
        INSERT INTO sync_changes (seq, entity, entity_id, library_id)
        SELECT nextval('sync_seq'), 'item', i.id, i.library_id
        FROM (SELECT unnest(ARRAY[o.item_id, n.item_id]) AS item_id
              FROM new_rows n JOIN old_rows o USING (id)
              WHERE (n.item_id, n.present, n.media_info, n.size_bytes, n.version, n.part,
                     n.extra_kind, n.path)
                    IS DISTINCT FROM
                    (o.item_id, o.present, o.media_info, o.size_bytes, o.version, o.part,
                     o.extra_kind, o.path)) c
        JOIN media_items i ON i.id = c.item_id
        GROUP BY i.id, i.library_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER sync_files_insert AFTER INSERT ON media_files
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_log_files();
CREATE TRIGGER sync_files_update AFTER UPDATE ON media_files
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_log_files();
CREATE TRIGGER sync_files_delete AFTER DELETE ON media_files
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_log_files();

-- a person renamed or given a picture changes the cast of every item they are in
CREATE FUNCTION sync_log_people() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_order_lock();
    INSERT INTO sync_changes (seq, entity, entity_id, library_id)
    SELECT nextval('sync_seq'), 'item', i.id, i.library_id
    FROM (SELECT DISTINCT ip.item_id
          FROM new_rows n JOIN old_rows o USING (id)
          JOIN item_people ip ON ip.person_id = n.id
          WHERE (n.name, n.image_id) IS DISTINCT FROM (o.name, o.image_id)) c
    JOIN media_items i ON i.id = c.item_id;
    RETURN NULL;
END $$;

CREATE TRIGGER sync_people_update AFTER UPDATE ON people
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_log_people();

-- watch state: one user's concern ---------------------------------------------------------------
CREATE FUNCTION sync_log_watch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_order_lock();
    IF TG_OP = 'DELETE' THEN
        INSERT INTO sync_changes (seq, entity, entity_id, library_id, user_id)
        SELECT nextval('sync_seq'), 'watch', o.item_id, i.library_id, o.user_id
        FROM old_rows o LEFT JOIN media_items i ON i.id = o.item_id;
    ELSE
        INSERT INTO sync_changes (seq, entity, entity_id, library_id, user_id)
        SELECT nextval('sync_seq'), 'watch', n.item_id, i.library_id, n.user_id
        FROM new_rows n LEFT JOIN media_items i ON i.id = n.item_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER sync_watch_insert AFTER INSERT ON watch_state
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_log_watch();
CREATE TRIGGER sync_watch_update AFTER UPDATE ON watch_state
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_log_watch();
CREATE TRIGGER sync_watch_delete AFTER DELETE ON watch_state
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_log_watch();

-- library access: a user whose set of visible libraries changed must re-snapshot ---------------
CREATE FUNCTION sync_log_access() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sync_order_lock();
    INSERT INTO sync_changes (seq, entity, entity_id, user_id)
    SELECT nextval('sync_seq'), 'access', n.id, n.id
    FROM new_rows n JOIN old_rows o USING (id)
    WHERE n.library_ids IS DISTINCT FROM o.library_ids;
    RETURN NULL;
END $$;

CREATE TRIGGER sync_users_access AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync_log_access();
