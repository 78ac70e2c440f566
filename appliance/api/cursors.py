"""Page cursors of the media query: signed by the server, and checked before any SQL sees them.

A cursor carries the sort, the direction, the last row's sort key (as text, cast back to its SQL
type by the page statement) and its id. A client could once forge one of the right shape with a
key of the wrong type (``"abc"`` for the year sort), and the cast failed inside Postgres: a 500
(issue 20). Now a cursor is ``<payload>.<mac>``: an HMAC with a key derived from the server key,
so only cursors this appliance issued are read, and their key must still parse as its sort's
type (defence in depth, and a clear answer for a cursor of an older format). Anything else is
422 ``invalid_cursor``; cursors stay opaque to clients, which only ever pass ``next_cursor`` back.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import math
import re
import secrets
import uuid

import msgspec

from appliance.errors import InvalidInput
from appliance.state import AppState
from store.media_browse import SORT_KEYS
from sync.errors import ErrorCode

MAC_BYTES = 16
_PROCESS_KEY = secrets.token_bytes(32)
_INTEGER = re.compile(r"^-?[0-9]{1,10}$")
_REAL = re.compile(r"^[-+0-9.eE]{1,32}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def cursor_key(state: AppState) -> bytes:
    """The signing key: derived from the server key (cursors survive a restart); a key of this
    process when no auth service is attached (then no route that pages is reachable anyway)."""
    return state.auth.derived_key("media-cursor") if state.auth is not None else _PROCESS_KEY


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _mac(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode(), "sha256").digest()[:MAC_BYTES])


def encode(key: bytes, sort: str, order: str, sort_key: str, item_id: uuid.UUID) -> str:
    payload = _b64(msgspec.json.encode([sort, order, sort_key, str(item_id)]))
    return f"{payload}.{_mac(key, payload)}"


def _invalid(why: str) -> InvalidInput:
    return InvalidInput(ErrorCode.INVALID_CURSOR, f"cursor: {why}; start again from the first page")


def valid_key(sort: str, text: str) -> bool:
    """Whether ``text`` reads as the SQL type of ``sort``'s key (as the page statement casts
    it)."""
    kind = SORT_KEYS[sort][1]
    if "\x00" in text:
        return False
    if kind == "text":
        return True
    try:
        if kind == "integer":
            return bool(_INTEGER.match(text)) and -(2**31) <= int(text) < 2**31
        if kind == "real":
            return bool(_REAL.match(text)) and math.isfinite(float(text))
        if kind == "date":
            return bool(_DATE.match(text)) and dt.date.fromisoformat(text) is not None
        if kind == "timestamptz":
            return len(text) <= 40 and dt.datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False
    return False


def decode(key: bytes, cursor: str, sort: str, order: str) -> tuple[str, uuid.UUID]:
    """(sort key as text, item id) of a cursor issued for this sort and direction, else
    InvalidInput (422) ``invalid_cursor``."""
    payload, dot, mac = cursor.partition(".")
    if not dot or not hmac.compare_digest(_mac(key, payload).encode(), mac.encode()):
        raise _invalid("not a cursor issued by this server")
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        got_sort, got_order, sort_key, item_id = msgspec.json.decode(
            raw, type=tuple[str, str, str, str]
        )
        parsed = uuid.UUID(item_id)
    except (binascii.Error, msgspec.DecodeError, ValueError):
        raise _invalid("not a cursor of this API") from None
    if (got_sort, got_order) != (sort, order):
        raise _invalid("made for another sort order")
    if got_sort not in SORT_KEYS or not valid_key(got_sort, sort_key):
        raise _invalid(f"its position does not fit the {sort} sort")
    return sort_key, parsed
