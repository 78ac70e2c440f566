"""File paths in Postgres text columns.

Linux file names are bytes; Python gives undecodable bytes to us as lone surrogates
(U+DC80-U+DCFF, "surrogateescape"), which Postgres text cannot hold. We store those code points
shifted into the private-use block U+F780-U+F7FF, one character for one byte, so the mapping is
reversible and keeps path prefixes intact (folder queries use ``starts_with``).
"""

from __future__ import annotations

_TO_DB = {cp: cp - 0xDC80 + 0xF780 for cp in range(0xDC80, 0xDD00)}
_FROM_DB = {v: k for k, v in _TO_DB.items()}


def to_db(path: str) -> str:
    # Scans call this for every path: skip the translate (slow) for the usual ASCII name.
    return path if path.isascii() else path.translate(_TO_DB)


def from_db(text: str) -> str:
    return text if text.isascii() else text.translate(_FROM_DB)
