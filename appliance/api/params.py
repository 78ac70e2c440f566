"""Query-string and header arguments, which msgspec does not decode: parsed here with the same
limits as the wire types (``sync/wire.py``), so that no argument reaches SQL, a file name or an
answer unchecked (issue 20).

Integers are ASCII digits only (``int()`` would also take ``" 7"``, ``"1_0"``, ``"٣"`` and fail
with ValueError past 4300 digits), within bounds the caller states; text has no NUL (Postgres
``text`` cannot hold one) and a maximum length. A bad argument is an :class:`ApiError` with the
route's own status and code.
"""

from __future__ import annotations

import re

from appliance.api.errors import ApiError
from sync.errors import ErrorCode

_INTEGER = re.compile(r"^-?[0-9]{1,19}$")


def integer(
    raw: str | None,
    name: str,
    low: int,
    high: int,
    *,
    status: int = 422,
    code: ErrorCode = ErrorCode.INVALID_ARGUMENT,
) -> int | None:
    """None when absent; else an integer in [low, high] or ApiError (an empty value too)."""
    if raw is None:
        return None
    if not _INTEGER.match(raw) or not low <= int(raw) <= high:
        raise ApiError(status, code, f"{name} must be an integer from {low} to {high}")
    return int(raw)


def text(
    raw: str | None,
    name: str,
    max_length: int,
    *,
    status: int = 422,
    code: ErrorCode = ErrorCode.INVALID_ARGUMENT,
) -> str | None:
    """None when absent; else the text, at most ``max_length`` characters and without NUL."""
    if raw is None:
        return None
    if len(raw) > max_length or "\x00" in raw:
        raise ApiError(status, code, f"{name}: at most {max_length} characters, no NUL")
    return raw
