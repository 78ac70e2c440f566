"""The ten settings sections: their titles, who may see them, and each one's own state.

Local sections (Profile, Playback, Display, Performance, Downloads) edit
:class:`~ui.settings.model.Settings`; the others are views of server state (Security and Devices
for everyone, Libraries, Users and Server for admins). Admin sections are hidden without the
permission; the server refuses the calls anyway, so hiding is a courtesy, not the protection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sync.auth_types import Me
from ui.settings.model import SECTIONS, SectionName

TITLES: dict[SectionName, str] = {
    "profile": "Profile",
    "playback": "Playback",
    "display": "Display",
    "performance": "Performance",
    "downloads": "Downloads",
    "security": "Security",
    "devices": "Devices",
    "libraries": "Libraries",
    "users": "Users",
    "server": "Server",
}
# The permission a section needs to be shown (None: everyone logged in).
NEEDS: dict[SectionName, str | None] = {
    "profile": None,
    "playback": None,
    "display": None,
    "performance": None,
    "downloads": None,
    "security": "users:account",
    "devices": "users:self",
    "libraries": "libraries:manage",
    "users": "users:manage",
    "server": "server:update_settings",
}


def visible_sections(me: Me | None) -> list[SectionName]:
    """Offline (``me`` None) only the local sections, which need no server."""
    allowed = set(me.permissions) if me is not None else set()
    return [s for s in SECTIONS if NEEDS[s] is None or (me is not None and NEEDS[s] in allowed)]


@dataclass
class SectionState:
    """What one section shows besides its values: the last result and whether it is busy."""

    status: str = ""
    error: bool = False
    busy: bool = False
    data: dict[str, Any] = field(default_factory=dict)
