"""UserMgmtDomain: this user's devices, and (for admins) all users and their roles."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar

from sync.auth_types import CreateUserRequest, DeviceOut, Role, UpdateUserRequest, UserOut
from sync.client_errors import ApiError, FerrexClientError
from ui.domains.core import CrossDomainEvent, Domain, DomainContext, DomainMessage, DomainName
from ui.domains.events import DevicesLoaded, LoggedOut, UsersLoaded


class UserMgmtMessage(DomainMessage):
    domain: ClassVar[DomainName] = DomainName.USER_MGMT


@dataclass(frozen=True)
class LoadUsers(UserMgmtMessage):
    pass


@dataclass(frozen=True)
class CreateUser(UserMgmtMessage):
    username: str
    password: str
    role: Role = "user"
    display_name: str = ""


@dataclass(frozen=True)
class UpdateUser(UserMgmtMessage):
    user_id: uuid.UUID
    role: Role | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class DeleteUser(UserMgmtMessage):
    user_id: uuid.UUID


@dataclass(frozen=True)
class LoadDevices(UserMgmtMessage):
    pass


@dataclass(frozen=True)
class RevokeDevice(UserMgmtMessage):
    device_id: uuid.UUID


class UserMgmtDomain(Domain):
    name = DomainName.USER_MGMT

    def __init__(self, ctx: DomainContext) -> None:
        super().__init__(ctx)
        self.users: list[UserOut] = []
        self.devices: list[DeviceOut] = []

    async def _fail(self, what: str, exc: Exception) -> None:
        text = exc.message if isinstance(exc, ApiError) else "the server cannot be reached"
        await self.ctx.notice(f"{what}: {text}", "error", self.name)

    async def handle(self, message: DomainMessage) -> None:
        api = self.ctx.services.api
        if api is None:
            await self.ctx.notice("Not connected to a server.", "error", self.name)
            return
        try:
            match message:
                case LoadUsers():
                    self.users = (await api.users()).users
                    await self.ctx.emit(UsersLoaded(users=tuple(self.users)))
                case CreateUser(
                    username=username, password=password, role=role, display_name=display
                ):
                    await api.create_user(
                        CreateUserRequest(
                            username=username.strip(),
                            password=password,
                            role=role,
                            display_name=display,
                        )
                    )
                    await self.ctx.notice(f"User {username} created.", source=self.name)
                    self.ctx.post(LoadUsers())
                case UpdateUser(user_id=user_id, role=role, display_name=display):
                    await api.update_user(
                        user_id, UpdateUserRequest(role=role, display_name=display)
                    )
                    self.ctx.post(LoadUsers())
                case DeleteUser(user_id=user_id):
                    await api.delete_user(user_id)
                    self.ctx.post(LoadUsers())
                case LoadDevices():
                    self.devices = (await api.devices()).devices
                    await self.ctx.emit(DevicesLoaded(devices=tuple(self.devices)))
                case RevokeDevice(device_id=device_id):
                    await api.revoke_device(device_id)
                    self.ctx.post(LoadDevices())
                case _:
                    raise TypeError(f"UserMgmtDomain cannot handle {type(message).__name__}")
        except FerrexClientError as exc:
            what = {
                "CreateUser": "Creating the user",
                "UpdateUser": "Saving the user",
                "DeleteUser": "Deleting the user",
                "RevokeDevice": "Revoking the device",
            }.get(type(message).__name__, "Loading")
            await self._fail(f"{what} failed", exc)

    async def on_event(self, event: CrossDomainEvent) -> None:
        if isinstance(event, LoggedOut):
            self.users, self.devices = [], []
