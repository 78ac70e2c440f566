"""What streaming looks up: a file the user may stream, and whether a playback ticket's login
is still live."""

from __future__ import annotations

import uuid

import msgspec

from store.auth_users import OVERRIDE_ARRAYS
from store.db import Database
from store.sql import sql


class StreamFileRow(msgspec.Struct, kw_only=True, frozen=True):
    """A file to stream, with its library's roots (the path must lie inside one)."""

    id: uuid.UUID
    library_id: uuid.UUID
    path: str
    size_bytes: int
    mtime_ns: int
    present: bool
    item_id: uuid.UUID | None
    subtitles: str | None
    """JSON text of the analysed subtitle tracks."""
    container: str | None
    roots: list[str]


class TicketLogin(msgspec.Struct, kw_only=True, frozen=True):
    """The login a playback ticket came from, as it is now."""

    role: str
    scope: str
    grants: list[str]
    denies: list[str]


STREAM_FILE = sql(
    """
    SELECT f.id, f.library_id, f.path, f.size_bytes, f.mtime_ns, f.present, f.item_id,
           f.media_info -> 'subtitles' AS subtitles, f.media_info ->> 'container' AS container,
           l.roots
    FROM media_files f JOIN libraries l ON l.id = f.library_id
    WHERE f.id = $1
      AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = $2
                      AND u.library_ids IS NOT NULL AND f.library_id <> ALL(u.library_ids))
    """
)


async def stream_file(db: Database, file_id: uuid.UUID, user_id: uuid.UUID) -> StreamFileRow | None:
    """The file, if ``user_id`` may see its library (users.library_ids; every range request of
    a stream asks, so access is decided in the same round trip)."""
    row = await db.fetchrow(STREAM_FILE, file_id, user_id)
    return None if row is None else StreamFileRow(**row)


TICKET_LOGIN = sql(
    f"""
    SELECT u.role, f.scope, ov.grants, ov.denies
    FROM refresh_families f
    JOIN devices d ON d.id = f.device_id
    JOIN users u ON u.id = f.user_id
    {OVERRIDE_ARRAYS}
    WHERE f.id = $1 AND f.user_id = $2 AND f.revoked_at IS NULL AND d.state <> 'revoked'
    """
)


async def ticket_login(
    db: Database, family_id: uuid.UUID, user_id: uuid.UUID
) -> TicketLogin | None:
    """(role, scope, grants, denies) of the login a playback ticket came from, as they are now;
    None once that login or its device is revoked. Asked on every request of a ticket, so a
    DENY or a revocation ends its streams at once, not when the ticket expires."""
    row = await db.fetchrow(TICKET_LOGIN, family_id, user_id)
    return None if row is None else TicketLogin(**row)
