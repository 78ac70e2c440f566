"""Cached SHA-256 of media files, keyed by the file's (size, mtime, inode) when it was read.

A row answers only for the file as it was: the caller compares the key with a fresh stat, so a
file rewritten in place (new mtime), replaced (new inode) or truncated is hashed again."""

from __future__ import annotations

import uuid

from store.db import Database
from store.sql import sql

CHECKSUM = sql(
    """
    SELECT sha256 FROM file_checksums
    WHERE file_id = $1 AND size_bytes = $2 AND mtime_ns = $3 AND inode = $4
    """
)
SAVE = sql(
    """
    INSERT INTO file_checksums (file_id, size_bytes, mtime_ns, inode, sha256)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (file_id) DO UPDATE
    SET size_bytes = EXCLUDED.size_bytes, mtime_ns = EXCLUDED.mtime_ns,
        inode = EXCLUDED.inode, sha256 = EXCLUDED.sha256, computed_at = now()
    """
)

Key = tuple[int, int, int]
"""(size, mtime_ns, inode) of the file the digest was computed from."""


async def cached(db: Database, file_id: uuid.UUID, key: Key) -> bytes | None:
    """The digest stored for this file as it is now (``key``), else None."""
    value = await db.fetchval(CHECKSUM, file_id, *key)
    return bytes(value) if value is not None else None


async def save(db: Database, file_id: uuid.UUID, key: Key, digest: bytes) -> None:
    await db.execute(SAVE, file_id, *key, digest)
