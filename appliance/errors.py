"""The appliance's domain errors: what went wrong, in terms a service knows, with no HTTP in it.

Services (auth, the sync feed, libraries, access checks ...) raise these; the API maps each class
to a status in one table (``appliance/api/errors.py``) and answers with the error envelope, so a
service can be called from the CLI or a job as well as from a route, and the status of a kind of
failure is decided once. Each error carries an :class:`~sync.errors.ErrorCode` (the player
matches it) and a message for a person; ``details`` is structured data for clients.
"""

from __future__ import annotations

from typing import ClassVar

from sync.errors import ErrorCode


class FerrexError(Exception):
    """Base of every error the appliance reports to a client."""

    default_code: ClassVar[ErrorCode] = ErrorCode.INTERNAL_ERROR

    def __init__(
        self,
        code: ErrorCode | None,
        message: str,
        details: dict[str, object] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = ErrorCode(code) if code is not None else self.default_code
        self.message = message
        self.details = details
        # Metadata a transport may pass on (the rate limiter's X-RateLimit-* values).
        self.headers: dict[str, str] = headers or {}


class InvalidInput(FerrexError):
    """The request is well-formed but its values are not acceptable (a weak password, an
    unknown permission, a root that is not a folder)."""

    default_code = ErrorCode.UNPROCESSABLE


class NotAuthenticated(FerrexError):
    """No valid credentials: missing, wrong, expired or revoked."""

    default_code = ErrorCode.UNAUTHORIZED


class Forbidden(FerrexError):
    """The caller is known but may not do this."""

    default_code = ErrorCode.FORBIDDEN


class NotFound(FerrexError):
    """The thing does not exist, or the caller may not know it exists."""

    default_code = ErrorCode.NOT_FOUND


class Conflict(FerrexError):
    """The current state forbids the change (a taken name, the last admin)."""

    default_code = ErrorCode.CONFLICT


class Gone(FerrexError):
    """What the caller holds is too old to continue from (a sync cursor past retention)."""

    default_code = ErrorCode.RESNAPSHOT_REQUIRED


class Locked(FerrexError):
    """Locked after too many failures (an account, a device's PIN)."""

    default_code = ErrorCode.LOCKED


class RateLimited(FerrexError):
    """Too many attempts in the window; ``details['retry_after_s']`` says when to retry."""

    default_code = ErrorCode.RATE_LIMITED


class UpstreamFailed(FerrexError):
    """A service outside the appliance (TMDB) failed to answer."""

    default_code = ErrorCode.TMDB_UNAVAILABLE


class Unavailable(FerrexError):
    """Something this appliance needs is not there right now (an unmounted library disk)."""

    default_code = ErrorCode.UNAVAILABLE
