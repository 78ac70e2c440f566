"""What the player's client raises: one hierarchy, built from the server's error envelope.

Every network call of the player (the API client, playback, the sync feed, the progress
WebSocket) goes through :class:`sync.connection.ServerConnection` and fails with a
:class:`FerrexClientError`, so a screen catches one base class and a caller that cares about
one case catches its class (``AuthExpired``: log in again; ``RateLimited``: wait
``retry_after``; ``ServerUnreachable``: work offline) instead of matching code strings by hand.

The server's envelope ``{"error": {"code", "message", "details"}}`` names a code (a member of
:class:`sync.errors.ErrorCode`); :data:`ERROR_CLASSES` is the one table from code to class. A
code the table does not know (a newer server) falls back on its HTTP status
(:data:`STATUS_CLASSES`), so it still lands in the right family.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from sync.errors import ErrorCode


class FerrexClientError(Exception):
    """Anything that kept a call to the server from succeeding; ``message`` is for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def user_message(self, pin: bool = False) -> str:
        return self.message


class ServerUnreachable(FerrexClientError):
    """No answer (refused, DNS, TLS, timeout, a stream cut): the player keeps working offline."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason

    def user_message(self, pin: bool = False) -> str:
        return f"Cannot reach the server ({self.reason})."


class ProtocolError(FerrexClientError):
    """An answer that is not what a Ferrex server of this version sends (wrong content type, an
    undecodable body): retrying will not help, updating one side may."""


class ApiError(FerrexClientError):
    """The server answered with an error envelope (4xx/5xx)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.details: dict[str, Any] = dict(details or {})
        self.retry_after = retry_after
        self.args = (f"{status} {code}: {message}",)

    def user_message(self, pin: bool = False) -> str:
        """Plain words for the screen: lockouts and rate limits say how long to wait."""
        if self.code == ErrorCode.ACCOUNT_LOCKED:
            wait = self.details.get("retry_after_s") or self.retry_after
            minutes = max(1, round(float(wait) / 60)) if wait else None
            return "This account is locked after too many wrong passwords." + (
                f" Try again in {minutes} minute{'s' if minutes != 1 else ''}." if minutes else ""
            )
        if self.code == ErrorCode.DEVICE_LOCKED:
            return (
                "PIN login is locked on this device after too many wrong PINs. "
                "Log in with your password to unlock it."
            )
        if self.status == 429:
            seconds = round(self.retry_after) if self.retry_after else None
            return "Too many attempts." + (
                f" Wait {seconds} seconds and try again." if seconds else " Wait a moment."
            )
        if self.code == ErrorCode.INVALID_CREDENTIALS:
            return "Wrong PIN." if pin else "Wrong username or password."
        if isinstance(self, AuthExpired):
            return "Your session has ended. Please log in again."
        return self.message


class BadRequest(ApiError):
    """The server refused what was sent (400, 415, 416, 422: a bad body, query or argument)."""


class AuthExpired(ApiError):
    """The session (or a playback ticket) is no longer valid and refreshing did not help."""


class InvalidCredentials(ApiError):
    """Wrong username, password or PIN."""


class Forbidden(ApiError):
    """Authenticated, but not allowed (a permission, an untrusted device, a PIN session)."""


class NotFound(ApiError):
    """The thing asked for is not there (an item, a file gone from disk, an image)."""


class Conflict(ApiError):
    """The request clashes with the server's state (a name taken, the last admin, no scan)."""


class ResnapshotRequired(ApiError):
    """The change feed no longer holds what came after the replica's cursor: take a snapshot."""


class Locked(ApiError):
    """An account or a device's PIN login is locked after failed attempts."""


class RateLimited(ApiError):
    """Too many requests; ``retry_after`` (seconds) says when to try again, when known."""


class ServerError(ApiError):
    """The server failed (5xx); worth a retry later."""


class ServiceUnavailable(ServerError):
    """The server is up but a part it needs is not (503: a library's disk, its database)."""


