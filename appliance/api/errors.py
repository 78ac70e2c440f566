"""Errors to HTTP, in one place: the status of each domain error class, and :class:`ApiError` for
the few failures that are about HTTP itself (a body that is not JSON, a wrong media type, a range
past the end of a file).

Services raise :mod:`appliance.errors` classes and know nothing of HTTP; :func:`status_of` picks
the answer's status from :data:`STATUS` (the nearest class in the exception's MRO), and the app
(``appliance/api/app.py``) writes the JSON error envelope with the error's code.
"""

from __future__ import annotations

from appliance import errors
from store import gate
from sync.errors import ErrorCode


class ApiError(errors.FerrexError):
    """An error whose status is part of HTTP (400 malformed JSON, 415, 416): raised only by the
    API layer, with the status it answers with."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        message: str,
        details: dict[str, object] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code, message, details, headers=headers)
        self.status = status


STATUS: dict[type[Exception], int] = {
    errors.InvalidInput: 422,
    errors.NotAuthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Gone: 410,
    errors.Locked: 423,
    errors.RateLimited: 429,
    errors.UpstreamFailed: 502,
    errors.Unavailable: 503,
    gate.Unavailable: 503,  # Postgres or Redis down: the store's own error
    errors.FerrexError: 500,
}
"""The one table from a kind of failure to its HTTP status."""


def status_of(exc: Exception) -> int:
    """The status to answer ``exc`` with: an :class:`ApiError`'s own, else the table's entry
    for the nearest class ``exc`` derives from (500 for anything else)."""
    if isinstance(exc, ApiError):
        return exc.status
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


_STATUS_CODES: dict[int, ErrorCode] = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    408: ErrorCode.REQUEST_TIMEOUT,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    416: ErrorCode.RANGE_NOT_SATISFIABLE,
    422: ErrorCode.UNPROCESSABLE,
    423: ErrorCode.LOCKED,
    429: ErrorCode.RATE_LIMITED,
    500: ErrorCode.INTERNAL_ERROR,
    503: ErrorCode.UNAVAILABLE,
}


def http_code_name(status: int) -> ErrorCode:
    """The generic code of a status werkzeug raised itself (404 for an unknown path, 405 ...);
    an unlisted one gets its class's generic code, so every answer's code is an enum member."""
    if status in _STATUS_CODES:
        return _STATUS_CODES[status]
    return ErrorCode.BAD_REQUEST if status < 500 else ErrorCode.INTERNAL_ERROR
