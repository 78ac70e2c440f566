"""Wire types for libraries and scans (the player's admin "Libraries" settings use them)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from sync.wire import FsPath, Text

LibraryKind = Literal["movies", "series"]
LibraryName = Text
"""No NUL and a coarse bound here; the name rules themselves (1-100 characters, printable,
unique) are ``appliance.scan.library_names``."""
Roots = Annotated[list[FsPath], msgspec.Meta(max_length=64)]
IntervalMinutes = Annotated[int, msgspec.Meta(ge=0, le=525_600)]
"""0 (no periodic rescans) to a year."""


class LibraryIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: LibraryName
    kind: LibraryKind
    roots: Roots
    """Absolute folders on the appliance; existing, readable, not inside another library."""
    scan_interval_minutes: IntervalMinutes = 360
    """0 turns periodic rescans off (the watcher still sees changes when ``watch`` is on)."""
    watch: bool = True


class LibraryPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: LibraryName | None = None
    roots: Roots | None = None
    scan_interval_minutes: IntervalMinutes | None = None
    watch: bool | None = None


class LibraryOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    kind: LibraryKind
    roots: list[str]
    scan_interval_minutes: int
    watch: bool
    paused: bool
    created_at: dt.datetime


class ScanRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    force: bool = False
    """Re-read every folder even if its listing did not change."""


class ScanOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    library_id: uuid.UUID
    state: str
    trigger: str
    folders_walked: int
    files_found: int
    errors: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    jobs: dict[str, int]
    joined: bool = False
    """A start that found this scan running and joined it (one scan, one set of counts)."""


class LibraryList(msgspec.Struct, kw_only=True):
    libraries: list[LibraryOut]


class ScanList(msgspec.Struct, kw_only=True):
    scans: list[ScanOut]


class LibraryAccess(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Which libraries a user may see; ``library_ids: null`` means all of them."""

    library_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=1000)] | None = None