ERROR_CLASSES: dict[ErrorCode, type[ApiError]] = {
    # the request (400, 405, 413, 415, 416, 422)
    ErrorCode.BAD_REQUEST: BadRequest,
    ErrorCode.METHOD_NOT_ALLOWED: BadRequest,
    ErrorCode.PAYLOAD_TOO_LARGE: BadRequest,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: BadRequest,
    ErrorCode.RANGE_NOT_SATISFIABLE: BadRequest,
    ErrorCode.UNPROCESSABLE: BadRequest,
    ErrorCode.MALFORMED_JSON: BadRequest,
    ErrorCode.INVALID_BODY: BadRequest,
    ErrorCode.INVALID_ARGUMENT: BadRequest,
    ErrorCode.INVALID_CURSOR: BadRequest,
    ErrorCode.INVALID_FORMAT: BadRequest,
    ErrorCode.INVALID_NAME: BadRequest,
    ErrorCode.INVALID_QUERY: BadRequest,
    ErrorCode.INVALID_ROOT: BadRequest,
    ErrorCode.INVALID_WIDTH: BadRequest,
    ErrorCode.INVALID_YEAR: BadRequest,
    ErrorCode.INVALID_MESSAGE: BadRequest,
    ErrorCode.QUERY_TOO_COMPLEX: BadRequest,
    ErrorCode.NOT_IDENTIFIABLE: BadRequest,
    ErrorCode.NOT_PLAYABLE: BadRequest,
    ErrorCode.UNKNOWN_LIBRARY: BadRequest,
    ErrorCode.UNKNOWN_PERMISSION: BadRequest,
    ErrorCode.WEAK_PASSWORD: BadRequest,
    ErrorCode.WEAK_PIN: BadRequest,
    # the session (401): refreshed once, then the login is over
    ErrorCode.UNAUTHORIZED: AuthExpired,
    ErrorCode.INVALID_TOKEN: AuthExpired,
    ErrorCode.INVALID_REFRESH_TOKEN: AuthExpired,
    ErrorCode.REFRESH_TOKEN_REUSED: AuthExpired,
    ErrorCode.INVALID_TICKET: AuthExpired,
    ErrorCode.INVALID_CREDENTIALS: InvalidCredentials,
    ErrorCode.WRONG_PASSWORD: InvalidCredentials,
    # 403
    ErrorCode.FORBIDDEN: Forbidden,
    ErrorCode.DEVICE_NOT_TRUSTED: Forbidden,
    ErrorCode.SETUP_NOT_ALLOWED: Forbidden,
    # 404
    ErrorCode.NOT_FOUND: NotFound,
    ErrorCode.FILE_MISSING: NotFound,
    ErrorCode.FILE_UNREADABLE: NotFound,
    ErrorCode.IMAGE_UNAVAILABLE: NotFound,
    # 409, 410
    ErrorCode.CONFLICT: Conflict,
    ErrorCode.ALREADY_CLAIMED: Conflict,
    ErrorCode.DEVICE_REVOKED: Conflict,
    ErrorCode.LAST_ADMIN: Conflict,
    ErrorCode.LIBRARY_NAME_TAKEN: Conflict,
    ErrorCode.NO_ACTIVE_SCAN: Conflict,
    ErrorCode.TMDB_NOT_CONFIGURED: Conflict,
    ErrorCode.USERNAME_TAKEN: Conflict,
    ErrorCode.RESNAPSHOT_REQUIRED: ResnapshotRequired,
    # 423, 429
    ErrorCode.LOCKED: Locked,
    ErrorCode.ACCOUNT_LOCKED: Locked,
    ErrorCode.DEVICE_LOCKED: Locked,
    ErrorCode.RATE_LIMITED: RateLimited,
    # worth a retry later (408: the body did not arrive in time; 5xx)
    ErrorCode.REQUEST_TIMEOUT: ServerError,
    ErrorCode.INTERNAL_ERROR: ServerError,
    ErrorCode.TMDB_UNAVAILABLE: ServerError,
    ErrorCode.UNAVAILABLE: ServiceUnavailable,
    ErrorCode.LIBRARY_OFFLINE: ServiceUnavailable,
}
"""The server's error code (:class:`sync.errors.ErrorCode`, the one list both sides import) ->
the class the player raises. A ``StrEnum`` member hashes like its string, so a code read off
the wire finds its entry; a test checks that every member has one."""

STATUS_CLASSES: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: AuthExpired,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: ResnapshotRequired,
    413: BadRequest,
    415: BadRequest,
    416: BadRequest,
    422: BadRequest,
    423: Locked,
    429: RateLimited,
    503: ServiceUnavailable,
}
"""For a code :data:`ERROR_CLASSES` does not know: the class its HTTP status implies (any
other 5xx is a :class:`ServerError`, any other 4xx a plain :class:`ApiError`)."""


def error_class(status: int, code: str) -> type[ApiError]:
    try:
        known = ERROR_CLASSES.get(ErrorCode(code))
    except ValueError:  # a code this player does not know
        known = None
    if known is not None:
        return known
    if status in STATUS_CLASSES:
        return STATUS_CLASSES[status]
    return ServerError if status >= 500 else ApiError


def api_error(
    status: int,
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    retry_after: float | None = None,
) -> ApiError:
    """The exception for one error answer (the class from the code, else the status)."""
    return error_class(status, code)(status, code, message, details, retry_after)


class _Detail(msgspec.Struct):
    code: str
    message: str
    details: dict[str, Any] | None = None


class _Envelope(msgspec.Struct):
    error: _Detail


_envelope = msgspec.json.Decoder(_Envelope)


def error_from_answer(
    status: int, body: bytes, reason: str = "", retry_after_header: str | None = None
) -> ApiError:
    """The exception for an HTTP error answer: its envelope when it has one; otherwise (a proxy's
    page, a bare status) ``http_<status>`` with the reason phrase."""
    retry_after: float | None = None
    if retry_after_header:
        try:
            retry_after = max(0.0, float(retry_after_header))
        except ValueError:
            retry_after = None
    try:
        detail = _envelope.decode(body).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        return api_error(status, f"http_{status}", reason or "error", None, retry_after)
    return api_error(status, detail.code, detail.message, detail.details, retry_after)
