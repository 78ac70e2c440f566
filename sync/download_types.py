"""Wire types of downloads (issue 22): what the server says about a file's checksum."""

from __future__ import annotations

import uuid

import msgspec


class ChecksumOut(msgspec.Struct, kw_only=True):
    """``GET /media/files/{id}/checksum``: the SHA-256 of the file as it is now."""

    file_id: uuid.UUID
    size_bytes: int
    sha256: str
    """Lower-case hex, 64 characters."""
    etag: str
    """The ETag the download of this very version carries (``If-Range`` for resuming)."""
