"""Many short strings as ONE value: a utf-8 blob plus a uint32 offset per row.

The replica keeps a sort key and two search texts per row. As msgpack lists, every commit would
decode and re-encode all 30k of them; packed, a commit that changes k rows copies the blob in at
most k+1 slices, and a search scans the blob once with ``re`` (in C) and maps each hit to its row
with one ``searchsorted``, straight from LMDB's memory map. Each row ends with a NUL byte, which
no needle contains, so no match can run from one row into the next.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import numpy.typing as npt

Offsets = npt.NDArray[np.uint32]
_SEP = b"\x00"


class PackedStrings:
    __slots__ = ("blob", "offsets")

    def __init__(self, blob: bytes | memoryview, offsets: Offsets) -> None:
        self.blob = blob
        self.offsets = offsets  # n + 1 entries; row i is blob[offsets[i]:offsets[i + 1] - 1]

    @staticmethod
    def pack(strings: list[str]) -> PackedStrings:
        encoded = [s.encode() + _SEP for s in strings]
        lengths = np.fromiter((len(b) for b in encoded), np.uint32, len(encoded))
        offsets = np.zeros(len(encoded) + 1, np.uint32)
        np.cumsum(lengths, out=offsets[1:])
        return PackedStrings(b"".join(encoded), offsets)

    @staticmethod
    def load(blob: bytes | memoryview | None, offsets: bytes | memoryview | None) -> PackedStrings:
        if blob is None or offsets is None:
            return PackedStrings.pack([])
        return PackedStrings(blob, np.frombuffer(offsets, np.uint32))

    def __len__(self) -> int:
        return max(0, int(self.offsets.size) - 1)

    def get(self, row: int) -> str:
        start, end = int(self.offsets[row]), int(self.offsets[row + 1]) - 1
        return bytes(self.blob[start:end]).decode()

    def dump(self) -> tuple[bytes, bytes]:
        return bytes(self.blob), self.offsets.tobytes()

    def edit(
        self,
        removed: npt.NDArray[Any],
        kept_idx: npt.NDArray[Any],
        positions: npt.NDArray[Any],
        new: list[str],
    ) -> PackedStrings:
        """Drop the ``removed`` rows (sorted), then insert ``new[j]`` before kept row
        ``positions[j]`` (nondecreasing): the same edit ``np.insert(a[kept_idx], positions,
        ...)`` makes to a column."""
        if kept_idx.size == 0:  # nothing kept (a snapshot): just the new strings
            return PackedStrings.pack(new)
        n = len(self)
        off = self.offsets
        blob = self.blob
        added = [s.encode() + _SEP for s in new]
        # boundaries in old row numbers: a removal skips a row, an insertion goes before one
        cuts = [int(kept_idx[p]) if p < kept_idx.size else n for p in positions.tolist()]
        events = sorted(
            [(int(r), 0, b"") for r in removed.tolist()]
            + [(c, 1, b) for c, b in zip(cuts, added, strict=True)],
            key=lambda e: (e[0], e[1]),
        )
        pieces: list[bytes | memoryview] = []
        at = 0
        view = memoryview(blob) if not isinstance(blob, memoryview) else blob
        for row, kind, data in events:
            start = int(off[row])
            pieces.append(view[at:start])
            if kind == 0:
                at = int(off[row + 1])
            else:
                pieces.append(data)
                at = start
        pieces.append(view[at:])
        lengths = np.diff(off.astype(np.int64))[kept_idx]
        lengths = np.insert(lengths, positions, [len(b) for b in added])
        offsets = np.zeros(lengths.size + 1, np.uint32)
        np.cumsum(lengths, out=offsets[1:])
        return PackedStrings(b"".join(pieces), offsets)

    def rows_with(self, needle: bytes) -> npt.NDArray[np.int64]:
        """Rows that contain ``needle`` (sorted, unique)."""
        if not needle or len(self) == 0:
            return np.zeros(0, np.int64)
        hits = [m.start() for m in re.finditer(re.escape(needle), self.blob)]
        if not hits:
            return np.zeros(0, np.int64)
        rows = np.searchsorted(self.offsets, np.array(hits, np.int64), side="right") - 1
        return np.unique(rows.astype(np.int64))
