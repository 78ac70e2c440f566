"""Bounds for every value a client writes: the one rule at the API boundary (issue 20).

Request structs (``sync/*_types.py``) declare their fields with these types, so msgspec refuses
a bad value while decoding the body (422 ``invalid_body`` naming the field) before any handler
or SQL sees it, and the OpenAPI document states the same bounds. The reasons:

* Postgres ``text`` cannot hold NUL: a NUL reaching a query fails there (a 500), so no text
  field takes one (``NO_NUL``).
* Every text has a maximum length, so a client cannot make the server search, store or echo
  half a megabyte: search 200 characters, names and titles 500, overviews 10,000, identifiers
  and tokens 128-4096 as their kind needs.
* Integers stay inside the int4 columns they meet, and in the domain that makes sense (a year
  0-9999); numbers are finite and bounded; lists are bounded.
* Client timestamps need a timezone and must convert to UTC (``0001-01-01T00:00+14:00`` cannot).

``tests/test_input_hardening.py`` reads the OpenAPI document and fails for a request field
without these bounds, so a new route cannot forget them. Query-string arguments, read outside
msgspec, follow the same limits through ``appliance/api/params.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec

NO_NUL = r"^[^\x00]*$"
"""Any text without NUL (Python ``re`` and ECMA-262 read it alike, for the OpenAPI document)."""
INT4_MAX = 2**31 - 1

SEARCH_MAX = 200
LINE_MAX = 500
TEXT_MAX = 10_000
PATH_MAX = 4096

SearchText = Annotated[
    str,
    msgspec.Meta(
        max_length=SEARCH_MAX, pattern=NO_NUL, description="at most 200 characters, no NUL"
    ),
]
Line = Annotated[
    str,
    msgspec.Meta(
        max_length=LINE_MAX, pattern=NO_NUL, description="one line of text: at most 500 characters"
    ),
]
Text = Annotated[
    str,
    msgspec.Meta(
        max_length=TEXT_MAX, pattern=NO_NUL, description="free text: at most 10,000 characters"
    ),
]
Label = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=100,
        pattern=NO_NUL,
        description="a short name (genre, studio): 1-100",
    ),
]
ClientId = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=128, pattern=NO_NUL, description="an identifier a client chose"
    ),
]
Opaque = Annotated[
    str,
    msgspec.Meta(
        max_length=4096, pattern=NO_NUL, description="a token or cursor the server issued"
    ),
]
FsPath = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=PATH_MAX, pattern=NO_NUL, description="a path on the appliance"
    ),
]

Year = Annotated[int, msgspec.Meta(ge=0, le=9999)]
Rating = Annotated[float, msgspec.Meta(ge=0, le=10)]
Minutes = Annotated[int, msgspec.Meta(ge=0, le=100_000)]
Pixels = Annotated[int, msgspec.Meta(ge=0, le=100_000)]
Seconds = Annotated[float, msgspec.Meta(ge=0, le=1e9, description="seconds of media")]
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0, le=1e9, description="seconds of media")]
ExternalId = Annotated[int, msgspec.Meta(ge=1, le=INT4_MAX)]
ClientTime = Annotated[datetime, msgspec.Meta(tz=True, description="with a timezone")]


def check_client_time(name: str, value: datetime | None) -> None:
    """For ``__post_init__``: a client timestamp must convert to UTC (the database stores it
    so); ``0001-01-01T00:00:00+14:00`` and the like are refused (msgspec makes the ValueError
    a ValidationError, a 422)."""
    if value is None:
        return
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{name}: out of range") from None
