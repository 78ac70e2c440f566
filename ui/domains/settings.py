"""SettingsDomain: the nine settings sections, each with its own state and handler.

Local sections are validated (:func:`ui.settings.model.update_section`), saved to the player data
dir and broadcast as :class:`SettingsChanged`, which every screen and the poster grid apply at
once. Server-side sections route their work as messages to the domain that owns it (Security to
Auth, Devices and Users to UserMgmt, Libraries to Library); only the server policy section is
handled here, against ``/api/v1/server/settings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import msgspec

from sync.client_errors import ApiError, ServerUnreachable
from ui.domains.core import CrossDomainEvent, Domain, DomainContext, DomainMessage, DomainName
from ui.domains.events import (
    AuthFailed,
    DevicesLoaded,
    LoggedIn,
    PinSet,
    ScanProgress,
    ServerSettingsLoaded,
    SettingsChanged,
    UsersLoaded,
)
from ui.settings.model import LOCAL_SECTIONS, SECTIONS, Settings, SettingsError, update_section
from ui.settings.sections import SectionState


class SettingsMessage(DomainMessage):
    domain: ClassVar[DomainName] = DomainName.SETTINGS


@dataclass(frozen=True)
class UpdateSettings(SettingsMessage):
    section: str
    changes: dict[str, Any]


@dataclass(frozen=True)
class ResetSection(SettingsMessage):
    section: str


@dataclass(frozen=True)
class LoadServerSettings(SettingsMessage):
    pass


@dataclass(frozen=True)
class UpdateServerSettings(SettingsMessage):
    changes: dict[str, Any]


class SettingsDomain(Domain):
    name = DomainName.SETTINGS

    def __init__(self, ctx: DomainContext) -> None:
        super().__init__(ctx)
        self.sections: dict[str, SectionState] = {s: SectionState() for s in SECTIONS}
        self.server_values: dict[str, Any] = {}

    @property
    def settings(self) -> Settings:
        return self.ctx.services.settings

    async def _apply(self, section: str, new: Settings) -> None:
        self.ctx.services.settings = new
        store = self.ctx.services.store
        if store is not None:
            store.save_settings(new)
        self.sections[section] = SectionState(status="Saved.")
        await self.ctx.emit(SettingsChanged(settings=new, section=section))

    async def _server(self, call: Any) -> None:
        state = self.sections["server"]
        try:
            out = await call
            self.server_values = msgspec.to_builtins(out.policy)
        except ApiError as exc:
            self.sections["server"] = SectionState(status=exc.message, error=True)
            await self.ctx.notice(f"Server settings: {exc.message}", "error", self.name)
            return
        except ServerUnreachable:
            self.sections["server"] = SectionState(status="Server unreachable.", error=True)
            return
        state.status, state.error = "Saved.", False
        await self.ctx.emit(ServerSettingsLoaded(values=dict(self.server_values)))

    async def handle(self, message: DomainMessage) -> None:
        api = self.ctx.services.api
        match message:
            case UpdateSettings(section=section, changes=changes):
                try:
                    new = update_section(self.settings, section, changes)
                except SettingsError as exc:
                    self.sections[section] = SectionState(status=str(exc), error=True)
                    await self.ctx.notice(str(exc), "error", self.name)
                    return
                await self._apply(section, new)
            case ResetSection(section=section) if section in LOCAL_SECTIONS:
                default = getattr(Settings(), section)
                await self._apply(
                    section,
                    update_section(
                        self.settings,
                        section,
                        {f: getattr(default, f) for f in default.__struct_fields__},
                    ),
                )
            case LoadServerSettings() if api is not None:
                await self._server(api.server_settings())
            case UpdateServerSettings(changes=changes) if api is not None:
                await self._server(api.update_server_settings(changes))
            case LoadServerSettings() | UpdateServerSettings():
                await self.ctx.notice("Not connected to a server.", "error", self.name)
            case _:
                raise TypeError(f"SettingsDomain cannot handle {type(message).__name__}")

    async def on_event(self, event: CrossDomainEvent) -> None:
        """Server-side sections keep their own state from the owning domains' events."""
        match event:
            case LoggedIn():
                for state in self.sections.values():
                    state.status, state.error = "", False
            case PinSet():
                self.sections["security"] = SectionState(status="PIN saved.")
            case AuthFailed(action="set_pin" | "password", text=text):
                self.sections["security"] = SectionState(status=text, error=True)
            case DevicesLoaded(devices=devices):
                self.sections["devices"].data = {"devices": devices}
            case UsersLoaded(users=users):
                self.sections["users"].data = {"users": users}
            case ScanProgress() as progress:
                scans = self.sections["libraries"].data.setdefault("scans", {})
                scans[progress.library_id] = progress
