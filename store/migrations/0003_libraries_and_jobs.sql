-- Libraries and the durable, lease-based job queue that scans them.

CREATE TABLE libraries (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                  text NOT NULL,
    kind                  text NOT NULL CHECK (kind IN ('movies', 'series')),
    roots                 text[] NOT NULL CHECK (cardinality(roots) > 0),
    scan_interval_minutes integer NOT NULL DEFAULT 360 CHECK (scan_interval_minutes >= 0),
    watch                 boolean NOT NULL DEFAULT true,
    paused                boolean NOT NULL DEFAULT false,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TYPE job_state AS ENUM ('ready', 'deferred', 'leased', 'completed', 'failed', 'dead_letter');

CREATE TABLE jobs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text NOT NULL,
    library_id       uuid REFERENCES libraries (id) ON DELETE CASCADE,
    payload          jsonb NOT NULL DEFAULT '{}'::jsonb,
    priority         smallint NOT NULL CHECK (priority BETWEEN 0 AND 3),
    state            job_state NOT NULL DEFAULT 'ready',
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
    available_at     timestamptz NOT NULL DEFAULT now(),
    lease_owner      text,
    lease_id         uuid,
    lease_expires_at timestamptz,
    dedupe_key       text,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    CHECK ((state = 'leased') = (lease_id IS NOT NULL))
);

-- Idempotent enqueue: one active job per dedupe key; finished jobs do not block a new one.
CREATE UNIQUE INDEX jobs_dedupe_active ON jobs (dedupe_key)
    WHERE dedupe_key IS NOT NULL AND state IN ('ready', 'deferred', 'leased');
-- Dequeue: the oldest eligible job of one (priority band, library).
CREATE INDEX jobs_eligible ON jobs (priority, library_id, available_at, id) WHERE state = 'ready';
CREATE INDEX jobs_deferred ON jobs (available_at) WHERE state = 'deferred';
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE state = 'leased';
CREATE INDEX jobs_library_state ON jobs (library_id, state);
