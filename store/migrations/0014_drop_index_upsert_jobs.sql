-- Job kinds that are gone: ``index_upsert`` and ``metadata_enrich`` with a ``file_ids`` payload
-- (parse names, then index them). 0.1.0 kept their handlers only for queues written by earlier
-- versions; FolderScan parses and indexes files itself. A job of either kind left in a queue
-- would never be claimed (no handler) and would keep its scan from finishing, so it is deleted.
--
-- Files such a job named that never got their item are made to look changed (unknown mtime,
-- their folder's fingerprint forgotten): the next scan walks them again, parses and indexes them.

WITH dropped AS (
    DELETE FROM jobs
    WHERE kind = 'index_upsert' OR (kind = 'metadata_enrich' AND payload ? 'file_ids')
    RETURNING payload
), named AS (
    SELECT DISTINCT n.id::uuid AS id
    FROM dropped d
    CROSS JOIN LATERAL jsonb_array_elements_text(
        CASE WHEN jsonb_typeof(d.payload -> 'file_ids') = 'array' THEN d.payload -> 'file_ids'
             ELSE '[]'::jsonb END) AS n(id)
), stale AS (
    UPDATE media_files f SET mtime_ns = -1, updated_at = now()
    FROM named n
    WHERE f.id = n.id AND f.item_id IS NULL
    RETURNING f.library_id, f.folder
)
UPDATE folders fo SET fingerprint = ''
FROM (SELECT DISTINCT library_id, folder FROM stale) s
WHERE fo.library_id = s.library_id AND fo.path = s.folder;
