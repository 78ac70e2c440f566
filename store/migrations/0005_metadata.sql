-- Metadata and images (issue 4): item fields from NFO files and TMDB, people, images, and the
-- provider response cache.

-- Descriptive fields live on media_items so listing queries need no joins.
ALTER TABLE media_items
    ADD COLUMN original_title    text,
    ADD COLUMN sort_title_custom boolean NOT NULL DEFAULT false,
    ADD COLUMN overview          text,
    ADD COLUMN tagline           text,
    ADD COLUMN genres            text[] NOT NULL DEFAULT '{}',
    ADD COLUMN studios           text[] NOT NULL DEFAULT '{}',
    ADD COLUMN rating            real,            -- the main community rating, 0-10
    ADD COLUMN ratings           jsonb NOT NULL DEFAULT '{}'::jsonb,  -- {"tmdb": {"value": 7.1, "votes": 900}, ...}
    ADD COLUMN mpaa              text,            -- content rating / certification
    ADD COLUMN runtime_minutes   integer,
    ADD COLUMN release_date      date,            -- premiere date for series, air date kept for episodes
    ADD COLUMN collection        text,            -- Kodi <set> / TMDB belongs_to_collection
    ADD COLUMN locked_fields     text[] NOT NULL DEFAULT '{}',  -- never overwritten by providers
    ADD COLUMN identified        jsonb,           -- an "identify" choice: {"provider": "tmdb", "id": 603}; survives rescans
    ADD COLUMN metadata_source   text,            -- 'nfo', 'tmdb', 'nfo+tmdb', 'local', 'edited' or NULL (nothing found)
    ADD COLUMN metadata_error    text,
    ADD COLUMN metadata_at       timestamptz,     -- last time providers ran for this item
    ADD COLUMN placeholder       jsonb;           -- {"color": "#aabbcc", "blurhash": "..."} of the primary image

CREATE INDEX media_items_genres ON media_items USING gin (genres);
CREATE INDEX media_items_metadata_pending ON media_items (library_id)
    WHERE metadata_at IS NULL;

CREATE TABLE people (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL,
    external_ids jsonb NOT NULL DEFAULT '{}'::jsonb,
    thumb_url   text,
    image_id    text,
    identity_key text NOT NULL UNIQUE   -- 'tmdb:123' or 'name:<normalised name>'
);

CREATE TABLE item_people (
    item_id   uuid NOT NULL REFERENCES media_items (id) ON DELETE CASCADE,
    person_id uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    kind      text NOT NULL CHECK (kind IN ('actor', 'director', 'writer', 'producer', 'creator', 'guest')),
    role      text,
    ord       integer NOT NULL DEFAULT 0,
    PRIMARY KEY (item_id, person_id, kind)
);
CREATE INDEX item_people_person ON item_people (person_id);

-- Originals: content-addressed by sha256. Local art is referenced where it lies (source_path)
-- and only copied into the cache when it came from the network.
CREATE TABLE images (
    id          text PRIMARY KEY,            -- sha256 hex of the original bytes
    source_path text,                        -- local file the original is read from, if any
    source_url  text,
    width       integer NOT NULL,
    height      integer NOT NULL,
    format      text NOT NULL,
    color       text,
    blurhash    text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE item_images (
    item_id  uuid NOT NULL REFERENCES media_items (id) ON DELETE CASCADE,
    kind     text NOT NULL CHECK (kind IN ('poster', 'backdrop', 'logo', 'thumb', 'banner')),
    image_id text NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    source   text NOT NULL,                  -- 'local', 'tmdb', 'frame'
    PRIMARY KEY (item_id, kind)
);
CREATE INDEX item_images_image ON item_images (image_id);

-- Failures to read an image (corrupt file, 404): recorded, retried on a later scan.
CREATE TABLE image_errors (
    source   text PRIMARY KEY,               -- path or URL
    error    text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now()
);

-- Variants produced on demand or ahead of time; LRU by last_used_at.
CREATE TABLE image_variants (
    image_id     text NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    width        integer NOT NULL,
    format       text NOT NULL,
    bytes        integer NOT NULL,
    last_used_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (image_id, width, format)
);
CREATE INDEX image_variants_lru ON image_variants (last_used_at);

-- Provider responses (TMDB), so a rescan does not query again.
CREATE TABLE provider_cache (
    key        text PRIMARY KEY,             -- 'tmdb:' || path + sorted query
    body       jsonb NOT NULL,
    fetched_at timestamptz NOT NULL DEFAULT now()
);
