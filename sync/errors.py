"""Every error code the appliance can put in its error envelope, as one enum both sides import.

The server raises with a member (``appliance/errors.py``, ``appliance/api/errors.py``) and the
player matches members (``sync/client_errors.py``, ``ui/``), so a code renamed or added on one side
is a type error or a failing test on the other, not a silent string mismatch. The OpenAPI
document lists the members as the enum of ``ErrorDetail.code``.

A ``StrEnum`` member *is* its string: it goes on the wire as ``"not_found"``, compares equal to
the string, and hashes like it, so tables keyed by members still find a code read off the wire.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable, machine-readable error codes; the message beside one is for a person."""

    # Generic, one per HTTP status the app answers with (``appliance/api/errors.py``).
    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    REQUEST_TIMEOUT = "request_timeout"
    CONFLICT = "conflict"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    RANGE_NOT_SATISFIABLE = "range_not_satisfiable"
    UNPROCESSABLE = "unprocessable"
    LOCKED = "locked"
    RATE_LIMITED = "rate_limited"
    INTERNAL_ERROR = "internal_error"
    UNAVAILABLE = "unavailable"

    # Requests the server cannot read or will not take (400/422).
    MALFORMED_JSON = "malformed_json"
    INVALID_BODY = "invalid_body"
    INVALID_ARGUMENT = "invalid_argument"
    INVALID_CURSOR = "invalid_cursor"
    INVALID_FORMAT = "invalid_format"
    INVALID_NAME = "invalid_name"
    INVALID_QUERY = "invalid_query"
    INVALID_ROOT = "invalid_root"
    INVALID_WIDTH = "invalid_width"
    INVALID_YEAR = "invalid_year"
    INVALID_MESSAGE = "invalid_message"
    """A WebSocket message that does not decode (sent on the socket, not as an envelope)."""
    QUERY_TOO_COMPLEX = "query_too_complex"
    NOT_IDENTIFIABLE = "not_identifiable"
    NOT_PLAYABLE = "not_playable"
    UNKNOWN_LIBRARY = "unknown_library"
    UNKNOWN_PERMISSION = "unknown_permission"
    WEAK_PASSWORD = "weak_password"
    WEAK_PIN = "weak_pin"

    # Credentials (401/403).
    INVALID_CREDENTIALS = "invalid_credentials"
    INVALID_TOKEN = "invalid_token"
    INVALID_REFRESH_TOKEN = "invalid_refresh_token"
    REFRESH_TOKEN_REUSED = "refresh_token_reused"
    INVALID_TICKET = "invalid_ticket"
    WRONG_PASSWORD = "wrong_password"
    DEVICE_NOT_TRUSTED = "device_not_trusted"
    SETUP_NOT_ALLOWED = "setup_not_allowed"

    # Missing things (404).
    FILE_MISSING = "file_missing"
    FILE_UNREADABLE = "file_unreadable"
    IMAGE_UNAVAILABLE = "image_unavailable"

    # State that forbids the change (409/410).
    ALREADY_CLAIMED = "already_claimed"
    DEVICE_REVOKED = "device_revoked"
    LAST_ADMIN = "last_admin"
    LIBRARY_NAME_TAKEN = "library_name_taken"
    NO_ACTIVE_SCAN = "no_active_scan"
    TMDB_NOT_CONFIGURED = "tmdb_not_configured"
    USERNAME_TAKEN = "username_taken"
    RESNAPSHOT_REQUIRED = "resnapshot_required"

    # Locks (423).
    ACCOUNT_LOCKED = "account_locked"
    DEVICE_LOCKED = "device_locked"

    # Something the server depends on is not there (502/503).
    TMDB_UNAVAILABLE = "tmdb_unavailable"
    LIBRARY_OFFLINE = "library_offline"
