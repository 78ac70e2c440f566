"""SHA-256 of a media file for downloads (issue 22, item 5): computed on first need, cached.

The scan never hashes (that would read the whole library); the first download or checksum
request of a file does, in a worker thread, at most :data:`CONCURRENT` files at once so a burst
of downloads cannot saturate the disks. The digest is stored in Postgres keyed by the file's
(size, mtime, inode) and reused while a fresh stat still matches; a file that changed is hashed
again. A file that changes while it is being hashed is hashed again (up to :data:`ATTEMPTS`)
rather than cached with a digest of bytes it no longer has.
"""

from __future__ import annotations

import hashlib
import os
import uuid

import trio

from appliance.errors import Unavailable
from store import file_checksums
from store.db import Database
from store.file_checksums import Key
from sync.errors import ErrorCode

CONCURRENT = 2
ATTEMPTS = 3
CHUNK = 1 << 20
_LIMITER = trio.CapacityLimiter(CONCURRENT)
computed = 0
"""Files hashed by this process (the tests check that a cached digest is not recomputed)."""


def key_of(st: os.stat_result) -> Key:
    return st.st_size, st.st_mtime_ns, st.st_ino


def _hash(path: str) -> tuple[bytes, Key, Key]:
    """The digest and the file's key before and after reading it (worker thread)."""
    before = key_of(os.stat(path))
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.digest(), before, key_of(os.stat(path))


async def sha256(db: Database, file_id: uuid.UUID, path: str, st: os.stat_result) -> bytes:
    """The SHA-256 of ``path`` (file ``file_id``, just stat'ed as ``st``): the cached one while
    the file is unchanged, else computed now and cached."""
    global computed
    key = key_of(st)
    found = await file_checksums.cached(db, file_id, key)
    if found is not None:
        return found
    for _ in range(ATTEMPTS):
        digest, before, after = await trio.to_thread.run_sync(_hash, path, limiter=_LIMITER)
        computed += 1
        if before == after:  # (a change since the caller's stat: this is the file now)
            await file_checksums.save(db, file_id, after, digest)
            return digest
    raise Unavailable(
        ErrorCode.FILE_UNREADABLE,
        "the file is changing on the server; try again when it is complete",
        headers={"Retry-After": "30"},
    )
