"""What the API client raises, with the message a user can read."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """The server answered with an error envelope (4xx/5xx)."""

    def __init__(self, status: int, code: str, message: str,
                 details: dict[str, Any] | None = None, retry_after: float | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.retry_after = retry_after

    def user_message(self, pin: bool = False) -> str:
        """Plain words for the screen: lockouts and rate limits say how long to wait."""
        if self.code == "account_locked":
            wait = self.details.get("retry_after_s") or self.retry_after
            minutes = max(1, round(float(wait) / 60)) if wait else None
            return ("This account is locked after too many wrong passwords."
                    + (f" Try again in {minutes} minute{'s' if minutes != 1 else ''}."
                       if minutes else ""))
        if self.code == "device_locked":
            return ("PIN login is locked on this device after too many wrong PINs. "
                    "Log in with your password to unlock it.")
        if self.status == 429:
            seconds = round(self.retry_after) if self.retry_after else None
            return ("Too many attempts." +
                    (f" Wait {seconds} seconds and try again." if seconds else " Wait a moment."))
        if self.code == "invalid_credentials":
            return "Wrong PIN." if pin else "Wrong username or password."
        if self.code in ("invalid_token", "invalid_refresh_token", "refresh_token_reused"):
            return "Your session has ended. Please log in again."
        return self.message


class Offline(Exception):
    """The server could not be reached (refused, DNS, timeout): the player keeps working offline."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
