-- What scans find: folders (for skip-if-unchanged), files, and the item hierarchy.

ALTER TABLE jobs ADD COLUMN scan_id uuid;
CREATE INDEX jobs_scan_state ON jobs (scan_id, state) WHERE scan_id IS NOT NULL;

CREATE TABLE scans (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    library_id     uuid NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
    state          text NOT NULL DEFAULT 'running'
                   CHECK (state IN ('running', 'paused', 'completed', 'cancelled', 'failed')),
    trigger        text NOT NULL,
    force          boolean NOT NULL DEFAULT false,
    folders_walked integer NOT NULL DEFAULT 0,
    files_found    integer NOT NULL DEFAULT 0,
    errors         integer NOT NULL DEFAULT 0,
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
);
-- At most one unfinished scan per library: a second request joins the running one.
CREATE UNIQUE INDEX scans_one_active ON scans (library_id) WHERE state IN ('running', 'paused');

CREATE TABLE folders (
    library_id  uuid NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
    path        text NOT NULL,
    fingerprint text NOT NULL,
    error       text,
    scanned_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (library_id, path)
);

CREATE TABLE media_items (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    library_id     uuid NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN ('movie', 'series', 'season', 'episode')),
    parent_id      uuid REFERENCES media_items (id) ON DELETE CASCADE,
    identity_key   text NOT NULL,
    title          text NOT NULL,
    sort_title     text NOT NULL,
    year           integer,
    season_number  integer,
    episode_numbers integer[],
    air_date       date,
    edition        text,
    external_ids   jsonb NOT NULL DEFAULT '{}'::jsonb,
    present        boolean NOT NULL DEFAULT true,
    added_at       timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (library_id, identity_key)
);
CREATE INDEX media_items_parent ON media_items (parent_id);
CREATE INDEX media_items_library_kind ON media_items (library_id, kind, sort_title);

CREATE TABLE media_files (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    library_id     uuid NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
    path           text NOT NULL,
    folder         text NOT NULL,
    size_bytes     bigint NOT NULL,
    mtime_ns       bigint NOT NULL,
    item_id        uuid REFERENCES media_items (id) ON DELETE SET NULL,
    parsed         jsonb,
    version        text,
    part           integer,
    extra_kind     text,
    media_info     jsonb,
    analysis_error text,
    analyzed_at    timestamptz,
    present        boolean NOT NULL DEFAULT true,
    missing_since  timestamptz,
    added_at       timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (library_id, path)
);
CREATE INDEX media_files_folder ON media_files (library_id, folder);
CREATE INDEX media_files_item ON media_files (item_id);
