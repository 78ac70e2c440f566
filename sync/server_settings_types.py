"""Wire types of ``/api/v1/server/settings``: the policies an admin changes from the player.

Session lifetimes, device-trust (PIN) lockout and password rules. They start from ``[auth]`` in
ferrex.toml; a change made through the API is kept in the data dir and wins over the file (see
appliance/api/server_settings.py), so the player's Server section and the file never fight over
a value silently: GET says where each value came from.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Hours = Annotated[float, msgspec.Meta(ge=0.25, le=720, description="hours a session lasts")]
Days = Annotated[float, msgspec.Meta(ge=1, le=365, description="days a refresh token lasts")]
MinLength = Annotated[int, msgspec.Meta(ge=8, le=128, description="shortest password accepted")]
Failures = Annotated[int, msgspec.Meta(ge=3, le=50, description="wrong passwords before lockout")]
LockMinutes = Annotated[float, msgspec.Meta(ge=1, le=1440, description="account lockout")]
PinFailures = Annotated[int, msgspec.Meta(ge=1, le=10, description="wrong PINs before PIN lock")]

POLICY_FIELDS = (
    "session_hours",
    "refresh_days",
    "password_min_length",
    "max_failed_passwords",
    "password_lockout_minutes",
    "max_failed_pins",
)


class ServerPolicy(msgspec.Struct, kw_only=True):
    session_hours: Hours
    refresh_days: Days
    password_min_length: MinLength
    max_failed_passwords: Failures
    password_lockout_minutes: LockMinutes
    max_failed_pins: PinFailures


class ServerPolicyPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    session_hours: Hours | None = None
    refresh_days: Days | None = None
    password_min_length: MinLength | None = None
    max_failed_passwords: Failures | None = None
    password_lockout_minutes: LockMinutes | None = None
    max_failed_pins: PinFailures | None = None


class ServerSettingsOut(msgspec.Struct, kw_only=True):
    policy: ServerPolicy
    source: dict[str, Literal["config", "api"]]
    """Per field: from ferrex.toml/environment ("config") or set through this API ("api")."""
