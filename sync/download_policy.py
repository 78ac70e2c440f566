"""What the downloads manager may keep (issue 22, items 3 and 4): the storage limit, "remove after
watching" and the series followed with smart downloads; and the space figures the UI shows.

**The default limit** is :data:`DEFAULT_SHARE` (25 %) of the space downloads could have: the
disk's free space plus what downloads already hold. A share of the free space alone would
shrink as downloads fill the disk (each new file lowering the limit), so the limit would move
under the user's feet; counting what is held keeps it steady. A quarter leaves the rest of a
laptop's disk to everything else while still holding a season or two of typical episodes.
Whatever the limit, a download never starts when the disk itself has no room for it.

**Followed series** (smart downloads) are kept in ``downloads/follows.json`` beside the manifest,
not in the settings: they name series of the server the downloads came from, they live and die
with the downloads (``downloads remove`` of everything leaves nothing stale behind) and the
settings file stays a list of this machine's preferences.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

DEFAULT_SHARE = 0.25
FOLLOWS = "follows.json"


@dataclass
class DownloadPolicy:
    limit_bytes: int | None = None
    """At most this much in downloads; None: :data:`DEFAULT_SHARE` of the space they could have."""
    remove_after_watching: bool = True
    """A download whose item the server reports watched is deleted on the next refresh."""
    smart: dict[uuid.UUID, int] = field(default_factory=dict)
    """Followed series -> how many of their next unwatched episodes to keep local."""


@dataclass(frozen=True)
class SpaceInfo:
    used_bytes: int
    """Held by downloads: complete files and partial transfers."""
    limit_bytes: int
    """The limit in force (the default share computed now when the policy names none)."""
    free_bytes: int
    """Free on the disk that holds the downloads."""
    default_limit: bool
    """The limit is the default share, not one the user set."""

    @property
    def room_bytes(self) -> int:
        """What a new download may take: under the limit and on the disk."""
        return max(0, min(self.limit_bytes - self.used_bytes, self.free_bytes))


def disk_free(path: Path) -> int:
    """Free bytes for an unprivileged user on the file system of ``path`` (or of its nearest
    existing parent: the downloads dir is made by the first download)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def space(policy: DownloadPolicy, used_bytes: int, free_bytes: int) -> SpaceInfo:
    if policy.limit_bytes is not None:
        limit, default = policy.limit_bytes, False
    else:
        limit, default = int((free_bytes + used_bytes) * DEFAULT_SHARE), True
    return SpaceInfo(
        used_bytes=used_bytes, limit_bytes=limit, free_bytes=free_bytes, default_limit=default
    )


def load_follows(folder: Path) -> dict[uuid.UUID, int]:
    try:
        raw = (folder / FOLLOWS).read_bytes()
    except FileNotFoundError:
        return {}
    try:
        return msgspec.json.decode(raw, type=dict[uuid.UUID, int])
    except (msgspec.DecodeError, msgspec.ValidationError):
        return {}  # hand-edited into nonsense: follow again rather than refuse to start


def save_follows(folder: Path, follows: dict[uuid.UUID, int]) -> None:
    from sync.downloads import _atomic_write

    path = folder / FOLLOWS
    if not follows and not path.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, msgspec.json.encode({str(k): v for k, v in sorted(follows.items())}))


def policy_for(
    folder: Path, limit_bytes: int | None = None, remove_after_watching: bool = True
) -> DownloadPolicy:
    """The policy from the settings' two values and the follows stored beside the downloads."""
    return DownloadPolicy(
        limit_bytes=limit_bytes,
        remove_after_watching=remove_after_watching,
        smart=load_follows(folder),
    )


def held_bytes(folder: Path) -> int:
    """Bytes of partial transfers (``*.part``) under the downloads dir."""
    total = 0
    if not folder.is_dir():
        return 0
    for entry in os.scandir(folder):
        if entry.is_dir():
            for child in os.scandir(entry.path):
                if child.name.endswith(".part"):
                    total += child.stat().st_size
    return total
