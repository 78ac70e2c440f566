"""Wire types of the auth API (``/api/v1/setup``, ``/api/v1/auth``, ``/api/v1/users``).

Shared with the player, which logs in, stores the refresh token and trusts its device with a PIN.
Tokens appear only in :class:`TokenPair`, the one answer that carries them, once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from sync.wire import NO_NUL, ClientId

Username = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")]
Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=4096, pattern=NO_NUL)]
Role = Literal["admin", "user", "guest"]
Scope = Literal["full", "playback"]
ClientDeviceId = ClientId
Token = Annotated[str, msgspec.Meta(max_length=256, pattern=NO_NUL)]
Pin = Annotated[str, msgspec.Meta(max_length=16, pattern=NO_NUL)]
DisplayName = Annotated[str, msgspec.Meta(max_length=100, pattern=NO_NUL)]
Permission = Annotated[str, msgspec.Meta(max_length=64, pattern=NO_NUL)]
Permissions = Annotated[list[Permission], msgspec.Meta(max_length=64)]


class DeviceInfo(msgspec.Struct, kw_only=True):
    id: ClientDeviceId
    """Chosen by the client, stable per installation (e.g. a UUID it keeps)."""
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)]
    platform: Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=NO_NUL)]


class LoginRequest(msgspec.Struct, kw_only=True):
    username: Username
    password: Secret
    device: DeviceInfo
    device_key: Token | None = None
    """The ``device_key`` of this device's last password login. On a trusted device (PIN set)
    it lets the right password in even while the account is locked by failed passwords from
    elsewhere, so that strangers cannot lock the owner out."""

    @property
    def rate_limit_device(self) -> str:
        return self.device.id


class PinLoginRequest(msgspec.Struct, kw_only=True):
    username: Username
    device_id: ClientDeviceId
    pin: Pin

    @property
    def rate_limit_device(self) -> str:
        return self.device_id


class RefreshRequest(msgspec.Struct, kw_only=True):
    refresh_token: Token
    device_id: ClientDeviceId | None = None
    """Optional; when sent, the refresh rate limit is also kept per device."""

    @property
    def rate_limit_device(self) -> str | None:
        return self.device_id


class SetupClaimRequest(msgspec.Struct, kw_only=True):
    username: Username
    password: Secret
    display_name: DisplayName = ""
    setup_token: Token | None = None
    """Needed only when claiming from outside the local network."""


class SetupStatus(msgspec.Struct, kw_only=True):
    claimed: bool
    local_client: bool
    """Whether this request came from the local network (no setup token needed)."""


class SetPinRequest(msgspec.Struct, kw_only=True):
    pin: Pin


class ChangePasswordRequest(msgspec.Struct, kw_only=True):
    current_password: Secret
    new_password: Secret


class ResetPasswordRequest(msgspec.Struct, kw_only=True):
    new_password: Secret


class CreateUserRequest(msgspec.Struct, kw_only=True):
    username: Username
    password: Secret
    role: Role = "user"
    display_name: DisplayName = ""


class UpdateUserRequest(msgspec.Struct, kw_only=True):
    username: Username | None = None
    display_name: DisplayName | None = None
    role: Role | None = None


class PermissionOverrides(msgspec.Struct, kw_only=True):
    grant: Permissions = msgspec.field(default_factory=list)
    deny: Permissions = msgspec.field(default_factory=list)
    """DENY wins over GRANT and over the role."""


class UserSummary(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    username: str
    display_name: str
    role: Role


class UserOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    locked_until: datetime | None
    created_at: datetime
    overrides: PermissionOverrides


class UserList(msgspec.Struct, kw_only=True):
    users: list[UserOut]


class DeviceOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    client_id: str
    name: str
    platform: str
    state: Literal["pending", "trusted", "revoked"]
    pin_locked: bool
    created_at: datetime
    last_seen_at: datetime


class DeviceList(msgspec.Struct, kw_only=True):
    devices: list[DeviceOut]


class TokenPair(msgspec.Struct, kw_only=True):
    access_token: str
    """Send as ``Authorization: Bearer <access_token>``."""
    refresh_token: str
    """Single use: each refresh returns a new one; reusing an old one revokes the login."""
    token_type: str = "Bearer"
    expires_in: int
    refresh_expires_in: int
    scope: Scope
    session_id: uuid.UUID
    user: UserSummary
    device: DeviceOut
    device_key: str | None = None
    """Password logins only: proof of this device for its next password login (keep it with the
    refresh token and send it as ``LoginRequest.device_key``). Each password login replaces it."""


class Me(msgspec.Struct, kw_only=True):
    user: UserSummary
    scope: Scope
    permissions: list[str]
    session_id: uuid.UUID
    device: DeviceOut


class SessionOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    device_id: uuid.UUID
    device_name: str
    scope: Scope
    created_at: datetime
    expires_at: datetime
    current: bool


class SessionList(msgspec.Struct, kw_only=True):
    sessions: list[SessionOut]


class SecurityEvent(msgspec.Struct, kw_only=True):
    id: int
    at: datetime
    kind: str
    user_id: uuid.UUID | None
    device_id: uuid.UUID | None
    client_ip: str
    details: dict[str, Any]


class SecurityEventList(msgspec.Struct, kw_only=True):
    events: list[SecurityEvent]
