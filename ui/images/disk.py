"""Disk cache of the server's image variants in the player's data dir, bounded by bytes.

Files are named by image id and the standard width fetched, written atomically (temp file +
rename) so a crash never leaves half an image that would decode as garbage next start. The
oldest-used files (mtime, touched on read) go first when the cache is over its size.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_ID = re.compile(r"^[0-9a-f]{64}$")


class DiskCache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.root.mkdir(parents=True, exist_ok=True)
        self._bytes = sum(p.stat().st_size for p in self._files())

    def _files(self) -> list[Path]:
        return [p for p in self.root.glob("*/*.img") if p.is_file()]

    def path(self, image_id: str, width: int) -> Path:
        if not _ID.match(image_id):
            raise ValueError(f"not an image id: {image_id!r}")
        return self.root / image_id[:2] / f"{image_id}.w{width}.img"

    def read(self, image_id: str, width: int) -> bytes | None:
        """Blocking (call from a worker thread)."""
        path = self.path(image_id, width)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            os.utime(path)
        except OSError:
            pass
        return data

    def write(self, image_id: str, width: int, data: bytes) -> None:
        """Blocking (call from a worker thread)."""
        path = self.path(image_id, width)
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        self._bytes += len(data)
        if self._bytes > self.max_bytes:
            self.trim()

    def trim(self) -> None:
        files = sorted(self._files(), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in files)
        target = int(self.max_bytes * 0.9)  # trim a little below, so trims are rare
        for p in files:
            if total <= target:
                break
            size = p.stat().st_size
            p.unlink(missing_ok=True)
            total -= size
        self._bytes = total

    @property
    def bytes(self) -> int:
        return self._bytes
