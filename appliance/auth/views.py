"""Auth rows to wire types: what the routes answer for users, devices and tokens."""

from __future__ import annotations

from store.auth_devices import DeviceRow
from store.auth_users import UserRow
from sync import auth_types as t


def user_summary(user: UserRow) -> t.UserSummary:
    return t.UserSummary(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,  # type: ignore[arg-type]
    )


def device_out(device: DeviceRow) -> t.DeviceOut:
    return t.DeviceOut(
        id=device.id,
        client_id=device.client_id,
        name=device.name,
        platform=device.platform,
        state=device.state,  # type: ignore[arg-type]
        pin_locked=device.pin_locked,
        created_at=device.created_at,
        last_seen_at=device.last_seen_at,
    )


def user_out(user: UserRow, overrides: dict[str, str]) -> t.UserOut:
    return t.UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,  # type: ignore[arg-type]
        locked_until=user.locked_until,
        created_at=user.created_at,
        overrides=t.PermissionOverrides(
            grant=sorted(p for p, e in overrides.items() if e == "grant"),
            deny=sorted(p for p, e in overrides.items() if e == "deny"),
        ),
    )
