-- The sync feed's per-item records, kept encoded (issue 7: initial sync of 30k items <= 2 s).
--
-- Building each item's browse record as JSON in Postgres and turning it into msgpack in Python
-- was most of a snapshot's time (30k items: ~1.3 s of SQL, ~0.85 s of decoding and encoding).
-- The appliance now stores the msgpack bytes of each record (``sync.feed_types.ItemRecord``)
-- here, and a snapshot streams them as they are.
--
-- No trigger keeps this table current, so writers pay nothing. A row says "this is the item's
-- record as of change-log sequence seq"; it is still the current record exactly when no 'item'
-- change for that item was logged after seq. Every change that alters a record is logged (the
-- change feed relies on the same promise), and the change log's order is commit order
-- (migration 0007), so the test is exact as long as the log after seq is complete, i.e.
-- seq >= sync_retention.pruned_through. Rows that fail the test, or that another version of the
-- appliance wrote in another format, are ignored by readers and rewritten by the appliance when
-- the feed is quiet (appliance/syncfeed.py).

CREATE TABLE sync_item_records (
    item_id uuid PRIMARY KEY REFERENCES media_items (id) ON DELETE CASCADE,
    seq     bigint NOT NULL,   -- the record is the item's state as of this change-log sequence
    format  integer NOT NULL,  -- store.sync_feed.RECORD_FORMAT of the appliance that wrote it
    record  bytea NOT NULL     -- msgpack of sync.feed_types.ItemRecord
);
-- Records are written once and read whole: never worth compressing (a few hundred bytes each).
ALTER TABLE sync_item_records ALTER COLUMN record SET STORAGE EXTERNAL;

-- "Was this item changed after seq?", one index probe per item.
CREATE INDEX sync_changes_item ON sync_changes (entity_id, seq) WHERE entity = 'item';
