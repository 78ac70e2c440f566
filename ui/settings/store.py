"""Settings and local player state on disk, in the player data dir.

One JSON file each, replaced atomically (write, fsync, rename) so a crash mid-write leaves the
previous file. A file that cannot be read or validated is moved aside (``*.bad``) and defaults
are used: a broken settings file must never keep the player from starting.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import TypeVar

import msgspec

from ui.settings.model import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class KnownUser(msgspec.Struct, kw_only=True):
    """Someone who logged in on this device: the login screen's user picker lists them."""

    username: str
    display_name: str = ""
    trusted: bool = False
    """This device has a PIN for them, so the picker offers PIN login first."""


class ServerEntry(msgspec.Struct, kw_only=True):
    url: str
    server_id: str | None = None
    users: list[KnownUser] = []
    last_user: str | None = None


class LocalState(msgspec.Struct, kw_only=True):
    """What the player remembers between runs besides settings (servers, this device's id)."""

    device_id: str = ""
    servers: list[ServerEntry] = []
    last_server: str | None = None

    def server(self, url: str) -> ServerEntry | None:
        return next((s for s in self.servers if s.url == url), None)

    def remember_server(self, url: str, server_id: str | None = None) -> ServerEntry:
        entry = self.server(url)
        if entry is None:
            entry = ServerEntry(url=url)
            self.servers.append(entry)
        if server_id:
            entry.server_id = server_id
        self.last_server = url
        return entry

    def remember_user(
        self, url: str, username: str, display_name: str = "", trusted: bool | None = None
    ) -> None:
        entry = self.remember_server(url)
        user = next((u for u in entry.users if u.username == username), None)
        if user is None:
            user = KnownUser(username=username)
            entry.users.append(user)
        if display_name:
            user.display_name = display_name
        if trusted is not None:
            user.trusted = trusted
        entry.last_user = username


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _read(path: Path, kind: type[T], default: T) -> T:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return default
    except OSError as exc:
        log.warning("cannot read %s (%s); using defaults", path, exc)
        return default
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.DecodeError as exc:
        log.warning("%s is invalid (%s); moved aside, using defaults", path, exc)
        try:
            os.replace(path, path.with_name(path.name + ".bad"))
        except OSError:
            pass
        return default


class SettingsStore:
    """Reads and writes ``settings.json`` and ``state.json`` under one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.settings_path = directory / "settings.json"
        self.state_path = directory / "state.json"

    def load_settings(self) -> Settings:
        return _read(self.settings_path, Settings, Settings())

    def save_settings(self, settings: Settings) -> None:
        _write_atomic(self.settings_path, msgspec.json.format(msgspec.json.encode(settings)))

    def load_state(self) -> LocalState:
        state = _read(self.state_path, LocalState, LocalState())
        if not state.device_id:
            state.device_id = str(uuid.uuid4())
            self.save_state(state)
        return state

    def save_state(self, state: LocalState) -> None:
        _write_atomic(self.state_path, msgspec.json.format(msgspec.json.encode(state)))
