"""Library names: what the API and ``ferrex-appliance library add`` accept.

A name is what an admin types to pick a library (``ferrex-appliance scan Films``) and what every
player shows, so it must be unambiguous and printable: 1-100 characters after trimming, no
control characters (nor line separators or bidi overrides, which would make one name look like
another), unique regardless of case (the database's ``libraries_name_lower`` index, migration
0012, decides races).
"""

from __future__ import annotations

import unicodedata

NAME_MAX = 100
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


class LibraryNameError(ValueError):
    """One line saying what is wrong with the name."""


def clean_name(raw: str) -> str:
    """The name as stored (trimmed), or LibraryNameError."""
    name = raw.strip()
    if not name:
        raise LibraryNameError("name: must not be empty")
    if len(name) > NAME_MAX:
        raise LibraryNameError(f"name: at most {NAME_MAX} characters (got {len(name)})")
    for char in name:
        if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or char in _BIDI_CONTROLS:
            raise LibraryNameError(f"name: must not contain control characters (U+{ord(char):04X})")
    return name
