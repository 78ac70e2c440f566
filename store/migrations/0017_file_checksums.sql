-- SHA-256 of media files, computed when a file is first downloaded (issue 22, item 5).
--
-- Never computed by the scan (that would read the whole library); computed on the first
-- download or checksum request and kept until the file changes: the row is valid only while
-- the file's (size, mtime, inode) are those it was computed for, so a replaced or rewritten
-- file is hashed again. Deleted with its file.

CREATE TABLE file_checksums (
    file_id     uuid PRIMARY KEY REFERENCES media_files (id) ON DELETE CASCADE,
    size_bytes  bigint NOT NULL,
    mtime_ns    bigint NOT NULL,
    inode       bigint NOT NULL,
    sha256      bytea NOT NULL CHECK (length(sha256) = 32),
    computed_at timestamptz NOT NULL DEFAULT now()
);
