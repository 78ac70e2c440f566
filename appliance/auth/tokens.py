"""Opaque bearer tokens: 256 random bits, shown to the client once, stored as HMAC-SHA256.

A prefix names the kind (``fxs_`` session, ``fxr_`` refresh, ``fxt_`` setup, ``fxd_`` device key)
so a leaked token is recognisable in a paste and a refresh token sent as a bearer token is refused
without a lookup. Storing the HMAC under the server key (not a bare hash) means a database dump
alone is not enough to check guesses.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SESSION_PREFIX = "fxs_"
REFRESH_PREFIX = "fxr_"
SETUP_PREFIX = "fxt_"
DEVICE_PREFIX = "fxd_"
TOKEN_BYTES = 32  # 256 bits


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


def digest(key: bytes, token: str) -> bytes:
    return hmac.new(key, token.encode("utf-8"), hashlib.sha256).digest()


def well_formed(token: str, prefix: str) -> bool:
    """Cheap shape check before any I/O (43 url-safe characters after the prefix)."""
    return token.startswith(prefix) and len(token) == len(prefix) + 43
