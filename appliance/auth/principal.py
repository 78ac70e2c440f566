"""Who is calling: the result of authentication, carried in every request context."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from appliance.auth import rbac


@dataclass(frozen=True)
class Principal:
    user_id: str
    username: str
    role: str = "guest"
    scope: str = "full"
    """``full`` (password login) or ``playback`` (PIN login)."""
    permissions: frozenset[str] = frozenset()
    """Effective permissions: role, overrides and scope already applied."""
    session_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None
    family_id: uuid.UUID | None = None

    def can(self, permission: str) -> bool:
        """The one access question. Never ask for the role instead: an admin's PIN session
        (scope ``playback``) or an admin with a DENY must not pass where ``can`` says no."""
        if self.scope != "full" and permission not in rbac.PLAYBACK:
            return False  # checked again here so no grant can widen a PIN session
        return permission in self.permissions
