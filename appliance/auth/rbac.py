"""Role-based access control: the permission catalogue, the roles, and per-user overrides.

Effective permissions = (role's permissions + GRANTs) - DENYs (DENY wins), then, for a
playback-scope session (PIN login), only what :data:`PLAYBACK` allows. Admin permissions are never
in :data:`PLAYBACK`, so a PIN on a living-room TV can never reach an admin route, whatever the
user's role or grants.
"""

from __future__ import annotations

from collections.abc import Iterable

CATEGORIES = ("users", "libraries", "media", "server", "sync")

PERMISSIONS: dict[str, str] = {
    "users:self": "see one's own profile, devices and sessions; log out",
    "users:account": "change one's own password and PIN; revoke one's own devices and sessions",
    "users:read": "list all users",
    "users:manage": "create, edit and delete users; reset passwords; set permission overrides",
    "users:devices": "list and revoke any user's devices and sessions",
    "libraries:read": "see libraries",
    "libraries:manage": "add, edit and delete libraries",
    "libraries:scan": "start library scans",
    "media:browse": "browse and search media",
    "media:stream": "play media",
    "media:download": "download original files",
    "media:edit_metadata": "edit titles, artwork and matches",
    "server:read_settings": "see server settings",
    "server:update_settings": "change server settings",
    "server:logs": "read logs and the security event trail",
    "sync:read": "read the change feed (offline replica)",
    "sync:write": "push watch state and progress",
}
assert all(p.split(":")[0] in CATEGORIES for p in PERMISSIONS)

ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset(PERMISSIONS),
    "user": frozenset(
        {
            "users:self",
            "users:account",
            "libraries:read",
            "media:browse",
            "media:stream",
            "media:download",
            "sync:read",
            "sync:write",
        }
    ),
    "guest": frozenset(
        {
            "users:self",
            "libraries:read",
            "media:browse",
            "media:stream",
            "sync:read",
        }
    ),
}
# What only admins have by default: the "admin routes".
ADMIN = ROLES["admin"] - ROLES["user"] - ROLES["guest"]
# Everything a playback-scope (PIN) session may do, whatever its grants.
PLAYBACK = frozenset(
    {
        "users:self",
        "libraries:read",
        "media:browse",
        "media:stream",
        "sync:read",
        "sync:write",
    }
)
assert not PLAYBACK & ADMIN
SCOPES = ("full", "playback")


def effective(
    role: str, grants: Iterable[str] = (), denies: Iterable[str] = (), scope: str = "full"
) -> frozenset[str]:
    granted = (ROLES.get(role, frozenset()) | frozenset(grants)) - frozenset(denies)
    allowed = granted & frozenset(PERMISSIONS)
    return allowed & PLAYBACK if scope != "full" else allowed


def unknown(permissions: Iterable[str]) -> list[str]:
    return sorted(p for p in permissions if p not in PERMISSIONS)
