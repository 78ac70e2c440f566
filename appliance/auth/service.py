"""The auth service: first-run claim, logins, refresh rotation, the caller's account,
administration, housekeeping, and the authenticator for every protected request.

One class over parts with one job each (``core`` shared state, ``authenticator``, ``logins``,
``account``, ``admin``, ``housekeeping``; ``views`` turns rows into wire types). The parts raise
:mod:`appliance.errors` classes with no HTTP in them; ``appliance/api/errors.py`` maps them to
statuses and the HTTP routes live in ``appliance/api/auth.py`` and ``appliance/api/users.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.auth.account import OwnAccount
from appliance.auth.admin import Administration
from appliance.auth.authenticator import Authenticator
from appliance.auth.core import invalid_credentials, refuse_nul
from appliance.auth.housekeeping import Housekeeping
from appliance.auth.logins import Logins
from appliance.auth.views import device_out, user_out, user_summary

if TYPE_CHECKING:
    from appliance.state import AppState

__all__ = [
    "AuthService",
    "device_out",
    "invalid_credentials",
    "refuse_nul",
    "user_out",
    "user_summary",
]


class AuthService(Authenticator, Logins, OwnAccount, Administration, Housekeeping):
    """Everything auth, over one :class:`~appliance.auth.core.AuthCore` state."""

    def attach(self, state: AppState) -> None:
        """Make this service the app's authenticator and rate limiter."""
        state.auth = self
        state.authenticator = self.authenticate
        state.rate_limiter = self.rate_limit
